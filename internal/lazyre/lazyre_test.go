package lazyre

import (
	"regexp"
	"testing"
)

// TestSameAsRegexp: every method answers as the compiled expression does.
func TestSameAsRegexp(t *testing.T) {
	const expr = `v(\d+)\.(\d+)`
	r, want := New(expr), regexp.MustCompile(expr)
	in := "go v1.26 and v2.0, not v3"
	if r.String() != expr || r.Regexp().String() != expr {
		t.Errorf("String() = %q, want %q", r.String(), expr)
	}
	if got := r.FindAllString(in, -1); len(got) != 2 || got[0] != "v1.26" || got[1] != "v2.0" {
		t.Errorf("FindAllString = %q", got)
	}
	if got, w := r.FindStringSubmatch(in), want.FindStringSubmatch(in); len(got) != 3 || got[1] != w[1] || got[2] != w[2] {
		t.Errorf("FindStringSubmatch = %q, want %q", got, w)
	}
	if got := r.FindSubmatch([]byte(in)); len(got) != 3 || string(got[2]) != "26" {
		t.Errorf("FindSubmatch = %q", got)
	}
	if got := r.Find([]byte(in)); string(got) != "v1.26" {
		t.Errorf("Find = %q", got)
	}
	if !r.Match([]byte(in)) || !r.MatchString(in) || r.MatchString("v3") {
		t.Error("Match/MatchString disagree with regexp")
	}
}

// TestBadExpressionPanicsInTests: in a test binary a bad expression
// panics in New, where a package-level regexp.MustCompile would.
func TestBadExpressionPanicsInTests(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(`(`) did not panic in a test binary")
		}
	}()
	New(`(`)
}

// TestCompiledOnFirstUse: outside tests nothing is compiled until used.
func TestCompiledOnFirstUse(t *testing.T) {
	defer func(v bool) { inTest = v }(inTest)
	inTest = false
	r := New(`(`) // would panic if compiled
	defer func() {
		if recover() == nil {
			t.Error("a bad expression did not panic at first use")
		}
	}()
	r.MatchString("x")
}
