package cli

import (
	"context"
	"errors"
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
not one line of a known format): such a log never passes for a clean one.

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
    --emit az|bicep|terraform
                            write the allow rules, ready to apply, instead of
                            the report
    --source CIDR           source address of the emitted rules (repeat or
                            comma-separate; default: the sources seen)
    --no-companions         leave the catalog's companion hosts out of the rules
    --format, --output, --fail-on (default warning), --at: see "kensa --help"

Examples:
    kensa egress analyze PT1H.json
    kensa egress analyze --since 2h --emit terraform logs/*.json.gz > egress.tf
    kensa egress analyze /var/log/squid/access.log
    az monitor log-analytics query -w $WS --analytics-query 'AZFWApplicationRule' -o json | kensa egress analyze -
    kensa egress analyze --emit az --source 10.0.2.0/24 fw.log > allow.sh
`

type egressResult struct {
	Host             string         `json:"host"`
	Port             *int           `json:"port"`
	Protocol         string         `json:"protocol"`
	Action           string         `json:"action"`
	Count            int64          `json:"count"`
	Sources          []string       `json:"sources"`
	SourcesTruncated bool           `json:"sources_truncated,omitempty"`
	FirstSeen        *string        `json:"first_seen"`
	LastSeen         *string        `json:"last_seen"`
	Reason           string         `json:"reason"`
	Rule             string         `json:"rule,omitempty"`
	Detail           string         `json:"detail,omitempty"`
	Service          *egressService `json:"service"`
}

type egressService struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	AsOf       string   `json:"as_of"`
	Companions []string `json:"companions,omitempty"`
}

type egressFile struct {
	Name       string `json:"name"`
	Format     string `json:"format"`
	Records    int64  `json:"records"`
	Traffic    int64  `json:"connections"`
	Denied     int64  `json:"denied"`
	Allowed    int64  `json:"allowed"`
	Alerts     int64  `json:"alerts"`
	DNS        int64  `json:"dns_queries"`
	NAT        int64  `json:"dnat_ignored"`
	Other      int64  `json:"other"`
	Auth       int64  `json:"proxy_auth"`
	NoRequest  int64  `json:"no_request"`
	Unknown    int64  `json:"unknown"`
	OutOfRange int64  `json:"out_of_range,omitempty"`
	Untimed    int64  `json:"untimed,omitempty"`
	Error      string `json:"error,omitempty"`
}

type egressSummary struct {
	Files        []egressFile   `json:"files"`
	Records      int64          `json:"records"`
	Denied       int64          `json:"denied"`
	Destinations int            `json:"destinations"`
	SNIMissing   *egressSNI     `json:"sni_missing,omitempty"`
	Unknown      []egressLine   `json:"unknown_lines,omitempty"`
	Overflow     int64          `json:"overflow,omitempty"`
	Rules        int            `json:"rules"`
	Findings     map[string]int `json:"findings"`
}

type egressSNI struct {
	Count     int64    `json:"count"`
	Sources   []string `json:"sources"`
	FirstSeen *string  `json:"first_seen"`
	LastSeen  *string  `json:"last_seen"`
}

type egressLine struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

func runEgressAnalyze(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("egress analyze")
	common := addCommon(fs, "warning")
	inputFormat := fs.String("input-format", "auto", "")
	all := fs.Bool("all", false, "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	emitLang := fs.String("emit", "", "")
	var sources []string
	fs.Func("source", "", func(s string) error {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				sources = append(sources, x)
			}
		}
		return nil
	})
	noCompanions := fs.Bool("no-companions", false, "")
	paths, err := parseCommand(env, fs, common, egressAnalyzeUsage, args)
	if err != nil || paths == nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("egress analyze needs at least one log").
			withHint("name log files, or - for standard input: kensa egress analyze PT1H.json")
	}
	format, err := egress.ParseFormat(*inputFormat)
	if err != nil {
		return usageErrorf("--input-format %q is not a format kensa reads", *inputFormat).
			withHint("use one of: auto, azfw-text, json, csv, squid")
	}
	if *emitLang != "" && !slices.Contains(egress.EmitFormats, *emitLang) {
		return usageErrorf("--emit %q is not a rule language kensa writes", *emitLang).
			withHint("use --emit az, --emit bicep or --emit terraform")
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
	rep := newReport(env, "egress analyze", common.at)
	results, findings := egressFindings(res)
	rep.Results = results
	rep.Findings = findings
	total := res.Total()
	sum := egressSummary{Records: total.Records, Denied: total.Denied, Destinations: len(res.Destinations),
		Overflow: res.Overflow, Rules: len(plan.Collections), Findings: map[string]int{}}
	for _, f := range res.Files {
		sum.Files = append(sum.Files, egressFile{f.Name, string(f.Format), f.Records, f.Traffic, f.Denied, f.Allowed, f.Alerts,
			f.DNS, f.NAT, f.Other, f.Auth, f.NoRequest, f.Unknown, f.OutOfRange, f.Untimed, f.Err})
	}
	if s := res.SNIMissing; s.Count > 0 {
		sum.SNIMissing = &egressSNI{s.Count, s.Sources, timePtr(s.First), timePtr(s.Last)}
	}
	for _, u := range res.Unknown {
		sum.Unknown = append(sum.Unknown, egressLine{u.File, u.Line, u.Text})
	}
	for sev, n := range report.CountBySeverity(findings) {
		sum.Findings[string(sev)] = n
	}
	rep.Summary = sum
	if *emitLang != "" {
		err = emit(env, common, rep, func(w io.Writer) error { return egress.WriteRules(w, *emitLang, plan) })
	} else {
		err = emit(env, common, rep, func(w io.Writer) error { return writeEgressText(w, res, results, plan, sum) })
	}
	if err != nil && !errors.Is(err, errFindings) {
		return err
	}
	return unreadableInputs(res.Files, err)
}

// unreadableInputs turns inputs that could not be analysed into exit 2
// (after the report is written): an unreadable, empty or wholly
// unrecognised log must never pass for a clean one, whatever --fail-on.
func unreadableInputs(files []egress.FileStats, err error) error {
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
		return err
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

func timePtr(ns int64) *string {
	if ns == 0 {
		return nil
	}
	s := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	return &s
}

func hostPortString(host string, port int) string { return egress.HostPort(host, port) }

// egressFindings makes one result per destination and one finding per
// denied (or alerted) destination, plus the SNI-missing and unreadable
// findings.
func egressFindings(res *egress.Result) ([]egressResult, []report.Finding) {
	results := []egressResult{}
	findings := []report.Finding{}
	for _, d := range res.Destinations {
		r := egressResult{Host: d.Host, Protocol: d.Proto, Action: d.Action.String(), Count: d.Count,
			Sources: d.Sources, SourcesTruncated: d.SourcesTruncated, FirstSeen: timePtr(d.First), LastSeen: timePtr(d.Last),
			Reason: d.Reason.String(), Rule: d.Rule, Detail: d.Detail}
		if r.Sources == nil {
			r.Sources = []string{}
		}
		if d.Port >= 0 {
			p := d.Port
			r.Port = &p
		}
		citation := "the firewall's default action: no allow rule matched"
		switch d.Reason {
		case egress.ReasonProxy:
			citation = "the proxy's access rules (Squid TCP_DENIED/403: http_access deny)"
		case egress.ReasonRule:
			citation = "a deny rule of the firewall policy's own"
		case egress.ReasonUnresolved:
			citation = "Azure Firewall resolves the names of application rules itself (DNS settings, DNS proxy)"
		}
		if s := d.Service; s != nil {
			r.Service = &egressService{ID: s.Service.ID, Name: s.Service.Name, Source: s.Service.Source, AsOf: s.Service.AsOf}
			for _, c := range s.Companions {
				r.Service.Companions = append(r.Service.Companions, c.Host)
			}
			citation = "kensa egress catalog: " + s.Service.ID + " (" + s.Service.Source + ", as of " + s.Service.AsOf + ")"
		}
		results = append(results, r)
		if d.Action == egress.ActionAllow {
			continue
		}
		subject := hostPortString(d.Host, d.Port)
		times := count(d.Count, "time", "times")
		from := "from " + count(len(d.Sources), "source", "sources")
		f := report.Finding{Subject: subject, Citation: citation}
		svc := ""
		if d.Service != nil {
			svc = " (needed by " + d.Service.Service.Name + ")"
		}
		switch d.Reason {
		case egress.ReasonNoRule, egress.ReasonDenied, egress.ReasonProxy:
			f.ID, f.Severity = "egress-denied", report.Error
			why := map[egress.Reason]string{egress.ReasonNoRule: "no rule matched", egress.ReasonDenied: "denied, the log names no rule",
				egress.ReasonProxy: "the proxy's access rules denied it"}[d.Reason]
			f.Message = fmt.Sprintf("%s %s was denied %s %s: %s%s", d.Proto, subject, times, from, why, svc)
			f.Remediation = "allow it: kensa egress analyze --emit az|bicep|terraform writes the rule"
			if egress.IsIPv6(d.Host) {
				f.Remediation = "kensa writes no rule for an IPv6 destination: Azure Firewall takes IPv6 only in network rules of a dual-stack firewall (preview); add the network rule by hand there"
			}
			if d.Service != nil && len(d.Service.Companions) > 0 {
				var hs []string
				for _, c := range d.Service.Companions {
					if c.Host != d.Service.Allow {
						hs = append(hs, c.Host)
					}
				}
				if len(hs) > 0 {
					f.Remediation += "; " + d.Service.Service.Name + " usually also needs " + strings.Join(hs, ", ")
				}
			}
		case egress.ReasonRule:
			f.ID, f.Severity = "egress-denied-by-rule", report.Error
			f.Message = fmt.Sprintf("%s %s was denied %s %s by the rule %s%s", d.Proto, subject, times, from, d.Rule, svc)
			f.Remediation = "a rule of your own denies it: change that rule if the deployment needs this destination"
		case egress.ReasonUnresolved:
			f.ID, f.Severity = "egress-name-unresolved", report.Error
			f.Message = fmt.Sprintf("the firewall could not resolve %s (%s, %s): %s", d.Host, times, from, d.Detail)
			f.Remediation = "fix name resolution for the firewall (DNS proxy, custom DNS servers, private DNS zones); an allow rule does not help"
		case egress.ReasonThreatIntel, egress.ReasonIDPS:
			// Reported as what they are, never as a missing allow rule.
			f.ID, f.Citation = "egress-threat-intel", "Azure Firewall threat intelligence-based filtering"
			f.Remediation = "threat intelligence flagged it: investigate the sources; do not add an allow rule"
			if d.Reason == egress.ReasonIDPS {
				f.ID, f.Citation = "egress-idps", "Azure Firewall Premium IDPS"
				f.Remediation = "an IDPS signature matched: investigate the sources; an allow rule does not change IDPS"
			}
			f.Severity = report.Warning
			if d.Action == egress.ActionAlert {
				f.ID, f.Severity = f.ID+"-alert", report.Info
			}
			f.Message = fmt.Sprintf("%s %s: %s (%s, %s, action %s)", d.Proto, subject, d.Rule, times, from, d.Action)
		default:
			continue
		}
		findings = append(findings, f)
	}
	if s := res.SNIMissing; s.Count > 0 {
		findings = append(findings, report.Finding{
			ID: "egress-sni-missing", Severity: report.Error, Subject: "(TLS without SNI)",
			Message: fmt.Sprintf("%s denied because %s no SNI (from %s); there is no name to allow",
				count(s.Count, "HTTPS connection was", "HTTPS connections were"), map[bool]string{true: "it sent", false: "they sent"}[s.Count == 1],
				strings.Join(s.Sources, ", ")),
			Remediation: "make the client send SNI (connect by name, not IP), or allow the destination IP with a network rule",
			Citation:    "Azure Firewall FAQ: application rules need SNI; MicrosoftDocs/azure-docs#53795",
		})
	}
	for _, f := range res.Files {
		switch {
		case f.Err != "":
			findings = append(findings, report.Finding{ID: "egress-read-error", Severity: report.Error, Subject: f.Name,
				Message: "reading stopped early: " + f.Err, Remediation: "check the file; the records before the error were analysed"})
		case f.Unreadable() != "":
			findings = append(findings, report.Finding{ID: "egress-read-error", Severity: report.Error, Subject: f.Name,
				Message:     "nothing could be analysed: " + f.Unreadable(),
				Remediation: "check that the input is a firewall or proxy log kensa reads (--input-format), and that the command that produced it succeeded"})
		}
		if f.Unknown > 0 {
			findings = append(findings, report.Finding{ID: "egress-unparsed", Severity: report.Info, Subject: f.Name,
				Message: fmt.Sprintf("%d of %s %s no record of a known format", f.Unknown, count(f.Records, "line or record", "lines or records"),
					map[bool]string{true: "is", false: "are"}[f.Unknown == 1]),
				Remediation: "check --input-format; the first ones are listed in the summary"})
		}
	}
	return results, findings
}

func writeEgressText(w io.Writer, res *egress.Result, results []egressResult, plan *egress.Plan, sum egressSummary) error {
	t := res.Total()
	fmt.Fprintf(w, "%s in %s: %s (%d denied, %d allowed", count(t.Records, "record", "records"), count(len(res.Files), "input", "inputs"),
		count(t.Traffic, "connection", "connections"), t.Denied, t.Allowed)
	if t.Alerts > 0 {
		fmt.Fprintf(w, ", %s", count(t.Alerts, "alert", "alerts"))
	}
	fmt.Fprint(w, ")")
	for _, x := range []struct {
		n         int64
		one, many string
	}{{t.DNS, "DNS query", "DNS queries"}, {t.NAT, "inbound DNAT record ignored", "inbound DNAT records ignored"},
		{t.Auth, "proxy authentication challenge (407, not a deny)", "proxy authentication challenges (407, not denies)"},
		{t.NoRequest, "connection with no request", "connections with no request"},
		{t.Other, "record without a verdict", "records without a verdict"},
		{t.OutOfRange, "outside --since/--until", "outside --since/--until"},
		{t.Untimed, "without a time, left out by --since/--until", "without a time, left out by --since/--until"},
		{t.Unknown, "not understood", "not understood"}} {
		if x.n > 0 {
			fmt.Fprintf(w, ", %s", count(x.n, x.one, x.many))
		}
	}
	fmt.Fprintln(w)
	if t.NoRequest > 0 {
		fmt.Fprintln(w, "(with no request: Squid logged NONE/000, TAG_NONE/000 or NONE_NONE/000, the client closed or an error came before any request; neither allowed nor denied)")
	}
	unreadable := false
	for _, f := range res.Files {
		if f.Err != "" {
			fmt.Fprintf(w, "%s: reading stopped early: %s\n", f.Name, f.Err)
		} else if why := f.Unreadable(); why != "" {
			fmt.Fprintf(w, "%s: nothing could be analysed: %s\n", f.Name, why)
		}
		unreadable = unreadable || f.Unreadable() != ""
	}
	if len(results) > 0 {
		fmt.Fprintln(w)
		tb := report.NewTable("ACTION", "DESTINATION", "PROTO", "COUNT", "SOURCES", "FIRST SEEN (UTC)", "LAST SEEN (UTC)", "REASON", "SERVICE")
		tb.MaxWidth = 48
		tb.Uncut = []int{1} // the destination is what a person allows
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
			tb.Row(r.Action, hostPortString(r.Host, port), proto, strconv.FormatInt(r.Count, 10), src,
				shortTime(r.FirstSeen), shortTime(r.LastSeen), reason, svc)
		}
		tb.Write(w)
	} else {
		if unreadable {
			fmt.Fprintln(w, "\nNothing was denied in what could be read: that is not a clean log.")
		} else {
			fmt.Fprintln(w, "\nNothing was denied.")
		}
	}
	if s := sum.SNIMissing; s != nil {
		fmt.Fprintf(w, "\nTLS without SNI: %s denied from %s. There is no name to allow:\nmake the client connect by name, or allow the destination IP with a network rule.\n",
			count(s.Count, "connection", "connections"), strings.Join(s.Sources, ", "))
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
				hosts = appendOnce(hosts, hostPortString(x.Host, x.Port))
				covered[x.Host], covered[x.Service.Allow] = true, true
			}
		}
		line := fmt.Sprintf("  %s: %s\n%s", s.Name, strings.Join(hosts, ", "), wrap(s.Why, "    ", 92))
		var comp []string
		for _, c := range d.Service.Companions {
			if !covered[c.Host] {
				comp = appendOnce(comp, c.Host)
			}
		}
		if len(comp) > 0 {
			line += "    usually also needed: " + strings.Join(comp, ", ") + "\n"
		}
		line += fmt.Sprintf("    source: %s (as of %s)\n", s.Source, s.AsOf)
		svcLines = append(svcLines, line)
	}
	if len(svcLines) > 0 {
		fmt.Fprintln(w, "\nServices that need them:")
		for _, l := range svcLines {
			fmt.Fprint(w, l)
		}
	}
	if len(plan.Collections) > 0 {
		fmt.Fprintln(w, "\nRules that would allow them (--emit az|bicep|terraform writes them ready to apply):")
		for _, c := range plan.Collections {
			r := c.Rule
			var what, to string
			if r.Type == egress.AppRule {
				var ps []string
				for _, p := range r.Protocols {
					ps = append(ps, fmt.Sprintf("%s:%d", p.Protocol, p.Port))
				}
				what = "application rule " + strings.Join(ps, ",")
				to = strings.Join(r.FQDNs, ", ")
			} else {
				what = "network rule " + strings.Join(r.IPProtocols, ",") + "/" + strings.Join(r.Ports, ",")
				to = strings.Join(append(slices.Clone(r.Addresses), r.FQDNs...), ", ")
			}
			fmt.Fprintf(w, "  %s: %s from %s to %s\n", c.Name, what, strings.Join(r.Sources, ", "), to)
		}
		if plan.NeedsDNSProxy {
			fmt.Fprintln(w, "  (network rules with FQDNs need DNS proxy enabled on the firewall policy)")
		}
		if len(plan.IPv6Sources) > 0 {
			fmt.Fprint(w, wrap(egress.IPv6SourcesNote(plan), "  ", 94))
		}
		if plan.SourcesCut {
			fmt.Fprintln(w, "  (a destination had more distinct sources than kensa keeps, so the rules miss some: name the subnets with --source)")
		}
	}
	if len(plan.Skipped) > 0 {
		fmt.Fprintln(w, "\nDenied, but not to be fixed with an allow rule:")
		for _, s := range plan.Skipped {
			fmt.Fprintf(w, "  %s: %s\n", hostPortString(s.Host, s.Port), s.Reason)
		}
	}
	if len(res.Unknown) > 0 {
		fmt.Fprintf(w, "\nNot understood: %s (never fatal); the first:\n", count(t.Unknown, "line or record", "lines or records"))
		for _, u := range res.Unknown {
			fmt.Fprintf(w, "  %s:%d: %s\n", u.File, u.Line, u.Text)
		}
	}
	if res.Overflow > 0 {
		fmt.Fprintf(w, "\n%s of further destinations %s counted but not listed (more than 100000 destinations).\n",
			count(res.Overflow, "record", "records"), map[bool]string{true: "was", false: "were"}[res.Overflow == 1])
	}
	return nil
}

// count writes n with the noun's singular or plural: "1 record", "2 records".
// Every command's text view counts with it.
func count[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(int64(n), 10) + " " + many
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
	for _, w := range strings.Fields(text) {
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
