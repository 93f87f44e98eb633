// Package report holds kensa's one findings model and its writers.
//
// Every command produces a [Report]: a list of results (its subjects: files,
// endpoints, destinations; each command has its own result type) and a list
// of [Finding]s. A finding has a stable ID, a [Severity], the subject it is
// about, a message in the user's terms, a citation (the standard, document
// or data row it enforces) and a remediation. Domain packages decide; the
// writers here only render: JSON ([WriteJSON], schema "kensa/v1", described
// by docs/kensa-v1.schema.json), SARIF 2.1.0 ([WriteSARIF]), CycloneDX
// ([WriteCycloneDX], of a BOM the domain builds) and the helpers the text
// views share ([Table]). Reports are read back ([Read]), joined ([Merge])
// and compared ([Diff]) by a finding's [Finding.Fingerprint].
package report

import (
	"cmp"
	"slices"
	"time"
)

// Schema is the value of the "schema" field of every JSON report.
const Schema = "kensa/v1"

// Severity orders findings. The zero value is invalid.
type Severity string

// The severities, from the most to the least serious.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Rank returns a number that grows with seriousness: info 1, warning 2,
// error 3, anything else 0.
func (s Severity) Rank() int {
	switch s {
	case Error:
		return 3
	case Warning:
		return 2
	case Info:
		return 1
	}
	return 0
}

// Finding is one thing that is wrong (or worth knowing) about one subject.
type Finding struct {
	// ID is stable across releases: pipelines and exceptions key on it.
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	// Subject names what the finding is about: a path, an endpoint, a
	// destination, a certificate.
	Subject string `json:"subject"`
	Message string `json:"message"`
	// Citation names the rule enforced: a standard's section, a document,
	// or a row of one of kensa's data files.
	Citation    string `json:"citation,omitempty"`
	Remediation string `json:"remediation,omitempty"`
	// Address and ServerName name the endpoint of a probe finding.
	Address    string `json:"address,omitempty"`
	ServerName string `json:"servername,omitempty"`
	// Path is the file the finding is about, when it is about a file (as
	// the command's results name it); Image is the container image that
	// file is in ("registry:org/app:1.2", with " [linux/arm64]" when
	// several platforms were scanned). SARIF turns a Path into a file
	// location, everything else into a logical one.
	Path  string `json:"path,omitempty"`
	Image string `json:"image,omitempty"`
	// Source names the report a finding came from, in a report joined
	// by kensa report merge (see [Merge]); empty otherwise.
	Source string `json:"source,omitempty"`
}

// Tool identifies the program that wrote a report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Report is one run of one command.
type Report struct {
	Schema      string    `json:"schema"`
	Tool        Tool      `json:"tool"`
	Command     string    `json:"command"`
	GeneratedAt time.Time `json:"generated_at"`
	// At is the time the evaluation was made for (--at).
	At time.Time `json:"at"`
	// Results holds the command's own result values (a slice of the
	// command's result type); it is rendered as a JSON array.
	Results  any       `json:"results"`
	Findings []Finding `json:"findings"`
	// Summary holds the command's counts.
	Summary any `json:"summary"`
	// Sources lists the reports a merged report was joined from (see
	// [Merge]); empty for the report of one run.
	Sources []Source `json:"sources,omitempty"`
}

// New returns a report for command with the schema and tool filled in.
func New(command, version string, generatedAt, at time.Time) *Report {
	return &Report{
		Schema:      Schema,
		Tool:        Tool{Name: "kensa", Version: version},
		Command:     command,
		GeneratedAt: generatedAt.UTC(),
		At:          at.UTC(),
		Results:     []any{},
		Findings:    []Finding{},
		Summary:     struct{}{},
	}
}

// SortFindings orders findings most serious first, then by subject and ID,
// so that every writer and every run shows them in the same order.
func SortFindings(fs []Finding) {
	slices.SortStableFunc(fs, compareFindings)
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(b.Severity.Rank(), a.Severity.Rank()),
		cmp.Compare(a.Subject, b.Subject),
		cmp.Compare(a.Address, b.Address),
		cmp.Compare(a.ServerName, b.ServerName),
		cmp.Compare(a.ID, b.ID),
	)
}

// Worst returns the highest severity among fs, or "" when fs is empty.
func Worst(fs []Finding) Severity {
	var w Severity
	for _, f := range fs {
		if f.Severity.Rank() > w.Rank() {
			w = f.Severity
		}
	}
	return w
}

// CountBySeverity returns how many findings there are of each severity.
func CountBySeverity(fs []Finding) map[Severity]int {
	m := map[Severity]int{}
	for _, f := range fs {
		m[f.Severity]++
	}
	return m
}

// SeverityTally is CountBySeverity keyed by the severity's word, as the
// JSON summaries that count findings hold it ({"error": 2}); never nil.
func SeverityTally(fs []Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[string(f.Severity)]++
	}
	return m
}

// AddCounts adds the counts of b to a (a summary's map of counts by
// verdict, backend or severity, when reports are merged) and returns a,
// made when it was nil.
func AddCounts(a, b map[string]int) map[string]int {
	if a == nil {
		a = map[string]int{}
	}
	for k, n := range b {
		a[k] += n
	}
	return a
}

// AddEach adds each summary of b to a's summary of the same key (a nil
// a is made) and returns a: the per-pool and per-namespace counts of
// merged reports.
func AddEach[K comparable, V any, P interface {
	*V
	Add(V)
}](a, b map[K]V) map[K]V {
	if a == nil {
		a = map[K]V{}
	}
	for k, v := range b {
		x := a[k]
		P(&x).Add(v)
		a[k] = x
	}
	return a
}

// Check is one entry of a domain's catalog of checks: every finding ID a
// domain package can emit has exactly one Check. SARIF rules, each command's
// --help, docs/*.md and the catalog tests all read the catalog, so a finding
// ID exists in one place.
type Check struct {
	// ID is the finding ID (Finding.ID) this check emits.
	ID string
	// Severity is the severity the finding has unless the domain says
	// otherwise for one case (a finding may be raised or lowered per case;
	// the catalog gives the usual one).
	Severity Severity
	// Title is one line in the user's terms: "certificate and key do not match".
	Title string
	// Citation names the standard, document or data row the check enforces.
	Citation string
	// Help says what the finding means and how to fix it, in a few sentences.
	Help string
}
