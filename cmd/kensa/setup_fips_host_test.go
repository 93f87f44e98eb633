package main

import (
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
)

// The fips host scripts read host trees (root filesystem + /proc) written
// from documented file contents under $WORK/hosts/<name>; each tree's
// SOURCES.txt says where every file comes from.
func init() {
	setups = append(setups, func(e *testscript.Env) error {
		for _, n := range hosttrees.Names() {
			if err := hosttrees.Write(filepath.Join(e.WorkDir, "hosts", n), n); err != nil {
				return err
			}
		}
		return nil
	})
}
