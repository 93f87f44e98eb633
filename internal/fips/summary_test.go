package fips

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/report"
)

// TestSummaryAdd: the summaries of two shards, added, are the summary of
// the whole (what report merge relies on to re-count).
func TestSummaryAdd(t *testing.T) {
	rs := []Result{
		{Path: "/a", Crypto: []string{BackendOpenSSL}, Verdict: Noncompliant},
		{Path: "/b", Crypto: []string{BackendGoFIPS140}, Verdict: Compliant},
		{Path: "/c", Kind: KindUnreadable, Verdict: NotApplicable, Reasons: []string{"truncated"}},
		{Path: "/d", Crypto: []string{BackendOpenSSL, BackendGnuTLS}, Verdict: Conditional},
	}
	var fs []report.Finding
	for _, r := range rs {
		fs = append(fs, Findings(r)...)
	}
	fs = append(fs, report.Finding{ID: FindingImageUnreadable, Severity: report.Error, Subject: "registry:x"})
	whole := Summarize(rs, fs, Examined{Files: 10, Images: 2})
	a := Summarize(rs[:2], fs[:1], Examined{Files: 4, Images: 1})
	b := Summarize(rs[2:], fs[1:], Examined{Files: 6, Images: 1})
	a.Add(b)
	if diff := cmp.Diff(whole, a); diff != "" {
		t.Errorf("Add of the shards differs from the whole (-whole +added):\n%s", diff)
	}
	if whole.Unreadable != 1 || whole.ImagesFailed != 1 || whole.Verdicts["noncompliant"] != 1 || whole.Backends[BackendOpenSSL] != 2 {
		t.Errorf("whole = %+v", whole)
	}
}
