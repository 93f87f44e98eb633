package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func sample() *Report {
	r := New("fips scan", "v0.1.0", time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC))
	r.Results = []map[string]any{{"path": "/usr/bin/x"}}
	r.Findings = []Finding{
		{ID: "b-info", Severity: Info, Subject: "z", Message: "m1"},
		{ID: "a-err", Severity: Error, Subject: "/usr/bin/x", Message: "m2", Citation: "CMVP #4407", Remediation: "rebuild"},
		{ID: "c-warn", Severity: Warning, Subject: "lb:443", Message: "m3", Address: "10.0.0.5:443", ServerName: "example.com"},
		{ID: "a-err", Severity: Error, Subject: "/usr/bin/a", Message: "m4"},
	}
	return r
}

func TestSortFindings(t *testing.T) {
	r := sample()
	SortFindings(r.Findings)
	var got []string
	for _, f := range r.Findings {
		got = append(got, string(f.Severity)+" "+f.Subject)
	}
	want := []string{"error /usr/bin/a", "error /usr/bin/x", "warning lb:443", "info z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SortFindings order (-want +got):\n%s", diff)
	}
}

func TestWorstAndCount(t *testing.T) {
	tests := []struct {
		name string
		fs   []Finding
		want Severity
	}{
		{"empty", nil, ""},
		{"info", []Finding{{Severity: Info}}, Info},
		{"mixed", []Finding{{Severity: Info}, {Severity: Error}, {Severity: Warning}}, Error},
	}
	for _, tt := range tests {
		if got := Worst(tt.fs); got != tt.want {
			t.Errorf("%s: Worst = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := CountBySeverity(sample().Findings); got[Error] != 2 || got[Warning] != 1 || got[Info] != 1 {
		t.Errorf("CountBySeverity = %v", got)
	}
}

// TestJSONContract pins the top-level field names pipelines build on.
func TestJSONContract(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("WriteJSON output is not JSON: %v\n%s", err, buf.String())
	}
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	want := []string{"at", "command", "findings", "generated_at", "results", "schema", "summary", "tool"}
	if diff := cmp.Diff(want, slices.Sorted(slices.Values(keys))); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	if got := string(doc["schema"]); got != `"kensa/v1"` {
		t.Errorf("schema = %s", got)
	}
	if got := string(doc["at"]); got != `"2026-09-01T00:00:00Z"` {
		t.Errorf("at = %s", got)
	}
	var fs []map[string]any
	json.Unmarshal(doc["findings"], &fs)
	if fs[0]["id"] != "a-err" || fs[0]["citation"] != nil {
		t.Errorf("first finding = %v, want a-err without citation", fs[0])
	}
	if fs[2]["address"] != "10.0.0.5:443" || fs[2]["servername"] != "example.com" {
		t.Errorf("probe finding lost its endpoint: %v", fs[2])
	}
}

func TestEmptyReportHasArrays(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, New("x", "v", time.Unix(0, 0), time.Unix(0, 0))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"results": []`, `"findings": []`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty report lacks %s:\n%s", want, buf.String())
		}
	}
}

func TestTable(t *testing.T) {
	tb := NewTable("PATH", "VERDICT", "REASON")
	tb.MaxWidth = 8
	tb.Row("/usr/bin/long-name", "ok", "a\tb")
	tb.Row("x")
	var buf bytes.Buffer
	if err := tb.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "PATH      VERDICT  REASON\n/usr/bi…  ok       a b\nx\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

func TestTableUncut(t *testing.T) {
	tb := NewTable("PATH", "VERDICT", "REASON")
	tb.MaxWidth = 8
	tb.Uncut = []int{0}
	tb.Row("/usr/bin/long-name", "not-applicable", "r")
	var buf bytes.Buffer
	if err := tb.Write(&buf); err != nil {
		t.Fatal(err)
	}
	want := "PATH                VERDICT   REASON\n/usr/bin/long-name  not-app…  r\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}

// TestPrintable: what a hostile input could aim at a terminal (ESC, CSI,
// BEL, DEL, line breaks, invalid UTF-8) never reaches a text view.
func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"CN=a\x1b[31mred\a", "CN=a?[31mred?"},
		{"a\tb\nc\r", "a b c "},
		{"x\u009b2Jy\x7f", "x?2Jy?"},
		{"ok \xff name", "ok \uFFFD name"},
		{"例え.jp", "例え.jp"},
	}
	for _, tt := range tests {
		if got := Printable(tt.in); got != tt.want {
			t.Errorf("Printable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var b strings.Builder
	tb := NewTable("PATH", "VERDICT")
	tb.Row("/bin/\x1b]0;owned\a", "noncompliant")
	tb.Write(&b)
	if strings.ContainsAny(b.String(), "\x1b\a") {
		t.Errorf("table passed control characters: %q", b.String())
	}
}

// TestTableFitsWidth: with Width set, the columns that may give way are
// narrowed until every line fits; a path keeps its file name, a reason is
// cut at its end; columns without Fit keep their width.
func TestTableFitsWidth(t *testing.T) {
	tb := NewTable("PATH", "VERDICT", "REASON")
	tb.Row("/usr/lib/x86_64-linux-gnu/engines-3/libcrypto.so.3", "noncompliant", "libcrypto.so.3 (OpenSSL 3.0.19) has no FIPS provider (no ossl-modules/fips.so)")
	tb.Row("/usr/bin/ls", "not-applicable", "no crypto library linked or embedded")
	tb.Fit(0, FitMiddle, 16)
	tb.Fit(2, FitEnd, 16)
	for _, width := range []int{60, 80, 100} {
		tb.Width = width
		var b strings.Builder
		if err := tb.Write(&b); err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(b.String()) {
			line = strings.TrimRight(line, "\n")
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: line of %d runes: %q", width, n, line)
			}
			if strings.Contains(line, "not-applicable") == false && strings.Contains(line, "noncompliant") && !strings.Contains(line, "/libcrypto.so.3") {
				t.Errorf("width %d: the file name was cut: %q", width, line)
			}
		}
		if !strings.Contains(b.String(), "not-applicable") {
			t.Errorf("width %d: a column without Fit was cut:\n%s", width, b.String())
		}
	}
	// Without Width nothing is cut.
	tb.Width = 0
	var b strings.Builder
	tb.Write(&b)
	if !strings.Contains(b.String(), "(no ossl-modules/fips.so)") {
		t.Errorf("no width, yet cut:\n%s", b.String())
	}
}

func TestCutMiddle(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"/usr/lib/x86_64-linux-gnu/libssl.so.3", 20, "/usr/li…/libssl.so.3"},
		{"/usr/lib/libssl.so.3", 30, "/usr/lib/libssl.so.3"},
		{"/a/very-long-file-name-indeed.so", 12, "/a/v…deed.so"},
	} {
		if got := cutMiddle(tt.in, tt.n); got != tt.want || utf8.RuneCountInString(got) > tt.n {
			t.Errorf("cutMiddle(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestTableWraps: a FitWrap column that must give way wraps its cell at
// spaces onto continuation lines (the other columns blank there), so the
// reason stays whole; without a width it stays on one line.
func TestTableWraps(t *testing.T) {
	tb := NewTable("DESTINATION", "REASON", "SERVICE")
	tb.Fit(1, FitWrap, 10)
	tb.Fit(2, FitEnd, 4)
	tb.Row("pypi.org:443", "denied by rule hub / deny-all / block", "pip (PyPI)")
	tb.Row("example.com:443", "denied", "-")
	tb.Width = 40
	var b strings.Builder
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"DESTINATION      REASON       SERVICE\n" +
		"pypi.org:443     denied by    pip (PyPI)\n" +
		"                 rule hub /\n" +
		"                 deny-all /\n" +
		"                 block\n" +
		"example.com:443  denied       -\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := len([]rune(line)); n > 40 {
			t.Errorf("line %q is %d runes wide", line, n)
		}
	}
	tb.Width = 0
	b.Reset()
	tb.Write(&b)
	if !strings.Contains(b.String(), "denied by rule hub / deny-all / block  pip (PyPI)") {
		t.Errorf("without a width the row is not whole:\n%s", b.String())
	}
}

type countPair struct{ A, B int }

func (c *countPair) Add(o countPair) { c.A += o.A; c.B += o.B }

// TestAddEach: summaries of the same key are added, new keys copied, a
// nil map made.
func TestAddEach(t *testing.T) {
	got := AddEach(nil, map[string]countPair{"x": {1, 2}})
	got = AddEach(got, map[string]countPair{"x": {10, 20}, "y": {3, 4}})
	want := map[string]countPair{"x": {11, 22}, "y": {3, 4}}
	if len(got) != len(want) || got["x"] != want["x"] || got["y"] != want["y"] {
		t.Errorf("AddEach = %v, want %v", got, want)
	}
}
