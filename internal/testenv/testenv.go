// Package testenv lets tests ask for what they need from the machine (a
// command, a package's files, root) and skip cleanly when it is missing.
// Under CI (CI=true) a missing requirement fails the test instead: .ci/run
// installs everything the tests need, so a skip there would hide a gap.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool {
	v := os.Getenv("CI")
	return v == "true" || v == "1"
}

// Missing skips t with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: .ci/install-deps should have provided it)", why)
	}
	t.Skipf("skipping: %s (run .ci/install-deps to install what the tests need)", why)
}

// NeedCommand returns the path of command name, or skips/fails t.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed")
	}
	return p
}

// NeedFile skips/fails t unless path exists; what names the package that
// provides it.
func NeedFile(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" is missing (install "+what+")")
	}
}

// NeedRoot skips/fails t unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "the test needs root")
	}
}
