// Package cli is kensa's command line: the command table, flags, output
// format selection and exit codes. It is the only package that prints or
// decides an exit code; the domain packages return data.
//
// The terminal rules:
//   - The report goes to standard output (or --output FILE, written whole
//     or not at all).
//   - Errors go to standard error as "kensa: error: …", followed by
//     "kensa: hint: …" lines where one helps. No capitals, no full stops.
//   - Progress goes to standard error, only when it is a terminal, and is
//     erased when the work is done.
//
// Exit codes are the same for every command: 0 nothing at or above
// --fail-on, 1 findings at or above it, 2 kensa could not do what was asked.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFindings = 1
	ExitError    = 2
)

// Version can be set at link time (-ldflags "-X …/internal/cli.Version=v1.2.3");
// otherwise it comes from the module's build information.
var Version string

// version returns the version kensa reports in its output.
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Env is what a command may touch of the outside world. Tests fill it in;
// cmd/kensa passes the process's own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable.
	Getenv func(string) string
	// Now is the wall clock.
	Now func() time.Time
	// StderrIsTerminal enables progress output; StderrWidth is that
	// terminal's width (0 unknown): a progress line longer would wrap and
	// could not be erased.
	StderrIsTerminal bool
	StderrWidth      int
	// Width is the width of the terminal standard output is, 0 when it
	// is not one. $COLUMNS, when set, overrides it (and applies to a pipe
	// too); text tables fit it.
	Width int
}

// ProcessEnv returns the Env of the running process.
func ProcessEnv() Env {
	return Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		Getenv:           os.Getenv,
		Now:              time.Now,
		StderrIsTerminal: isTerminal(os.Stderr),
		StderrWidth:      terminalWidth(os.Stderr),
		Width:            terminalWidth(os.Stdout),
	}
}

// command is one entry of the command table.
type command struct {
	// name is the words that select it: "fips scan".
	name  string
	short string
	run   func(ctx context.Context, env *Env, args []string) error
}

// commands is the command table, in the order the usage lists them.
// A command is added here when it works, whole.
var commands = []command{
	{"fips scan", "binaries and libraries: which crypto module each one uses", runFipsScan},
	{"fips host", "this host's FIPS mode and each running process's module", runFipsHost},
	{"fips cluster", "a Kubernetes cluster: nodes' FIPS mode, workloads' crypto", runFipsCluster},
	{"cert check", "check a new certificate bundle before the change", runCertCheck},
	{"cert probe", "check what every endpoint serves after the change", runCertProbe},
	{"cert watch", "the same, continuously: a Prometheus exporter (or --once)", runCertWatch},
	{"cert inventory", "cloud certificates and load balancers → targets, findings", runCertInventory},
	{"egress analyze", "firewall / proxy logs → denied destinations and rules", runEgressAnalyze},
	{"egress check", "probe required destinations from here, layer by layer", runEgressCheck},
	{"egress whatif", "a firewall policy's verdict on a deploy's destinations", runEgressWhatif},
	{"egress explain", "a failed deploy's log → the destinations it could not reach", runEgressExplain},
	{"report merge", "join reports of one command (nodes, shards) into one", runReportMerge},
	{"report diff", "new, fixed and unchanged findings against a baseline report", runReportDiff},
	{"version", "print kensa's version", runVersion},
}

const usage = `kensa inspects a platform before and after a change, so that a mistake
is caught before it becomes an outage or an audit finding.

Usage:
    kensa <command> [flags] [arguments]

Commands:
%s
Flags shared by every command that writes a report:
    --format text|json|sarif   report format (default text); fips scan, fips
                               host and report merge also write cyclonedx
                               (a CBOM)
    --output FILE, -o FILE     write the report to FILE, not standard output
    --fail-on error|warning|never
                               exit 1 when a finding is at or above this
                               severity (default error; egress analyze:
                               warning)
    --at TIME                  evaluate as of TIME (2026-09-01 or RFC 3339;
                               default now)

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it,
2 kensa could not do what was asked.

Run "kensa <command> --help" for a command's flags and examples.
`

func writeUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "    %-16s %s\n", c.name, c.short)
	}
	fmt.Fprintf(w, usage, b.String())
}

// Main runs kensa with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if n, err := strconv.Atoi(env.Getenv("COLUMNS")); err == nil && n > 0 {
		env.Width = n
	}
	if len(args) == 0 {
		writeUsage(env.Stderr)
		return ExitError
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		writeUsage(env.Stdout)
		return ExitOK
	case "-version", "--version":
		args = []string{"version"}
	}
	cmd, rest, ok := lookup(args)
	if !ok && strings.HasPrefix(args[0], "-") {
		printError(env.Stderr, usageErrorf("unknown flag %s: flags come after the command", args[0]).
			withHint(`run "kensa --help" for the commands, and "kensa <command> --help" for their flags`))
		return ExitError
	}
	if !ok {
		printError(env.Stderr, usageErrorf("unknown command %q", strings.Join(args[:min(2, len(args))], " ")).
			withHint(`run "kensa --help" for the list of commands`))
		return ExitError
	}
	err := cmd.run(ctx, &env, rest)
	return exitCode(env.Stderr, err)
}

// lookup finds the command named by the first one or two words of args.
func lookup(args []string) (command, []string, bool) {
	for _, c := range commands {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && slices.Equal(args[:len(words)], words) {
			return c, args[len(words):], true
		}
	}
	// "kensa fips" alone: list its subcommands.
	for _, c := range commands {
		if strings.HasPrefix(c.name, args[0]+" ") {
			return command{name: args[0], run: groupUsage(args[0])}, args[1:], true
		}
	}
	return command{}, nil, false
}

func groupUsage(group string) func(context.Context, *Env, []string) error {
	return func(_ context.Context, env *Env, args []string) error {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: kensa %s <command> [flags]\n\nCommands:\n", group)
		for _, c := range commands {
			if strings.HasPrefix(c.name, group+" ") {
				fmt.Fprintf(&b, "    %-16s %s\n", c.name, c.short)
			}
		}
		if len(args) == 0 {
			// Like "kensa" alone: the usage, on stderr, and exit 2.
			return usageErrorf("kensa %s needs a command", group).withHint("%s", strings.TrimSpace(b.String()))
		}
		if args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			if strings.HasPrefix(args[0], "-") {
				return usageErrorf("unknown flag %s: kensa %s needs a command first", args[0], group).
					withHint("%s", strings.TrimSpace(b.String()))
			}
			return usageErrorf("unknown command %q", group+" "+args[0]).
				withHint("%s", strings.TrimSpace(b.String()))
		}
		io.WriteString(env.Stdout, b.String())
		return nil
	}
}

func runVersion(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(env.Stdout, "Usage: kensa version\n\nPrints kensa's version and the Go toolchain that built it.")
		return nil
	}
	if len(args) > 0 {
		return usageErrorf("version takes no arguments")
	}
	goVersion := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
	}
	_, err := fmt.Fprintf(env.Stdout, "kensa %s (%s)\n", version(), goVersion)
	return err
}

// cliError is an error that knows its exit code and may carry hints.
type cliError struct {
	err   error
	code  int
	hints []string
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

func (e *cliError) withHint(format string, args ...any) *cliError {
	e.hints = append(e.hints, fmt.Sprintf(format, args...))
	return e
}

// usageErrorf reports that kensa was asked for something it cannot do:
// bad flags, a missing argument, an unreadable input. Exit 2.
func usageErrorf(format string, args ...any) *cliError {
	return &cliError{err: fmt.Errorf(format, args...), code: ExitError}
}

// errFindings is returned by a command whose report holds findings at or
// above --fail-on. It prints nothing.
var errFindings = errors.New("findings at or above --fail-on")

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errFindings) {
		return ExitFindings
	}
	printError(stderr, err)
	if ce, ok := errors.AsType[*cliError](err); ok {
		return ce.code
	}
	return ExitError
}

func printError(w io.Writer, err error) {
	// An error can quote a hostile input (a registry's answer, a file
	// name): one printable line.
	fmt.Fprintf(w, "kensa: error: %s\n", report.Printable(err.Error()))
	if ce, ok := errors.AsType[*cliError](err); ok {
		for _, h := range ce.hints {
			for _, line := range strings.Split(h, "\n") {
				if strings.TrimSpace(line) != "" {
					fmt.Fprintf(w, "kensa: hint: %s\n", report.Printable(line))
				}
			}
		}
	}
}
