package policy

import (
	"sort"
	"strings"
)

// Terraform's JSON output (terraform show -json; the format is documented
// as "JSON Output Format", developer.hashicorp.com/terraform/internals/json-format):
// a state holds values.root_module.resources[] (and child_modules[]); a
// plan holds planned_values (the same shape, without the values that are
// unknown until apply), resource_changes[] with change.after and
// change.after_unknown (true where a value is unknown), and configuration
// (the references between resources). kensa reads a plan's
// resource_changes, so that a value the plan leaves unknown is known to
// be unknown, and links a new group to a new policy through the
// configuration's references when the policy's ID is not known yet.

type tfResource struct {
	address string // with module path and index
	typ     string
	values  map[string]any
	unknown map[string]any // after_unknown; nil for a state
}

func (r *reader) terraform(t map[string]any) {
	var res []tfResource
	if rc := list(t, "resource_changes"); len(rc) > 0 {
		r.fi.Shape = "terraform-plan"
		for _, x := range rc {
			m, ok := x.(map[string]any)
			if !ok || str(m, "mode") == "data" {
				continue
			}
			ch := obj(m, "change")
			after := obj(ch, "after")
			if after == nil { // deleted by the plan
				continue
			}
			res = append(res, tfResource{address: str(m, "address"), typ: str(m, "type"), values: after, unknown: obj(ch, "after_unknown")})
		}
	} else {
		r.fi.Shape = "terraform-state"
		root := obj(obj(t, "values"), "root_module")
		if root == nil {
			root = obj(obj(t, "planned_values"), "root_module")
			r.fi.Shape = "terraform-plan"
		}
		var walk func(mod map[string]any, depth int)
		walk = func(mod map[string]any, depth int) {
			if depth > 64 {
				return
			}
			for _, x := range list(mod, "resources") {
				m, ok := x.(map[string]any)
				if !ok || str(m, "mode") == "data" {
					continue
				}
				res = append(res, tfResource{address: str(m, "address"), typ: str(m, "type"), values: obj(m, "values")})
			}
			for _, c := range list(mod, "child_modules") {
				if cm, ok := c.(map[string]any); ok {
					walk(cm, depth+1)
				}
			}
		}
		walk(root, 0)
	}
	refs := tfReferences(obj(t, "configuration"))
	r.tfRefs = map[string]*Policy{}
	// Policies and IP groups first: groups refer to them.
	for _, x := range res {
		switch x.typ {
		case "azurerm_firewall_policy":
			r.tfPolicy(x, refs)
		case "azurerm_ip_group":
			r.ipGroup(str(x.values, "id"), str(x.values, "name"), strList(x.values, "cidrs"))
			if unknownAt(x.unknown, "cidrs") {
				r.warn("%s: the plan leaves its addresses unknown", x.address)
				delete(r.set.IPGroups, strings.ToLower(str(x.values, "name")))
			}
		}
	}
	for _, p := range r.tfRefs {
		if a, ok := strings.CutPrefix(p.Parent, "tf:"); ok {
			if base := r.tfRefs[a]; base != nil {
				p.Parent = strings.ToLower(base.Name)
				if base.ResourceID != "" {
					p.Parent = base.ResourceID
				}
			} else {
				p.Parent, p.ParentUnknown = "", true
			}
		}
	}
	for _, x := range res {
		switch x.typ {
		case "azurerm_firewall_policy_rule_collection_group":
			r.tfGroup(x, refs)
		case "azurerm_firewall_policy", "azurerm_ip_group":
		case "azurerm_firewall_application_rule_collection", "azurerm_firewall_network_rule_collection", "azurerm_firewall_nat_rule_collection":
			r.tfClassic(x)
		}
	}
}

// tfReferences maps "module path + resource address" (without index) and
// attribute to the addresses the configuration says it refers to.
func tfReferences(cfg map[string]any) map[string][]string {
	out := map[string][]string{}
	var walk func(mod map[string]any, prefix string, depth int)
	walk = func(mod map[string]any, prefix string, depth int) {
		if mod == nil || depth > 64 {
			return
		}
		for _, x := range list(mod, "resources") {
			m, ok := x.(map[string]any)
			if !ok {
				continue
			}
			addr := prefix + str(m, "address")
			for _, attr := range []string{"firewall_policy_id", "base_policy_id"} {
				e := obj(obj(m, "expressions"), attr)
				for _, ref := range strList(e, "references") {
					out[addr+"|"+attr] = append(out[addr+"|"+attr], prefix+strings.TrimSuffix(ref, ".id"))
				}
			}
		}
		for name, c := range obj(mod, "module_calls") {
			if cm, ok := c.(map[string]any); ok {
				walk(obj(cm, "module"), prefix+"module."+name+".", depth+1)
			}
		}
	}
	walk(obj(cfg, "root_module"), "", 0)
	return out
}

// stripIndex removes instance keys: module.a["x"].azurerm_x.y[0] →
// module.a.azurerm_x.y.
func stripIndex(addr string) string {
	var b strings.Builder
	depth := 0
	for _, c := range addr {
		switch {
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func unknownAt(u map[string]any, k string) bool {
	v, ok := u[k]
	b, isBool := v.(bool)
	return ok && isBool && b
}

func (r *reader) tfPolicy(x tfResource, refs map[string][]string) {
	v := x.values
	ref := str(v, "id")
	if ref == "" {
		ref = str(v, "name")
	}
	if ref == "" {
		ref = stripIndex(x.address)
	}
	pol := r.policyFor(ref)
	if n := str(v, "name"); n != "" {
		pol.Name = n
		r.policies[strings.ToLower(n)] = pol
	}
	pol.From = r.name
	r.tfRefs[stripIndex(x.address)] = pol
	switch {
	case str(v, "base_policy_id") != "":
		pol.Parent = strings.ToLower(str(v, "base_policy_id"))
	case unknownAt(x.unknown, "base_policy_id"):
		if rs := refs[stripIndex(x.address)+"|base_policy_id"]; len(rs) > 0 {
			pol.Parent = "tf:" + rs[0]
		} else {
			pol.ParentUnknown = true
		}
	}
	pol.ThreatIntelMode = normMode(str(v, "threat_intelligence_mode"))
	if pol.ThreatIntelMode == "" && !unknownAt(x.unknown, "threat_intelligence_mode") {
		pol.ThreatIntelMode = "Alert" // the provider's default
	}
	for _, a := range list(v, "threat_intelligence_allowlist") {
		if am, ok := a.(map[string]any); ok {
			pol.ThreatIntelFQDNs = append(pol.ThreatIntelFQDNs, strList(am, "fqdns")...)
			pol.ThreatIntelIPs = append(pol.ThreatIntelIPs, strList(am, "ip_addresses")...)
		}
	}
	for _, d := range list(v, "dns") {
		if dm, ok := d.(map[string]any); ok {
			if b, ok := boolean(dm, "proxy_enabled"); ok {
				pol.DNSProxy = &b
			}
		}
	}
	if unknownAt(x.unknown, "dns") {
		pol.DNSProxy = nil
	}
	for _, d := range list(v, "intrusion_detection") {
		if dm, ok := d.(map[string]any); ok {
			pol.IDPSMode = normMode(str(dm, "mode"))
		}
	}
	r.fi.Policies++
}

func (r *reader) tfGroup(x tfResource, refs map[string][]string) {
	v := x.values
	g := &Group{Name: str(v, "name"), From: r.name}
	if g.Name == "" {
		g.Name = x.address
	}
	switch {
	case str(v, "firewall_policy_id") != "":
		g.PolicyRef = strings.ToLower(str(v, "firewall_policy_id"))
	default:
		for _, ref := range refs[stripIndex(x.address)+"|firewall_policy_id"] {
			if p := r.tfRefs[ref]; p != nil {
				g.PolicyRef = strings.ToLower(p.Name)
				if p.ResourceID != "" {
					g.PolicyRef = p.ResourceID
				}
			}
		}
		if g.PolicyRef == "" {
			g.PolicyUnknown = true
			r.warn("%s: the plan leaves firewall_policy_id unknown and the configuration names no policy in this plan", x.address)
		}
	}
	if n, ok := number(v, "priority"); ok {
		g.Priority = n
	} else {
		g.PriorityUnknown = true
		r.warn("%s: priority unknown", x.address)
	}
	for _, k := range []struct {
		key  string
		kind Kind
	}{{"nat_rule_collection", DNAT}, {"network_rule_collection", Network}, {"application_rule_collection", Application}} {
		if unknownAt(x.unknown, k.key) {
			c := &Collection{Name: "(" + k.key + " unknown in the plan)", Kind: k.kind, Action: "?", PriorityUnknown: true,
				Rules: []*Rule{unreadableRule("(unknown)", "the plan leaves the collections unknown")}}
			c.Rules[0].Kind = k.kind
			g.Collections = append(g.Collections, c)
			continue
		}
		uks := list(x.unknown, k.key)
		for i, cx := range list(v, k.key) {
			cm, ok := cx.(map[string]any)
			if !ok {
				continue
			}
			var cu map[string]any
			if i < len(uks) {
				cu, _ = uks[i].(map[string]any)
			}
			g.Collections = append(g.Collections, r.tfCollection(cm, cu, k.kind, tfPolicyRule))
		}
	}
	r.fi.Groups++
	r.groups = append(r.groups, g)
}

// tfCollection reads one rule collection of a Terraform resource: cm its
// values, cu its after_unknown (what the plan leaves unknown), rule the
// reader of one rule in the resource's schema. Rules beyond maxRules are
// one unreadable rule, never silently dropped.
func (r *reader) tfCollection(cm, cu map[string]any, kind Kind, rule func(m map[string]any, kind Kind) *Rule) *Collection {
	c := &Collection{Name: str(cm, "name"), Kind: kind, Action: normAction(str(cm, "action"))}
	if n, ok := number(cm, "priority"); ok {
		c.Priority = n
	} else {
		c.PriorityUnknown = true
	}
	settleAction(c)
	rus := list(cu, "rule")
	if unknownAt(cu, "rule") {
		ru := unreadableRule("(rules unknown)", "the plan leaves the rules unknown")
		ru.Kind = kind
		c.Rules = append(c.Rules, ru)
	}
	for i, x := range list(cm, "rule") {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		if r.rules >= maxRules {
			c.Rules = append(c.Rules, unreadableRule("(rules beyond the limit)", "not read"))
			break
		}
		r.rules++
		ru := rule(m, kind)
		if i < len(rus) {
			u, _ := rus[i].(map[string]any)
			for k, val := range u {
				if unknownTree(val) {
					ru.Unknown = append(ru.Unknown, k)
				}
			}
			sort.Strings(ru.Unknown)
		}
		c.Rules = append(c.Rules, ru)
	}
	r.fi.Collections++
	r.fi.Rules += len(c.Rules)
	return c
}

// tfPolicyRule reads a rule of azurerm_firewall_policy_rule_collection_group.
func tfPolicyRule(m map[string]any, kind Kind) *Rule {
	ru := &Rule{Name: str(m, "name"), Kind: kind,
		Sources: strList(m, "source_addresses"), SourceIPGroups: strList(m, "source_ip_groups")}
	switch kind {
	case Application:
		for _, p := range list(m, "protocols") {
			if pm, ok := p.(map[string]any); ok {
				port, _ := number(pm, "port")
				ru.Protocols = append(ru.Protocols, AppProtocol{Type: normAppProto(str(pm, "type")), Port: port})
			}
		}
		ru.Destinations = strList(m, "destination_addresses")
		ru.TargetFQDNs = strList(m, "destination_fqdns")
		ru.FQDNTags = strList(m, "destination_fqdn_tags")
		ru.TargetURLs = strList(m, "destination_urls")
		ru.WebCategories = strList(m, "web_categories")
		ru.TerminateTLS, _ = boolean(m, "terminate_tls")
	case Network:
		ru.IPProtocols = strList(m, "protocols")
		ru.Destinations = strList(m, "destination_addresses")
		ru.DestIPGroups = strList(m, "destination_ip_groups")
		ru.DestFQDNs = strList(m, "destination_fqdns")
		ru.Ports = strList(m, "destination_ports")
	case DNAT:
		ru.IPProtocols = strList(m, "protocols")
		ru.Destinations = strList(m, "destination_address")
		ru.Ports = strList(m, "destination_ports")
		ru.TranslatedAddress = str(m, "translated_address")
		ru.TranslatedFQDN = str(m, "translated_fqdn")
		ru.TranslatedPort = str(m, "translated_port")
	}
	return ru
}

// tfClassicRule reads a rule of azurerm_firewall_{application,network,nat}_rule_collection.
func tfClassicRule(m map[string]any, kind Kind) *Rule {
	ru := &Rule{Name: str(m, "name"), Kind: kind, Sources: strList(m, "source_addresses"), SourceIPGroups: strList(m, "source_ip_groups")}
	switch kind {
	case Application:
		for _, p := range list(m, "protocol") {
			if pm, ok := p.(map[string]any); ok {
				port, _ := number(pm, "port")
				ru.Protocols = append(ru.Protocols, AppProtocol{Type: normAppProto(str(pm, "type")), Port: port})
			}
		}
		ru.TargetFQDNs = strList(m, "target_fqdns")
		ru.FQDNTags = strList(m, "fqdn_tags")
	default:
		ru.IPProtocols = strList(m, "protocols")
		ru.Destinations = strList(m, "destination_addresses")
		ru.DestIPGroups = strList(m, "destination_ip_groups")
		ru.DestFQDNs = strList(m, "destination_fqdns")
		ru.Ports = strList(m, "destination_ports")
		ru.TranslatedAddress = str(m, "translated_address")
		ru.TranslatedPort = str(m, "translated_port")
	}
	return ru
}

// unknownTree reports whether an after_unknown value marks anything
// unknown: true, or a list/object holding true.
func unknownTree(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case []any:
		for _, x := range t {
			if unknownTree(x) {
				return true
			}
		}
	case map[string]any:
		for _, x := range t {
			if unknownTree(x) {
				return true
			}
		}
	}
	return false
}

// tfClassic reads a classic firewall rule collection resource
// (azurerm_firewall_{application,network,nat}_rule_collection) into the
// classic policy of its firewall (azure_firewall_name).
func (r *reader) tfClassic(x tfResource) {
	v := x.values
	fw := str(v, "azure_firewall_name")
	if fw == "" {
		fw = "(firewall)"
	}
	var pol *Policy
	for _, p := range r.set.Policies {
		if p.Classic && p.Name == fw {
			pol = p
		}
	}
	if pol == nil {
		pol = &Policy{Name: fw, Classic: true, Groups: []*Group{{From: r.name}}}
		r.set.Policies = append(r.set.Policies, pol)
		r.fi.Policies++
	}
	kind := map[string]Kind{"azurerm_firewall_application_rule_collection": Application,
		"azurerm_firewall_network_rule_collection": Network, "azurerm_firewall_nat_rule_collection": DNAT}[x.typ]
	g := pol.Groups[0]
	g.Collections = append(g.Collections, r.tfCollection(v, x.unknown, kind, tfClassicRule))
}
