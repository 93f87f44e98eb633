package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden sections of the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// kensa as the scripts run it: its exit code is also written to
		// $WORK/.kensa-exit for the exitcode command.
		"kensa": func() {
			code := run()
			if f := os.Getenv("KENSA_EXIT_FILE"); f != "" {
				os.WriteFile(f, []byte(strconv.Itoa(code)), 0o644)
			}
			os.Exit(code)
		},
	})
}

// cmdExitcode is the script command "exitcode N": the last kensa run
// exited with N. "! exec kensa" alone cannot tell 1 (findings) from 2
// (kensa could not do what was asked); every "! exec kensa" is followed by
// an exitcode (TestScriptsAssertExitCodes).
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	f := ts.MkAbs(".kensa-exit")
	data, err := os.ReadFile(f)
	if err != nil {
		ts.Fatalf("exitcode: no kensa run to check (%v)", err)
	}
	os.Remove(f) // each run is checked once
	if got := strings.TrimSpace(string(data)); got != args[0] {
		ts.Fatalf("kensa exited %s, want %s", got, args[0])
	}
}

// TestScriptsAssertExitCodes: every "! exec kensa" in the scripts is
// followed by "exitcode N", so a script says whether it expects 1 or 2.
func TestScriptsAssertExitCodes(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txtar")
	cluster, _ := filepath.Glob("testdata/cluster/*.txtar")
	files = append(files, cluster...)
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		script, _, _ := strings.Cut(string(data), "\n-- ")
		var pending int // line of an unchecked "! exec kensa"
		for i, line := range strings.Split(script, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if cond, rest, ok := strings.Cut(line, "] "); ok && strings.HasPrefix(cond, "[") {
				line = rest
			}
			if pending > 0 && !strings.HasPrefix(line, "exitcode ") && !strings.HasPrefix(line, "stdout") && !strings.HasPrefix(line, "stderr") && !strings.HasPrefix(line, "! stdout") && !strings.HasPrefix(line, "! stderr") && !strings.HasPrefix(line, "cmp") {
				t.Errorf("%s:%d: \"! exec kensa\" without an exitcode line after it", name, pending)
				pending = 0
			}
			if strings.HasPrefix(line, "exitcode ") {
				pending = 0
			}
			if strings.HasPrefix(line, "! exec kensa") {
				pending = i + 1
			}
		}
		if pending > 0 {
			t.Errorf("%s:%d: \"! exec kensa\" without an exitcode line after it", name, pending)
		}
	}
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
			e.Setenv("KENSA_EXIT_FILE", filepath.Join(e.WorkDir, ".kensa-exit"))
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
