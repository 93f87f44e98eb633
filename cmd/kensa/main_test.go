package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the golden sections of the scripts")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kensa": func() { os.Exit(run()) },
	})
}

// TestScriptsAssertExitCodes: the scripts have one way to assert kensa's
// exit code. "exec kensa" expects 0 (testscript fails it otherwise); every
// other code is asserted with "exit N kensa", since "! exec kensa" cannot
// tell 1 (findings) from 2 (kensa could not do what was asked). "! exec
// kensa", "exit 0 kensa" (a second spelling of "exec kensa") and kensa
// run through "sh -c" (whose status the shell hides) fail here.
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
		for i, line := range scriptLines(data) {
			switch fields := strings.Fields(line); {
			case len(fields) >= 3 && fields[0] == "!" && fields[1] == "exec" && fields[2] == "kensa":
				t.Errorf("%s:%d: \"! exec kensa\" cannot tell 1 from 2: write \"exit N kensa …\"", name, i+1)
			case len(fields) >= 3 && fields[0] == "exit" && fields[2] == "kensa" && fields[1] == "0":
				t.Errorf("%s:%d: \"exit 0 kensa\": write \"exec kensa …\"", name, i+1)
			case len(fields) >= 1 && fields[0] == "exitcode":
				t.Errorf("%s:%d: \"exitcode\" is gone: write \"exit N kensa …\"", name, i+1)
			case slices.Contains(fields, "sh") && strings.Contains(line, "kensa "):
				t.Errorf("%s:%d: kensa run through a shell: write \"exit N kensa …\" so the script asserts its exit code", name, i+1)
			}
		}
	}
}

// scriptLines returns the script part of a txtar (before its first file),
// one line each, with a leading "[condition] " taken off.
func scriptLines(data []byte) []string {
	script, _, _ := strings.Cut(string(data), "\n-- ")
	lines := strings.Split(script, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		for strings.HasPrefix(line, "[") {
			_, rest, ok := strings.Cut(line, "]")
			if !ok {
				break
			}
			line = strings.TrimSpace(rest)
		}
		lines[i] = line
	}
	return lines
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
