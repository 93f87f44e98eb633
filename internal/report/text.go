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
// one line, unless a column wraps.
//
// A table fits a terminal: with Width set, columns marked with Fit are
// narrowed (a path shortened in the middle so that its file name stays
// visible, an identifier cut at the end with "…", a reason wrapped onto
// continuation lines within its column) until the row fits; the JSON
// report keeps the full text.
type Table struct {
	header []string
	rows   [][]string
	// MaxWidth caps a column's width; longer cells are cut with "…".
	// Zero means no cap. The last column is never cut by it.
	MaxWidth int
	// Uncut lists the columns (0-based) MaxWidth never cuts: those a
	// reader needs whole, such as a destination to allow.
	Uncut []int
	// Width is the width of the terminal the table must fit (0: no limit).
	Width int
	fit   map[int]fitting
	// drop lists the columns left out, in this order, when narrowing
	// alone does not make the table fit.
	drop []int
}

// Optional lets columns be left out, in the order given, when the table
// does not fit Width even with every column narrowed.
func (t *Table) Optional(cols ...int) { t.drop = append(t.drop, cols...) }

// FitMode is how a column gives way when a table is wider than Width.
type FitMode int

const (
	// FitEnd cuts a cell at its end: "no FIPS provider (no ossl…".
	FitEnd FitMode = iota + 1
	// FitMiddle shortens a cell in the middle, keeping its end (the file
	// name of a path): "/usr/lib/x86_…/libcrypto.so.3".
	FitMiddle
	// FitWrap wraps a cell at spaces onto continuation lines, the other
	// columns blank there: a reason in words stays whole. A word longer
	// than the column is broken.
	FitWrap
)

type fitting struct {
	mode FitMode
	min  int
}

// Fit lets column col give way down to min runes when the table is wider
// than Width. Columns without Fit keep their width.
func (t *Table) Fit(col int, mode FitMode, min int) {
	if t.fit == nil {
		t.fit = map[int]fitting{}
	}
	t.fit[col] = fitting{mode, max(min, 2)}
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

// widths returns each column's width: the widest cell, capped by
// MaxWidth, then narrowed to fit Width; -1 for a column left out.
func (t *Table) widths() []int {
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
	if t.Width <= 0 {
		return widths
	}
	natural := slices.Clone(widths)
	total := 2 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	// Narrow the widest column that may give way, one rune at a time,
	// until the row fits or none can give more.
	for total > t.Width {
		best := -1
		for i, f := range t.fit {
			if widths[i] > f.min && (best < 0 || widths[i] > widths[best] || (widths[i] == widths[best] && i > best)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		widths[best]--
		total--
	}
	for _, col := range t.drop {
		if total <= t.Width {
			break
		}
		if col < len(widths) && widths[col] >= 0 {
			total -= widths[col] + 2
			widths[col] = -1
		}
	}
	// A column left out may leave room: the narrowed columns take it
	// back, the narrowest first.
	for total < t.Width {
		best := -1
		for i := range t.fit {
			if widths[i] >= 0 && widths[i] < natural[i] && (best < 0 || widths[i] < widths[best] || (widths[i] == widths[best] && i < best)) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		widths[best]++
		total++
	}
	return widths
}

// Write renders the table with two spaces between columns.
func (t *Table) Write(w io.Writer) error {
	widths := t.widths()
	all := append([][]string{t.header}, t.rows...)
	var b strings.Builder
	for len(all) > 0 {
		row := all[0]
		all = all[1:]
		// A wrapped cell keeps its first line here; the rest goes to a
		// continuation row, blank in the other columns.
		var more []string
		for i, c := range row {
			if f, ok := t.fit[i]; ok && f.mode == FitWrap && widths[i] > 0 && utf8.RuneCountInString(c) > widths[i] {
				if more == nil {
					more = make([]string, len(row))
				}
				row = slices.Clone(row)
				row[i], more[i] = wrapFirst(c, widths[i])
			}
		}
		if more != nil {
			all = append([][]string{more}, all...)
		}
		b.Reset()
		lastShown := len(row) - 1
		for lastShown > 0 && widths[lastShown] < 0 {
			lastShown--
		}
		for i, c := range row {
			if widths[i] < 0 {
				continue
			}
			last := i == lastShown
			mode := FitEnd
			if f, ok := t.fit[i]; ok {
				mode = f.mode
			}
			if mode != FitWrap && (!last || t.fit[i].mode != 0 || i != len(row)-1) {
				if mode == FitMiddle {
					c = cutMiddle(c, widths[i])
				} else {
					c = cut(c, widths[i])
				}
			}
			b.WriteString(c)
			if last {
				break
			}
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

// wrapFirst splits s into a first line of at most n runes, broken at the
// last space that allows it (or within a word longer than n), and the
// rest.
func wrapFirst(s string, n int) (string, string) {
	r := []rune(s)
	if len(r) <= n {
		return s, ""
	}
	at := n
	for i := n; i > 0; i-- {
		if r[i] == ' ' {
			at = i
			break
		}
	}
	return strings.TrimRight(string(r[:at]), " "), strings.TrimLeft(string(r[at:]), " ")
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// cutMiddle shortens s to n runes by replacing its middle with "…",
// keeping more of the end (a path's file name) than of the start.
func cutMiddle(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 3 {
		return cut(s, n)
	}
	// A path keeps its file name whole when it fits: "/usr…/libssl.so.3".
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		base := utf8.RuneCountInString(s[i:])
		if base+1 <= n {
			return string(r[:n-1-base]) + "…" + s[i:]
		}
	}
	tail := (n - 1) * 2 / 3
	head := n - 1 - tail
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
