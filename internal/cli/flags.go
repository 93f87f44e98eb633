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
	// failOnValues maps extra --fail-on words of a command (fips scan's
	// verdicts) to severities.
	failOnValues map[string]report.Severity
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
func (c *commonFlags) validate(now time.Time) error {
	switch c.format {
	case "text", "json", "sarif":
	default:
		return usageErrorf("--format %q is not a format kensa writes", c.format).
			withHint("use --format text, json or sarif")
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
			return nil, usageErrorf("%s: %v", fs.Name(), err).
				withHint(`run "kensa %s --help" for its flags`, fs.Name())
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
	if err := common.validate(env.Now()); err != nil {
		return nil, err
	}
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
