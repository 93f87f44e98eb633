package egress

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
)

// Bounds that keep memory flat whatever the input: a destination keeps at
// most maxSources distinct sources, and at most maxDestinations distinct
// destinations are kept (the rest are counted in Result.Overflow).
const (
	maxSources      = 256
	maxDestinations = 100_000
)

// maxStoredSources bounds the sources one aggregator keeps over all its
// destinations: 100 000 destinations of 256 sources each (an internet
// scan of the firewall's public address, port by port) would otherwise
// hold 25 million strings. Past it, destinations count their records but
// keep no new source (SourcesTruncated). A variable for the tests.
var maxStoredSources = 1 << 19

// Tally counts records: how many, from which sources, when.
type Tally struct {
	Count int64
	// First and Last are Unix nanoseconds, 0 when no record had a time.
	First, Last int64
	// Sources are the distinct source IPs (at most maxSources; see
	// SourcesTruncated), filled in when the analysis ends.
	Sources          []string
	SourcesTruncated bool
	sources          map[string]struct{}
}

func (t *Tally) add(at int64, src []byte, budget *int) {
	t.Count++
	if at != 0 {
		t.First, t.Last = minTime(t.First, at), max(t.Last, at)
	}
	addSource(&t.sources, &t.SourcesTruncated, src, budget)
}

func (t *Tally) merge(o *Tally, budget *int) {
	t.Count += o.Count
	if o.First != 0 {
		t.First, t.Last = minTime(t.First, o.First), max(t.Last, o.Last)
	}
	for s := range o.sources {
		addSource(&t.sources, &t.SourcesTruncated, []byte(s), budget)
	}
	t.SourcesTruncated = t.SourcesTruncated || o.SourcesTruncated
}

// Destination is the aggregate of the records for one host, port,
// protocol, action and reason.
type Destination struct {
	Host   string
	Port   int // -1 when none
	Proto  string
	Action Action
	Reason Reason
	Tally
	// Rule names the rule, threat or signature, formatted; Detail is the
	// first record's extra text (a resolution error, a proxy status).
	Rule   string
	Detail string
	// Service is the catalog's match, nil when none.
	Service *Match

	rawRule string
}

// SNIMissing counts the TLS connections denied because they had no SNI:
// they have no destination to allow, only sources to look at.
type SNIMissing struct{ Tally }

// FileStats counts what one input held.
type FileStats struct {
	Name    string
	Format  Format
	Records int64 // every record, understood or not
	Traffic int64 // connections with a verdict
	Denied  int64
	Allowed int64
	Alerts  int64
	DNS     int64 // DNS proxy queries
	NAT     int64 // inbound DNAT records (ignored)
	Other   int64 // known records without a verdict (netflow, aggregations)
	Auth    int64 // proxy authentication challenges (Squid 407)
	// NoRequest counts connections logged without a handled request
	// (Squid NONE/000 and the like): neither allowed nor denied.
	NoRequest int64
	Unknown   int64 // lines or records of no known shape
	// OutOfRange counts records outside --since/--until; Untimed those
	// without a time when a time filter was set (they are left out too).
	OutOfRange int64
	Untimed    int64
	// Err is why reading stopped early, "" when the input was read whole.
	Err string
	// Empty is set when the input held no byte at all (after gzip).
	Empty bool
}

// Unreadable says why an input could not be analysed, "" when it was: it
// could not be opened or broke part-way, it was empty, not one of its
// lines or records is of a known format, or a time filter left out all
// its connections for want of a time. Such an input must never pass for a
// clean log.
func (f *FileStats) Unreadable() string {
	switch {
	case f.Err != "":
		return f.Err
	case f.Empty:
		return "the input is empty"
	case f.Records == 1 && f.Unknown == 1:
		return "its one line or record is of no format kensa reads"
	case f.Records > 0 && f.Unknown == f.Records:
		return fmt.Sprintf("none of its %d lines or records is of a format kensa reads", f.Records)
	case f.Untimed > 0 && f.Untimed == f.Traffic:
		if f.Traffic == 1 {
			return "its one connection has no time, so --since/--until left it out"
		}
		return fmt.Sprintf("none of its %d connections has a time, so --since/--until left them all out", f.Traffic)
	}
	return ""
}

func (f *FileStats) merge(o *FileStats) {
	f.Records += o.Records
	f.Traffic += o.Traffic
	f.Denied += o.Denied
	f.Allowed += o.Allowed
	f.Alerts += o.Alerts
	f.DNS += o.DNS
	f.NAT += o.NAT
	f.Other += o.Other
	f.Auth += o.Auth
	f.NoRequest += o.NoRequest
	f.Unknown += o.Unknown
	f.OutOfRange += o.OutOfRange
	f.Untimed += o.Untimed
}

// UnknownLine is a line (or record) of no known shape.
type UnknownLine struct {
	File string
	// Line is the 1-based line number (for a record in a multi-line JSON
	// document, the line where it starts).
	Line int
	Text string
}

// maxUnknownShown is how many unknown lines a Result keeps.
const maxUnknownShown = 5

// aggregator folds events; each worker has its own, merged at the end.
type aggregator struct {
	opts     *Options
	dests    map[string]*Destination
	key      []byte
	sni      SNIMissing
	overflow int64
	files    []FileStats
	unknown  []unknownAt
	// budget is how many more sources it may keep (maxStoredSources).
	budget int
}

type unknownAt struct {
	file, line int
	text       string
}

func newAggregator(opts *Options) *aggregator {
	return &aggregator{opts: opts, dests: map[string]*Destination{}, budget: maxStoredSources}
}

func (a *aggregator) file(i int) *FileStats {
	for len(a.files) <= i {
		a.files = append(a.files, FileStats{})
	}
	return &a.files[i]
}

// noteUnknown keeps the maxUnknownShown earliest unknown lines.
func (a *aggregator) noteUnknown(file, line int, text []byte) {
	a.file(file).Unknown++
	a.file(file).Records++
	if len(a.unknown) == maxUnknownShown {
		last := a.unknown[len(a.unknown)-1]
		if cmp.Or(cmp.Compare(file, last.file), cmp.Compare(line, last.line)) >= 0 {
			return // not among the first: skip making its text
		}
	}
	a.noteUnknownAt(unknownAt{file, line, printable(text, 160)})
}

// printable cuts b to n bytes and makes it one harmless line
// (report.Printable), with runs of spaces (JSON spread over lines)
// collapsed to one.
func printable(b []byte, n int) string {
	cut := len(b) > n
	if cut {
		b = b[:n]
	}
	s := strings.Join(strings.Fields(report.Printable(string(b))), " ")
	if cut {
		s += "…"
	}
	return s
}

// add folds one event of file fi.
func (a *aggregator) add(fi int, ev *Event) {
	fs := a.file(fi)
	fs.Records++
	switch ev.Kind {
	case KindDNS:
		fs.DNS++
		return
	case KindNAT:
		fs.NAT++
		return
	case KindOther:
		fs.Other++
		return
	case KindAuth:
		fs.Auth++
		return
	case KindNoRequest:
		fs.NoRequest++
		return
	case KindTraffic:
	default:
		fs.Unknown++
		return
	}
	fs.Traffic++
	o := a.opts
	if o.Since != 0 || o.Until != 0 {
		if ev.Time == 0 {
			fs.Untimed++
			return
		}
		if (o.Since != 0 && ev.Time < o.Since) || (o.Until != 0 && ev.Time > o.Until) {
			fs.OutOfRange++
			return
		}
	}
	switch ev.Action {
	case ActionAllow:
		fs.Allowed++
		if !o.All {
			return
		}
	case ActionAlert:
		fs.Alerts++
	case ActionDeny:
		fs.Denied++
	}
	normalize(ev)
	if ev.Reason == ReasonSNIMissing {
		a.sni.add(ev.Time, ev.Src, &a.budget)
		return
	}
	if len(ev.Proto) == 4 && string(ev.Proto) == "ICMP" {
		ev.Port = -1 // "ICMP … from 10.0.0.1:0 to 192.0.2.1:0"
	}
	k := a.key[:0]
	k = append(k, ev.Host...)
	k = append(k, 0)
	k = strconv.AppendInt(k, int64(ev.Port), 10)
	k = append(k, 0)
	k = append(k, ev.Proto...)
	k = append(k, 0, byte(ev.Action), byte(ev.Reason))
	a.key = k
	d := a.dests[string(k)]
	if d == nil {
		if len(a.dests) >= maxDestinations {
			a.overflow++
			return
		}
		d = &Destination{
			Host: defused(ev.Host), Port: ev.Port, Proto: defused(ev.Proto),
			Action: ev.Action, Reason: ev.Reason,
			rawRule: defused(ev.Rule), Detail: defused(ev.Detail),
		}
		a.dests[string(k)] = d
	}
	d.add(ev.Time, ev.Src, &a.budget)
}

// normalize makes one destination of the spellings of a name: DNS is
// case-insensitive, and "x.com." is "x.com".
func normalize(ev *Event) {
	h := ev.Host
	for i, c := range h {
		if 'A' <= c && c <= 'Z' {
			h[i] = c + ('a' - 'A')
		}
	}
	if n := len(h); n > 1 && h[n-1] == '.' {
		ev.Host = h[:n-1]
	}
}

// defused is b made harmless for a terminal (report.Printable). It runs
// once per destination or source kept, not per record.
func defused(b []byte) string { return report.Printable(string(b)) }

func minTime(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func addSource(m *map[string]struct{}, truncated *bool, src []byte, budget *int) {
	if len(src) == 0 {
		return
	}
	if *m == nil {
		*m = map[string]struct{}{}
	}
	if _, ok := (*m)[string(src)]; ok {
		return
	}
	if len(*m) >= maxSources || *budget <= 0 {
		*truncated = true
		return
	}
	*budget--
	(*m)[string(src)] = struct{}{}
}

// merge folds b into a.
func (a *aggregator) merge(b *aggregator) {
	for k, d := range b.dests {
		x := a.dests[k]
		if x == nil {
			if len(a.dests) >= maxDestinations {
				a.overflow += d.Count
				continue
			}
			a.dests[k] = d
			continue
		}
		x.merge(&d.Tally, &a.budget)
	}
	a.sni.merge(&b.sni.Tally, &a.budget)
	a.overflow += b.overflow
	for i := range b.files {
		a.file(i).merge(&b.files[i])
	}
	for _, u := range b.unknown {
		a.noteUnknownAt(u)
	}
}

// noteUnknownAt keeps u if it is among the earliest (without counting it).
func (a *aggregator) noteUnknownAt(u unknownAt) {
	if len(a.unknown) == maxUnknownShown {
		last := a.unknown[len(a.unknown)-1]
		if cmp.Or(cmp.Compare(u.file, last.file), cmp.Compare(u.line, last.line)) >= 0 {
			return
		}
		a.unknown = a.unknown[:len(a.unknown)-1]
	}
	i, _ := slices.BinarySearchFunc(a.unknown, u, func(x, y unknownAt) int {
		return cmp.Or(cmp.Compare(x.file, y.file), cmp.Compare(x.line, y.line))
	})
	a.unknown = slices.Insert(a.unknown, i, u)
}

// rank orders reasons in the results: what needs an allow rule first.
func (r Reason) rank() int {
	switch r {
	case ReasonNoRule, ReasonDenied, ReasonProxy:
		return 0
	case ReasonUnresolved:
		return 1
	case ReasonRule:
		return 2
	case ReasonThreatIntel, ReasonIDPS:
		return 3
	}
	return 4
}

// destinations returns the aggregated destinations, sorted: denies first,
// those an allow rule fixes first among them, then by count.
func (a *aggregator) destinations() []*Destination {
	out := make([]*Destination, 0, len(a.dests))
	for _, d := range a.dests {
		d.Sources = sortedKeys(d.sources)
		d.Rule = formatRule(d.rawRule)
		out = append(out, d)
	}
	slices.SortFunc(out, func(x, y *Destination) int {
		return cmp.Or(
			cmp.Compare(actionRank(x.Action), actionRank(y.Action)),
			cmp.Compare(x.Reason.rank(), y.Reason.rank()),
			cmp.Compare(y.Count, x.Count),
			cmp.Compare(x.Host, y.Host),
			cmp.Compare(x.Port, y.Port),
			cmp.Compare(x.Proto, y.Proto),
		)
	})
	return out
}

func actionRank(a Action) int {
	switch a {
	case ActionDeny:
		return 0
	case ActionAlert:
		return 1
	}
	return 2
}

// sortedKeys returns the sources of m sorted, defused for a terminal.
func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, defused([]byte(k)))
	}
	slices.SortFunc(out, compareIP)
	return out
}

// compareIP orders IP addresses numerically, other strings after them.
func compareIP(a, b string) int {
	pa, ea := parseAddr(a)
	pb, eb := parseAddr(b)
	switch {
	case ea == nil && eb == nil:
		return pa.Compare(pb)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return cmp.Compare(a, b)
}
