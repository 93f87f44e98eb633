package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kensa-project/kensa/internal/report"
)

// Every command that writes a report has one shape:
//
//	parse     parseCommand: flags, the shared flags validated
//	validate  every input named and every output path (--output, --record)
//	          checked before any work starts (checkOutput, checkInput)
//	run       the domain package does the work and returns data: results,
//	          findings (ids from its catalog) and its summary
//	sort      findings ordered (report.SortFindings) unless the command
//	          keeps the order of its table
//	render    finish: JSON, SARIF or the text view, to --output or stdout,
//	          whole or not at all
//	exit      errFindings (1) when a finding is at or above --fail-on, or
//	          the command's own error (2) when an input could not be used;
//	          --emit's rules written are success (0) unless --fail-on
//	          was given
//
// The domain decides; a command's cli entry only wires flags to the
// domain and the domain's data to a view. docs/adding-a-command.md says
// how to add one.

// outcome is what a command's run hands to finish.
type outcome struct {
	rep *report.Report
	// text writes the text view.
	text func(t *textWriter)
	// product, when set, is written instead of the report in text format
	// (the rules of egress analyze and egress whatif --emit, the targets
	// file of cert inventory).
	product func(w io.Writer) error
	// emitted: the product is the job, so once it is written the command
	// exits 0 unless --fail-on was given explicitly ("kensa egress
	// analyze --emit terraform … > egress.tf" does not stop a set -e
	// script); after (exit 2) still wins.
	emitted bool
	// keepOrder leaves the findings in the order the domain gave them
	// (the order of the command's table).
	keepOrder bool
	// after is returned once the report is written: an input that could
	// not be used exits 2 even though the report covers the rest.
	after error
}

// finish sorts, renders and writes the report, and returns the error that
// decides the exit code.
func finish(env *Env, c *commonFlags, o outcome) error {
	rep := o.rep
	if !o.keepOrder {
		report.SortFindings(rep.Findings)
	}
	var buf bytes.Buffer
	var err error
	switch {
	case c.format == "json":
		err = report.WriteJSON(&buf, rep)
	case c.format == "sarif":
		opts := c.sarif
		if d, ok := domains[rep.Command]; ok && opts.Checks == nil {
			opts.Checks = d.checks
			if d.doc != "" {
				opts.DocsURI = docsBase + d.doc
			}
		}
		err = report.WriteSARIF(&buf, rep, opts)
	case c.format == "cyclonedx":
		err = report.WriteCycloneDX(&buf, c.cyclonedx(rep))
	case o.product != nil:
		err = o.product(&buf)
	default:
		t := &textWriter{w: &buf}
		if c.output == "" || c.output == "-" {
			t.width = env.Width // a file gets whole lines
		}
		o.text(t)
		err = t.err
	}
	if err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	if c.output == "" || c.output == "-" {
		if _, err := env.Stdout.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("writing the report: %w", err)
		}
	} else if err := writeFileAtomic(c.output, buf.Bytes()); err != nil {
		return usageErrorf("writing the report to %s: %v", c.output, unwrapPath(err)).
			withHint("check that the directory of --output exists and is writable")
	}
	if o.after != nil {
		return o.after
	}
	if o.emitted && o.product != nil && c.format == "text" && !c.failOnSet {
		return nil // the product is written: that is the job done
	}
	if failing(rep.Findings, c.failSev) {
		return errFindings
	}
	return nil
}

// failing reports whether any finding is at or above sev ("" = never).
func failing(fs []report.Finding, sev report.Severity) bool {
	if sev == "" {
		return false
	}
	for _, f := range fs {
		if f.Severity.Rank() >= sev.Rank() {
			return true
		}
	}
	return false
}

// checkOutput checks, before any work starts, that a file can be written
// at path: its directory exists and is writable, and path is not a
// directory. "" and "-" (standard output) pass.
func checkOutput(flagName, path string) error {
	if path == "" || path == "-" {
		return nil
	}
	hint := fmt.Sprintf("check that the directory of %s exists and is writable", flagName)
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return usageErrorf("%s %s is a directory", flagName, path).withHint("name a file: %s", filepath.Join(path, "report.json"))
		}
		if !st.Mode().IsRegular() {
			return nil // /dev/null, a FIFO: written directly
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".kensa-check-*")
	if err != nil {
		return usageErrorf("%s %s: cannot write in %s: %v", flagName, path, dir, unwrapPath(err)).withHint("%s", hint)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// checkInput checks, before any work starts, that an input file named by
// a flag exists and is a file.
func checkInput(flagName, path, hint string) error {
	if path == "" || path == "-" {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return usageErrorf("%s %s: %v", flagName, path, unwrapPath(err)).withHint("%s", hint)
	}
	if st.IsDir() {
		return usageErrorf("%s %s is a directory", flagName, path).withHint("%s", hint)
	}
	return nil
}

// unwrapPath drops the path an *os.PathError repeats: the message names
// the file already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// findingsHelp is the end of a command's --help: the finding ids of its
// domain's catalog, where each is documented.
func findingsHelp(doc string, checks []report.Check) string {
	return "\nFinding ids (severity; each explained in " + doc + "):\n" + report.CheckList(checks)
}
