package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// MaxInputBytes bounds one policy input. Real exports are a few MB (a
// policy at the service limits, 50 rule collection groups of 2 MB each
// per policy-rule-sets.md, would be 100 MB; a service tags file is about
// 5 MB); decoding JSON into generic values takes several times the input,
// so the bound is also the memory bound.
const MaxInputBytes = 64 << 20

// maxRules bounds the rules kept over all inputs (the service allows
// 10,000 rules per policy, and unique source/destination counts far
// beyond that would be an attack, not a policy).
const maxRules = 500000

// Input is one file to read.
type Input struct {
	Name string
	R    io.Reader
}

// Read reads every input, detects its shape, and links rule collection
// groups to their policies. An input that holds no policy, rule
// collection group, classic rule collection, IP group or service tag is
// an error (naming the file): a policy that silently read as empty would
// predict "deny" for everything. Inside an input, an item that cannot be
// read is kept as a rule that may match anything (so a prediction that
// depends on it is unknown, never a guess) and is named in the file's
// warnings.
func Read(inputs []Input) (*Set, error) {
	s := &Set{IPGroups: map[string][]string{}}
	r := &reader{set: s, policies: map[string]*Policy{}}
	for _, in := range inputs {
		data, err := io.ReadAll(io.LimitReader(in.R, MaxInputBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", in.Name, err)
		}
		if len(data) > MaxInputBytes {
			return nil, fmt.Errorf("reading %s: larger than %d MiB, more than any policy export", in.Name, MaxInputBytes>>20)
		}
		fi, err := r.file(in.Name, data)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", in.Name, err)
		}
		s.Files = append(s.Files, fi)
	}
	if err := r.link(); err != nil {
		return nil, err
	}
	return s, nil
}

type reader struct {
	set *Set
	// policies by lower-case ID and by lower-case name.
	policies map[string]*Policy
	groups   []*Group
	rules    int
	fi       *FileInfo
	name     string
	// tfRefs maps a Terraform resource address to the policy it made.
	tfRefs map[string]*Policy
}

// ErrNotPolicy is wrapped by the error for an input that holds nothing
// kensa reads as a policy.
var ErrNotPolicy = errors.New("no firewall policy, rule collection group, classic firewall rules, IP group or service tags found")

func (r *reader) file(name string, data []byte) (FileInfo, error) {
	fi := FileInfo{Name: name}
	r.fi, r.name = &fi, name
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fi, fmt.Errorf("not JSON (%v): kensa reads az -o json, ARM/REST JSON and terraform show -json output", shortErr(err))
	}
	if dec.More() {
		return fi, fmt.Errorf("more than one JSON value: kensa reads one export per file")
	}
	switch t := v.(type) {
	case []any:
		fi.Shape = "az"
		for i, x := range t {
			r.item(x, fmt.Sprintf("item %d", i+1))
		}
	case map[string]any:
		switch {
		case has(t, "format_version") && (has(t, "values") || has(t, "planned_values") || has(t, "resource_changes")):
			r.terraform(t)
		case has(t, "resources") && strings.Contains(str(t, "$schema"), "deploymentTemplate"):
			fi.Shape = "arm-template"
			res := newARMResolver(t)
			for i, x := range list(t, "resources") {
				r.templateResource(res, x, "", fmt.Sprintf("resource %d", i+1), 0)
			}
		case has(t, "changeNumber") && has(t, "values"):
			fi.Shape = "service-tags"
			r.serviceTags(t)
		case has(t, "value") && isList(t["value"]):
			fi.Shape = "arm"
			for i, x := range list(t, "value") {
				r.item(x, fmt.Sprintf("value %d", i+1))
			}
		default:
			fi.Shape = "arm"
			if _, ok := t["properties"]; !ok {
				fi.Shape = "az"
			}
			r.item(t, "the object")
		}
	default:
		return fi, fmt.Errorf("%w", ErrNotPolicy)
	}
	if fi.Policies == 0 && fi.Groups == 0 && fi.Collections == 0 && fi.Shape != "service-tags" && fi.Shape != "ip-groups" {
		return fi, ErrNotPolicy
	}
	return fi, nil
}

// templateResource reads one resource of an ARM template, its template
// expressions evaluated where kensa can, and its nested child resources
// (whose type and name are relative to the parent's).
func (r *reader) templateResource(res *armResolver, x any, parent, where string, depth int) {
	m, ok := x.(map[string]any)
	if !ok || depth > 4 {
		return
	}
	children := list(m, "resources")
	delete(m, "resources")
	res.resolveTree(m, 0)
	if parent != "" {
		if typ := str(m, "type"); typ != "" && !strings.Contains(typ, "/") {
			m["type"] = "Microsoft.Network/firewallPolicies/" + typ
		}
		if n := str(m, "name"); n != "" && !strings.Contains(n, "/") {
			m["name"] = parent + "/" + n
		}
	}
	r.item(m, where)
	for i, c := range children {
		r.templateResource(res, c, str(m, "name"), fmt.Sprintf("%s, child %d", where, i+1), depth+1)
	}
}

func (r *reader) warn(format string, a ...any) {
	if len(r.fi.Warnings) < 50 {
		r.fi.Warnings = append(r.fi.Warnings, fmt.Sprintf(format, a...))
	}
}

// item reads one resource-like object: a rule collection group, a
// policy, a classic firewall or an IP group.
func (r *reader) item(x any, where string) {
	m, ok := x.(map[string]any)
	if !ok {
		r.warn("%s is not an object", where)
		return
	}
	typ := strings.ToLower(str(m, "type"))
	p := props(m)
	switch {
	case strings.HasSuffix(typ, "/rulecollectiongroups") || (typ == "" && has(p, "ruleCollections")):
		r.group(m, p)
	case strings.HasSuffix(typ, "/firewallpolicies") || (typ == "" && (has(p, "ruleCollectionGroups") || has(p, "threatIntelMode") && !has(p, "applicationRuleCollections") && !has(p, "networkRuleCollections") || has(p, "basePolicy"))):
		r.policy(m, p)
	case strings.HasSuffix(typ, "/azurefirewalls") || (typ == "" && (has(p, "applicationRuleCollections") || has(p, "networkRuleCollections") || has(p, "natRuleCollections"))):
		r.classic(m, p)
	case strings.HasSuffix(typ, "/ipgroups") || (typ == "" && has(p, "ipAddresses")):
		r.ipGroup(str(m, "id"), str(m, "name"), strList(p, "ipAddresses"))
		if r.fi.Shape == "az" || r.fi.Shape == "arm" {
			r.fi.Shape = "ip-groups"
		}
	default:
		if typ != "" {
			r.warn("%s: %s is not a firewall resource kensa reads (skipped)", where, str(m, "type"))
		} else {
			r.warn("%s: not a firewall policy, rule collection group, classic firewall or IP group (skipped)", where)
		}
	}
}

func (r *reader) ipGroup(id, name string, addrs []string) {
	if id != "" {
		r.set.IPGroups[strings.ToLower(id)] = addrs
	}
	if name != "" {
		r.set.IPGroups[strings.ToLower(name)] = addrs
	}
}

// policyFor returns the policy with this ID or name, creating it.
func (r *reader) policyFor(ref string) *Policy {
	key := strings.ToLower(ref)
	if p := r.policies[key]; p != nil {
		return p
	}
	name := policyNameFromID(ref)
	if p := r.policies[strings.ToLower(name)]; p != nil {
		if p.ResourceID == "" && strings.Contains(ref, "/") {
			p.ResourceID = key
			r.policies[key] = p
		}
		return p
	}
	p := &Policy{Name: name}
	if strings.Contains(ref, "/") {
		p.ResourceID = key
		r.policies[key] = p
	}
	r.policies[strings.ToLower(name)] = p
	r.set.Policies = append(r.set.Policies, p)
	return p
}

// policyNameFromID returns the policy name of a policy or rule collection
// group ID (".../firewallPolicies/NAME[/ruleCollectionGroups/...]"), or
// the reference itself when it is a name.
func policyNameFromID(id string) string {
	parts := strings.Split(id, "/")
	for i := 0; i+1 < len(parts); i++ {
		if strings.EqualFold(parts[i], "firewallPolicies") {
			return parts[i+1]
		}
	}
	return id
}

func (r *reader) policy(m, p map[string]any) {
	id, name := str(m, "id"), str(m, "name")
	ref := id
	if ref == "" {
		ref = name
	}
	if ref == "" {
		r.warn("a firewall policy without a name or id (skipped)")
		return
	}
	if strings.HasPrefix(name, "[") || strings.HasPrefix(id, "[") {
		r.warn("policy %q: an unresolved ARM expression names it; deploy-time names are unknown", name)
	}
	pol := r.policyFor(ref)
	if name != "" && !strings.HasPrefix(name, "[") {
		pol.Name = name
		r.policies[strings.ToLower(name)] = pol
	}
	pol.From = r.name
	if b := obj(p, "basePolicy"); b != nil {
		pol.Parent = strings.ToLower(str(b, "id"))
	}
	pol.ThreatIntelMode = normMode(str(p, "threatIntelMode"))
	if w := obj(p, "threatIntelWhitelist"); w != nil {
		pol.ThreatIntelFQDNs, pol.ThreatIntelIPs = strList(w, "fqdns"), strList(w, "ipAddresses")
	}
	// No dnsSettings: inherited from the base policy, else off (see
	// Evaluator).
	if d := obj(p, "dnsSettings"); d != nil {
		b, _ := boolean(d, "enableProxy")
		pol.DNSProxy = &b
	}
	if d := obj(p, "intrusionDetection"); d != nil {
		pol.IDPSMode = normMode(str(d, "mode"))
	}
	r.fi.Policies++
	for _, g := range list(p, "ruleCollectionGroups") {
		// A policy lists its groups by ID; inline groups (rare) are read.
		if gm, ok := g.(map[string]any); ok && has(props(gm), "ruleCollections") {
			r.group(gm, props(gm))
		}
	}
}

func normMode(s string) string {
	switch strings.ToLower(s) {
	case "off":
		return "Off"
	case "alert":
		return "Alert"
	case "deny":
		return "Deny"
	}
	return ""
}

func (r *reader) group(m, p map[string]any) {
	g := &Group{Name: str(m, "name"), From: r.name}
	id := str(m, "id")
	switch {
	case id != "":
		g.PolicyRef = strings.ToLower(id)
		// ".../firewallPolicies/P/ruleCollectionGroups/G": the policy's ID.
		if i := strings.Index(g.PolicyRef, "/rulecollectiongroups/"); i > 0 {
			g.PolicyRef = g.PolicyRef[:i]
		}
	case strings.Contains(g.Name, "/"):
		// An ARM template resource named "policy/group".
		i := strings.LastIndex(g.Name, "/")
		g.PolicyRef, g.Name = strings.ToLower(g.Name[:i]), g.Name[i+1:]
	}
	if strings.HasPrefix(g.Name, "[") || strings.HasPrefix(g.PolicyRef, "[") {
		r.warn("rule collection group %q: an unresolved ARM expression names it or its policy", g.Name)
		g.PolicyRef = ""
	}
	if n, ok := number(p, "priority"); ok {
		g.Priority = n
	} else {
		g.PriorityUnknown = true
		r.warn("rule collection group %q: no priority", g.Name)
	}
	for i, c := range list(p, "ruleCollections") {
		cm, ok := c.(map[string]any)
		if !ok {
			r.warn("group %q: collection %d is not an object", g.Name, i+1)
			continue
		}
		r.collection(g, cm, false)
	}
	r.fi.Groups++
	r.groups = append(r.groups, g)
}

// collection reads one rule collection of a policy (classic false) or of
// a classic firewall (classic true, kind given by the list it is in and
// passed through cm["__kind"]).
func (r *reader) collection(g *Group, cm map[string]any, classic bool) {
	p := props(cm)
	c := &Collection{Name: str(cm, "name")}
	if n, ok := number(p, "priority"); ok {
		c.Priority = n
	} else {
		c.PriorityUnknown = true
		r.warn("collection %q: no priority", c.Name)
	}
	if a := obj(p, "action"); a != nil {
		c.Action = normAction(str(a, "type"))
	} else {
		c.Action = normAction(str(p, "action"))
	}
	kind := -1
	if classic {
		kind = int(cm["__kind"].(Kind))
	} else if strings.Contains(strings.ToLower(str(p, "ruleCollectionType")), "nat") {
		kind = int(DNAT)
	}
	for i, x := range list(p, "rules") {
		rm, ok := x.(map[string]any)
		if !ok {
			r.warn("collection %q: rule %d is not an object", c.Name, i+1)
			c.Rules = append(c.Rules, unreadableRule(fmt.Sprintf("rule %d", i+1), "not an object"))
			continue
		}
		rk := kind
		switch strings.ToLower(str(rm, "ruleType")) {
		case "applicationrule":
			rk = int(Application)
		case "networkrule":
			rk = int(Network)
		case "natrule":
			rk = int(DNAT)
		case "":
			if rk < 0 {
				if has(rm, "targetFqdns") || has(rm, "fqdnTags") || has(rm, "webCategories") || has(rm, "targetUrls") {
					rk = int(Application)
				} else {
					rk = int(Network)
				}
			}
		default:
			r.warn("collection %q: rule %q has ruleType %q", c.Name, str(rm, "name"), str(rm, "ruleType"))
		}
		if kind < 0 {
			kind = rk
		}
		if rk != kind {
			r.warn("collection %q mixes rule types (Azure rejects that); rule %q read as %s", c.Name, str(rm, "name"), Kind(kind))
		}
		if r.rules >= maxRules {
			r.warn("more than %d rules: the rest are not read, and predictions that reach them are unknown", maxRules)
			c.Rules = append(c.Rules, unreadableRule("(rules beyond the limit)", "not read"))
			break
		}
		r.rules++
		c.Rules = append(c.Rules, readRule(rm, Kind(kind), classic))
	}
	if kind < 0 {
		kind = int(Network)
		if c.Action == "DNAT" {
			kind = int(DNAT)
		}
	}
	c.Kind = Kind(kind)
	if settleAction(c) {
		r.warn("collection %q: no action; its rules may allow or deny", c.Name)
	}
	r.fi.Collections++
	r.fi.Rules += len(c.Rules)
	g.Collections = append(g.Collections, c)
}

func normAction(s string) string {
	switch strings.ToLower(s) {
	case "allow":
		return "Allow"
	case "deny":
		return "Deny"
	case "dnat", "snat":
		return "DNAT"
	}
	return ""
}

// settleAction gives a collection its action as the evaluator reads it:
// DNAT for a DNAT collection, "?" (may allow or deny) when it has none,
// which it reports.
func settleAction(c *Collection) (missing bool) {
	if c.Kind == DNAT {
		c.Action = "DNAT"
	}
	if c.Action == "" {
		c.Action = "?"
		return true
	}
	return false
}

func unreadableRule(name, why string) *Rule {
	return &Rule{Name: name, Unknown: []string{"(unreadable: " + why + ")"}}
}

func readRule(m map[string]any, k Kind, classic bool) *Rule {
	m = props(m)
	ru := &Rule{Name: str(m, "name"), Kind: k}
	ru.Sources = strList(m, "sourceAddresses")
	ru.SourceIPGroups = strList(m, "sourceIpGroups")
	switch k {
	case Application:
		for _, x := range list(m, "protocols") {
			pm, ok := x.(map[string]any)
			if !ok {
				continue
			}
			t := str(pm, "protocolType")
			if t == "" {
				t = str(pm, "type")
			}
			port, _ := number(pm, "port")
			ru.Protocols = append(ru.Protocols, AppProtocol{Type: normAppProto(t), Port: port})
		}
		ru.TargetFQDNs = strList(m, "targetFqdns")
		ru.FQDNTags = strList(m, "fqdnTags")
		ru.WebCategories = strList(m, "webCategories")
		ru.TargetURLs = strList(m, "targetUrls")
		ru.Destinations = strList(m, "destinationAddresses")
		ru.TerminateTLS, _ = boolean(m, "terminateTLS")
	default:
		if classic {
			ru.IPProtocols = strList(m, "protocols")
		} else {
			ru.IPProtocols = strList(m, "ipProtocols")
		}
		ru.Destinations = strList(m, "destinationAddresses")
		ru.DestIPGroups = strList(m, "destinationIpGroups")
		ru.DestFQDNs = strList(m, "destinationFqdns")
		ru.Ports = strList(m, "destinationPorts")
		ru.TranslatedAddress = str(m, "translatedAddress")
		ru.TranslatedFQDN = str(m, "translatedFqdn")
		ru.TranslatedPort = str(m, "translatedPort")
	}
	return ru
}

func normAppProto(s string) string {
	switch strings.ToLower(s) {
	case "http":
		return "Http"
	case "https":
		return "Https"
	case "mssql":
		return "Mssql"
	}
	return s
}

// classic reads a Microsoft.Network/azureFirewalls resource: its own rule
// collections (no groups; order by kind then collection priority), or
// the policy it points at.
func (r *reader) classic(m, p map[string]any) {
	name := str(m, "name")
	if fp := obj(p, "firewallPolicy"); fp != nil && str(fp, "id") != "" {
		r.set.Firewalls = append(r.set.Firewalls, strings.ToLower(str(fp, "id")))
	}
	colls := 0
	for _, k := range []struct {
		key  string
		kind Kind
	}{{"natRuleCollections", DNAT}, {"networkRuleCollections", Network}, {"applicationRuleCollections", Application}} {
		colls += len(list(p, k.key))
	}
	if colls == 0 && len(r.set.Firewalls) > 0 {
		r.fi.Shape = "classic"
		r.fi.Policies++ // counts as read: it names the policy
		return
	}
	pol := &Policy{Name: name, ResourceID: strings.ToLower(str(m, "id")), Classic: true, From: r.name}
	pol.ThreatIntelMode = normMode(str(p, "threatIntelMode"))
	// Classic firewalls keep DNS proxy in additionalProperties
	// ("Network.DNS.EnableProxy": "true").
	if ap := obj(p, "additionalProperties"); ap != nil {
		v := strings.ToLower(str(ap, "Network.DNS.EnableProxy"))
		b := v == "true"
		pol.DNSProxy = &b
	} else {
		f := false
		pol.DNSProxy = &f
	}
	g := &Group{Name: "", From: r.name}
	for _, k := range []struct {
		key  string
		kind Kind
	}{{"natRuleCollections", DNAT}, {"networkRuleCollections", Network}, {"applicationRuleCollections", Application}} {
		for i, x := range list(p, k.key) {
			cm, ok := x.(map[string]any)
			if !ok {
				r.warn("%s %d is not an object", k.key, i+1)
				continue
			}
			cm["__kind"] = k.kind
			r.collection(g, cm, true)
		}
	}
	pol.Groups = []*Group{g}
	r.fi.Shape = "classic"
	r.fi.Policies++
	r.set.Policies = append(r.set.Policies, pol)
}

func (r *reader) serviceTags(t map[string]any) {
	st := &ServiceTagFile{ChangeNumber: fmt.Sprint(t["changeNumber"]), Cloud: str(t, "cloud"), Tags: map[string][]netip.Prefix{}, From: r.name}
	for _, x := range list(t, "values") {
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		var ps []netip.Prefix
		for _, a := range strList(props(m), "addressPrefixes") {
			if p, err := netip.ParsePrefix(a); err == nil {
				ps = append(ps, p.Masked())
			}
		}
		st.Tags[strings.ToLower(str(m, "name"))] = ps
	}
	r.set.ServiceTags = st
}

// link attaches every group to its policy. Groups whose policy is not
// named (an az list of one policy's groups, which carries IDs; or a file
// without IDs) belong to the only policy there is.
func (r *reader) link() error {
	for _, g := range r.groups {
		if g.PolicyRef != "" {
			p := r.policyFor(g.PolicyRef)
			p.Groups = append(p.Groups, g)
		}
	}
	var orphans []*Group
	for _, g := range r.groups {
		if g.PolicyRef == "" {
			orphans = append(orphans, g)
		}
	}
	if len(orphans) > 0 {
		var nonClassic []*Policy
		for _, p := range r.set.Policies {
			if !p.Classic {
				nonClassic = append(nonClassic, p)
			}
		}
		switch len(nonClassic) {
		case 0:
			p := &Policy{Name: "(policy)"}
			r.set.Policies = append(r.set.Policies, p)
			p.Groups = orphans
		case 1:
			nonClassic[0].Groups = append(nonClassic[0].Groups, orphans...)
		default:
			return fmt.Errorf("rule collection group %q names no policy and %d policies were read: export the groups with their IDs (az network firewall policy rule-collection-group list -o json does)", orphans[0].Name, len(nonClassic))
		}
	}
	for _, p := range r.set.Policies {
		sort.SliceStable(p.Groups, func(i, j int) bool { return p.Groups[i].Priority < p.Groups[j].Priority })
	}
	return nil
}

// JSON helpers: lookups on decoded JSON that never panic.

func has(m map[string]any, k string) bool {
	_, ok := lookup(m, k)
	return ok
}

// lookup finds k, exactly or else ignoring case (exports differ in the
// case of a few keys).
func lookup(m map[string]any, k string) (any, bool) {
	if m == nil {
		return nil, false
	}
	if v, ok := m[k]; ok {
		return v, true
	}
	for kk, v := range m {
		if strings.EqualFold(kk, k) {
			return v, true
		}
	}
	return nil, false
}

func props(m map[string]any) map[string]any {
	if p := obj(m, "properties"); p != nil {
		return p
	}
	return m
}

func obj(m map[string]any, k string) map[string]any {
	v, _ := lookup(m, k)
	o, _ := v.(map[string]any)
	return o
}

func list(m map[string]any, k string) []any {
	v, _ := lookup(m, k)
	l, _ := v.([]any)
	return l
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func str(m map[string]any, k string) string {
	v, _ := lookup(m, k)
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return ""
}

func strList(m map[string]any, k string) []string {
	v, _ := lookup(m, k)
	switch t := v.(type) {
	case []any:
		var out []string
		for _, x := range t {
			switch s := x.(type) {
			case string:
				out = append(out, s)
			case json.Number:
				out = append(out, s.String())
			}
		}
		return out
	case string:
		if t != "" {
			return []string{t}
		}
	}
	return nil
}

func number(m map[string]any, k string) (int, bool) {
	v, _ := lookup(m, k)
	switch t := v.(type) {
	case json.Number:
		n, err := strconv.Atoi(t.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(t)
		return n, err == nil
	}
	return 0, false
}

func boolean(m map[string]any, k string) (bool, bool) {
	v, _ := lookup(m, k)
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		b, err := strconv.ParseBool(t)
		return b, err == nil
	}
	return false, false
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
