package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Merging joins reports of one command into one: the per-node reports of a
// DaemonSet, the shards of a fips scan run as several Jobs. The merged
// report is a report of that same command (it can be merged again, or be
// the baseline of a diff), with
//   - every result and every finding of every input, in input order, each
//     naming where it came from in "source": the input's file name as the
//     user gave it, or the source it already had (a merged report merged
//     again keeps the original names);
//   - "sources": one entry per input report (flattened when an input was
//     itself merged), with its tool, times and counts;
//   - a summary re-computed by the command's domain from the merged
//     results and findings and the inputs' summaries (Summarizer): counts
//     are re-counted, never copied from one input;
//   - "at" the latest of the inputs' evaluation times (each source keeps
//     its own), "generated_at" the time of the merge.

// Summarizer computes the summary of a merged report of one command from
// all the merged results and findings, and the inputs' summaries (for
// counts that results cannot give back, such as the files a scan
// examined). Each domain provides one per command.
type Summarizer func(results []json.RawMessage, findings []Finding, summaries []json.RawMessage) (any, error)

// MixedError is the refusal to merge or diff reports of two commands.
// (Reports of another schema are refused by Read.)
type MixedError struct {
	First, Name string // the first input and the one that differs
	Want, Got   string // their commands
}

func (e *MixedError) Error() string {
	return fmt.Sprintf("%s is a report of %q, but %s is of %q: reports of one command only", e.Name, e.Got, e.First, e.Want)
}

// MergeOptions are the run's own facts.
type MergeOptions struct {
	Version     string
	GeneratedAt time.Time
	// Summarize re-summarises the merged report; nil refuses the command.
	Summarize Summarizer
}

// Merge joins docs, all of one command, into one report.
func Merge(docs []*Document, o MergeOptions) (*Report, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := docs[0]
	for _, d := range docs[1:] {
		if d.Command != first.Command {
			return nil, &MixedError{First: first.Name, Name: d.Name, Want: first.Command, Got: d.Command}
		}
	}
	if o.Summarize == nil {
		return nil, fmt.Errorf("kensa does not know how to re-count %q reports", first.Command)
	}
	at := first.At
	var results []json.RawMessage
	var findings []Finding
	var summaries []json.RawMessage
	var sources []Source
	for _, d := range docs {
		if d.At.After(at) {
			at = d.At
		}
		for _, r := range d.Results {
			tagged, err := withSource(r, d.Name)
			if err != nil {
				return nil, &ReadError{d.Name, err}
			}
			results = append(results, tagged)
		}
		for _, f := range d.Findings {
			if f.Source == "" {
				f.Source = d.Name
			}
			findings = append(findings, f)
		}
		summaries = append(summaries, d.Summary)
		if len(d.Sources) > 0 {
			sources = append(sources, d.Sources...)
			continue
		}
		sources = append(sources, sourceOf(d))
	}
	sum, err := o.Summarize(results, findings, summaries)
	if err != nil {
		return nil, fmt.Errorf("re-counting the merged %s report: %w", first.Command, err)
	}
	rep := New(first.Command, o.Version, o.GeneratedAt, at)
	if results == nil {
		results = []json.RawMessage{}
	}
	rep.Results = results
	if findings != nil {
		rep.Findings = findings
	}
	rep.Summary = sum
	rep.Sources = sources
	SortFindings(rep.Findings)
	return rep, nil
}

// withSource adds "source": name to the result object r, unless it has a
// source already.
func withSource(r json.RawMessage, name string) (json.RawMessage, error) {
	var has struct {
		Source json.RawMessage `json:"source"`
	}
	if err := json.Unmarshal(r, &has); err != nil {
		return nil, fmt.Errorf("%w: a result is not an object: %v", ErrNotReport, err)
	}
	if has.Source != nil {
		if has.Source[0] != '"' {
			return nil, fmt.Errorf("%w: a result's \"source\" is not a string", ErrNotReport)
		}
		return r, nil
	}
	t := bytes.TrimSpace(r)
	q, _ := json.Marshal(name)
	var b bytes.Buffer
	b.Write(t[:len(t)-1]) // without the closing brace
	if len(bytes.TrimSpace(t[1:len(t)-1])) > 0 {
		b.WriteByte(',')
	}
	b.WriteString(`"source":`)
	b.Write(q)
	b.WriteByte('}')
	return b.Bytes(), nil
}
