package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fipstest"
)

// TestFipsScanExitCodes checks the exit codes of fips scan: 0 nothing at
// or above --fail-on, 1 findings at or above it, 2 kensa could not do what
// was asked.
func TestFipsScanExitCodes(t *testing.T) {
	s, err := fipstest.Build()
	if err != nil {
		t.Fatal(err)
	}
	goStd := s.Path(t, "go_std")
	fips := s.Path(t, "go_fips_v100")
	noCrypto := s.Path(t, "go_nocrypto")
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello"), 0o644)
	textDir := t.TempDir()
	os.WriteFile(filepath.Join(textDir, "run.sh"), []byte("#!/bin/sh\necho hello\n"), 0o755)
	broken := filepath.Join(dir, "broken")
	os.WriteFile(broken, []byte("\x7fELF\x02\x01\x01garbage"), 0o755)
	at := "--at=2026-11-24"
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"noncompliant fails by default", []string{goStd}, ExitFindings, ""},
		{"compliant passes", []string{fips}, ExitOK, ""},
		{"no crypto passes", []string{noCrypto}, ExitOK, ""},
		{"never", []string{"--fail-on", "never", goStd}, ExitOK, ""},
		{"fail-on error = noncompliant", []string{"--fail-on", "error", goStd}, ExitFindings, ""},
		{"not elf named directly", []string{text}, ExitOK, ""},
		{"directory without elf", []string{textDir, "--fail-on", "noncompliant"}, ExitOK, ""},
		{"directory with a broken elf", []string{dir}, ExitFindings, ""},
		{"unreadable fails by default", []string{broken}, ExitFindings, ""},
		{"unreadable passes only with never", []string{"--fail-on", "never", broken}, ExitOK, ""},
		{"unreadable fails on conditional", []string{"--fail-on", "conditional", broken}, ExitFindings, ""},
		{"missing path", []string{filepath.Join(dir, "nope")}, ExitError, "kensa: error: cannot scan"},
		{"no path", nil, ExitError, "needs a file or directory"},
		{"bad accept", []string{"--accept", "maybe", fips}, ExitError, "--accept"},
		{"bad format", []string{"--format", "xml", fips}, ExitError, "--format"},
		{"bad at", []string{"--at", "tomorrow", fips}, ExitError, "--at"},
		{"help", []string{"--help"}, ExitOK, ""},
		{"output to missing dir", []string{"--output", filepath.Join(dir, "no", "r.json"), fips}, ExitError, "--output " + filepath.Join(dir, "no", "r.json") + ": cannot write in " + filepath.Join(dir, "no") + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"fips", "scan", at}, tt.args...)
			code, _, stderr := run(t, args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr %q, want %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestFipsTextWalkErrors: directories that could not be read are listed
// sorted by path (the walk meets them in parallel, in any order) and
// each names the reason once.
func TestFipsTextWalkErrors(t *testing.T) {
	perm := func(p string) fips.WalkError {
		return fips.WalkError{Path: p, Err: &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}}
	}
	var b strings.Builder
	errs := []fips.WalkError{perm("t/c"), perm("t/a"), perm("t/b")}
	tw := &textWriter{w: &b}
	if writeFipsText(tw, nil, errs, nil, fips.Summary{Unreadable: 3}); tw.err != nil {
		t.Fatal(tw.err)
	}
	var got []string
	for line := range strings.Lines(b.String()) {
		if strings.HasPrefix(line, "unreadable: ") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	want := []string{"unreadable: t/a: permission denied", "unreadable: t/b: permission denied", "unreadable: t/c: permission denied"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unreadable lines (-want +got):\n%s", diff)
	}
}

// TestFipsTextSummaryOne: one file is "1 file classified", not "1 files".
func TestFipsTextSummaryOne(t *testing.T) {
	var b strings.Builder
	tw := &textWriter{w: &b}
	if writeFipsText(tw, nil, nil, nil, fips.Summary{Files: 1, Results: 1, Verdicts: map[string]int{"noncompliant": 1}}); tw.err != nil {
		t.Fatal(tw.err)
	}
	if !strings.HasPrefix(b.String(), "1 file classified (1 examined): 1 noncompliant,") {
		t.Errorf("summary:\n%s", b.String())
	}
}
