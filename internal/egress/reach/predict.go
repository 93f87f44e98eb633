package reach

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/report"
)

// Prediction is what an exported firewall policy (egress whatif's
// evaluator) says the firewall does with the destination, beside what
// the probe saw.
type Prediction struct {
	// Action is allow, deny or unknown.
	Action string `json:"action"`
	// Rule is the deciding rule ("policy / group / collection / rule"),
	// "" for the default deny.
	Rule     string `json:"rule,omitempty"`
	Decision string `json:"decision"`
	// Source is the address the prediction was made for: the probe's
	// own source address unless --source named one.
	Source string `json:"source"`
	// Reality is what the probe saw at the firewall's layers: "allowed"
	// or "denied"; "" when the probe stopped before the firewall (DNS)
	// or went through an explicit proxy.
	Reality string `json:"reality,omitempty"`
	// Match says whether prediction and reality agree; nil when one of
	// them is unknown.
	Match *bool `json:"match,omitempty"`
}

// WhatifMismatch is the id of the finding for a destination whose probe
// disagrees with the policy's prediction.
const WhatifMismatch = "whatif-mismatch"

// Predict evaluates every result against ev and records the prediction
// beside it. source, when valid, is the address the workload sends from
// (--source); otherwise each result's own source address is used. It
// returns a warning finding for each disagreement: the exported policy
// is not the one the firewall runs, or another path (a second firewall,
// an NSG, a route) decides.
func Predict(results []Result, ev *policy.Evaluator, source netip.Prefix) []report.Finding {
	var out []report.Finding
	for i := range results {
		r := &results[i]
		if r.Proxy != nil {
			continue // the firewall sees the proxy, not this client
		}
		src := source
		if !src.IsValid() && r.TCP != nil && r.TCP.Local != "" {
			if h, _, err := net.SplitHostPort(r.TCP.Local); err == nil {
				if a, err := netip.ParseAddr(h); err == nil {
					src = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
			}
		}
		if !src.IsValid() {
			continue // no source known (DNS failed and no --source)
		}
		d := policy.Dest{Host: r.Host, Port: r.Port, Protocol: policyProtocol(r), Source: src}
		if r.DNS != nil {
			for _, a := range r.DNS.Addresses {
				if ip, err := netip.ParseAddr(a); err == nil {
					d.Addresses = append(d.Addresses, ip)
				}
			}
		} else if ip, err := netip.ParseAddr(r.Host); err == nil {
			d.Addresses = []netip.Addr{ip}
		}
		v := ev.Evaluate(d)
		p := &Prediction{Action: v.Action, Decision: v.Decision, Source: src.String()}
		if v.Rule != nil {
			p.Rule = v.Rule.Path()
		}
		switch {
		case !r.Blocked(), r.Class == ClassTLSIntercepted:
			p.Reality = "allowed"
		case r.Layer == LayerTCP || r.Layer == LayerTLS || r.Layer == LayerHTTP:
			p.Reality = "denied"
		}
		if p.Reality != "" && (v.Action == "allow" || v.Action == "deny") {
			m := (v.Action == "allow") == (p.Reality == "allowed")
			p.Match = &m
			if !m {
				out = append(out, mismatch(r, p))
			}
		}
		r.Prediction = p
	}
	return out
}

func policyProtocol(r *Result) string {
	switch r.Protocol {
	case "https", "http":
		return r.Protocol
	case "tls":
		if r.Port == 443 {
			return "https"
		}
	}
	return "tcp"
}

func mismatch(r *Result, p *Prediction) report.Finding {
	c, _ := report.Lookup(Checks, WhatifMismatch)
	rule := "the default deny"
	if p.Rule != "" {
		rule = "rule " + p.Rule
	}
	var msg, fix string
	if p.Action == "allow" {
		msg = fmt.Sprintf("the policy allows %s from %s (%s), but the probe was refused: %s", r.Address(), p.Source, rule, r.Detail)
		fix = "compare the exported policy with the one the firewall runs (a pending deployment, a parent policy), and look for another firewall, NSG or route in the path"
	} else {
		msg = fmt.Sprintf("the policy denies %s from %s (%s), but the probe reached it", r.Address(), p.Source, rule)
		fix = "the traffic does not take the path the policy is for (another route, a NAT gateway, an exemption), or the export is stale: check the subnet's route table and the firewall's deployed policy"
	}
	return report.Finding{ID: WhatifMismatch, Severity: c.Severity, Subject: r.Address(), Message: msg,
		Citation: c.Citation, Remediation: fix, Address: r.Address(), ServerName: serverName(r)}
}
