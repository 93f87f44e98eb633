package report_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/schematest"
)

var testChecks = []report.Check{
	{ID: "a-err", Severity: report.Error, Title: "a is wrong", Citation: "CMVP #4407 *draft*", Help: "Rebuild a."},
	{ID: "b-info", Severity: report.Info, Title: "b is worth knowing", Help: "Nothing to do."},
	{ID: "never-emitted", Severity: report.Warning, Title: "listed, never seen"},
}

func sarifSample() *report.Report {
	r := report.New("fips scan", "v0.1.0", time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	r.Findings = []report.Finding{
		{ID: "b-info", Severity: report.Info, Subject: "z", Message: "m1"},
		{ID: "a-err", Severity: report.Error, Subject: "/srv/app/bin/x", Path: "/srv/app/bin/x", Message: "m2", Citation: "CMVP #4407", Remediation: "rebuild"},
		{ID: "c-warn", Severity: report.Warning, Subject: "lb:443", Message: "m3", Address: "10.0.0.5:443", ServerName: "example.com"},
		{ID: "a-err", Severity: report.Error, Subject: "/usr/bin/a b", Message: "m4"},
		{ID: "a-err", Severity: report.Error, Subject: "registry:org/app:1.2 /usr/lib/libc.so", Path: "/usr/lib/libc.so", Image: "registry:org/app:1.2", Message: "m5"},
		{ID: "a-err", Severity: report.Error, Subject: "rel/dir/app", Path: "rel/dir/app", Message: "m6"},
	}
	return r
}

type sarifDoc struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID   string
					Help struct{ Text, Markdown string }
				}
			}
		}
		OriginalURIBaseIDs map[string]struct{ URI string } `json:"originalUriBaseIds"`
		Results            []struct {
			RuleID              string
			RuleIndex           int
			Level               string
			Fixes               []any
			PartialFingerprints map[string]string
			Locations           []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string
						URIBaseID string `json:"uriBaseId"`
					}
				}
				LogicalLocations []struct{ FullyQualifiedName, Kind string }
			}
		}
	}
}

// TestSARIFValidates: the log of findings of every kind (file under the
// scanned directory, file elsewhere, relative path, file in an image,
// endpoint, plain subject) validates against the OASIS schema.
func TestSARIFValidates(t *testing.T) {
	schema := schematest.Official(t, schematest.SARIF)
	for _, srcRoot := range []string{"", "/srv/app"} {
		var buf bytes.Buffer
		if err := report.WriteSARIF(&buf, sarifSample(), report.SARIFOptions{Checks: testChecks, SrcRoot: srcRoot}); err != nil {
			t.Fatal(err)
		}
		schematest.Validate(t, schema, "SARIF with SrcRoot "+srcRoot, buf.Bytes())
	}
	// No findings at all is a valid log too.
	var buf bytes.Buffer
	if err := report.WriteSARIF(&buf, report.New("cert probe", "v", time.Unix(0, 0), time.Unix(0, 0)), report.SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	schematest.Validate(t, schema, "empty SARIF", buf.Bytes())
}

// TestSARIFInvalidIsCaught: the validator is not a rubber stamp: the fix
// kensa once wrote (fixes without artifactChanges) fails it.
func TestSARIFInvalidIsCaught(t *testing.T) {
	schema := schematest.Official(t, schematest.SARIF)
	var buf bytes.Buffer
	if err := report.WriteSARIF(&buf, sarifSample(), report.SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	json.Unmarshal(buf.Bytes(), &doc)
	res := doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any)
	res["fixes"] = []any{map[string]any{"description": map[string]any{"text": "rebuild"}}}
	bad, _ := json.Marshal(doc)
	if err := schematest.Check(schema, bad); err == nil {
		t.Error("a fix without artifactChanges validated; the schema check is not effective")
	}
}

func TestSARIFContent(t *testing.T) {
	var buf bytes.Buffer
	if err := report.WriteSARIF(&buf, sarifSample(), report.SARIFOptions{Checks: testChecks, SrcRoot: "/srv/app"}); err != nil {
		t.Fatal(err)
	}
	var log sarifDoc
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		ids = append(ids, r.ID)
	}
	// Every catalog check, plus the finding the catalog lacks.
	if diff := cmp.Diff([]string{"a-err", "b-info", "c-warn", "never-emitted"}, ids); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	a := run.Tool.Driver.Rules[0]
	if !strings.Contains(a.Help.Text, "Rebuild a.") || !strings.Contains(a.Help.Markdown, `CMVP #4407 \*draft\*`) {
		t.Errorf("rule help = %+v", a.Help)
	}
	if got := run.OriginalURIBaseIDs[report.SrcRootID].URI; got != "file:///srv/app/" {
		t.Errorf("%%SRCROOT%% = %q", got)
	}
	type loc struct{ URI, Base, Logical, Kind string }
	var got []loc
	fps := map[string]bool{}
	for _, res := range run.Results {
		if rid := run.Tool.Driver.Rules[res.RuleIndex].ID; rid != res.RuleID {
			t.Errorf("result %s points at rule %s", res.RuleID, rid)
		}
		if res.Fixes != nil {
			t.Errorf("result %s has fixes", res.RuleID)
		}
		fp := res.PartialFingerprints[report.SARIFFingerprintKey]
		if len(fp) != 32 || fps[fp] {
			t.Errorf("fingerprint %q missing or repeated", fp)
		}
		fps[fp] = true
		l := res.Locations[0]
		g := loc{URI: l.PhysicalLocation.ArtifactLocation.URI, Base: l.PhysicalLocation.ArtifactLocation.URIBaseID}
		if len(l.LogicalLocations) > 0 {
			g.Logical, g.Kind = l.LogicalLocations[0].FullyQualifiedName, l.LogicalLocations[0].Kind
		}
		got = append(got, g)
	}
	want := []loc{
		{URI: "bin/x", Base: "%SRCROOT%"},
		{URI: "file:///usr/bin/a%20b"},
		{URI: "usr/lib/libc.so", Logical: "registry:org/app:1.2 /usr/lib/libc.so", Kind: "module"},
		{URI: "rel/dir/app"},
		{URI: "lb%3A443", Logical: "lb:443 (10.0.0.5:443) for example.com", Kind: "resource"},
		{URI: "z", Logical: "z", Kind: "resource"},
	}
	if filepath.Separator != '/' {
		t.Skip("paths are POSIX here")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
}

// TestFingerprint: stable across wording, different across subjects.
func TestFingerprint(t *testing.T) {
	f := report.Finding{ID: "expires-soon", Severity: report.Warning, Subject: "example.com", Message: "expires in 12 days"}
	g := f
	g.Message, g.Severity = "expires in 11 days", report.Error
	if f.Fingerprint() != g.Fingerprint() {
		t.Error("fingerprint changed with the message or severity")
	}
	for _, h := range []report.Finding{
		{ID: "expires-soon", Subject: "example.org"},
		{ID: "expired", Subject: "example.com"},
		{ID: "expires-soon", Subject: "example.com", Address: "10.0.0.1:443"},
		{ID: "expires-soon", Subject: "example.co", ServerName: "m"},
	} {
		if h.Fingerprint() == f.Fingerprint() {
			t.Errorf("%+v has the fingerprint of %+v", h, f)
		}
	}
	// Pinned: a fingerprint must not change between releases silently.
	if got, want := f.Fingerprint(), "36ece52cb7971999ea851390dbbd2ba8"; got != want {
		t.Errorf("fingerprint = %s, want %s: a changed fingerprint turns every known finding into a new one (bump fingerprintVersion and say so in docs/report.md)", got, want)
	}
}
