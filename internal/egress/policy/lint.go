package policy

import (
	"fmt"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
)

// Lint reports rules of the evaluated policies that do not do what they
// seem to (Microsoft's rule processing and FAQ): a network rule that
// allows all HTTPS or all traffic from everywhere (application rules are
// never reached for it), a wildcard FQDN in a network rule (network rules
// take none), an FQDN tag on a protocol other than HTTPS. At most a few
// of each, so a large policy does not drown the report.
func Lint(e *Evaluator) []report.Finding {
	var out []report.Finding
	counts := map[string]int{}
	last := map[string]int{} // index of the last finding kept per id
	add := func(f report.Finding) {
		counts[f.ID]++
		if counts[f.ID] <= 5 {
			last[f.ID] = len(out)
			out = append(out, f)
		}
	}
	hasApp := len(e.passes[Application]) > 0
	for _, o := range e.passes[Network] {
		r := o.rule
		if o.coll.Action == "Allow" && hasApp && allAddresses(r.Destinations) && len(r.DestIPGroups) == 0 &&
			matchPorts(r.Ports, 443) == yes && ipProtoMatches(r.IPProtocols, "https") && allAddresses(r.Sources) {
			add(report.Finding{ID: "egress-whatif-network-shadows-app", Severity: report.Info, Subject: o.ref.Path(),
				Message:     "this network rule allows TCP 443 to any address from any source: every application rule after it is never reached for HTTPS (network rules are processed first)",
				Citation:    "Azure Firewall rule processing, example 1 (articles/firewall/rule-processing.md)",
				Remediation: "narrow the network rule, or allow HTTPS by application rules only"})
		}
		for _, f := range r.DestFQDNs {
			if strings.Contains(f, "*") {
				add(report.Finding{ID: "egress-whatif-network-wildcard", Severity: report.Info, Subject: o.ref.Path(),
					Message:     fmt.Sprintf("network rule FQDN %q has a wildcard, which network rules do not take: it matches nothing", f),
					Citation:    "Azure Firewall FQDN filtering in network rules (articles/firewall/fqdn-filtering-network-rules.md)",
					Remediation: "name the hosts, or use an application rule for HTTP/HTTPS"})
			}
		}
	}
	for _, o := range e.passes[Application] {
		r := o.rule
		if len(r.FQDNTags) == 0 {
			continue
		}
		for _, p := range r.Protocols {
			if p.Type != "Https" {
				add(report.Finding{ID: "egress-whatif-fqdn-tag-protocol", Severity: report.Info, Subject: o.ref.Path(),
					Message:     fmt.Sprintf("FQDN tags %s with protocol %s:%d: FQDN tags are meant for https", strings.Join(r.FQDNTags, ", "), p.Type, p.Port),
					Citation:    "Azure Firewall FQDN tags (articles/firewall/fqdn-tags.md)",
					Remediation: "set the rule's protocol to https"})
				break
			}
		}
	}
	for id, n := range counts {
		if n > 5 {
			out[last[id]].Message += fmt.Sprintf(" (and %s like it)", report.Count(n-5, "more rule", "more rules"))
		}
	}
	return out
}

func allAddresses(entries []string) bool {
	for _, s := range entries {
		if set, ok := parseAddrEntry(s); ok && set.any {
			return true
		}
	}
	return false
}
