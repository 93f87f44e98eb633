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
	// width is the terminal's (0: none); tables fit it.
	width int
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

// fitLines writes multi-line text like lines, each line longer than the
// terminal wrapped at spaces, its continuation indented two more than the
// line; without a terminal the lines stay whole (a file or pipe gets them
// as they are).
func (t *textWriter) fitLines(s string) {
	for _, l := range strings.SplitAfter(s, "\n") {
		if l == "" {
			continue
		}
		body, nl := strings.CutSuffix(l, "\n")
		if t.width > 0 && len([]rune(body)) > t.width {
			rest := strings.TrimLeft(body, " ")
			indent := body[:len(body)-len(rest)]
			cont := indent + "  "
			w := wrap(rest, cont, max(t.width-len(cont), 20))
			t.lines(indent + strings.TrimPrefix(w, cont))
			continue
		}
		t.printf("%s", body)
		if nl {
			t.printf("\n")
		}
	}
}

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

// section writes a titled block after a blank line: the title, then each
// item (text kensa composed, one or more lines each). Nothing when there
// are no items.
func (t *textWriter) section(title string, items []string) {
	if len(items) == 0 {
		return
	}
	t.printf("\n%s\n", title)
	for _, it := range items {
		t.lines(it)
	}
}

// table writes a table (its cells are made printable by report.Table),
// fitted to the terminal.
func (t *textWriter) table(tb *report.Table) {
	tb.Width = t.width
	if t.err == nil {
		t.err = tb.Write(t.w)
	}
}

// textWidth is the width prose is wrapped to: the terminal's, at most
// def; def when there is no terminal.
func (t *textWriter) textWidth(def int) int {
	if t.width > 0 {
		return max(min(t.width, def), 40)
	}
	return def
}

// para writes text as a paragraph: the first line after first, the rest
// after indent, wrapped to the terminal (or to def runes when there is
// none; 0 keeps it on one line).
func (t *textWriter) para(first, indent, text string, def int) {
	w := t.textWidth(def)
	if def == 0 && t.width > 0 {
		w = t.width
	}
	if w == 0 {
		t.printf("%s%s\n", first, text)
		return
	}
	t.lines(hang(first, indent, text, w))
}

// hang wraps text with a hanging indent: the first line starts after
// first, the others after indent, and each fits in width runes (a word
// longer than a line stands alone on it). It ends with a line break.
func hang(first, indent, text string, width int) string {
	var b strings.Builder
	b.WriteString(first)
	n, start := len([]rune(first)), true
	for _, word := range strings.Fields(text) {
		wl := len([]rune(word))
		if !start && n+1+wl > width {
			b.WriteString("\n" + indent)
			n, start = len([]rune(indent)), true
		}
		if !start {
			b.WriteString(" ")
			n++
		}
		b.WriteString(word)
		n += wl
		start = false
	}
	b.WriteString("\n")
	return b.String()
}
