package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
)

// TestDomainsRegistered: every command that writes a report registers its
// domain, so its SARIF has the catalog's rules and its reports can be
// merged (docs/adding-a-command.md, step 6).
func TestDomainsRegistered(t *testing.T) {
	for _, c := range commands {
		if c.name == "version" || strings.HasPrefix(c.name, "report ") {
			continue
		}
		d, ok := domains[c.name]
		switch {
		case !ok:
			t.Errorf("%s: no registerDomain(%q, …) in its cli file: its SARIF has no rules from its catalog and report merge refuses its reports", c.name, c.name)
		case len(d.checks) == 0:
			t.Errorf("%s: registered without its catalog (checks)", c.name)
		case d.summarize == nil:
			t.Errorf("%s: registered without summarize: report merge cannot re-count its reports", c.name)
		case d.doc == "":
			t.Errorf("%s: registered without the docs page of its checks", c.name)
		}
	}
}

// TestFipsMergeRecounts: a merged fips scan summary is counted again from
// the merged results and findings; only the files examined and images
// scanned (which results cannot give back) are added up.
func TestFipsMergeRecounts(t *testing.T) {
	shard := func(name string, files int64, rs []fips.Result) *report.Document {
		var fs []report.Finding
		for _, r := range rs {
			fs = append(fs, fips.Findings(r)...)
		}
		rep := report.New("fips scan", "v", time.Unix(0, 0), time.Unix(0, 0))
		rep.Results = rs
		rep.Findings = fs
		sum := fips.Summarize(rs, fs, fips.Examined{Files: files})
		sum.Results = 999 // a wrong count in an input must not survive
		rep.Summary = sum
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, rep); err != nil {
			t.Fatal(err)
		}
		d, err := report.Read(&buf, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := shard("a.json", 10, []fips.Result{
		{Path: "/a/x", Kind: fips.KindExecutable, Crypto: []string{"go-std"}, Verdict: fips.Noncompliant, Reasons: []string{"r"}},
		{Path: "/a/y", Kind: fips.KindExecutable, Crypto: []string{}, Verdict: fips.NotApplicable},
	})
	b := shard("b.json", 5, []fips.Result{
		{Path: "/b/z", Kind: fips.KindUnreadable, Crypto: []string{}, Verdict: fips.Noncompliant, Reasons: []string{"truncated"}},
	})
	rep, err := report.Merge([]*report.Document{a, b}, report.MergeOptions{Summarize: domains["fips scan"].summarize})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Summary.(fips.Summary)
	want := fips.Summary{Files: 15, Results: 3, Unreadable: 1,
		Verdicts: map[string]int{"noncompliant": 2, "not-applicable": 1}, Backends: map[string]int{"go-std": 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged summary (-want +got):\n%s", diff)
	}
}
