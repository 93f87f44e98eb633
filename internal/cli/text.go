package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
)

// textWriter is the one writer of every text view. Its error is sticky:
// after a failed write it writes nothing more, and the view returns the
// first error once. Every string it prints comes from input (file names,
// certificate subjects, log lines) and goes through report.Printable.
type textWriter struct {
	w   io.Writer
	err error
}

// printf writes one piece of the text view. String arguments are made one
// printable line first; the format is kensa's own.
func (t *textWriter) printf(format string, args ...any) {
	if t.err != nil {
		return
	}
	for i, a := range args {
		switch s := a.(type) {
		case string:
			args[i] = report.Printable(s)
		case fmt.Stringer:
			args[i] = report.Printable(s.String())
		case error:
			args[i] = report.Printable(s.Error())
		}
	}
	_, t.err = fmt.Fprintf(t.w, format, args...)
}

// println writes s and a line break; s is one line of input-derived text.
func (t *textWriter) println(s string) { t.printf("%s\n", s) }

// lines writes multi-line text kensa composed (wrapped paragraphs), each
// line made printable.
func (t *textWriter) lines(s string) {
	for _, l := range strings.SplitAfter(s, "\n") {
		if l == "" {
			continue
		}
		body, nl := strings.CutSuffix(l, "\n")
		t.printf("%s", body)
		if nl {
			t.printf("\n")
		}
	}
}

// table writes a table (its cells are made printable by report.Table).
func (t *textWriter) table(tb *report.Table) {
	if t.err == nil {
		t.err = tb.Write(t.w)
	}
}
