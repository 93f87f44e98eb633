package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Lookup returns the check of id in a catalog.
func Lookup(catalog []Check, id string) (Check, bool) {
	for _, c := range catalog {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// CheckList renders a catalog for a command's --help: one line per check,
// "  id (severity)  title".
func CheckList(catalog []Check) string {
	w := 0
	for _, c := range catalog {
		w = max(w, len(c.ID)+len(c.Severity)+3)
	}
	var b strings.Builder
	for _, c := range catalog {
		head := fmt.Sprintf("%s (%s)", c.ID, c.Severity)
		fmt.Fprintf(&b, "    %-*s  %s\n", w, head, c.Title)
	}
	return b.String()
}

// Count writes n with the noun's singular or plural: "1 record",
// "2 records". Every message and text view counts with it.
func Count[N ~int | ~int64](n N, one, many string) string {
	return strconv.FormatInt(int64(n), 10) + " " + Plural(n, one, many)
}

// Plural returns one when n is 1, many otherwise: the word alone, for
// "it was"/"they were".
func Plural[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SeverityCounts is the part of every command's summary that counts
// findings by severity. Add makes a merged report re-count.
type SeverityCounts struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Info     int `json:"info"`
}

// CountSeverities counts fs.
func CountSeverities(fs []Finding) SeverityCounts {
	var s SeverityCounts
	for _, f := range fs {
		switch f.Severity {
		case Error:
			s.Errors++
		case Warning:
			s.Warnings++
		case Info:
			s.Info++
		}
	}
	return s
}

// Add adds o's counts to s.
func (s *SeverityCounts) Add(o SeverityCounts) {
	s.Errors += o.Errors
	s.Warnings += o.Warnings
	s.Info += o.Info
}
