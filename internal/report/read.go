package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxReportSize bounds how much of one report kensa reads back (merge,
// diff, baselines): a fips scan of a whole node with every file listed is
// a few MiB; 256 MiB leaves room for a cluster, and stops a hostile or
// mistaken input (a log, /dev/zero) from taking the memory.
const MaxReportSize = 256 << 20

// Document is a kensa/v1 report read back from JSON: the envelope and the
// findings typed, the results and summary kept as JSON, since their type
// is the command's own.
type Document struct {
	// Name is where the document was read from (a file name as the user
	// gave it); it is not part of the JSON.
	Name        string            `json:"-"`
	Schema      string            `json:"schema"`
	Tool        Tool              `json:"tool"`
	Command     string            `json:"command"`
	GeneratedAt time.Time         `json:"generated_at"`
	At          time.Time         `json:"at"`
	Results     []json.RawMessage `json:"results"`
	Findings    []Finding         `json:"findings"`
	Summary     json.RawMessage   `json:"summary"`
	Sources     []Source          `json:"sources,omitempty"`
}

// Source is one report a merged report was joined from.
type Source struct {
	// File is the report's name as given to kensa report merge.
	File        string    `json:"file"`
	Tool        *Tool     `json:"tool,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
	At          time.Time `json:"at"`
	Results     int       `json:"results"`
	Findings    int       `json:"findings"`
}

// ErrNotReport is wrapped by the errors of [Read] for input that is not a
// kensa/v1 report: not JSON, another schema, fields missing.
var ErrNotReport = errors.New("not a kensa/v1 report")

// ReadError says which input could not be read back and why.
type ReadError struct {
	Name string
	Err  error
}

func (e *ReadError) Error() string { return e.Name + ": " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// Read reads one kensa/v1 JSON report from r, at most limit bytes (0
// means MaxReportSize). name is kept in the Document and in errors. The
// envelope is checked: schema "kensa/v1", a command, results and findings
// arrays, each result an object, each finding with an ID and a known
// severity. Fields kensa does not know are ignored, so a report of a
// later kensa/v1 release reads.
func Read(r io.Reader, name string, limit int64) (*Document, error) {
	if limit <= 0 {
		limit = MaxReportSize
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &ReadError{name, err}
	}
	if int64(len(data)) > limit {
		size := fmt.Sprintf("%d bytes", limit)
		if limit >= 1<<20 {
			size = fmt.Sprintf("%d MiB", limit>>20)
		}
		return nil, &ReadError{name, fmt.Errorf("%w: larger than the %s kensa reads of a report", ErrNotReport, size)}
	}
	doc, err := parse(data)
	if err != nil {
		return nil, &ReadError{name, err}
	}
	doc.Name = name
	return doc, nil
}

func parse(data []byte) (*Document, error) {
	var doc Document
	// Unmarshal, not a Decoder: the data is in memory already, and a
	// second document after the first is an error too.
	if err := json.Unmarshal(data, &doc); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return nil, fmt.Errorf("%w: field %q is not a %s", ErrNotReport, ute.Field, ute.Type)
		}
		return nil, fmt.Errorf("%w: %v", ErrNotReport, err)
	}
	switch {
	case doc.Schema == "":
		var other struct {
			Runs      json.RawMessage `json:"runs"`
			BOMFormat string          `json:"bomFormat"`
		}
		json.Unmarshal(data, &other)
		switch {
		case other.Runs != nil:
			return nil, fmt.Errorf("%w: it is a SARIF log", ErrNotReport)
		case other.BOMFormat != "":
			return nil, fmt.Errorf("%w: it is a %s BOM", ErrNotReport, other.BOMFormat)
		}
		return nil, fmt.Errorf("%w: it has no \"schema\" field", ErrNotReport)
	case doc.Schema != Schema:
		return nil, fmt.Errorf("%w: its schema is %q", ErrNotReport, doc.Schema)
	case doc.Command == "":
		return nil, fmt.Errorf("%w: it names no command", ErrNotReport)
	case doc.Results == nil:
		return nil, fmt.Errorf("%w: it has no \"results\" array", ErrNotReport)
	case doc.Findings == nil:
		return nil, fmt.Errorf("%w: it has no \"findings\" array", ErrNotReport)
	}
	for i, r := range doc.Results {
		if t := bytes.TrimLeft(r, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return nil, fmt.Errorf("%w: result %d is not an object", ErrNotReport, i+1)
		}
	}
	for i, f := range doc.Findings {
		if f.ID == "" || f.Severity.Rank() == 0 {
			return nil, fmt.Errorf("%w: finding %d has no id or no severity (error, warning, info)", ErrNotReport, i+1)
		}
	}
	return &doc, nil
}

// Report returns the document as a report to write again.
func (d *Document) Report() *Report {
	var sum any = d.Summary
	if len(d.Summary) == 0 {
		sum = struct{}{}
	}
	return &Report{
		Schema: d.Schema, Tool: d.Tool, Command: d.Command, GeneratedAt: d.GeneratedAt, At: d.At,
		Results: d.Results, Findings: d.Findings, Summary: sum, Sources: d.Sources,
	}
}
