package egress

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Rules for the firewalls that are not Azure Firewall: AWS Network
// Firewall and Squid. They are rendered from the same Plan (whose
// application rules hold the names allowed over HTTP/HTTPS, and whose
// network rules hold addresses and other protocols), so the same
// destinations, companions and apexes are allowed whichever firewall the
// logs came from.
//
// AWS Network Firewall: a stateful rule group of type domain list
// (RulesSourceList, GeneratedRulesType ALLOWLIST, TargetTypes TLS_SNI and
// HTTP_HOST), as "aws network-firewall create-rule-group", CloudFormation
// (AWS::NetworkFirewall::RuleGroup) and Terraform
// (aws_networkfirewall_rule_group) take it. A domain list matches names
// only: "abc.example.com" exactly, ".example.com" the domain and every
// name under it (AWS Network Firewall Developer Guide, "Stateful domain
// list rule groups"). It applies to traffic from HOME_NET, which kensa
// sets to the sources (RuleVariables). Addresses and non-HTTP protocols
// cannot be in a domain list: the Suricata form writes them as pass
// rules, the domain-list forms list them as not covered.
//
// Squid: "acl NAME dstdomain" (a leading dot is the domain and its
// sub-domains), "acl NAME dst" for addresses, "acl NAME src" for the
// sources, and one "http_access allow" line, to go before the
// configuration's "http_access deny all" (squid.conf.documented,
// "acl" and "http_access").

// awsTargets returns the domain-list targets of a plan (sorted), the
// sources, and the destinations a domain list cannot hold.
func awsTargets(p *Plan) (targets, sources, notCovered []string) {
	seen := map[string]bool{}
	srcSeen := map[string]bool{}
	for _, c := range p.Collections {
		r := c.Rule
		for _, s := range r.Sources {
			if !srcSeen[s] {
				srcSeen[s] = true
				sources = append(sources, cidr(s))
			}
		}
		if r.Type != AppRule {
			for _, a := range append(append([]string(nil), r.Addresses...), r.FQDNs...) {
				notCovered = append(notCovered, fmt.Sprintf("%s %s/%s", a, strings.Join(r.IPProtocols, ","), strings.Join(r.Ports, ",")))
			}
			continue
		}
		for _, f := range r.FQDNs {
			t := domainTarget(f)
			if !seen[t] {
				seen[t] = true
				targets = append(targets, t)
			}
		}
	}
	sort.Strings(targets)
	// ".x.com" covers "x.com" and every "a.x.com": keep the widest.
	var out []string
	for _, t := range targets {
		covered := false
		for _, o := range targets {
			if o != t && strings.HasPrefix(o, ".") && (t == o[1:] || strings.HasSuffix(t, o)) {
				covered = true
			}
		}
		if !covered {
			out = append(out, t)
		}
	}
	sort.Strings(sources)
	return out, sources, notCovered
}

// domainTarget turns "*.x.com" into ".x.com" (which also matches x.com,
// whose rule the plan adds beside it anyway).
func domainTarget(f string) string {
	if strings.HasPrefix(f, "*.") {
		return f[1:]
	}
	return f
}

// cidr writes an address as a /32 (or /128) prefix; a prefix stays.
func cidr(s string) string {
	if strings.Contains(s, "/") {
		return s
	}
	if strings.Contains(s, ":") {
		return s + "/128"
	}
	return s + "/32"
}

func otherHeader(w io.Writer, comment, firewall string, p *Plan, notCovered []string) {
	fmt.Fprintf(w, "%s %s rules that allow the destinations kensa found denied\n", comment, firewall)
	fmt.Fprintf(w, "%s (kensa egress analyze). Review them before applying: the sources are the\n", comment)
	fmt.Fprintf(w, "%s ones seen in the logs; a subnet may suit you better (--source).\n", comment)
	if p.Foreign != "" {
		fmt.Fprintf(w, "%s WARNING: %s.\n", comment, p.Foreign)
	}
	if len(p.IPv6Sources) > 0 {
		fmt.Fprintf(w, "%s %s\n", comment, IPv6SourcesNote(p))
	}
	for _, s := range p.Skipped {
		fmt.Fprintf(w, "%s Not allowed: %s: %s\n", comment, printable([]byte(HostPort(s.Host, s.Port)), 200), s.Reason)
	}
	for _, n := range notCovered {
		fmt.Fprintf(w, "%s Not in this rule group (a domain list holds names for TLS and HTTP only): %s\n", comment, n)
	}
}

func awsRuleGroup(targets, sources []string) map[string]any {
	rg := map[string]any{
		"RulesSource": map[string]any{"RulesSourceList": map[string]any{
			"Targets": targets, "TargetTypes": []string{"HTTP_HOST", "TLS_SNI"}, "GeneratedRulesType": "ALLOWLIST"}},
	}
	if len(sources) > 0 {
		rg["RuleVariables"] = map[string]any{"IPSets": map[string]any{"HOME_NET": map[string]any{"Definition": sources}}}
	}
	return rg
}

// awsCapacity is the rule group's capacity: AWS counts a domain list as
// one rule per target and target type; kensa leaves room to grow.
func awsCapacity(targets []string) int {
	return max(100, 4*len(targets))
}

// WriteAWSNFW renders p as an AWS CLI script that creates a stateful
// domain-list rule group.
func WriteAWSNFW(w io.Writer, p *Plan) error {
	targets, sources, notCovered := awsTargets(p)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "#!/bin/sh")
	otherHeader(bw, "#", "AWS Network Firewall", p, notCovered)
	fmt.Fprintln(bw, "# Add the rule group to the firewall policy's stateful rule groups afterwards")
	fmt.Fprintln(bw, "# (aws network-firewall update-firewall-policy).")
	fmt.Fprintln(bw, "set -eu")
	fmt.Fprintln(bw, `NAME="${NAME:-kensa-egress}"`)
	if len(targets) == 0 {
		fmt.Fprintln(bw, "# No denied name needs an allow rule.")
		return bw.Flush()
	}
	rg, _ := json.Marshal(awsRuleGroup(targets, sources))
	fmt.Fprintln(bw, `aws network-firewall create-rule-group --rule-group-name "$NAME" --type STATEFUL \`)
	fmt.Fprintf(bw, "  --capacity %d \\\n", awsCapacity(targets))
	fmt.Fprintln(bw, `  --description 'kensa egress: allow the destinations the firewall denied' \`)
	fmt.Fprintf(bw, "  --rule-group %s\n", shq(string(rg)))
	return bw.Flush()
}

// WriteAWSNFWCloudFormation renders p as a CloudFormation template (JSON)
// with one AWS::NetworkFirewall::RuleGroup.
func WriteAWSNFWCloudFormation(w io.Writer, p *Plan) error {
	targets, sources, notCovered := awsTargets(p)
	var desc strings.Builder
	desc.WriteString("kensa egress analyze: allow the destinations the firewall denied.")
	if p.Foreign != "" {
		desc.WriteString(" WARNING: " + p.Foreign + ".")
	}
	// JSON has no comments: the details (which may name IPv6 addresses)
	// are in the comments of --emit aws-nfw; the description counts them.
	if p.IPv6SourcesLeftOut > 0 {
		desc.WriteString(fmt.Sprintf(" IPv6 sources left out of the rules: %d (--emit aws-nfw lists them).", p.IPv6SourcesLeftOut))
	}
	if len(p.Skipped) > 0 {
		desc.WriteString(fmt.Sprintf(" %d denied destinations get no rule (--emit aws-nfw lists them with the reason).", len(p.Skipped)))
	}
	for _, n := range notCovered {
		desc.WriteString(" Not in this rule group (names for TLS and HTTP only): " + n + ".")
	}
	tpl := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              desc.String(),
		"Parameters":               map[string]any{"RuleGroupName": map[string]any{"Type": "String", "Default": "kensa-egress"}},
		"Resources": map[string]any{"KensaEgressRuleGroup": map[string]any{
			"Type": "AWS::NetworkFirewall::RuleGroup",
			"Properties": map[string]any{
				"RuleGroupName": map[string]any{"Ref": "RuleGroupName"},
				"Type":          "STATEFUL",
				"Capacity":      awsCapacity(targets),
				"RuleGroup":     awsRuleGroup(targets, sources),
			}}},
	}
	if len(targets) == 0 {
		// A domain list needs a target: say why there is none.
		desc.WriteString(" No denied name needs an allow rule: there is no rule group to create.")
		tpl["Description"] = desc.String()
		tpl["Resources"] = map[string]any{}
	}
	b, err := json.MarshalIndent(tpl, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// WriteAWSNFWTerraform renders p as an aws_networkfirewall_rule_group.
func WriteAWSNFWTerraform(w io.Writer, p *Plan) error {
	targets, sources, notCovered := awsTargets(p)
	bw := bufio.NewWriter(w)
	otherHeader(bw, "#", "AWS Network Firewall", p, notCovered)
	fmt.Fprint(bw, `
variable "rule_group_name" {
  type    = string
  default = "kensa-egress"
}

resource "aws_networkfirewall_rule_group" "kensa_egress" {
`)
	attrs(bw, "  ", [2]string{"capacity", strconv.Itoa(awsCapacity(targets))}, [2]string{"name", "var.rule_group_name"}, [2]string{"type", `"STATEFUL"`})
	fmt.Fprintln(bw, "  rule_group {")
	if len(sources) > 0 {
		fmt.Fprintln(bw, "    rule_variables {\n      ip_sets {\n        key = \"HOME_NET\"\n        ip_set {")
		fmt.Fprintf(bw, "          definition = %s\n", hList(sources))
		fmt.Fprintln(bw, "        }\n      }\n    }")
	}
	fmt.Fprintln(bw, "    rules_source {\n      rules_source_list {")
	attrs(bw, "        ", [2]string{"generated_rules_type", `"ALLOWLIST"`}, [2]string{"target_types", `["HTTP_HOST", "TLS_SNI"]`}, [2]string{"targets", hList(targets)})
	fmt.Fprintln(bw, "      }\n    }\n  }\n}")
	return bw.Flush()
}

// WriteSuricata renders p as Suricata pass rules for an AWS Network
// Firewall stateful rule group of type "Suricata compatible rule
// string": "pass tls … (tls.sni; content:…)" for names over HTTPS,
// "pass http … (http.host; …)" over HTTP, and address/port pass rules for
// the rest. A name "*.x.com" matches by dotprefix (".x.com" and below).
func WriteSuricata(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	otherHeader(bw, "#", "AWS Network Firewall (Suricata compatible)", p, nil)
	fmt.Fprintln(bw, "# Set HOME_NET to the sources (rule variables) when they are not the VPC's range.")
	sid := 1000001
	for _, c := range p.Collections {
		r := c.Rule
		fmt.Fprintf(bw, "# %s\n", c.Name)
		if r.Type == AppRule {
			for _, f := range r.FQDNs {
				for _, pp := range r.Protocols {
					kw, proto := "tls.sni", "tls"
					if pp.Protocol == "Http" {
						kw, proto = "http.host", "http"
					}
					match := fmt.Sprintf(`content:"%s"; nocase; startswith; endswith;`, suricataEscape(f))
					if strings.HasPrefix(f, "*.") {
						match = fmt.Sprintf(`dotprefix; content:"%s"; nocase; endswith;`, suricataEscape(f[1:]))
					}
					fmt.Fprintf(bw, "pass %s $HOME_NET any -> $EXTERNAL_NET %d (%s; %s msg:\"kensa egress: %s\"; flow:to_server, established; sid:%d; rev:1;)\n",
						proto, pp.Port, kw, match, suricataEscape(f), sid)
					sid++
				}
			}
			continue
		}
		for _, proto := range r.IPProtocols {
			proto = strings.ToLower(proto)
			for _, port := range r.Ports {
				if port == "*" {
					port = "any"
				}
				for _, a := range r.Addresses {
					fmt.Fprintf(bw, "pass %s $HOME_NET any -> %s %s (msg:\"kensa egress: %s\"; sid:%d; rev:1;)\n", proto, a, port, a, sid)
					sid++
				}
				for _, f := range r.FQDNs {
					fmt.Fprintf(bw, "# %s %s/%s: Suricata matches addresses for %s; allow the name's addresses (it has no SNI or Host to match)\n", f, proto, port, proto)
				}
			}
		}
	}
	return bw.Flush()
}

func suricataEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `;`, `\;`, "\n", "", "\r", "")
	return r.Replace(s)
}

// WriteSquid renders p as squid.conf lines: ACLs for the sources and the
// destinations and one http_access allow, to include before
// "http_access deny all".
func WriteSquid(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	otherHeader(bw, "#", "Squid", p, nil)
	fmt.Fprintln(bw, "# Include this before \"http_access deny all\" (include /etc/squid/conf.d/kensa-egress.conf).")
	var domains, addrs, sources []string
	seen := map[string]bool{}
	add := func(list *[]string, v string) {
		if !seen[v] {
			seen[v] = true
			*list = append(*list, v)
		}
	}
	for _, c := range p.Collections {
		r := c.Rule
		for _, s := range r.Sources {
			add(&sources, cidr(s))
		}
		for _, f := range r.FQDNs {
			add(&domains, domainTarget(f))
		}
		for _, a := range r.Addresses {
			add(&addrs, a)
		}
	}
	sort.Strings(domains)
	// ".x.com" covers "x.com" and "a.x.com"; Squid warns about both.
	var ds []string
	for _, d := range domains {
		covered := false
		for _, o := range domains {
			if o != d && strings.HasPrefix(o, ".") && (d == o[1:] || strings.HasSuffix(d, o)) {
				covered = true
			}
		}
		if !covered {
			ds = append(ds, d)
		}
	}
	if len(ds)+len(addrs) == 0 {
		fmt.Fprintln(bw, "# No denied destination needs an allow rule.")
		return bw.Flush()
	}
	var allow []string
	if len(sources) > 0 {
		sort.Strings(sources)
		fmt.Fprintf(bw, "acl kensa_egress_src src %s\n", strings.Join(sources, " "))
		allow = append(allow, "kensa_egress_src")
	}
	if len(ds) > 0 {
		fmt.Fprintf(bw, "acl kensa_egress_dst dstdomain %s\n", strings.Join(ds, " "))
		fmt.Fprintf(bw, "http_access allow %s\n", strings.Join(append(append([]string(nil), allow...), "kensa_egress_dst"), " "))
	}
	if len(addrs) > 0 {
		fmt.Fprintf(bw, "acl kensa_egress_dst_ip dst %s\n", strings.Join(addrs, " "))
		fmt.Fprintf(bw, "http_access allow %s\n", strings.Join(append(append([]string(nil), allow...), "kensa_egress_dst_ip"), " "))
	}
	return bw.Flush()
}
