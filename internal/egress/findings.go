package egress

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Finding IDs of egress analyze. They are stable: pipelines key on them.
const (
	FindingDenied           = "egress-denied"
	FindingDeniedByRule     = "egress-denied-by-rule"
	FindingNameUnresolved   = "egress-name-unresolved"
	FindingThreatIntel      = "egress-threat-intel"
	FindingThreatIntelAlert = "egress-threat-intel-alert"
	FindingIDPS             = "egress-idps"
	FindingIDPSAlert        = "egress-idps-alert"
	FindingSNIMissing       = "egress-sni-missing"
	FindingReadError        = "egress-read-error"
	FindingUnparsed         = "egress-unparsed"
)

const (
	citeDefaultDeny = "the firewall's default action: no allow rule matched"
	citeProxy       = "the proxy's access rules (Squid TCP_DENIED/403: http_access deny)"
	citeOwnRule     = "a deny rule of the firewall policy's own"
	citeResolution  = "Azure Firewall resolves the names of application rules itself (DNS settings, DNS proxy)"
	citeThreatIntel = "Azure Firewall threat intelligence-based filtering"
	citeIDPS        = "Azure Firewall Premium IDPS"
	citeSNI         = "Azure Firewall FAQ: application rules need SNI; MicrosoftDocs/azure-docs#53795"
	citeReadable    = "kensa: a log that could not be read never passes for a clean one"
)

// Checks is the catalog of egress analyze's findings: every ID it emits,
// once.
var Checks = []report.Check{
	{ID: FindingDenied, Severity: report.Error, Title: "an outbound connection was denied: no rule allows it",
		Citation: citeDefaultDeny + "; or " + citeProxy,
		Help:     "The destination was denied by the firewall's default action (or by the proxy's access rules). If the deployment needs it, allow it: kensa egress analyze --emit az|bicep|terraform writes the rule, with the hosts the same service usually needs."},
	{ID: FindingDeniedByRule, Severity: report.Error, Title: "an outbound connection was denied by a deny rule of your own",
		Citation: citeOwnRule,
		Help:     "A rule of the policy denies the destination. An allow rule of lower priority does not help: change that rule if the deployment needs the destination."},
	{ID: FindingNameUnresolved, Severity: report.Error, Title: "the firewall could not resolve the destination's name",
		Citation: citeResolution,
		Help:     "The firewall itself failed to resolve the name an application rule needs. Fix name resolution for the firewall (DNS proxy, custom DNS servers, private DNS zones); an allow rule does not help."},
	{ID: FindingThreatIntel, Severity: report.Warning, Title: "threat intelligence denied the destination",
		Citation: citeThreatIntel,
		Help:     "The destination is on Microsoft's threat intelligence feed. Investigate the sources; do not add an allow rule."},
	{ID: FindingThreatIntelAlert, Severity: report.Info, Title: "threat intelligence alerted on the destination (not denied)",
		Citation: citeThreatIntel,
		Help:     "Threat intelligence is in alert mode: the connection went through and was logged. Investigate the sources."},
	{ID: FindingIDPS, Severity: report.Warning, Title: "an IDPS signature denied the connection",
		Citation: citeIDPS,
		Help:     "An intrusion detection signature matched and the connection was denied. Investigate the sources; an allow rule does not change IDPS."},
	{ID: FindingIDPSAlert, Severity: report.Info, Title: "an IDPS signature alerted on the connection (not denied)",
		Citation: citeIDPS,
		Help:     "IDPS is in alert mode: the connection went through and was logged. Investigate the sources."},
	{ID: FindingSNIMissing, Severity: report.Error, Title: "HTTPS connections without SNI were denied: there is no name to allow",
		Citation: citeSNI,
		Help:     "Application rules match on the TLS server name; a client that connects by IP sends none. Make the client connect by name, or allow the destination IP with a network rule."},
	{ID: FindingReadError, Severity: report.Error, Title: "an input could not be analysed (unreadable, empty, cut short or of no known format)",
		Citation: citeReadable,
		Help:     "An input kensa could not read whole never passes for a clean log; kensa exits 2 after writing the report. Check the file, --input-format, and that the command that produced it succeeded."},
	{ID: FindingUnparsed, Severity: report.Info, Title: "some lines or records of an input are of no known format",
		Citation: citeReadable,
		Help:     "The lines were skipped and counted; the first ones are listed in the summary. Check --input-format."},
}

// DestinationResult is one result of an egress analyze report: one
// denied (or, with --all, allowed) destination.
type DestinationResult struct {
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
	Service          *ServiceResult `json:"service"`
}

// ServiceResult is the catalog service a destination matched, with its
// source.
type ServiceResult struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	AsOf       string   `json:"as_of"`
	Companions []string `json:"companions,omitempty"`
}

// FileSummary counts what one input held.
type FileSummary struct {
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

// SNISummary counts the TLS connections denied for want of SNI.
type SNISummary struct {
	Count     int64    `json:"count"`
	Sources   []string `json:"sources"`
	FirstSeen *string  `json:"first_seen"`
	LastSeen  *string  `json:"last_seen"`
}

// LineSummary is a line of no known format, as the summary lists it.
type LineSummary struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Text string `json:"text"`
}

// Summary is the "summary" of an egress analyze report.
type Summary struct {
	Files        []FileSummary  `json:"files"`
	Records      int64          `json:"records"`
	Denied       int64          `json:"denied"`
	Destinations int            `json:"destinations"`
	SNIMissing   *SNISummary    `json:"sni_missing,omitempty"`
	Unknown      []LineSummary  `json:"unknown_lines,omitempty"`
	Overflow     int64          `json:"overflow,omitempty"`
	Rules        int            `json:"rules"`
	Findings     map[string]int `json:"findings"`
}

// Summarize counts an analysis, its findings and the rules of its plan.
func Summarize(res *Result, findings []report.Finding, plan *Plan) Summary {
	total := res.Total()
	s := Summary{Records: total.Records, Denied: total.Denied, Destinations: len(res.Destinations),
		Overflow: res.Overflow}
	if plan != nil {
		s.Rules = len(plan.Collections)
	}
	for _, f := range res.Files {
		s.Files = append(s.Files, FileSummary{f.Name, string(f.Format), f.Records, f.Traffic, f.Denied, f.Allowed, f.Alerts,
			f.DNS, f.NAT, f.Other, f.Auth, f.NoRequest, f.Unknown, f.OutOfRange, f.Untimed, f.Err})
	}
	if x := res.SNIMissing; x.Count > 0 {
		s.SNIMissing = &SNISummary{x.Count, x.Sources, TimeString(x.First), TimeString(x.Last)}
	}
	for _, u := range res.Unknown {
		s.Unknown = append(s.Unknown, LineSummary{u.File, u.Line, u.Text})
	}
	s.Findings = report.SeverityTally(findings)
	return s
}

// Add adds o to s (merging the reports of several runs). Destinations
// are the sum of each report's: a destination seen by two runs counts
// twice, as the merged results list it twice.
func (s *Summary) Add(o Summary) {
	s.Files = append(s.Files, o.Files...)
	s.Records += o.Records
	s.Denied += o.Denied
	s.Destinations += o.Destinations
	s.Overflow += o.Overflow
	s.Rules += o.Rules
	s.Unknown = append(s.Unknown, o.Unknown...)
	if o.SNIMissing != nil {
		if s.SNIMissing == nil {
			s.SNIMissing = &SNISummary{Sources: []string{}}
		}
		m := s.SNIMissing
		m.Count += o.SNIMissing.Count
		for _, src := range o.SNIMissing.Sources {
			if !slices.Contains(m.Sources, src) {
				m.Sources = append(m.Sources, src)
			}
		}
		slices.Sort(m.Sources)
		m.FirstSeen = earlier(m.FirstSeen, o.SNIMissing.FirstSeen, true)
		m.LastSeen = earlier(m.LastSeen, o.SNIMissing.LastSeen, false)
	}
	s.Findings = report.AddCounts(s.Findings, o.Findings)
}

// earlier picks the earlier (first) or later (!first) of two RFC 3339
// times; nil is no time.
func earlier(a, b *string, first bool) *string {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	ta, ea := time.Parse(time.RFC3339Nano, *a)
	tb, eb := time.Parse(time.RFC3339Nano, *b)
	if ea != nil || eb != nil {
		return a
	}
	if ta.Before(tb) == first {
		return a
	}
	return b
}

// TimeString is a Unix-nanosecond time as RFC 3339 in UTC; nil for 0
// (no time).
func TimeString(ns int64) *string {
	if ns == 0 {
		return nil
	}
	s := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	return &s
}

// Results returns one result per destination, in the analysis's order.
func Results(res *Result) []DestinationResult {
	results := []DestinationResult{}
	for _, d := range res.Destinations {
		r := DestinationResult{Host: d.Host, Protocol: d.Proto, Action: d.Action.String(), Count: d.Count,
			Sources: d.Sources, SourcesTruncated: d.SourcesTruncated, FirstSeen: TimeString(d.First), LastSeen: TimeString(d.Last),
			Reason: d.Reason.String(), Rule: d.Rule, Detail: d.Detail}
		if r.Sources == nil {
			r.Sources = []string{}
		}
		if d.Port >= 0 {
			p := d.Port
			r.Port = &p
		}
		if s := d.Service; s != nil {
			r.Service = &ServiceResult{ID: s.Service.ID, Name: s.Service.Name, Source: s.Service.Source, AsOf: s.Service.AsOf}
			for _, c := range s.Companions {
				r.Service.Companions = append(r.Service.Companions, c.Host)
			}
		}
		results = append(results, r)
	}
	return results
}

// Findings returns one finding per denied (or alerted) destination, plus
// the SNI-missing, unreadable and unparsed findings.
func Findings(res *Result) []report.Finding {
	findings := []report.Finding{}
	for _, d := range res.Destinations {
		if d.Action == ActionAllow {
			continue
		}
		if f, ok := destinationFinding(d); ok {
			findings = append(findings, f)
		}
	}
	if s := res.SNIMissing; s.Count > 0 {
		findings = append(findings, report.Finding{
			ID: FindingSNIMissing, Severity: report.Error, Subject: "(TLS without SNI)",
			Message: fmt.Sprintf("%s denied because %s no SNI (from %s); there is no name to allow",
				report.Count(s.Count, "HTTPS connection was", "HTTPS connections were"), report.Plural(s.Count, "it sent", "they sent"),
				strings.Join(s.Sources, ", ")),
			Remediation: "make the client send SNI (connect by name, not IP), or allow the destination IP with a network rule",
			Citation:    citeSNI,
		})
	}
	for _, f := range res.Files {
		switch {
		case f.Err != "":
			findings = append(findings, report.Finding{ID: FindingReadError, Severity: report.Error, Subject: f.Name,
				Message: "reading stopped early: " + f.Err, Citation: citeReadable,
				Remediation: "check the file; the records before the error were analysed"})
		case f.Unreadable() != "":
			findings = append(findings, report.Finding{ID: FindingReadError, Severity: report.Error, Subject: f.Name,
				Message: "nothing could be analysed: " + f.Unreadable(), Citation: citeReadable,
				Remediation: "check that the input is a firewall or proxy log kensa reads (--input-format), and that the command that produced it succeeded"})
		}
		if f.Unknown > 0 {
			findings = append(findings, report.Finding{ID: FindingUnparsed, Severity: report.Info, Subject: f.Name,
				Message: fmt.Sprintf("%d of %s %s no record of a known format", f.Unknown,
					report.Count(f.Records, "line or record", "lines or records"), report.Plural(f.Unknown, "is", "are")),
				Citation:    citeReadable,
				Remediation: "check --input-format; the first ones are listed in the summary"})
		}
	}
	return findings
}

// destinationFinding is the finding of one denied or alerted destination.
func destinationFinding(d *Destination) (report.Finding, bool) {
	subject := HostPort(d.Host, d.Port)
	times := report.Count(d.Count, "time", "times")
	from := "from " + report.Count(len(d.Sources), "source", "sources")
	f := report.Finding{Subject: subject, Citation: citeDefaultDeny}
	svc := ""
	if s := d.Service; s != nil {
		svc = " (needed by " + s.Service.Name + ")"
	}
	serviceCitation := func() {
		if s := d.Service; s != nil {
			f.Citation = "kensa egress catalog: " + s.Service.ID + " (" + s.Service.Source + ", as of " + s.Service.AsOf + ")"
		}
	}
	switch d.Reason {
	case ReasonNoRule, ReasonDenied, ReasonProxy:
		f.ID, f.Severity = FindingDenied, report.Error
		why := "no rule matched"
		switch d.Reason {
		case ReasonDenied:
			why = "denied, the log names no rule"
		case ReasonProxy:
			why, f.Citation = "the proxy's access rules denied it", citeProxy
		}
		serviceCitation()
		f.Message = fmt.Sprintf("%s %s was denied %s %s: %s%s", d.Proto, subject, times, from, why, svc)
		f.Remediation = "allow it: kensa egress analyze --emit az|bicep|terraform writes the rule"
		if IsIPv6(d.Host) {
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
	case ReasonRule:
		f.ID, f.Severity, f.Citation = FindingDeniedByRule, report.Error, citeOwnRule
		serviceCitation()
		f.Message = fmt.Sprintf("%s %s was denied %s %s by the rule %s%s", d.Proto, subject, times, from, d.Rule, svc)
		f.Remediation = "a rule of your own denies it: change that rule if the deployment needs this destination"
	case ReasonUnresolved:
		f.ID, f.Severity, f.Citation = FindingNameUnresolved, report.Error, citeResolution
		serviceCitation()
		f.Message = fmt.Sprintf("the firewall could not resolve %s (%s, %s): %s", d.Host, times, from, d.Detail)
		f.Remediation = "fix name resolution for the firewall (DNS proxy, custom DNS servers, private DNS zones); an allow rule does not help"
	case ReasonThreatIntel, ReasonIDPS:
		// Reported as what they are, never as a missing allow rule.
		alert := d.Action == ActionAlert
		if d.Reason == ReasonIDPS {
			f.ID, f.Citation = FindingIDPS, citeIDPS
			if alert {
				f.ID = FindingIDPSAlert
			}
			f.Remediation = "an IDPS signature matched: investigate the sources; an allow rule does not change IDPS"
		} else {
			f.ID, f.Citation = FindingThreatIntel, citeThreatIntel
			if alert {
				f.ID = FindingThreatIntelAlert
			}
			f.Remediation = "threat intelligence flagged it: investigate the sources; do not add an allow rule"
		}
		f.Severity = report.Warning
		if alert {
			f.Severity = report.Info
		}
		f.Message = fmt.Sprintf("%s %s: %s (%s, %s, action %s)", d.Proto, subject, d.Rule, times, from, d.Action)
	default:
		return f, false
	}
	return f, true
}
