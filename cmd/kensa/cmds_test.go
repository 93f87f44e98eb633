package main

import (
	"errors"
	"os/exec"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/schematest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// cmds are the scripts' own commands.
//
//	exit N PROGRAM ARGS...   runs PROGRAM as exec does and fails unless it
//	                         exits with status N exactly (! exec cannot
//	                         tell 1 from 2); stdout and stderr are then
//	                         checked as after exec. The one way scripts
//	                         assert a non-zero exit of kensa
//	                         (TestScriptsAssertExitCodes)
//	validate sarif|cyclonedx|kensa FILE
//	                         validates FILE against the official SARIF
//	                         2.1.0 or CycloneDX 1.6 schema
//	                         (../shared/schemas), or docs/kensa-v1.schema.json
var cmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"exit": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: exit N PROGRAM ARGS...")
		}
		want, err := strconv.Atoi(args[0])
		if err != nil {
			ts.Fatalf("exit: %q is not a status", args[0])
		}
		err = ts.Exec(args[1], args[2:]...)
		got := 0
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			got = ee.ExitCode()
		} else if err != nil {
			ts.Fatalf("exit: %v", err)
		}
		if got != want {
			ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
		}
	},
	"validate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: validate sarif|cyclonedx|kensa FILE")
		}
		var dir, name string
		switch args[0] {
		case "sarif", "cyclonedx":
			d, ok := schematest.OfficialDir()
			if !ok {
				ts.Fatalf("the official schemas are not in %s", d)
			}
			dir, name = d, map[string]string{"sarif": schematest.SARIF, "cyclonedx": schematest.CycloneDX}[args[0]]
		case "kensa":
			d, err := schematest.KensaDir()
			ts.Check(err)
			dir, name = d, schematest.KensaFile
		default:
			ts.Fatalf("validate: unknown schema %q", args[0])
		}
		s, err := schematest.Load(dir, name)
		ts.Check(err)
		err = schematest.Check(s, []byte(ts.ReadFile(args[1])))
		switch {
		case err != nil && !neg:
			ts.Fatalf("%s does not validate against %s:\n%v", args[1], name, err)
		case err == nil && neg:
			ts.Fatalf("%s validates against %s, and should not", args[1], name)
		}
	},
}

func init() {
	// [schemas]: the official schemas are there. Under CI they must be:
	// the condition is true and validate fails when they are missing.
	conditions["schemas"] = func() bool {
		_, ok := schematest.OfficialDir()
		return ok || testenv.InCI()
	}
}
