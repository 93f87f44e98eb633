package egress

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The writers below render a Plan as Azure Firewall Policy rules in one
// rule collection group (default name kensa-egress, priority 300, both
// parameters). Every name and address in a Plan has been checked
// (validName, validSource, azName), so nothing from a log can break out of
// a quoted string; the writers quote anyway.

// EmitFormats are the rule languages kensa writes: Azure Firewall (az,
// bicep, terraform), AWS Network Firewall (aws-nfw: the AWS CLI;
// aws-nfw-cloudformation; aws-nfw-terraform; suricata) and Squid.
var EmitFormats = []string{"az", "bicep", "terraform", "aws-nfw", "aws-nfw-cloudformation", "aws-nfw-terraform", "suricata", "squid"}

// EmitFamily is the firewall a rule language is for.
func EmitFamily(lang string) Family {
	switch lang {
	case "aws-nfw", "aws-nfw-cloudformation", "aws-nfw-terraform", "suricata":
		return FamilyAWS
	case "squid":
		return FamilySquid
	}
	return FamilyAzure
}

// ForeignRules says, when the logs came from other firewalls than the
// one lang writes rules for, that the rules are for another firewall
// ("" when the logs include the rules' firewall, or hold no connection).
func ForeignRules(lang string, logs []Family) string {
	target := EmitFamily(lang)
	if len(logs) == 0 {
		return ""
	}
	var names []string
	for _, f := range logs {
		if f == target {
			return ""
		}
		names = append(names, f.String())
	}
	suggest := map[Family]string{FamilyAzure: "--emit az, bicep or terraform", FamilyAWS: "--emit aws-nfw, aws-nfw-cloudformation, aws-nfw-terraform or suricata", FamilySquid: "--emit squid"}
	return fmt.Sprintf("these are %s rules, but the logs came from %s: %s writes rules for the firewall the logs came from",
		target, strings.Join(names, " and "), suggest[logs[0]])
}

// WriteRules renders p in lang (one of EmitFormats).
func WriteRules(w io.Writer, lang string, p *Plan) error {
	switch lang {
	case "az":
		return WriteAz(w, p)
	case "bicep":
		return WriteBicep(w, p)
	case "terraform":
		return WriteTerraform(w, p)
	case "aws-nfw":
		return WriteAWSNFW(w, p)
	case "aws-nfw-cloudformation":
		return WriteAWSNFWCloudFormation(w, p)
	case "aws-nfw-terraform":
		return WriteAWSNFWTerraform(w, p)
	case "suricata":
		return WriteSuricata(w, p)
	case "squid":
		return WriteSquid(w, p)
	}
	return fmt.Errorf("unknown rule language %q", lang)
}

func header(w io.Writer, comment string, p *Plan) {
	if p.Origin != "" {
		for _, l := range strings.Split(p.Origin, "\n") {
			fmt.Fprintf(w, "%s %s\n", comment, l)
		}
	} else {
		fmt.Fprintf(w, "%s Azure Firewall Policy rules that allow the destinations kensa found denied\n", comment)
		fmt.Fprintf(w, "%s (kensa egress analyze). Review them before applying: each rule names the\n", comment)
		fmt.Fprintf(w, "%s sources seen in the logs; a subnet may suit you better (--source).\n", comment)
	}
	if p.Foreign != "" {
		fmt.Fprintf(w, "%s WARNING: %s.\n", comment, p.Foreign)
	}
	if p.SourcesCut {
		fmt.Fprintf(w, "%s WARNING: a destination had more than %d distinct sources and the rules name\n", comment, maxSources)
		fmt.Fprintf(w, "%s only %d of them: name the subnets instead (--source 10.0.2.0/24).\n", comment, maxSources)
	}
	if p.NeedsDNSProxy {
		fmt.Fprintf(w, "%s Network rules with FQDNs need DNS proxy enabled on the firewall policy.\n", comment)
	}
	if len(p.IPv6Sources) > 0 {
		fmt.Fprintf(w, "%s %s\n", comment, IPv6SourcesNote(p))
	}
	for _, s := range p.Skipped {
		// The host comes from the log: printable keeps it on one line.
		fmt.Fprintf(w, "%s Not allowed: %s: %s\n", comment, printable([]byte(HostPort(s.Host, s.Port)), 200), s.Reason)
	}
	if len(p.Collections) == 0 {
		fmt.Fprintf(w, "%s No denied destination needs an allow rule.\n", comment)
	}
}

// IPv6SourcesNote says which IPv6 sources the rules leave out, and why.
func IPv6SourcesNote(p *Plan) string {
	list := strings.Join(p.IPv6Sources, ", ")
	if more := p.IPv6SourcesLeftOut - len(p.IPv6Sources); more > 0 {
		list += fmt.Sprintf(" and %d more", more)
	}
	return fmt.Sprintf("IPv6 sources left out of the rules: %s. %s.", printable([]byte(list), 1000), ipv6Why)
}

// HostPort writes a destination as a person reads it: "x.com:443",
// "[2001:db8::9]:8080", or the host alone when there is no port.
func HostPort(h string, port int) string {
	if port < 0 {
		return h
	}
	if strings.IndexByte(h, ':') >= 0 {
		return "[" + h + "]:" + strconv.Itoa(port)
	}
	return h + ":" + strconv.Itoa(port)
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = shq(x)
	}
	return strings.Join(q, " ")
}

// WriteAz renders p as a shell script of az CLI commands (the
// azure-firewall extension's Firewall Policy commands).
func WriteAz(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "#!/bin/sh")
	header(bw, "#", p)
	fmt.Fprintln(bw, "# Needs the azure-firewall extension (az extension add --name azure-firewall).")
	fmt.Fprintln(bw, "set -eu")
	fmt.Fprintln(bw, `RG="${RG:?set RG to the resource group of the firewall policy}"`)
	fmt.Fprintln(bw, `POLICY="${POLICY:?set POLICY to the name of the firewall policy}"`)
	fmt.Fprintln(bw, `RCG="${RCG:-kensa-egress}"`)
	fmt.Fprintln(bw, `PRIORITY="${PRIORITY:-300}"`)
	if len(p.Collections) > 0 {
		// create is a PUT: on an existing group it would replace every
		// collection in it, the user's own rules included.
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, `if az network firewall policy rule-collection-group show --resource-group "$RG" --policy-name "$POLICY" \`)
		fmt.Fprintln(bw, `  --name "$RCG" >/dev/null 2>&1; then`)
		fmt.Fprintln(bw, `  echo "rule collection group $RCG already exists in $POLICY: creating it again would replace its rules; set RCG to a new name" >&2`)
		fmt.Fprintln(bw, `  exit 1`)
		fmt.Fprintln(bw, `fi`)
		fmt.Fprintln(bw, `az network firewall policy rule-collection-group create --resource-group "$RG" --policy-name "$POLICY" \`)
		fmt.Fprintln(bw, `  --name "$RCG" --priority "$PRIORITY"`)
	}
	for _, c := range p.Collections {
		r := c.Rule
		fmt.Fprintln(bw)
		comments(bw, "#", c)
		fmt.Fprintln(bw, `az network firewall policy rule-collection-group collection add-filter-collection \`)
		fmt.Fprintln(bw, `  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \`)
		fmt.Fprintf(bw, "  --name %s --collection-priority %d --action Allow \\\n", shq(c.Name), c.Priority)
		fmt.Fprintf(bw, "  --rule-name %s --rule-type %s \\\n", shq(r.Name), r.Type)
		fmt.Fprintf(bw, "  --source-addresses %s \\\n", shList(r.Sources))
		if r.Type == AppRule {
			ps := make([]string, len(r.Protocols))
			for i, pp := range r.Protocols {
				ps[i] = pp.Protocol + "=" + strconv.Itoa(pp.Port)
			}
			fmt.Fprintf(bw, "  --protocols %s \\\n", strings.Join(ps, " "))
			fmt.Fprintf(bw, "  --target-fqdns %s\n", shList(r.FQDNs))
			continue
		}
		fmt.Fprintf(bw, "  --ip-protocols %s --destination-ports %s \\\n", strings.Join(r.IPProtocols, " "), shList(r.Ports))
		if len(r.Addresses) > 0 && len(r.FQDNs) > 0 {
			fmt.Fprintf(bw, "  --destination-addresses %s \\\n", shList(r.Addresses))
			fmt.Fprintf(bw, "  --destination-fqdns %s\n", shList(r.FQDNs))
		} else if len(r.Addresses) > 0 {
			fmt.Fprintf(bw, "  --destination-addresses %s\n", shList(r.Addresses))
		} else {
			fmt.Fprintf(bw, "  --destination-fqdns %s\n", shList(r.FQDNs))
		}
	}
	return bw.Flush()
}

func comments(w io.Writer, comment string, c Collection) {
	svc := c.Service
	if svc == "" {
		svc = "no service in kensa's catalog"
	}
	fmt.Fprintf(w, "%s %s\n", comment, svc)
	if c.ServiceSource != "" {
		fmt.Fprintf(w, "%s source: %s\n", comment, c.ServiceSource)
	}
	for _, n := range c.Rule.Notes {
		fmt.Fprintf(w, "%s %s\n", comment, n)
	}
}

// bq quotes s as a Bicep string ('…', with \ ' and ${ escaped).
func bq(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `\'`)
	s = strings.ReplaceAll(s, `${`, `\${`)
	return "'" + s + "'"
}

// WriteBicep renders p as a Bicep file: one
// Microsoft.Network/firewallPolicies/ruleCollectionGroups resource under an
// existing firewall policy.
func WriteBicep(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	header(bw, "//", p)
	fmt.Fprint(bw, `
@description('Name of the existing firewall policy')
param firewallPolicyName string

@description('Name of the rule collection group to create: a new one. Deploying over an existing group replaces all its rule collections.')
param ruleCollectionGroupName string = 'kensa-egress'

@minValue(100)
@maxValue(65000)
param priority int = 300

resource firewallPolicy 'Microsoft.Network/firewallPolicies@2023-11-01' existing = {
  name: firewallPolicyName
}

resource egressRules 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2023-11-01' = {
  parent: firewallPolicy
  name: ruleCollectionGroupName
  properties: {
    priority: priority
    ruleCollections: [
`)
	list := func(indent, key string, xs []string) {
		fmt.Fprintf(bw, "%s%s: [\n", indent, key)
		for _, x := range xs {
			fmt.Fprintf(bw, "%s  %s\n", indent, bq(x))
		}
		fmt.Fprintf(bw, "%s]\n", indent)
	}
	for _, c := range p.Collections {
		r := c.Rule
		comments(bw, "      //", c)
		fmt.Fprintln(bw, "      {")
		fmt.Fprintln(bw, "        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'")
		fmt.Fprintf(bw, "        name: %s\n", bq(c.Name))
		fmt.Fprintf(bw, "        priority: %d\n", c.Priority)
		fmt.Fprintln(bw, "        action: {\n          type: 'Allow'\n        }")
		fmt.Fprintln(bw, "        rules: [\n          {")
		fmt.Fprintf(bw, "            ruleType: '%s'\n", r.Type)
		fmt.Fprintf(bw, "            name: %s\n", bq(r.Name))
		const in = "            "
		if r.Type == AppRule {
			fmt.Fprintln(bw, in+"protocols: [")
			for _, pp := range r.Protocols {
				fmt.Fprintf(bw, "%s  {\n%s    protocolType: '%s'\n%s    port: %d\n%s  }\n", in, in, pp.Protocol, in, pp.Port, in)
			}
			fmt.Fprintln(bw, in+"]")
			list(in, "sourceAddresses", r.Sources)
			list(in, "targetFqdns", r.FQDNs)
		} else {
			list(in, "ipProtocols", r.IPProtocols)
			list(in, "sourceAddresses", r.Sources)
			if len(r.Addresses) > 0 {
				list(in, "destinationAddresses", r.Addresses)
			}
			if len(r.FQDNs) > 0 {
				list(in, "destinationFqdns", r.FQDNs)
			}
			list(in, "destinationPorts", r.Ports)
		}
		fmt.Fprintln(bw, "          }\n        ]\n      }")
	}
	fmt.Fprint(bw, "    ]\n  }\n}\n")
	return bw.Flush()
}

// hq quotes s as an HCL string (with \ " ${ and %{ escaped).
func hq(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	s = strings.ReplaceAll(s, `${`, `$${`)
	s = strings.ReplaceAll(s, `%{`, `%%{`)
	return `"` + s + `"`
}

func hList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = hq(x)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// attrs writes consecutive attributes with their "=" aligned, as
// terraform fmt does.
func attrs(w io.Writer, indent string, kv ...[2]string) {
	width := 0
	for _, p := range kv {
		width = max(width, len(p[0]))
	}
	for _, p := range kv {
		fmt.Fprintf(w, "%s%-*s = %s\n", indent, width, p[0], p[1])
	}
}

// WriteTerraform renders p as Terraform for the azurerm provider: one
// azurerm_firewall_policy_rule_collection_group. The output passes
// terraform fmt -check.
func WriteTerraform(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	header(bw, "#", p)
	fmt.Fprint(bw, `
variable "firewall_policy_id" {
  type        = string
  description = "ID of the existing firewall policy"
}

variable "rule_collection_group_name" {
  type    = string
  default = "kensa-egress"
}

variable "priority" {
  type    = number
  default = 300
}

resource "azurerm_firewall_policy_rule_collection_group" "kensa_egress" {
  name               = var.rule_collection_group_name
  firewall_policy_id = var.firewall_policy_id
  priority           = var.priority
`)
	for _, c := range p.Collections {
		r := c.Rule
		fmt.Fprintln(bw)
		comments(bw, "  #", c)
		block := "application_rule_collection"
		if r.Type == NetRule {
			block = "network_rule_collection"
		}
		fmt.Fprintf(bw, "  %s {\n", block)
		attrs(bw, "    ", [2]string{"name", hq(c.Name)}, [2]string{"priority", strconv.Itoa(c.Priority)}, [2]string{"action", `"Allow"`})
		fmt.Fprintln(bw, "    rule {")
		if r.Type == AppRule {
			fmt.Fprintf(bw, "      name = %s\n", hq(r.Name))
			for _, pp := range r.Protocols {
				fmt.Fprintln(bw, "      protocols {")
				attrs(bw, "        ", [2]string{"type", hq(pp.Protocol)}, [2]string{"port", strconv.Itoa(pp.Port)})
				fmt.Fprintln(bw, "      }")
			}
			attrs(bw, "      ", [2]string{"source_addresses", hList(r.Sources)}, [2]string{"destination_fqdns", hList(r.FQDNs)})
		} else {
			kv := [][2]string{{"name", hq(r.Name)}, {"protocols", hList(r.IPProtocols)}, {"source_addresses", hList(r.Sources)}}
			if len(r.Addresses) > 0 {
				kv = append(kv, [2]string{"destination_addresses", hList(r.Addresses)})
			}
			if len(r.FQDNs) > 0 {
				kv = append(kv, [2]string{"destination_fqdns", hList(r.FQDNs)})
			}
			kv = append(kv, [2]string{"destination_ports", hList(r.Ports)})
			attrs(bw, "      ", kv...)
		}
		fmt.Fprintln(bw, "    }")
		fmt.Fprintln(bw, "  }")
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}
