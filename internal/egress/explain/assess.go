package explain

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/report"
)

// Checks is the catalog of finding ids egress explain emits.
var Checks = []report.Check{
	{ID: "egress-explain-blocked", Severity: report.Error,
		Title:    "a deploy step failed to reach a destination",
		Citation: "the error signature's source (Kudu, Oryx, pip, npm, NuGet, Maven, docker)",
		Help:     "The log shows the error a tool prints when its connection is denied or times out; the destination is the one that tool needed. Allow it (kensa egress whatif --dest HOST --emit az|bicep|terraform), or check it from inside the network (kensa egress check)."},
	{ID: "egress-explain-denied", Severity: report.Error,
		Title:    "the policy denies the destination a failed deploy step needed",
		Citation: "Azure Firewall rule processing (articles/firewall/rule-processing.md)",
		Help:     "With --policy, kensa evaluated the destination against the policy: it is denied, which explains the failure. Allow it before deploying again."},
	{ID: "egress-explain-allowed", Severity: report.Info,
		Title:    "the policy allows the destination: the failure lies elsewhere",
		Citation: "Azure Firewall rule processing (articles/firewall/rule-processing.md)",
		Help:     "The policy's rules allow the destination, so look elsewhere: the route (UDR), an NSG, DNS (a private DNS zone, the firewall's DNS proxy), TLS inspection, or a proxy between."},
	{ID: "egress-explain-intercepted", Severity: report.Warning,
		Title:    "a deploy step failed because its TLS connection was intercepted",
		Citation: "Azure Firewall Premium TLS inspection (articles/firewall/premium-features.md)",
		Help:     "The tool could not verify the server's certificate: a TLS-inspecting firewall or proxy re-signs the connection. Trust the inspecting CA in the tool, or exempt the destination from inspection; an allow rule does not help."},
}

// Item is one destination a matched signature names, with the policy's
// verdict when a policy was given.
type Item struct {
	// File is the log the signature was found in.
	File        string      `json:"file"`
	Signature   string      `json:"signature"`
	Tool        string      `json:"tool"`
	Line        int         `json:"line"`
	Evidence    string      `json:"evidence"`
	Meaning     string      `json:"meaning"`
	Source      string      `json:"signature_source"`
	Note        string      `json:"note,omitempty"`
	Destination string      `json:"destination"`
	Placeholder bool        `json:"placeholder,omitempty"`
	Service     *ServiceRef `json:"service"`
	// Verdicts are the policy's answers, one per source (--policy only).
	Verdicts []SourceVerdict `json:"policy,omitempty"`
}

// SourceVerdict is the policy's answer for one source.
type SourceVerdict struct {
	Source string `json:"source"`
	policy.Verdict
}

// Assess turns matches into items and findings; with an evaluator (a
// policy) every destination is evaluated from each source.
func Assess(res *Result, ev *policy.Evaluator, sources []netip.Prefix) ([]Item, []report.Finding) {
	items := []Item{}
	findings := []report.Finding{}
	for _, m := range res.Matches {
		intercepted := strings.HasPrefix(m.Note, "not a deny: the connection was intercepted")
		for _, d := range m.Destinations {
			it := Item{File: res.Name, Signature: m.Signature, Tool: m.Tool, Line: m.Line, Evidence: m.Evidence, Meaning: m.Meaning, Source: m.Source,
				Note: m.Note, Destination: fmt.Sprintf("%s:%d", d.Host, d.Port), Placeholder: d.Placeholder, Service: d.Service}
			svc := ""
			if d.Service != nil {
				svc = " (" + d.Service.Name + ")"
			}
			where := fmt.Sprintf("%s:%d", res.Name, m.Line)
			f := report.Finding{Subject: it.Destination, Citation: m.Source}
			switch {
			case intercepted:
				f.ID, f.Severity = "egress-explain-intercepted", report.Warning
				f.Message = fmt.Sprintf("%s could not verify %s%s (%s): %s", m.Tool, it.Destination, svc, where, m.Evidence)
				f.Remediation = strings.TrimPrefix(m.Note, "not a deny: ")
			default:
				f.ID, f.Severity = "egress-explain-blocked", report.Error
				f.Message = fmt.Sprintf("%s failed to reach %s%s: %s (%s)", m.Tool, it.Destination, svc, m.Meaning, where)
				f.Remediation = "allow it: kensa egress whatif --policy POLICY --dest " + it.Destination + " --emit az|bicep|terraform writes the rule"
				if d.Placeholder {
					f.Remediation = "the log does not name the app: give it with --app NAME, then allow NAME.scm.azurewebsites.net (and NAME.azurewebsites.net for Functions)"
				}
				if m.Note != "" {
					f.Remediation += "; " + m.Note
				}
			}
			if ev != nil && !d.Placeholder {
				srcs := sources
				if len(srcs) == 0 {
					srcs = []netip.Prefix{{}}
				}
				proto := "https"
				if d.Port == 80 {
					proto = "http"
				}
				for _, s := range srcs {
					v := ev.Evaluate(policy.Dest{Host: d.Host, Port: d.Port, Protocol: proto, Source: s})
					sv := SourceVerdict{Verdict: v}
					if s.IsValid() {
						sv.Source = s.String()
					}
					it.Verdicts = append(it.Verdicts, sv)
					switch v.Action {
					case "deny":
						f.ID, f.Severity = "egress-explain-denied", report.Error
						by := "no rule matched, default deny"
						if v.Rule != nil {
							by = "denied by " + v.Rule.Path()
						}
						f.Message = fmt.Sprintf("%s failed to reach %s%s, and the policy denies it from %s: %s (%s)", m.Tool, it.Destination, svc, orAny(sv.Source), by, where)
						if v.Log != "" {
							f.Message += "; the firewall logs: " + v.Log
						}
					case "allow":
						if f.ID == "egress-explain-blocked" {
							f.ID, f.Severity = "egress-explain-allowed", report.Info
							f.Message = fmt.Sprintf("%s failed to reach %s%s (%s), but the policy allows it from %s by %s", m.Tool, it.Destination, svc, where, orAny(sv.Source), v.Rule.Path())
							f.Remediation = "look elsewhere: the route (UDR), an NSG, DNS, TLS inspection, a proxy"
						}
					case "unknown":
						f.Message += fmt.Sprintf("; kensa cannot tell whether the policy allows it from %s", orAny(sv.Source))
					}
				}
			}
			items = append(items, it)
			findings = append(findings, f)
		}
	}
	return items, findings
}

func orAny(s string) string {
	if s == "" {
		return "any source"
	}
	return s
}

// Summary counts an explain run.
type Summary struct {
	Lines        int            `json:"lines"`
	Signatures   int            `json:"signatures"`
	Destinations int            `json:"destinations"`
	Denied       int            `json:"denied_by_policy"`
	Findings     map[string]int `json:"findings"`
}

// Summarize counts results and findings.
func Summarize(res *Result, items []Item, findings []report.Finding) Summary {
	s := Summary{Lines: res.Lines, Signatures: len(res.Matches), Destinations: len(items)}
	for _, it := range items {
		for _, v := range it.Verdicts {
			if v.Action == "deny" {
				s.Denied++
				break
			}
		}
	}
	s.Findings = report.SeverityTally(findings)
	return s
}

// Add folds o into s.
func (s *Summary) Add(o Summary) {
	s.Lines += o.Lines
	s.Signatures += o.Signatures
	s.Destinations += o.Destinations
	s.Denied += o.Denied
	s.Findings = report.AddCounts(s.Findings, o.Findings)
}
