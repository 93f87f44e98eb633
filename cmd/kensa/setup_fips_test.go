package main

import (
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/fipstest"
)

// The fips scripts scan fixture binaries built with the real toolchains
// (internal/fipstest, cached between runs). Each script finds them
// hard-linked under $WORK/fx, and fake root filesystems under
// $WORK/root-none (OpenSSL without a FIPS provider) and $WORK/root-fips
// (with a FIPS provider and fipsmodule.cnf).
func init() {
	setups = append(setups, setupFips)
	conditions["fipsfixtures"] = func() bool {
		s, err := fipstest.Build()
		if err != nil {
			return false
		}
		for _, n := range fipstest.Names() {
			if n != "go_boring_old" && !s.Has(n) {
				return false
			}
		}
		_, err = os.Stat(filepath.Join(s.Dir, "host", "libcrypto.so.3"))
		return err == nil
	}
	conditions["oldgo"] = func() bool {
		s, err := fipstest.Build()
		return err == nil && s.Has("go_boring_old")
	}
}

func setupFips(e *testscript.Env) error {
	s, err := fipstest.Build()
	if err != nil {
		return err
	}
	fx := filepath.Join(e.WorkDir, "fx")
	for _, n := range fipstest.Names() {
		if s.Has(n) {
			if err := fipstest.LinkOrCopy(filepath.Join(fx, n), filepath.Join(s.Dir, n)); err != nil {
				return err
			}
		}
	}
	for dir, provider := range map[string]string{"root-none": "", "root-fips": "fips"} {
		// A root that cannot be made leaves the directory out; the
		// scripts that need it are guarded by [fipsfixtures].
		_ = fipstest.MakeRoot(s, filepath.Join(e.WorkDir, dir), provider)
	}
	return nil
}
