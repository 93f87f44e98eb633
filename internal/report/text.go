package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Table lays out rows in aligned columns for the text views. Cells never
// contain tabs or newlines (they are replaced by spaces) so one row is
// always one line.
type Table struct {
	header []string
	rows   [][]string
	// MaxWidth caps a column's width; longer cells are cut with "…".
	// Zero means no cap. The last column is never cut.
	MaxWidth int
	// Uncut lists the columns (0-based) MaxWidth never cuts: those a
	// reader needs whole, such as a destination to allow.
	Uncut []int
}

// NewTable returns a table with the given column headings.
func NewTable(header ...string) *Table {
	return &Table{header: header}
}

// Row adds a row; missing cells are empty, extra cells are dropped.
func (t *Table) Row(cells ...string) {
	row := make([]string, len(t.header))
	for i := range row {
		if i < len(cells) {
			row[i] = clean(cells[i])
		}
	}
	t.rows = append(t.rows, row)
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Write renders the table with two spaces between columns.
func (t *Table) Write(w io.Writer) error {
	widths := make([]int, len(t.header))
	all := append([][]string{t.header}, t.rows...)
	for _, row := range all {
		for i, c := range row {
			n := utf8.RuneCountInString(c)
			if t.MaxWidth > 0 && i < len(row)-1 && n > t.MaxWidth && !slices.Contains(t.Uncut, i) {
				n = t.MaxWidth
			}
			widths[i] = max(widths[i], n)
		}
	}
	var b strings.Builder
	for _, row := range all {
		b.Reset()
		for i, c := range row {
			if i == len(row)-1 {
				b.WriteString(c)
				break
			}
			c = cut(c, widths[i])
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}

func clean(s string) string { return Printable(s) }

// Printable returns s as one harmless line for a terminal: tabs and line
// breaks become spaces; other C0 and C1 control characters (ESC, CSI) and
// DEL, which a hostile file name, certificate subject or binary could aim
// at the terminal, become '?'; invalid UTF-8 becomes U+FFFD.
func Printable(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s // printable ASCII, the common case: no copy
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
