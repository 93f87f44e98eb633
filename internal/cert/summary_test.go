package cert

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/report"
)

// TestProbeSummaryAdd: the summaries of probes run from two places, added,
// are the summary of both runs' handshakes and findings.
func TestProbeSummaryAdd(t *testing.T) {
	yes, no := true, false
	rs := []*ProbeResult{{OK: true, Expected: &yes}, {OK: true, Expected: &no}, {OK: false}}
	fs := []report.Finding{{ID: "stale-certificate", Severity: report.Error}, {ID: "handshake-failed", Severity: report.Error}, {ID: "expires-soon", Severity: report.Warning}}
	whole := SummarizeProbe(rs, fs)
	a := SummarizeProbe(rs[:1], fs[:1])
	b := SummarizeProbe(rs[1:], fs[1:])
	a.Add(b)
	if diff := cmp.Diff(whole, a); diff != "" {
		t.Errorf("Add differs from the whole (-whole +added):\n%s", diff)
	}
	if whole.Handshakes != 3 || whole.Failed != 1 || whole.Stale != 1 || whole.Errors != 2 {
		t.Errorf("whole = %+v", whole)
	}
	c := SummarizeCheck(fs)
	c.Add(SummarizeCheck(fs[:1]))
	if c.Errors != 3 || c.Warnings != 1 {
		t.Errorf("check summary = %+v", c)
	}
}
