package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/kensa-project/kensa/internal/report"
)

// commonFlags are the flags every report-writing command shares.
type commonFlags struct {
	format  string
	output  string
	failOn  string
	atFlag  string
	at      time.Time
	failSev report.Severity // "" means never
	// failOnSet is true when --fail-on was given on the command line
	// (an emitted product then still fails on findings).
	failOnSet bool
	// failOnValues maps extra --fail-on words of a command (fips scan's
	// verdicts) to severities.
	failOnValues map[string]report.Severity
	// sarif is what the SARIF writer needs beyond the report (the
	// command's catalog, the scanned directory).
	sarif report.SARIFOptions
	// cyclonedx builds the CycloneDX BOM of a report, for commands that
	// inventory crypto; nil where --format cyclonedx is not offered.
	cyclonedx func(*report.Report) *cdx.BOM
}

// stringList is a repeatable string flag whose values are kept whole
// (file names, which may hold commas).
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// listFlag is a repeatable flag whose values are also separated by commas
// ("--dest a,b --dest c"); blanks are dropped.
func listFlag(dst *[]string) func(string) error {
	return func(s string) error {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				*dst = append(*dst, x)
			}
		}
		return nil
	}
}

// newFlagSet returns a quiet flag set for command name: parseArgs prints
// the command's usage and errors itself.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// addCommon registers the shared flags on fs.
func addCommon(fs *flag.FlagSet, defaultFailOn string) *commonFlags {
	c := &commonFlags{}
	fs.StringVar(&c.format, "format", "text", "")
	fs.StringVar(&c.output, "output", "", "")
	fs.StringVar(&c.output, "o", "", "")
	fs.StringVar(&c.failOn, "fail-on", defaultFailOn, "")
	fs.StringVar(&c.atFlag, "at", "", "")
	return c
}

// validate checks the shared flags and resolves --at against now.
// Enumerated values are case-insensitive (--format JSON).
func (c *commonFlags) validate(now time.Time) error {
	c.format, c.failOn = strings.ToLower(c.format), strings.ToLower(c.failOn)
	switch c.format {
	case "text", "json", "sarif":
	case "cyclonedx":
		if c.cyclonedx == nil {
			return usageErrorf("--format cyclonedx is for commands that inventory crypto (fips scan, fips host)").
				withHint("use --format text, json or sarif")
		}
	default:
		hint := "use --format text, json or sarif"
		if c.cyclonedx != nil {
			hint = "use --format text, json, sarif or cyclonedx"
		}
		return usageErrorf("--format %q is not a format kensa writes", c.format).withHint("%s", hint)
	}
	switch c.failOn {
	case "never", "none":
		c.failSev = ""
	case "error", "warning", "info":
		c.failSev = report.Severity(c.failOn)
	default:
		sev, ok := c.failOnValues[c.failOn]
		if !ok {
			words := []string{"error", "warning", "never"}
			for k := range c.failOnValues {
				words = append(words, k)
			}
			return usageErrorf("--fail-on %q is not a severity", c.failOn).
				withHint("use one of: %s", strings.Join(slices.Sorted(slices.Values(words)), ", "))
		}
		c.failSev = sev
	}
	c.at = now
	if c.atFlag != "" {
		t, err := parseTime(c.atFlag)
		if err != nil {
			return usageErrorf("--at %q: %v", c.atFlag, err).
				withHint("write a date as 2026-09-01, or a time as 2026-09-01T12:00:00Z")
		}
		c.at = t
	}
	return nil
}

// timeLayouts are the times --at, --since and --until take: RFC 3339, a
// date and time with or without seconds, with or without a zone, and a
// date. A time without a zone is UTC, as the logs' own times are.
var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02",
	"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02T15:04Z07:00", "2006-01-02 15:04Z07:00", "2006-01-02 15:04:05Z07:00",
}

// parseTime accepts a date (taken as midnight UTC), RFC 3339, or a date and
// time (UTC unless it names its zone).
func parseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a date or an RFC 3339 time")
}

// parseDuration accepts Go durations plus a "d" suffix for days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		// NaN and Inf parse as floats; a time.Duration holds ±292 years.
		if err != nil || !(days >= 0 && days <= 100_000) {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (examples: 90s, 2h, 30d)", s)
	}
	return d, nil
}

// parseArgs parses args with fs, allowing flags after positional arguments
// ("kensa fips scan /usr --format json") as users expect. A "--" ends the
// flags. -h and --help print usageText to stdout and return errHelp.
func parseArgs(env *Env, fs *flag.FlagSet, usageText string, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(env.Stdout, usageText)
			return nil, errHelp
		}
		if err != nil {
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// fs.Parse stopped at a positional argument, or after "--".
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseCommand parses args and validates the shared flags. It returns nil
// positional arguments and no error when --help was printed.
func parseCommand(env *Env, fs *flag.FlagSet, common *commonFlags, usage string, args []string) ([]string, error) {
	pos, err := parseArgs(env, fs, usage, args)
	if errors.Is(err, errHelp) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, _, err := sourceDateEpoch(env); err != nil {
		return nil, err
	}
	// --at defaults to the time of the run: SOURCE_DATE_EPOCH makes both
	// generated_at and at reproducible.
	if err := common.validate(generatedAt(env)); err != nil {
		return nil, err
	}
	common.failOnSet = setFlags(fs)["fail-on"]
	if err := checkOutput("--output", common.output); err != nil {
		return nil, err
	}
	if pos == nil {
		pos = []string{}
	}
	return pos, nil
}

// errHelp means --help was asked for and printed; the command exits 0.
var errHelp = errors.New("help printed")

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so a reader never sees half a report. A name that exists
// and is not a regular file (/dev/null, a FIFO, a terminal) is written to
// directly: renaming over it would replace the device.
func writeFileAtomic(name string, data []byte) error {
	if st, err := os.Stat(name); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, werr := f.Write(data)
		return errors.Join(werr, f.Close())
	}
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// flagError rewords an error of the flag package in kensa's terms:
// "unknown flag --bogus" with the nearest flag as a hint, instead of Go's
// "flag provided but not defined: -bogus".
func flagError(fs *flag.FlagSet, err error) error {
	help := fmt.Sprintf(`run "kensa %s --help" for its flags`, fs.Name())
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		e := usageErrorf("unknown flag --%s", name)
		if near := nearestFlag(fs, name); near != "" {
			e.withHint("did you mean --%s?", near)
		}
		return e.withHint("%s", help)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return usageErrorf("--%s needs a value", strings.TrimLeft(name, "-")).withHint("%s", help)
	}
	// invalid value "x" for flag -jobs: parse error
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if val, after, ok := strings.Cut(rest, " for flag -"); ok {
			name, why, _ := strings.Cut(after, ": ")
			f := fs.Lookup(name)
			switch {
			case why == "parse error" && f != nil && isBoolFlag(f):
				why = "not true or false"
			case why == "parse error" || why == "value out of range":
				why = "not a whole number"
				if f != nil && strings.Contains(fmt.Sprintf("%T", f.Value), "duration") {
					why = "not a duration (examples: 500ms, 5s, 1m)"
				}
			case strings.HasPrefix(why, "time: "):
				why = "not a duration (examples: 500ms, 5s, 1m)"
			}
			return usageErrorf("--%s %s: %s", name, val, why).withHint("%s", help)
		}
	}
	// invalid boolean value "maybe" for -every-file: parse error
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		if val, after, ok := strings.Cut(rest, " for -"); ok {
			name, _, _ := strings.Cut(after, ":")
			return usageErrorf("--%s=%s: not true or false", name, strings.Trim(val, `"`)).
				withHint("--%s alone turns it on; --%s=false turns it off", name, name)
		}
	}
	if name, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return usageErrorf("%q is not a flag", name).withHint("write flags as --name value or --name=value; %s", help)
	}
	return usageErrorf("%v", err).withHint("%s", help)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// nearestFlag returns the flag of fs closest to name (by edit distance, at
// most a third of its length), or "".
func nearestFlag(fs *flag.FlagSet, name string) string {
	best, bestD := "", len(name)/3+1
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) < 2 {
			return
		}
		if d := editDistance(strings.ToLower(name), f.Name); d < bestD || (d == bestD && best == "") {
			best, bestD = f.Name, d
		}
	})
	return best
}

// editDistance is the Levenshtein distance of two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// setFlags returns the names of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}
