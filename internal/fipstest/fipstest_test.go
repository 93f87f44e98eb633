package fipstest

import (
	"path/filepath"
	"testing"
	"time"
)

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

// TestLockFile: a second holder waits until the first releases the lock
// (the fixture build runs once on a machine however many test binaries
// ask for it).
func TestLockFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := LockFile(name)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := LockFile(name)
		if err != nil {
			t.Error(err)
		} else {
			u()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("the lock was taken twice")
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not handed over")
	}
}
