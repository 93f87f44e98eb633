package report_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/schematest"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

// doc writes a report of command with results and findings and reads it
// back, as merge and diff see their inputs.
func doc(t *testing.T, name, command string, at time.Time, results []map[string]any, findings []report.Finding, summary any) *report.Document {
	t.Helper()
	r := report.New(command, "v0.1.0", at, at)
	if results != nil {
		r.Results = results
	}
	if findings != nil {
		r.Findings = findings
	}
	r.Summary = summary
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	d, err := report.Read(&buf, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// countSummary is a Summarizer as a domain writes one: results and
// findings re-counted, files_examined added up from the inputs.
func countSummary(results []json.RawMessage, findings []report.Finding, sums []json.RawMessage) (any, error) {
	out := map[string]int{"results": len(results), "findings": len(findings)}
	for _, s := range sums {
		var in struct {
			Files int `json:"files_examined"`
		}
		if err := json.Unmarshal(s, &in); err != nil {
			return nil, err
		}
		out["files_examined"] += in.Files
	}
	return out, nil
}

func TestMerge(t *testing.T) {
	a := doc(t, "node-a.json", "fips scan", t0, []map[string]any{{"path": "/usr/bin/a"}, {}},
		[]report.Finding{{ID: "fips-noncompliant", Severity: report.Error, Subject: "/usr/bin/a", Message: "m"}},
		map[string]int{"files_examined": 10, "results": 2})
	b := doc(t, "node-b.json", "fips scan", t0.Add(time.Minute), []map[string]any{{"path": "/usr/bin/b", "source": "kept"}}, nil,
		map[string]int{"files_examined": 5, "results": 999})
	rep, err := report.Merge([]*report.Document{a, b}, report.MergeOptions{Version: "v9", GeneratedAt: t0.Add(time.Hour), Summarize: countSummary})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Command != "fips scan" || !rep.At.Equal(t0.Add(time.Minute)) || rep.Tool.Version != "v9" {
		t.Errorf("envelope = %s at %v by %s", rep.Command, rep.At, rep.Tool.Version)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Results  []map[string]any
		Findings []report.Finding
		Summary  map[string]int
		Sources  []report.Source
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantResults := []map[string]any{{"path": "/usr/bin/a", "source": "node-a.json"}, {"source": "node-a.json"}, {"path": "/usr/bin/b", "source": "kept"}}
	if diff := cmp.Diff(wantResults, got.Results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(got.Findings) != 1 || got.Findings[0].Source != "node-a.json" {
		t.Errorf("findings = %+v", got.Findings)
	}
	// Re-counted (results 3, not 2+999), examined files added up.
	if diff := cmp.Diff(map[string]int{"results": 3, "findings": 1, "files_examined": 15}, got.Summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if len(got.Sources) != 2 || got.Sources[0].File != "node-a.json" || got.Sources[1].Results != 1 || got.Sources[0].Findings != 1 {
		t.Errorf("sources = %+v", got.Sources)
	}
	// Merged again: the original sources stay.
	m, err := report.Read(&buf, "merged.json", 0)
	if err != nil {
		t.Fatal(err)
	}
	c := doc(t, "node-c.json", "fips scan", t0, nil, nil, map[string]int{"files_examined": 1})
	again, err := report.Merge([]*report.Document{m, c}, report.MergeOptions{GeneratedAt: t0, Summarize: countSummary})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, s := range again.Sources {
		files = append(files, s.File)
	}
	if diff := cmp.Diff([]string{"node-a.json", "node-b.json", "node-c.json"}, files); diff != "" {
		t.Errorf("sources of a merged merge (-want +got):\n%s", diff)
	}
	if again.Findings[0].Source != "node-a.json" {
		t.Errorf("finding source = %q", again.Findings[0].Source)
	}
}

func TestMergeRefuses(t *testing.T) {
	a := doc(t, "a.json", "fips scan", t0, nil, nil, map[string]int{})
	b := doc(t, "b.json", "cert probe", t0, nil, nil, map[string]int{})
	_, err := report.Merge([]*report.Document{a, b}, report.MergeOptions{Summarize: countSummary})
	var mixed *report.MixedError
	if !errors.As(err, &mixed) || mixed.Name != "b.json" || mixed.Got != "cert probe" {
		t.Errorf("merging fips scan and cert probe: %v", err)
	}
	bad := doc(t, "bad.json", "fips scan", t0, []map[string]any{{"source": 5}}, nil, map[string]int{})
	if _, err := report.Merge([]*report.Document{a, bad}, report.MergeOptions{Summarize: countSummary}); err == nil || !strings.Contains(err.Error(), `bad.json: not a kensa/v1 report: a result's "source" is not a string`) {
		t.Errorf("a result with a numeric source: %v", err)
	}
	if _, err := report.Merge([]*report.Document{a}, report.MergeOptions{}); err == nil {
		t.Error("a command without a Summarizer was merged")
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not json", "hello", "not a kensa/v1 report"},
		{"no schema", `{"command":"x","results":[],"findings":[]}`, `no "schema" field`},
		{"other schema", `{"schema":"kensa/v2","command":"x","results":[],"findings":[]}`, `schema is "kensa/v2"`},
		{"no command", `{"schema":"kensa/v1","results":[],"findings":[]}`, "names no command"},
		{"no results", `{"schema":"kensa/v1","command":"x","findings":[]}`, `no "results" array`},
		{"result not object", `{"schema":"kensa/v1","command":"x","results":[1],"findings":[]}`, "result 1 is not an object"},
		{"bad severity", `{"schema":"kensa/v1","command":"x","results":[],"findings":[{"id":"a","severity":"fatal"}]}`, "finding 1"},
		{"wrong type", `{"schema":"kensa/v1","command":"x","results":{},"findings":[]}`, `field "results"`},
		{"two documents", `{"schema":"kensa/v1","command":"x","results":[],"findings":[]} {}`, "after top-level value"},
		{"too large", `{"schema":"kensa/v1","command":"x","results":[],"findings":[]}` + strings.Repeat(" ", 200), "larger than"},
	}
	for _, tt := range tests {
		_, err := report.Read(strings.NewReader(tt.in), "in.json", 150)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, report.ErrNotReport) || !strings.HasPrefix(err.Error(), "in.json: ") {
			t.Errorf("%s: err = %v, want one with %q", tt.name, err, tt.want)
		}
	}
}

func TestDiff(t *testing.T) {
	f := func(id, subject string, sev report.Severity, msg string) report.Finding {
		return report.Finding{ID: id, Subject: subject, Severity: sev, Message: msg}
	}
	base := doc(t, "old.json", "cert probe", t0, nil, []report.Finding{
		f("expires-soon", "a", report.Warning, "in 12 days"),
		f("expired", "b", report.Error, "expired"),
		f("weak-key", "c", report.Error, "1024"),
		f("weak-key", "c", report.Error, "1024"),
	}, map[string]int{})
	cur := doc(t, "new.json", "cert probe", t0.Add(24*time.Hour), nil, []report.Finding{
		f("expires-soon", "a", report.Warning, "in 11 days"), // unchanged: the wording moved
		f("weak-key", "c", report.Error, "1024"),             // one of two fixed
		f("hostname-mismatch", "d", report.Error, "new"),     // new
		f("san-added", "e", report.Info, "new info"),         // new
	}, map[string]int{})
	rep, entries, err := report.Diff(base, cur, "v", t0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ Status, ID, Subject string }
	var got []row
	for _, e := range entries {
		got = append(got, row{e.Status, e.Finding.ID, e.Finding.Subject})
		if e.Fingerprint != e.Finding.Fingerprint() {
			t.Errorf("%s: entry fingerprint %s", e.Finding.ID, e.Fingerprint)
		}
	}
	want := []row{
		{"new", "hostname-mismatch", "d"}, {"new", "san-added", "e"},
		{"fixed", "expired", "b"}, {"fixed", "weak-key", "c"},
		{"unchanged", "weak-key", "c"}, {"unchanged", "expires-soon", "a"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	sum := rep.Summary.(report.DiffSummary)
	if sum.New != 2 || sum.Fixed != 2 || sum.Unchanged != 2 || sum.NewBySeverity["error"] != 1 || sum.Baseline.File != "old.json" {
		t.Errorf("summary = %+v", sum)
	}
	if len(rep.Findings) != 2 || rep.Command != report.DiffCommand {
		t.Errorf("the diff's findings are the new ones: %+v", rep.Findings)
	}
	// The diff report validates against the kensa/v1 schema.
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	schematest.Validate(t, schematest.Kensa(t), "report diff", buf.Bytes())
	if _, _, err := report.Diff(base, doc(t, "x.json", "fips scan", t0, nil, nil, map[string]int{}), "v", t0); err == nil {
		t.Error("a cert probe report was diffed against a fips scan")
	}
}

// FuzzRead: no input makes Read panic or allocate beyond its bound, and
// what it accepts writes back to a report it reads again the same.
//
//	go test ./internal/report -run XXX -fuzz FuzzRead -fuzztime 60s -fuzzminimizetime 3s
//
// (with the default minimize time of 60s, each new input is minimised for
// up to a minute and the run seems to stall).
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"schema":"kensa/v1","command":"fips scan","tool":{"name":"kensa","version":"v"},"generated_at":"2026-01-01T00:00:00Z","at":"2026-01-01T00:00:00Z","results":[{"path":"/a"}],"findings":[{"id":"x","severity":"error","subject":"/a","message":"m"}],"summary":{}}`))
	f.Add([]byte(`{"schema":"kensa/v1","command":"x","results":[{}],"findings":[],"sources":[{"file":"a"}]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte(`{"schema":"kensa/v1","command":"x","results":[ {"a":1} ],"findings":[{"id":"y","severity":"info"}],"summary":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small inputs keep the fuzzer fast; the size bound has its own test.
		d, err := report.Read(bytes.NewReader(data), "fuzz.json", 1<<13)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, d.Report()); err != nil {
			t.Fatalf("writing back an accepted report: %v", err)
		}
		d2, err := report.Read(&buf, "again.json", 1<<20)
		if err != nil {
			t.Fatalf("a report kensa wrote does not read back: %v\n%s", err, buf.String())
		}
		if len(d2.Results) != len(d.Results) || len(d2.Findings) != len(d.Findings) || d2.Command != d.Command {
			t.Fatalf("round trip changed the report")
		}
		// Merging it with itself and diffing it with itself always works.
		if _, err := report.Merge([]*report.Document{d, d2}, report.MergeOptions{Summarize: func([]json.RawMessage, []report.Finding, []json.RawMessage) (any, error) { return struct{}{}, nil }}); err != nil {
			t.Fatalf("merge: %v", err)
		}
		if _, entries, err := report.Diff(d, d2, "v", time.Time{}); err != nil {
			t.Fatal(err)
		} else {
			for _, e := range entries {
				if e.Status != report.StatusUnchanged {
					t.Fatalf("a report diffed with itself has a %s finding", e.Status)
				}
			}
		}
	})
}

// BenchmarkMergeDiff: merging 8 shards of 2,000 results and 300 findings
// each (a fips scan of /usr is about that), then diffing the merge with
// itself.
func BenchmarkMergeDiff(b *testing.B) {
	var docs []*report.Document
	for n := range 8 {
		r := report.New("fips scan", "v", t0, t0)
		var rs []map[string]any
		for i := range 2000 {
			rs = append(rs, map[string]any{"path": fmt.Sprintf("/usr/lib/%d/lib%d.so", n, i), "kind": "shared-library", "crypto": []string{"openssl"}, "verdict": "noncompliant"})
		}
		r.Results = rs
		for i := range 300 {
			r.Findings = append(r.Findings, report.Finding{ID: "fips-noncompliant", Severity: report.Error, Subject: fmt.Sprintf("/usr/lib/%d/lib%d.so", n, i), Message: "no FIPS provider"})
		}
		var buf bytes.Buffer
		report.WriteJSON(&buf, r)
		d, err := report.Read(&buf, fmt.Sprintf("node-%d.json", n), 0)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, d)
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := report.Merge(docs, report.MergeOptions{GeneratedAt: t0, Summarize: countSummary})
		if err != nil {
			b.Fatal(err)
		}
		var buf bytes.Buffer
		if err := report.WriteJSON(&buf, rep); err != nil {
			b.Fatal(err)
		}
		m, err := report.Read(&buf, "merged.json", 0)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := report.Diff(m, m, "v", t0); err != nil {
			b.Fatal(err)
		}
	}
}
