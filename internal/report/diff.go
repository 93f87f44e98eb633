package report

import (
	"cmp"
	"slices"
	"time"
)

// Diffing compares the findings of a report with those of a baseline of
// the same command: what CI gates on when a scan is adopted on a fleet
// that already has findings. Findings are matched by [Finding.Fingerprint]
// (the ID and the subject, never the wording), as a multiset: two
// findings with one fingerprint in the new report and one in the
// baseline are one unchanged and one new.
//
// The diff is itself a kensa/v1 report, of the command "report diff":
//   - results: one entry per finding of either report, with its status
//     (new, fixed, unchanged) and fingerprint; new first, then fixed,
//     then unchanged, each most serious first;
//   - findings: the new findings only, so --fail-on, the exit code and
//     the SARIF of a diff are about what is new;
//   - summary: the compared command, both reports' times, the counts.

// DiffCommand is the command name of a diff report.
const DiffCommand = "report diff"

// The statuses of a diff entry.
const (
	StatusNew       = "new"
	StatusFixed     = "fixed"
	StatusUnchanged = "unchanged"
)

// DiffEntry is one finding of the baseline or the new report.
type DiffEntry struct {
	Status      string  `json:"status"`
	Fingerprint string  `json:"fingerprint"`
	Finding     Finding `json:"finding"`
}

// DiffSummary counts a diff.
type DiffSummary struct {
	Command       string         `json:"command"`
	Baseline      Source         `json:"baseline"`
	Current       Source         `json:"current"`
	New           int            `json:"new"`
	Fixed         int            `json:"fixed"`
	Unchanged     int            `json:"unchanged"`
	NewBySeverity map[string]int `json:"new_by_severity"`
}

// Diff compares cur with baseline. Both must be reports of one command.
func Diff(baseline, cur *Document, version string, generatedAt time.Time) (*Report, []DiffEntry, error) {
	if baseline.Command != cur.Command {
		return nil, nil, &MixedError{First: baseline.Name, Name: cur.Name, Want: baseline.Command, Got: cur.Command}
	}
	left := map[string][]Finding{}
	for _, f := range baseline.Findings {
		fp := f.Fingerprint()
		left[fp] = append(left[fp], f)
	}
	var entries []DiffEntry
	for _, f := range cur.Findings {
		fp := f.Fingerprint()
		st := StatusNew
		if olds := left[fp]; len(olds) > 0 {
			st = StatusUnchanged
			left[fp] = olds[1:]
		}
		entries = append(entries, DiffEntry{Status: st, Fingerprint: fp, Finding: f})
	}
	for _, f := range baseline.Findings {
		fp := f.Fingerprint()
		if olds := left[fp]; len(olds) > 0 {
			entries = append(entries, DiffEntry{Status: StatusFixed, Fingerprint: fp, Finding: olds[0]})
			left[fp] = olds[1:]
		}
	}
	rank := map[string]int{StatusNew: 0, StatusFixed: 1, StatusUnchanged: 2}
	slices.SortStableFunc(entries, func(a, b DiffEntry) int {
		return cmp.Or(cmp.Compare(rank[a.Status], rank[b.Status]), compareFindings(a.Finding, b.Finding), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	sum := DiffSummary{
		Command:       cur.Command,
		Baseline:      sourceOf(baseline),
		Current:       sourceOf(cur),
		NewBySeverity: map[string]int{},
	}
	rep := New(DiffCommand, version, generatedAt, cur.At)
	for _, e := range entries {
		switch e.Status {
		case StatusNew:
			sum.New++
			sum.NewBySeverity[string(e.Finding.Severity)]++
			rep.Findings = append(rep.Findings, e.Finding)
		case StatusFixed:
			sum.Fixed++
		default:
			sum.Unchanged++
		}
	}
	if entries == nil {
		entries = []DiffEntry{}
	}
	rep.Results = entries
	rep.Summary = sum
	return rep, entries, nil
}

// sourceOf describes report d as a source of a merge or a diff.
func sourceOf(d *Document) Source {
	tool := d.Tool
	return Source{File: d.Name, Tool: &tool, GeneratedAt: d.GeneratedAt.UTC(), At: d.At.UTC(), Results: len(d.Results), Findings: len(d.Findings)}
}
