package main

import (
	"flag"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden sections of the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kensa": main,
	})
}

// TestScript runs the end-to-end scripts in testdata/script: each runs the
// real kensa binary (this test binary, re-executed) as a user would.
// Fixtures that cannot live in a txtar (binaries, keys) are made by the
// Setup hooks registered in setup_test.go files.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("SOURCE_DATE_EPOCH", "1790000000")
			e.Setenv("HOME", e.WorkDir)
			for _, s := range setups {
				if err := s(e); err != nil {
					return err
				}
			}
			return nil
		},
		Condition: condition,
		Cmds:      cmds,
	})
}

// setups are run before every script; each feature's setup_*_test.go file
// appends its own (making fixture binaries, certificates…).
var setups []func(*testscript.Env) error

// conditions are the script conditions ("[gcc] exec …") that feature test
// files register.
var conditions = map[string]func() bool{}

func condition(cond string) (bool, error) {
	if f, ok := conditions[cond]; ok {
		return f(), nil
	}
	if cond == "ci" {
		return os.Getenv("CI") == "true", nil
	}
	return false, os.ErrNotExist
}
