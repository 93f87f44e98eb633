package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/egress/explain"
	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/egress/reach"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/report"
)

// run runs kensa in-process and returns its exit code and outputs.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Env{Stdout: &out, Stderr: &errOut})
	checkCatalog(t, out.Bytes())
	return code, out.String(), errOut.String()
}

// catalogs are the catalogs of checks of the commands.
var catalogs = map[string][]report.Check{
	"fips scan":      fips.Checks,
	"fips host":      host.Checks,
	"fips cluster":   cluster.Checks,
	"cert check":     cert.Checks,
	"cert probe":     cert.Checks,
	"cert watch":     cert.Checks,
	"cert inventory": cert.Checks,
	"egress analyze": egress.Checks,
	"egress check":   reach.Checks,
	"egress whatif":  policy.Checks,
	"egress explain": explain.Checks,
}

// checkCatalog fails t when a JSON report emits a finding whose ID is not
// in its command's catalog, or with a severity the catalog does not give
// it. Every test that runs kensa in-process checks it. The findings of a
// report diff are those of the command it compared.
func checkCatalog(t *testing.T, out []byte) {
	t.Helper()
	var rep struct {
		Schema   string
		Command  string
		Findings []report.Finding
		Summary  struct{ Command string }
	}
	if !bytes.HasPrefix(out, []byte("{")) || json.Unmarshal(out, &rep) != nil || rep.Schema != report.Schema {
		return
	}
	if rep.Command == "report diff" {
		rep.Command = rep.Summary.Command
	}
	checks, ok := catalogs[rep.Command]
	if !ok {
		t.Errorf("command %q has no catalog in catalogs (cli_test.go)", rep.Command)
		return
	}
	for _, f := range rep.Findings {
		if _, ok := report.Lookup(checks, f.ID); !ok {
			t.Errorf("%s emitted finding id %q, which its catalog lacks", rep.Command, f.ID)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"no args", nil, ExitError, "Usage:"},
		{"help", []string{"--help"}, ExitOK, ""},
		{"version", []string{"version"}, ExitOK, ""},
		{"version extra", []string{"version", "x"}, ExitError, "kensa: error: version takes no arguments"},
		{"unknown", []string{"nope"}, ExitError, `kensa: error: unknown command "nope"`},
		{"group alone", []string{"cert"}, ExitError, "kensa: hint:     cert check"},
		{"group help", []string{"cert", "--help"}, ExitOK, ""},
		{"group unknown", []string{"cert", "bogus"}, ExitError, `unknown command "cert bogus"`},
		{"flag before the command", []string{"--bogus"}, ExitError, "kensa: error: unknown flag --bogus: flags come after the command\n"},
		{"flag after a group", []string{"fips", "--format", "json"}, ExitError, "kensa: error: unknown flag --format: kensa fips needs a command first\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.want {
				t.Errorf("Main(%q) = %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("Main(%q) stderr = %q, want it to contain %q", tt.args, stderr, tt.wantStderr)
			}
		})
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	env := &Env{}
	fs := newFlagSet("test")
	c := addCommon(fs, "error")
	pos, err := parseArgs(env, fs, "", []string{"/usr", "--format", "json", "b", "--", "--c"})
	if err != nil {
		t.Fatal(err)
	}
	if c.format != "json" {
		t.Errorf("format = %q, want json", c.format)
	}
	if got, want := strings.Join(pos, ","), "/usr,b,--c"; got != want {
		t.Errorf("positional = %q, want %q", got, want)
	}
}

// TestEveryCommandHelp: every command prints its usage, with its default
// --fail-on and its exit codes, on standard output and exits 0, whether
// --help comes first or after other arguments.
func TestEveryCommandHelp(t *testing.T) {
	for _, c := range commands {
		if c.name == "version" {
			continue
		}
		for _, args := range [][]string{{"--help"}, {"x", "-h"}} {
			argv := append(strings.Fields(c.name), args...)
			code, stdout, stderr := run(t, argv...)
			if code != ExitOK || stderr != "" {
				t.Errorf("kensa %q = %d, stderr %q; want 0 and nothing", argv, code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: kensa "+c.name) {
				t.Errorf("kensa %q: stdout does not start with its usage: %.60q", argv, stdout)
			}
			for _, want := range []string{"(default ", "--fail-on", "Exit"} {
				if !strings.Contains(stdout, want) {
					t.Errorf("kensa %q: usage does not say %q", argv, want)
				}
			}
			// It fits an 80-column terminal: long examples are
			// continued with a backslash.
			for _, line := range strings.Split(stdout, "\n") {
				if n := utf8.RuneCountInString(line); n > 80 {
					t.Errorf("kensa %q: a line of %d columns: %q", argv, n, line)
				}
			}
		}
	}
	code, stdout, _ := run(t, "--help")
	for _, line := range strings.Split(stdout, "\n") {
		if n := utf8.RuneCountInString(line); code != ExitOK || n > 80 {
			t.Errorf("kensa --help = %d: a line of %d columns: %q", code, n, line)
		}
	}
}

// TestParseDurationRefusesNonNumbers: "NaN" and "Inf" parse as floats, and
// a day count beyond time.Duration's range would overflow.
func TestParseDurationRefusesNonNumbers(t *testing.T) {
	for _, s := range []string{"NaNd", "Infd", "+Infd", "-1d", "1e9d", "xd"} {
		if d, err := parseDuration(s); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", s, d)
		}
	}
	if d, err := parseDuration("30d"); err != nil || d != 30*24*time.Hour {
		t.Errorf("parseDuration(30d) = %v, %v", d, err)
	}
	for _, s := range []string{"NaN%", "0%", "100%"} {
		if _, err := parseThresholdFlag(s); err == nil {
			t.Errorf("--min-remaining %s: no error", s)
		}
	}
}

// TestProgressCutsWholeRunes: a long status line (an image reference, a
// Unicode path) is cut at a rune, never inside one.
func TestProgressCutsWholeRunes(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&Env{Stderr: &b, StderrIsTerminal: true})
	p.update("kensa: %s", strings.Repeat("検", 150))
	got := strings.TrimPrefix(b.String(), "\r\x1b[K")
	if !utf8.ValidString(got) || utf8.RuneCountInString(got) != 100 || !strings.HasSuffix(got, "…") {
		t.Errorf("status line = %q (%d runes), want 100 valid runes ending in …", got, utf8.RuneCountInString(got))
	}
	// A narrower terminal: the line stays within it, or it would wrap and
	// could not be erased.
	b.Reset()
	p = newProgress(&Env{Stderr: &b, StderrIsTerminal: true, StderrWidth: 40})
	p.update("kensa: %s", strings.Repeat("x", 150))
	if got := strings.TrimPrefix(b.String(), "\r\x1b[K"); utf8.RuneCountInString(got) != 39 {
		t.Errorf("status line on a 40-column terminal = %q (%d runes), want 39", got, utf8.RuneCountInString(got))
	}
}

// TestErrorsArePrintable: an error quoting a hostile name cannot drive
// the terminal.
func TestErrorsArePrintable(t *testing.T) {
	_, _, stderr := run(t, "fips", "scan", "/nonexistent/\x1b[2J\x1b]0;x\a")
	if strings.ContainsAny(stderr, "\x1b\a") || !strings.HasPrefix(stderr, "kensa: error: ") {
		t.Errorf("stderr = %q", stderr)
	}
}

// TestAtTakesWhatSinceTakes: --at reads the same times as egress's
// --since and --until.
func TestAtTakesWhatSinceTakes(t *testing.T) {
	want := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-11-24 08:00", "2026-11-24T08:00", "2026-11-24T17:00+09:00", "2026-11-24T08:00:00Z", "2026-11-24 08:00:00"} {
		c := &commonFlags{format: "text", failOn: "error", atFlag: s}
		if err := c.validate(time.Now()); err != nil || !c.at.Equal(want) {
			t.Errorf("--at %q = %v, %v; want %v", s, c.at, err, want)
		}
		if got, err := parseWhen(s, time.Now()); err != nil || !got.Equal(want) {
			t.Errorf("--since %q = %v, %v; want %v", s, got, err, want)
		}
	}
}

// TestSourceDateEpoch: SOURCE_DATE_EPOCH makes two runs byte-identical
// (generated_at and the default --at); a value that is not a number is an
// error, not silently the clock.
func TestSourceDateEpoch(t *testing.T) {
	dir := t.TempDir()
	log := dir + "/fw.log"
	if err := os.WriteFile(log, []byte("HTTPS request from 10.1.0.5:55640 to x.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runAt := func(epoch string, now time.Time) (int, string, string) {
		var out, errOut bytes.Buffer
		env := Env{Stdout: &out, Stderr: &errOut, Now: func() time.Time { return now },
			Getenv: func(k string) string {
				if k == "SOURCE_DATE_EPOCH" {
					return epoch
				}
				return ""
			}}
		code := Main(context.Background(), []string{"egress", "analyze", "--format", "json", log}, env)
		return code, out.String(), errOut.String()
	}
	_, a, _ := runAt("1790000000", time.Now())
	_, b, _ := runAt("1790000000", time.Now().Add(time.Hour))
	if a != b || a == "" {
		t.Errorf("two runs with SOURCE_DATE_EPOCH differ:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, `"at": "2026-09-21T`) || !strings.Contains(a, `"generated_at": "2026-09-21T`) {
		t.Errorf("at and generated_at are not SOURCE_DATE_EPOCH:\n%s", a)
	}
	code, out, stderr := runAt("yesterday", time.Now())
	if code != ExitError || out != "" || !strings.Contains(stderr, `kensa: error: SOURCE_DATE_EPOCH="yesterday" is not a number`) {
		t.Errorf("invalid SOURCE_DATE_EPOCH: code %d, stdout %q, stderr %q", code, out, stderr)
	}
}
