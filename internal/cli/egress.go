package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/report"
)

const egressAnalyzeUsage = `Usage: kensa egress analyze [flags] LOG...

Reads firewall and proxy logs and lists the outbound destinations that were
denied, the service that needs each (Kudu, Oryx, pip, npm, NuGet, MCR, Docker
Hub, AKS…, with the hosts that usually come with it) and the Azure Firewall
rules that would allow them. Exit 1 when anything was denied, 0 when the
logs are clean, 2 when an input could not be analysed (unreadable, empty, or
not one line of a known format) or --since/--until matched no record: such a
log never passes for a clean one. With --emit the rules are the product:
exit 0 once they are written (2 still for an input that could not be read;
an explicit --fail-on is honoured), so "kensa egress analyze --emit
terraform … > egress.tf" does not stop a set -e script.

LOG is a file (gzip is read transparently) or - for standard input. Formats,
detected per file (--input-format forces one):
    azfw-text  Azure Firewall msg lines ("HTTPS request from … Action: Deny…"),
               as copied from msg_s, optionally after a timestamp
    json       Azure Firewall resource logs: storage blobs (PT1H.json, JSON
               Lines), Event Hub bodies {"records":[…]} (also pretty-printed),
               Log Analytics exports (az monitor log-analytics query -o json,
               the REST API's tables), legacy msg and structured AZFW* records;
               AWS Network Firewall alert logs (EVE JSON)
    csv        Log Analytics CSV export (msg_s or AZFW* columns)
    squid      Squid access.log, native format (TCP_DENIED/403 is a deny;
               407 is an authentication challenge, not a deny; NONE/000,
               TAG_NONE/000, NONE_NONE/000 had no request: counted apart,
               neither allowed nor denied)

Flags:
    --input-format FORMAT   auto (default), azfw-text, json, csv, squid
    --all                   list allowed traffic too
    --since WHEN            only records at or after WHEN: a duration before
                            --at (2h, 30m, 7d), a time (2026-11-24T08:00:00Z,
                            2026-11-24T08:00+09:00) or a date (2026-11-24);
                            a time without a zone ("2026-11-24 08:00",
                            2026-11-24T08:00:00) and a date are UTC
    --until WHEN            only records at or before WHEN (same forms; a
                            date is its first instant, 00:00 UTC)
    --emit LANG             write the allow rules, ready to apply, instead of
                            the report: az, bicep, terraform (Azure Firewall);
                            aws-nfw (AWS CLI), aws-nfw-cloudformation,
                            aws-nfw-terraform (a stateful domain-list rule
                            group), suricata (pass rules for a Suricata
                            compatible rule group); squid (acl dstdomain and
                            http_access allow lines). Rules for another
                            firewall than the logs came from say so
    --source CIDR           source address of the emitted rules (repeat or
                            comma-separate; default: the sources seen); with
                            --emit only
    --no-companions         leave the catalog's companion hosts out of the
                            rules; with --emit only
    --format, --output, --fail-on (default warning), --at: see "kensa --help"

Examples:
    kensa egress analyze PT1H.json
    kensa egress analyze --since 2h --emit terraform logs/*.json.gz > egress.tf
    kensa egress analyze /var/log/squid/access.log
    az monitor log-analytics query -w $WS \
        --analytics-query 'AZFWApplicationRule' -o json | kensa egress analyze -
    kensa egress analyze --emit az --source 10.0.2.0/24 fw.log > allow.sh
`

func runEgressAnalyze(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("egress analyze")
	common := addCommon(fs, "warning")
	inputFormat := fs.String("input-format", "auto", "")
	all := fs.Bool("all", false, "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	emitLang := fs.String("emit", "", "")
	var sources []string
	fs.Func("source", "", listFlag(&sources))
	noCompanions := fs.Bool("no-companions", false, "")
	paths, err := parseCommand(env, fs, common, egressAnalyzeUsage+findingsHelp("docs/egress.md", egress.Checks), args)
	if err != nil || paths == nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("egress analyze needs at least one log").
			withHint("name log files, or - for standard input: kensa egress analyze PT1H.json")
	}
	*inputFormat, *emitLang = strings.ToLower(*inputFormat), strings.ToLower(*emitLang)
	format, err := egress.ParseFormat(*inputFormat)
	if err != nil {
		return usageErrorf("--input-format %q is not a format kensa reads", *inputFormat).
			withHint("use one of: auto, azfw-text, json, csv, squid")
	}
	if *emitLang != "" && !slices.Contains(egress.EmitFormats, *emitLang) {
		return usageErrorf("--emit %q is not a rule language kensa writes", *emitLang).
			withHint("use --emit %s", strings.Join(egress.EmitFormats, ", "))
	}
	set := setFlags(fs)
	if *emitLang == "" {
		for _, name := range []string{"source", "no-companions"} {
			if set[name] {
				return usageErrorf("--%s shapes the rules --emit writes, and --emit is not given", name).
					withHint("add --emit az, --emit bicep or --emit terraform, or drop --%s", name)
			}
		}
	}
	if *emitLang != "" && common.format != "text" {
		return usageErrorf("--emit writes rules, not a %s report", common.format).
			withHint("run once with --emit and once with --format %s", common.format)
	}
	for _, s := range sources {
		if !egress.ValidSource(s) {
			return usageErrorf("--source %q is not an IP address or CIDR", s).
				withHint("write a source as 10.0.2.0/24 or 10.0.2.4")
		}
		if egress.IsIPv6(s) {
			return usageErrorf("--source %q is IPv6: Azure Firewall takes IPv6 only in network rules of a dual-stack firewall (preview), so kensa writes IPv4 rules", s).
				withHint("name the IPv4 subnet (10.0.2.0/24); add IPv6 network rules by hand on a dual-stack firewall")
		}
	}
	opts := egress.Options{Format: format, All: *all}
	for _, f := range []struct {
		name, val string
		dst       *int64
	}{{"--since", *since, &opts.Since}, {"--until", *until, &opts.Until}} {
		if f.val == "" {
			continue
		}
		t, err := parseWhen(f.val, common.at)
		if err != nil {
			return usageErrorf("%s %q: %v", f.name, f.val, err).
				withHint("write a duration before --at (2h, 30m, 7d), a UTC time (\"2026-11-24 08:00\", 2026-11-24T08:00:00Z), a time with its zone (2026-11-24T08:00+09:00) or a date (2026-11-24)")
		}
		*f.dst = t.UnixNano()
	}
	if opts.Since != 0 && opts.Until != 0 && opts.Since > opts.Until {
		return usageErrorf("--since is after --until").withHint("swap them")
	}
	stdinUsed := false
	var inputs []egress.Input
	for _, p := range paths {
		if p == "-" {
			if stdinUsed {
				return usageErrorf("standard input (-) named twice")
			}
			stdinUsed = true
			in := env.Stdin
			inputs = append(inputs, egress.Input{Name: "(stdin)", Open: func() (io.ReadCloser, error) { return io.NopCloser(in), nil }})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			if looksLikeClock(p) && (*since != "" || *until != "") {
				// --since 2026-11-22 08:00, unquoted: the shell split it.
				flag := "--since"
				if *since == "" {
					flag = "--until"
				}
				return usageErrorf("reading %s: %v", p, unwrapPath(err)).
					withHint("quote a time with a space: %s \"2026-11-22 %s\" (or write 2026-11-22T%s)", flag, p, p)
			}
			return usageErrorf("reading %s: %v", p, unwrapPath(err)).withHint("check the path")
		}
		if st.IsDir() {
			return usageErrorf("%s is a directory", p).withHint("name the log files in it: %s/*.json", strings.TrimRight(p, "/"))
		}
		inputs = append(inputs, egress.Input{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }})
	}
	prog := newProgress(env)
	opts.Progress = func(n int64) { prog.update("kensa: reading logs: %s", humanBytes(n)) }
	res, err := egress.Analyze(ctx, inputs, opts)
	prog.done()
	if err != nil {
		return err
	}
	plan := egress.MakePlan(res.Destinations, egress.PlanOptions{Sources: sources, NoCompanions: *noCompanions})
	results, findings := egress.Results(res), egress.Findings(res)
	sum := egress.Summarize(res, findings, plan)
	rep := newReport(env, "egress analyze", common.at)
	rep.Results, rep.Findings, rep.Summary = results, findings, sum
	o := outcome{rep: rep, text: func(t *textWriter) { writeEgressText(t, res, results, plan, sum) }, after: unreadableInputs(res.Files)}
	if o.after == nil && res.WindowMissed() {
		tot := res.Total()
		o.after = usageErrorf("--since/--until matched none of the %s with a time: they span %s to %s (UTC)",
			report.Count(tot.Traffic-tot.Untimed, "connection", "connections"), shortTime(egress.TimeString(tot.Earliest)), shortTime(egress.TimeString(tot.Latest))).
			withHint("a window that matches nothing is not a clean log: widen it, or drop --since/--until")
	}
	if *emitLang != "" {
		if plan.Foreign = egress.ForeignRules(*emitLang, res.Families()); plan.Foreign != "" {
			fmt.Fprintf(env.Stderr, "kensa: warning: %s\n", report.Printable(plan.Foreign))
		}
		o.product = func(w io.Writer) error { return egress.WriteRules(w, *emitLang, plan) }
		o.emitted = true
	}
	return finish(env, common, o)
}

// ruleLine says in one line what an allow rule of a plan does (the text
// views of egress analyze and egress whatif).
func ruleLine(c egress.Collection) string {
	r := c.Rule
	var what, to string
	if r.Type == egress.AppRule {
		var ps []string
		for _, p := range r.Protocols {
			ps = append(ps, fmt.Sprintf("%s:%d", p.Protocol, p.Port))
		}
		what, to = "application rule "+strings.Join(ps, ","), strings.Join(r.FQDNs, ", ")
	} else {
		what = "network rule " + strings.Join(r.IPProtocols, ",") + "/" + strings.Join(r.Ports, ",")
		to = strings.Join(append(slices.Clone(r.Addresses), r.FQDNs...), ", ")
	}
	return fmt.Sprintf("%s: %s from %s to %s", c.Name, what, strings.Join(r.Sources, ", "), to)
}

// unreadableInputs turns inputs that could not be analysed into exit 2
// (after the report is written): an unreadable, empty or wholly
// unrecognised log must never pass for a clean one, whatever --fail-on.
func unreadableInputs(files []egress.FileStats) error {
	var bad []string
	empty, unknown, untimed := false, false, false
	for i := range files {
		f := &files[i]
		if why := f.Unreadable(); why != "" {
			bad = append(bad, f.Name+": "+why)
			noTime := f.Untimed > 0 && f.Untimed == f.Traffic
			empty = empty || f.Empty
			untimed = untimed || noTime
			unknown = unknown || (f.Err == "" && !f.Empty && !noTime)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	e := usageErrorf("%d of %d inputs could not be analysed: %s", len(bad), len(files), strings.Join(bad, "; "))
	if len(bad) == 1 && len(files) == 1 {
		e = usageErrorf("the input could not be analysed: %s", bad[0])
	}
	if empty {
		e.withHint("an empty input often means the command that produced it failed (az login expired, a wrong query)")
	}
	if untimed {
		e.withHint("plain msg_s lines carry no time: export TimeGenerated with them, or drop --since/--until")
	}
	if unknown {
		e.withHint("kensa reads azfw-text, json, csv and squid logs (kensa egress analyze --help); --input-format forces one")
	}
	return e.withHint("the report above covers what could be read")
}

// looksLikeClock reports whether s is a time of day (08:00, 8:00:00).
func looksLikeClock(s string) bool {
	for _, layout := range []string{"15:04", "15:04:05"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// parseWhen reads a duration before at, a time or a date (UTC unless the
// time names its zone).
func parseWhen(s string, at time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := parseDuration(s); err == nil {
		return at.Add(-d), nil
	}
	if t, err := parseTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("neither a duration nor a time")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func writeEgressText(t *textWriter, res *egress.Result, results []egress.DestinationResult, plan *egress.Plan, sum egress.Summary) {
	tot := res.Total()
	var head strings.Builder
	fmt.Fprintf(&head, "%s in %s: %s (%d denied, %d allowed", report.Count(tot.Records, "record", "records"), report.Count(len(res.Files), "input", "inputs"),
		report.Count(tot.Traffic, "connection", "connections"), tot.Denied, tot.Allowed)
	if tot.Alerts > 0 {
		fmt.Fprintf(&head, ", %s", report.Count(tot.Alerts, "alert", "alerts"))
	}
	head.WriteString(")")
	for _, x := range []struct {
		n         int64
		one, many string
	}{{tot.DNS, "DNS query", "DNS queries"}, {tot.NAT, "inbound DNAT record ignored", "inbound DNAT records ignored"},
		{tot.Auth, "proxy authentication challenge (407, not a deny)", "proxy authentication challenges (407, not denies)"},
		{tot.NoRequest, "connection with no request", "connections with no request"},
		{tot.Other, "record without a verdict", "records without a verdict"},
		{tot.OutOfRange, "outside --since/--until", "outside --since/--until"},
		{tot.Untimed, "without a time, left out by --since/--until", "without a time, left out by --since/--until"},
		{tot.Unknown, "not understood", "not understood"}} {
		if x.n > 0 {
			fmt.Fprintf(&head, ", %s", report.Count(x.n, x.one, x.many))
		}
	}
	t.para("", "  ", head.String(), 0)
	if tot.NoRequest > 0 {
		t.fitLines("(with no request: Squid logged NONE/000, TAG_NONE/000 or NONE_NONE/000, the client closed or an error came before any request; neither allowed nor denied)\n")
	}
	unreadable := false
	for _, f := range res.Files {
		if f.Err != "" {
			t.printf("%s: reading stopped early: %s\n", f.Name, f.Err)
		} else if why := f.Unreadable(); why != "" {
			t.printf("%s: nothing could be analysed: %s\n", f.Name, why)
		}
		unreadable = unreadable || f.Unreadable() != ""
	}
	if len(results) > 0 {
		t.printf("\n")
		tb := report.NewTable("ACTION", "DESTINATION", "PROTO", "COUNT", "SOURCES", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "REASON", "SERVICE")
		tb.MaxWidth = 48
		tb.Uncut = []int{1}           // the destination is what a person allows
		tb.Fit(4, report.FitEnd, 9)   // sources
		tb.Fit(7, report.FitWrap, 28) // reason: wrapped, whole
		tb.Fit(8, report.FitEnd, 12)  // service
		// Still too wide: the times go first (JSON has them), then the
		// sources, the protocol, the count and the service (the services
		// have their own section below).
		tb.Optional(5, 6, 4, 2, 3, 8)
		for _, r := range results {
			port := -1
			if r.Port != nil {
				port = *r.Port
			}
			src := strconv.Itoa(len(r.Sources))
			if len(r.Sources) == 0 {
				src = "-"
			} else if len(r.Sources) == 1 {
				src = r.Sources[0]
			} else if len(r.Sources) > 1 {
				src += " (" + r.Sources[0] + "…)"
			}
			svc := "-"
			if r.Service != nil {
				svc = r.Service.Name
			}
			reason := r.Reason
			if r.Rule != "" && r.Reason != "allowed" {
				reason += ": " + r.Rule
			}
			proto := r.Protocol
			if proto == "" {
				proto = "-"
			}
			tb.Row(r.Action, egress.HostPort(r.Host, port), proto, strconv.FormatInt(r.Count, 10), src,
				shortTime(r.FirstSeen), shortTime(r.LastSeen), reason, svc)
		}
		t.table(tb)
	} else {
		if res.WindowMissed() {
			t.printf("\nNo connection falls within --since/--until: that is not a clean log.\n")
		} else if unreadable {
			t.printf("\nNothing was denied in what could be read: that is not a clean log.\n")
		} else {
			t.printf("\nNothing was denied.\n")
		}
	}
	if s := sum.SNIMissing; s != nil {
		t.printf("\n")
		t.para("", "", fmt.Sprintf("TLS without SNI: %s denied from %s. There is no name to allow: make the client connect by name, or allow the destination IP with a network rule.",
			report.Count(s.Count, "connection", "connections"), strings.Join(s.Sources, ", ")), 0)
	}
	// The services, once each.
	seen := map[string]bool{}
	var svcLines []string
	for _, d := range res.Destinations {
		if d.Service == nil || d.Action == egress.ActionAllow || seen[d.Service.Service.ID] {
			continue
		}
		s := d.Service.Service
		seen[s.ID] = true
		var hosts []string
		covered := map[string]bool{} // names seen, and the patterns they matched
		for _, x := range res.Destinations {
			if x.Service != nil && x.Service.Service.ID == s.ID && x.Action != egress.ActionAllow {
				hosts = appendOnce(hosts, egress.HostPort(x.Host, x.Port))
				covered[x.Host], covered[x.Service.Allow] = true, true
			}
		}
		line := fmt.Sprintf("  %s: %s\n%s", s.Name, strings.Join(hosts, ", "), wrap(s.Why, "    ", t.textWidth(96)-4))
		var comp []string
		for _, c := range d.Service.Companions {
			if !covered[c.Host] {
				comp = appendOnce(comp, c.Host)
			}
		}
		if len(comp) > 0 {
			line += "    usually also needed: " + strings.Join(comp, ", ") + "\n"
		}
		if src := s.Source + " (as of " + s.AsOf + ")"; t.width > 0 {
			line += hang("    source: ", "      ", src, t.width)
		} else {
			line += "    source: " + src + "\n" // whole, to grep
		}
		svcLines = append(svcLines, line)
	}
	if len(svcLines) > 0 {
		t.printf("\nServices that need them:\n")
		for _, l := range svcLines {
			t.fitLines(l)
		}
	}
	if len(plan.Collections) > 0 {
		t.printf("\nRules that would allow them (--emit LANG writes them, ready to apply):\n")
		for _, c := range plan.Collections {
			t.para("  ", "      ", ruleLine(c), 0)
		}
		if plan.NeedsDNSProxy {
			t.printf("  (network rules with FQDNs need DNS proxy enabled on the firewall policy)\n")
		}
		if len(plan.IPv6Sources) > 0 {
			t.lines(wrap(egress.IPv6SourcesNote(plan), "  ", t.textWidth(96)-2))
		}
		if plan.SourcesCut {
			t.fitLines("  (a destination had more distinct sources than kensa keeps, so the rules miss some: name the subnets with --source)\n")
		}
	}
	if len(plan.Skipped) > 0 {
		t.printf("\nDenied, but not to be fixed with an allow rule:\n")
		for _, s := range plan.Skipped {
			t.para("  ", "      ", egress.HostPort(s.Host, s.Port)+": "+s.Reason, 0)
		}
	}
	if len(res.Unknown) > 0 {
		t.printf("\nNot understood: %s (never fatal); the first:\n", report.Count(tot.Unknown, "line or record", "lines or records"))
		for _, u := range res.Unknown {
			t.printf("  %s:%d: %s\n", u.File, u.Line, u.Text)
		}
	}
	if res.Overflow > 0 {
		t.printf("\n%s of further destinations %s counted but not listed (more than 100000 destinations).\n",
			report.Count(res.Overflow, "record", "records"), report.Plural(res.Overflow, "was", "were"))
	}
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

func shortTime(s *string) string {
	if s == nil {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return *s
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// wrap breaks text into lines of at most width runes after indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := 0
	var words []string
	for _, w := range strings.Fields(text) {
		// A word longer than the line (a URL, a JSON fragment) is broken.
		for r := []rune(w); ; r = r[width:] {
			if width <= 0 || len(r) <= width {
				words = append(words, string(r))
				break
			}
			words = append(words, string(r[:width]))
		}
	}
	for _, w := range words {
		if line > 0 && line+1+len([]rune(w)) > width {
			b.WriteString("\n")
			line = 0
		}
		if line == 0 {
			b.WriteString(indent)
		} else {
			b.WriteString(" ")
			line++
		}
		b.WriteString(w)
		line += len([]rune(w))
	}
	b.WriteString("\n")
	return b.String()
}

func init() {
	registerDomain("egress analyze", domainInfo{checks: egress.Checks, doc: "docs/egress.md", summarize: func(_ []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		// The logs are gone: the inputs' counts are added up, the
		// findings counted again.
		s, err := addSummaries(sums, (*egress.Summary).Add)
		if err != nil {
			return nil, err
		}
		s.Findings = report.SeverityTally(fs)
		return s, nil
	}})
}
