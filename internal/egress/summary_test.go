package egress

import (
	"context"
	"strings"
	"testing"
)

// TestSummaryAdd: the summaries of two analyses, added, count what both
// held (files, records, denies, findings by severity, SNI-less sources).
func TestSummaryAdd(t *testing.T) {
	analyse := func(log string) Summary {
		res, err := Analyze(context.Background(), []Input{bytesInput("x.log", []byte(log))}, Options{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		return Summarize(res, Findings(res), MakePlan(res.Destinations, PlanOptions{}))
	}
	deny := "HTTPS request from 10.0.0.1:1000 to a.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n"
	noSNI := "HTTPS request from 10.0.0.2:1001. Action: Deny. Reason: SNI TLS extension was missing.\n"
	a := analyse(deny + noSNI)
	b := analyse(strings.ReplaceAll(deny, "a.example.com", "b.example.com") + strings.ReplaceAll(noSNI, "10.0.0.2", "10.0.0.3"))
	want := analyse(deny + noSNI)
	want.Add(b)
	a.Add(b)
	if a.Records != want.Records || len(a.Files) != 2 || a.Denied != 2*b.Denied || a.Findings["error"] != 2*b.Findings["error"] {
		t.Errorf("added summary = %+v", a)
	}
	if a.SNIMissing == nil || len(a.SNIMissing.Sources) != 2 || a.SNIMissing.Count != 2 {
		t.Errorf("SNI-less connections after Add: %+v", a.SNIMissing)
	}
}
