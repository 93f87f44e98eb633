package report

import (
	"encoding/json"
	"io"
)

// WriteJSON writes r as one indented JSON document followed by a newline.
// Findings are sorted first (see [SortFindings]).
func WriteJSON(w io.Writer, r *Report) error {
	SortFindings(r.Findings)
	if r.Findings == nil {
		// "findings" is an array in every kensa/v1 report, empty or not.
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
