package fipstest

import "testing"

func TestBuild(t *testing.T) {
	s, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range Names() {
		if !s.Has(n) {
			t.Errorf("fixture %s missing: %s", n, s.missing[n])
		}
	}
}
