package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Dest is one destination to evaluate: where the traffic goes, how, and
// from where.
type Dest struct {
	Host string // a name or an IP address
	Port int
	// Protocol is https, http, mssql, tcp, udp or icmp.
	Protocol string
	// Source is the sending address or subnet.
	Source netip.Prefix
	// Addresses are the destination name's addresses, when given
	// (--address): network rules match addresses, not names.
	Addresses []netip.Addr
	// ThreatIntel is set when a firewall log shows threat intelligence
	// flagged this destination (the category, "Bot Networks").
	ThreatIntel string
}

// RuleRef names a rule the way the firewall's log does.
type RuleRef struct {
	Policy     string `json:"policy,omitempty"`
	Group      string `json:"rule_collection_group,omitempty"`
	Collection string `json:"rule_collection"`
	Rule       string `json:"rule"`
	// GroupPriority and CollectionPriority are the priorities evaluation
	// ordered them by (nil when unknown).
	GroupPriority      *int   `json:"rule_collection_group_priority,omitempty"`
	CollectionPriority *int   `json:"rule_collection_priority,omitempty"`
	Kind               string `json:"kind"`
	Action             string `json:"action"`
	// Inherited is set for a rule of a parent (base) policy.
	Inherited bool `json:"inherited,omitempty"`
	classic   bool
}

// Path is the rule as "policy / group / collection / rule".
func (r RuleRef) Path() string {
	var parts []string
	for _, s := range []string{r.Policy, r.Group, r.Collection, r.Rule} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " / ")
}

// Maybe is a rule that may match, and why kensa cannot tell.
type Maybe struct {
	Rule   RuleRef `json:"rule"`
	Code   string  `json:"code"`
	Detail string  `json:"detail"`
}

// Verdict is what the firewall would do with a destination.
type Verdict struct {
	// Action is allow, deny or unknown.
	Action string `json:"action"`
	// Rule is the deciding rule; nil for the default deny and threat
	// intelligence.
	Rule *RuleRef `json:"rule"`
	// Decision is how it was decided: "rule", "default-deny",
	// "threat-intel", "dnat", or for unknown "may-match".
	Decision string `json:"decision"`
	// Log is the line the firewall would log, in its own words ("" for
	// unknown).
	Log string `json:"log,omitempty"`
	// Maybe lists the rules before the decision that may match.
	Maybe []Maybe `json:"may_match,omitempty"`
	// Notes are facts that qualify the answer.
	Notes []string `json:"notes,omitempty"`
}

// Chain returns the policies traffic is evaluated against, the base
// (parent) policy first: the policy that no other policy names as its
// parent (or the one a firewall resource points at), and its ancestors.
func (s *Set) Chain() ([]*Policy, error) {
	if len(s.Policies) == 0 {
		return nil, fmt.Errorf("no policy was read")
	}
	byRef := map[string]*Policy{}
	for _, p := range s.Policies {
		if p.ResourceID != "" {
			byRef[p.ResourceID] = p
		}
		byRef[strings.ToLower(p.Name)] = p
	}
	find := func(ref string) *Policy {
		if p := byRef[strings.ToLower(ref)]; p != nil {
			return p
		}
		return byRef[strings.ToLower(policyNameFromID(ref))]
	}
	isParent := map[*Policy]bool{}
	for _, p := range s.Policies {
		if p.Parent != "" {
			if b := find(p.Parent); b != nil {
				isParent[b] = true
			}
		}
	}
	var leaves []*Policy
	for _, id := range s.Firewalls {
		if p := find(id); p != nil && !containsPolicy(leaves, p) {
			leaves = append(leaves, p)
		}
	}
	if len(leaves) == 0 {
		for _, p := range s.Policies {
			if !isParent[p] {
				leaves = append(leaves, p)
			}
		}
	}
	if len(leaves) != 1 {
		var names []string
		for _, p := range leaves {
			names = append(names, p.Name)
		}
		return nil, fmt.Errorf("the inputs hold %d unrelated policies (%s): kensa evaluates one firewall's policy and its base policies; give the files of one firewall", len(leaves), strings.Join(names, ", "))
	}
	var chain []*Policy
	for p := leaves[0]; p != nil; {
		if containsPolicy(chain, p) {
			return nil, fmt.Errorf("policy %s is its own base policy", p.Name)
		}
		chain = append([]*Policy{p}, chain...)
		if p.ParentUnknown {
			return nil, fmt.Errorf("the plan leaves the base policy of %s unknown: add the base policy's plan or state", p.Name)
		}
		if p.Parent == "" {
			break
		}
		b := find(p.Parent)
		if b == nil {
			return nil, fmt.Errorf("policy %s inherits from %s, which was not given: its rule collection groups come first and can decide; export it too (az network firewall policy rule-collection-group list --policy-name %s -o json)", p.Name, policyNameFromID(p.Parent), policyNameFromID(p.Parent))
		}
		p = b
	}
	return chain, nil
}

func containsPolicy(ps []*Policy, p *Policy) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// Evaluator evaluates destinations against one policy chain.
type Evaluator struct {
	set   *Set
	chain []*Policy
	// ordered rules per pass.
	passes [3][]orderedRule
	// threat intelligence: the strictest mode along the chain.
	tiMode   string
	tiFQDNs  []string
	tiIPs    []string
	dnsProxy *bool
}

type orderedRule struct {
	ref   RuleRef
	rule  *Rule
	coll  *Collection
	order string // why the order is uncertain ("" when known)
}

// NewEvaluator orders the chain's rules in the documented processing
// order.
func NewEvaluator(s *Set) (*Evaluator, error) {
	chain, err := s.Chain()
	if err != nil {
		return nil, err
	}
	e := &Evaluator{set: s, chain: chain}
	rank := map[string]int{"": 0, "Off": 1, "Alert": 2, "Deny": 3}
	known := true
	for i, p := range chain {
		if p.ThreatIntelMode == "" {
			known = false
		} else if rank[p.ThreatIntelMode] > rank[e.tiMode] {
			e.tiMode = p.ThreatIntelMode
		}
		e.tiFQDNs = append(e.tiFQDNs, p.ThreatIntelFQDNs...)
		e.tiIPs = append(e.tiIPs, p.ThreatIntelIPs...)
		// "A child policy inherits DNS settings unless overridden": the
		// nearest policy that sets them decides; a policy resource read
		// without DNS settings, with none above it, has DNS proxy off.
		if p.DNSProxy != nil {
			e.dnsProxy = p.DNSProxy
		} else if p.From != "" && e.dnsProxy == nil {
			off := false
			e.dnsProxy = &off
		}
		for _, g := range p.Groups {
			cs := append([]*Collection(nil), g.Collections...)
			sort.SliceStable(cs, func(a, b int) bool { return cs[a].Priority < cs[b].Priority })
			for _, c := range cs {
				for _, r := range c.Rules {
					r.prepare()
					ref := RuleRef{Policy: p.Name, Group: g.Name, Collection: c.Name, Rule: r.Name,
						Kind: c.Kind.String(), Action: c.Action, Inherited: i < len(chain)-1, classic: p.Classic}
					if p.Classic {
						ref.Policy, ref.Group = "", ""
					}
					if !g.PriorityUnknown && !p.Classic {
						gp := g.Priority
						ref.GroupPriority = &gp
					}
					if !c.PriorityUnknown {
						cp := c.Priority
						ref.CollectionPriority = &cp
					}
					o := orderedRule{ref: ref, rule: r, coll: c}
					switch {
					case g.PriorityUnknown || c.PriorityUnknown:
						o.order = "its priority is unknown (not given, or left unknown by the plan)"
					case g.PolicyUnknown:
						o.order = "the plan leaves its policy unknown"
					}
					e.passes[c.Kind] = append(e.passes[c.Kind], o)
				}
			}
		}
	}
	if !known && e.tiMode != "Deny" {
		e.tiMode = "" // not known for the whole chain, unless a known part already denies
	}
	return e, nil
}

// Chain returns the policies evaluated, base first.
func (e *Evaluator) Chain() []*Policy { return e.chain }

// ThreatIntelMode is the effective threat intelligence mode ("" unknown).
func (e *Evaluator) ThreatIntelMode() string { return e.tiMode }

// DNSProxy is the effective DNS proxy setting (nil unknown).
func (e *Evaluator) DNSProxy() *bool { return e.dnsProxy }

// Evaluate predicts what the firewall does with d.
func (e *Evaluator) Evaluate(d Dest) Verdict {
	d.Protocol = strings.ToLower(d.Protocol)
	d.Host = strings.ToLower(strings.TrimSuffix(d.Host, "."))
	if a, err := netip.ParseAddr(d.Host); err == nil && len(d.Addresses) == 0 {
		d.Addresses = []netip.Addr{a.Unmap()}
	}
	v := Verdict{}
	var notes []string
	// 1. Threat intelligence.
	if d.ThreatIntel != "" {
		switch {
		case e.tiAllowlisted(d):
			notes = append(notes, "threat intelligence flagged it in the log ("+d.ThreatIntel+"), and the policy's threat intelligence allowlist exempts it")
		case e.tiMode == "Deny":
			v = Verdict{Action: "deny", Decision: "threat-intel",
				Log: fmt.Sprintf("%s. Action: Deny. ThreatIntel: %s", requestPrefix(d, Application), d.ThreatIntel)}
			v.Notes = append(notes, "threat intelligence is processed before any rule; do not allow a flagged destination, investigate it")
			return v
		case e.tiMode == "":
			notes = append(notes, "threat intelligence flagged it in the log ("+d.ThreatIntel+"); the policy's mode was not given: in Deny mode it is denied before any rule")
			v.Maybe = append(v.Maybe, Maybe{Rule: RuleRef{Collection: "(threat intelligence)", Kind: "threat intelligence", Action: "Deny"},
				Code: "threat-intel-mode-unknown", Detail: "flagged as " + d.ThreatIntel + " and the threat intelligence mode is not in the inputs"})
		default:
			notes = append(notes, "threat intelligence flagged it in the log ("+d.ThreatIntel+"); mode "+e.tiMode+" only alerts")
		}
	}
	// 2. DNAT, network, application passes.
	var decided *orderedRule
	var assumed []string
	for pass := DNAT; pass <= Application && decided == nil; pass++ {
		if pass == Application && !isAppProtocol(d.Protocol) {
			continue
		}
		for i := range e.passes[pass] {
			o := &e.passes[pass][i]
			t, w, note := e.match(o, d)
			if note != "" && len(assumed) < 3 {
				assumed = append(assumed, note)
			}
			if t == yes && o.order != "" {
				t, w = maybe, why{"priority-unknown", "it matches, but " + o.order + ", so kensa cannot tell whether it comes first"}
			}
			if t == maybe && len(o.rule.Unknown) > 0 && w.code == "" {
				w = why{"value-unknown", "unknown: " + strings.Join(o.rule.Unknown, ", ")}
			}
			switch t {
			case yes:
				decided = o
			case maybe:
				if len(v.Maybe) < 20 {
					v.Maybe = append(v.Maybe, Maybe{Rule: o.ref, Code: w.code, Detail: w.detail})
				}
			}
			if decided != nil {
				break
			}
		}
	}
	// 3. The infrastructure rule collection serves platform traffic
	// (compute access to the Platform Image Repository's storage, managed
	// disk status storage, Azure Diagnostics): never a deploy's
	// destinations, so it is not modelled; then the default deny.
	final := "deny"
	if decided != nil {
		final = actionWord(decided.ref.Action)
		r := decided.ref
		v.Rule = &r
		v.Decision = "rule"
		if decided.coll.Kind == DNAT {
			v.Decision = "dnat"
		}
		v.Log = logLine(d, decided)
		if decided.coll.Kind == Network && isAppProtocol(d.Protocol) {
			notes = append(notes, "a network rule decides: application rules are not processed for it (network rules come first, whatever the priorities)")
		}
	} else {
		v.Decision = "default-deny"
		if isAppProtocol(d.Protocol) {
			v.Log = requestPrefix(d, Application) + ". Action: Deny. No rule matched. Proceeding with default action"
		} else {
			v.Log = requestPrefix(d, Network) + ". Action: Deny"
		}
	}
	if final == "unknown" {
		// The rule matches, but its collection names no action kensa
		// reads (Allow, Deny): it decides, and kensa cannot say how.
		v.Maybe = append(v.Maybe, Maybe{Rule: decided.ref, Code: "action-unknown",
			Detail: "the rule matches, and its collection names no action kensa reads (Allow or Deny)"})
		v.Action, v.Decision, v.Log = "unknown", "may-match", ""
		v.Notes = append(notes, assumed...)
		return v
	}
	v.Action = final
	for _, m := range v.Maybe {
		if actionWord(m.Rule.Action) != final {
			v.Action = "unknown"
		}
	}
	if v.Action == "unknown" {
		v.Decision = "may-match"
		if decided != nil {
			notes = append(notes, "if none of the rules that may match does, "+decided.ref.Path()+" decides: "+final)
		} else {
			notes = append(notes, "if none of the rules that may match does, no rule matches: default deny")
		}
		v.Log = ""
	} else if len(v.Maybe) > 0 {
		notes = append(notes, "rules before it may match, but with the same action")
	}
	if v.Action != "unknown" || decided == nil {
		notes = append(notes, assumed...)
	}
	v.Notes = notes
	return v
}

func actionWord(a string) string {
	switch a {
	case "Allow", "DNAT":
		return "allow"
	case "Deny":
		return "deny"
	}
	return "unknown"
}

func isAppProtocol(p string) bool { return p == "http" || p == "https" || p == "mssql" }

// requestPrefix is "HTTPS request from SRC to HOST:PORT" as the
// application (or network) rule log writes it.
func requestPrefix(d Dest, k Kind) string {
	proto := strings.ToUpper(d.Protocol)
	if k != Application {
		switch d.Protocol {
		case "udp":
			proto = "UDP"
		case "icmp":
			proto = "ICMP"
		default:
			proto = "TCP"
		}
	}
	src := d.Source.String()
	if d.Source.IsSingleIP() {
		src = d.Source.Addr().String()
	}
	if !d.Source.IsValid() {
		src = "(any source)"
	}
	dst := d.Host
	if strings.Contains(dst, ":") {
		dst = "[" + dst + "]"
	}
	if d.Protocol != "icmp" {
		dst += ":" + strconv.Itoa(d.Port)
	}
	return fmt.Sprintf("%s request from %s to %s", proto, src, dst)
}

func logLine(d Dest, o *orderedRule) string {
	r := o.ref
	tail := ""
	if r.Policy != "" {
		tail += ". Policy: " + r.Policy
	}
	if r.Group != "" {
		tail += ". Rule Collection Group: " + r.Group
	}
	tail += ". Rule Collection: " + r.Collection + ". Rule: " + r.Rule
	if o.coll.Kind == DNAT {
		to := o.rule.TranslatedAddress
		if to == "" {
			to = o.rule.TranslatedFQDN
		}
		if o.rule.TranslatedPort != "" {
			to += ":" + o.rule.TranslatedPort
		}
		return requestPrefix(d, DNAT) + " was DNAT'ed to " + to + tail
	}
	return requestPrefix(d, o.coll.Kind) + ". Action: " + r.Action + tail
}

func (e *Evaluator) tiAllowlisted(d Dest) bool {
	for _, f := range e.tiFQDNs {
		if matchFQDN(f, d.Host) {
			return true
		}
	}
	for _, s := range e.tiIPs {
		set, ok := parseAddrEntry(s)
		if !ok {
			continue
		}
		for _, a := range d.Addresses {
			if set.covers(a, a) == yes {
				return true
			}
		}
	}
	return false
}

// match says whether one rule matches d, why not certainly, and an
// assumption made (a note for the verdict).
func (e *Evaluator) match(o *orderedRule, d Dest) (tri, why, string) {
	r := o.rule
	if len(r.Unknown) > 0 && strings.HasPrefix(r.Unknown[0], "(unreadable") {
		return maybe, why{"rule-unreadable", strings.Trim(r.Unknown[0], "()")}, ""
	}
	// A nil map reads as false: most rules have no unknown value.
	var unknown map[string]bool
	if len(r.Unknown) > 0 {
		unknown = map[string]bool{}
		for _, u := range r.Unknown {
			unknown[u] = true
		}
	}
	// Source.
	src, sw := e.matchSource(r, d)
	if unknown["source_addresses"] || unknown["source_ip_groups"] {
		src, sw = max(src, maybe), why{"value-unknown", "the plan leaves the rule's sources unknown"}
	}
	if src == no {
		return no, why{}, ""
	}
	if o.coll.Kind == DNAT && len(d.Addresses) == 0 {
		// DNAT rules answer traffic to the firewall's own public address;
		// a destination name is not that (unless --address says so).
		return no, why{}, ""
	}
	var t tri
	var w why
	var note string
	switch o.coll.Kind {
	case DNAT, Network:
		t, w, note = e.matchNetwork(r, d, unknown)
	case Application:
		t, w = e.matchApp(r, o.coll, d, unknown)
	}
	if t == no {
		return no, why{}, note
	}
	res := and(src, t)
	if res == maybe {
		if t == maybe {
			return maybe, w, note
		}
		return maybe, sw, note
	}
	return res, why{}, note
}

func (e *Evaluator) matchSource(r *Rule, d Dest) (tri, why) {
	if !d.Source.IsValid() {
		for _, s := range r.Sources {
			if set, ok := parseAddrEntry(s); ok && set.any {
				return yes, why{}
			}
		}
		return maybe, why{"source-unknown", "the rule names sources and no --source was given"}
	}
	from, to := prefixRange(d.Source)
	best := no
	var w why
	for i, s := range r.Sources {
		set, ok := r.source(i)
		if !ok {
			best, w = max(best, maybe), why{"address-unreadable", fmt.Sprintf("source %q is not an address kensa reads", s)}
			continue
		}
		switch set.covers(from, to) {
		case yes:
			return yes, why{}
		case maybe:
			best, w = max(best, maybe), why{"source-partly-covered", fmt.Sprintf("source %s covers only part of %s", s, d.Source)}
		}
	}
	for _, g := range r.SourceIPGroups {
		addrs, ok := e.set.IPGroups[strings.ToLower(g)]
		if !ok {
			addrs, ok = e.set.IPGroups[strings.ToLower(lastSegment(g))]
		}
		if !ok {
			best, w = max(best, maybe), why{"ip-group-data-missing", fmt.Sprintf("source IP group %s: its addresses were not given (export it: az network ip-group show -o json)", lastSegment(g))}
			continue
		}
		for _, a := range addrs {
			if set, ok := parseAddrEntry(a); ok {
				switch set.covers(from, to) {
				case yes:
					return yes, why{}
				case maybe:
					best, w = max(best, maybe), why{"source-partly-covered", fmt.Sprintf("IP group %s covers only part of %s", lastSegment(g), d.Source)}
				}
			}
		}
	}
	return best, w
}

func lastSegment(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// matchAddresses matches d's addresses (or, when d is a name whose
// addresses are not known, the assumption that it resolves to a public
// address) against address entries and service tags.
func (e *Evaluator) matchAddresses(entries, ipGroups []string, d Dest) (tri, why, string) {
	best := no
	var w why
	note := ""
	check := func(set addrSet, label string) tri {
		if set.any {
			return yes
		}
		if len(d.Addresses) == 0 {
			if set.private() {
				note = fmt.Sprintf("assumed %s resolves to a public address (none given with --address), so a rule to %s does not match it", d.Host, label)
				return no
			}
			w = why{"address-unknown", fmt.Sprintf("the rule matches addresses (%s) and %s's addresses were not given (--address %s=IP)", label, d.Host, d.Host)}
			return maybe
		}
		n := 0
		for _, a := range d.Addresses {
			if set.covers(a, a) == yes {
				n++
			}
		}
		switch {
		case n == len(d.Addresses):
			return yes
		case n > 0:
			w = why{"address-partly-covered", fmt.Sprintf("%s covers some of %s's addresses", label, d.Host)}
			return maybe
		}
		return no
	}
	for _, s := range entries {
		if set, ok := parseAddrEntry(s); ok {
			if best = max(best, check(set, s)); best == yes {
				return yes, why{}, ""
			}
			continue
		}
		// A service tag.
		st := e.set.ServiceTags
		if st != nil {
			if ps, ok := st.Tags[strings.ToLower(s)]; ok {
				sub := no
				for _, p := range ps {
					f, t := prefixRange(p)
					if sub = max(sub, check(addrSet{from: f, to: t}, "service tag "+s)); sub == yes {
						break
					}
				}
				if sub == maybe && len(d.Addresses) == 0 {
					w = why{"address-unknown", fmt.Sprintf("the rule allows service tag %s (ranges of change %s) and %s's addresses were not given (--address %s=IP)", s, st.ChangeNumber, d.Host, d.Host)}
				}
				if best = max(best, sub); best == yes {
					return yes, why{}, ""
				}
				continue
			}
		}
		best = max(best, maybe)
		if isServiceTag(s) {
			w = why{"service-tag-data-missing", fmt.Sprintf("service tag %s: its current address ranges were not given (add az network list-service-tags --location REGION -o json as a --policy input)", s)}
		} else {
			w = why{"address-unreadable", fmt.Sprintf("destination %q is neither an address nor a service tag kensa knows", s)}
		}
	}
	for _, g := range ipGroups {
		addrs, ok := e.set.IPGroups[strings.ToLower(g)]
		if !ok {
			addrs, ok = e.set.IPGroups[strings.ToLower(lastSegment(g))]
		}
		if !ok {
			best, w = max(best, maybe), why{"ip-group-data-missing", fmt.Sprintf("destination IP group %s: its addresses were not given", lastSegment(g))}
			continue
		}
		for _, a := range addrs {
			if set, ok := parseAddrEntry(a); ok {
				if best = max(best, check(set, "IP group "+lastSegment(g))); best == yes {
					return yes, why{}, ""
				}
			}
		}
	}
	return best, w, note
}

func (e *Evaluator) matchNetwork(r *Rule, d Dest, unknown map[string]bool) (tri, why, string) {
	if !ipProtoMatches(r.IPProtocols, d.Protocol) && !unknown["protocols"] {
		return no, why{}, ""
	}
	port := yes
	if d.Protocol != "icmp" {
		port = matchPorts(r.Ports, d.Port)
		if unknown["destination_ports"] {
			port = max(port, maybe)
		}
		if port == no {
			return no, why{}, ""
		}
	}
	dst, w, note := e.matchAddresses(r.Destinations, r.DestIPGroups, d)
	if unknown["destination_addresses"] || unknown["destination_address"] || unknown["destination_ip_groups"] {
		dst, w = max(dst, maybe), why{"value-unknown", "the plan leaves the rule's destinations unknown"}
	}
	if dst != yes && r.Kind != DNAT {
		for _, f := range r.DestFQDNs {
			if strings.Contains(f, "*") {
				continue // network rules take no wildcards
			}
			if !strings.EqualFold(strings.TrimSuffix(f, "."), d.Host) {
				continue
			}
			switch {
			case e.dnsProxy == nil:
				dst, w = max(dst, maybe), why{"dns-proxy-unknown", "network rule FQDN " + f + " matches only with DNS proxy enabled, and the policy's DNS settings were not given"}
			case *e.dnsProxy:
				dst = yes
			default:
				note = "network rule FQDN " + f + " is ignored: DNS proxy is disabled on the policy"
			}
		}
		if unknown["destination_fqdns"] {
			dst, w = max(dst, maybe), why{"value-unknown", "the plan leaves the rule's destination FQDNs unknown"}
		}
	}
	if port == maybe && dst != no && w.code == "" {
		w = why{"port-unreadable", "a destination port of the rule is not a port or range kensa reads"}
	}
	return and(port, dst), w, note
}

func (e *Evaluator) matchApp(r *Rule, c *Collection, d Dest, unknown map[string]bool) (tri, why) {
	proto := no
	for _, p := range r.Protocols {
		if strings.EqualFold(p.Type, d.Protocol) && p.Port == d.Port {
			proto = yes
		}
	}
	if unknown["protocols"] {
		proto = max(proto, maybe)
	}
	if proto == no {
		return no, why{}
	}
	best := no
	var w why
	for _, f := range r.TargetFQDNs {
		if matchFQDN(f, d.Host) {
			return proto, why{"value-unknown", "the plan leaves the rule's protocols unknown"}
		}
	}
	for _, t := range r.FQDNTags {
		member, row := tagMember(t, d.Host)
		switch {
		case member && d.Protocol == "https":
			return proto, why{"value-unknown", "the plan leaves the rule's protocols unknown"}
		case c.Action == "Allow" && row != nil:
			// Not a documented member: counted as no match (never a
			// guessed allow).
		default:
			best = max(best, maybe)
			if row == nil {
				w = why{"fqdn-tag-unknown", "FQDN tag " + t + " is not one kensa knows"}
			} else {
				w = why{"fqdn-tag-membership-unknown", "FQDN tag " + t + ": Microsoft does not publish its members (" + row.Source + ", as of " + row.AsOf + ")"}
			}
		}
	}
	if len(r.WebCategories) > 0 {
		best = max(best, maybe)
		w = why{"web-category-unknown", "web categories " + strings.Join(r.WebCategories, ", ") + ": kensa cannot tell which category Microsoft puts " + d.Host + " in"}
	}
	for _, u := range r.TargetURLs {
		host, _, _ := strings.Cut(u, "/")
		if matchFQDN(host, d.Host) {
			best = max(best, maybe)
			w = why{"tls-inspection-url-rule", "URL rule " + u + ": with TLS inspection it matches by path, which a destination does not name"}
		}
	}
	if len(r.Destinations) > 0 && len(r.TargetFQDNs) == 0 && len(r.FQDNTags) == 0 && len(r.WebCategories) == 0 && len(r.TargetURLs) == 0 {
		best = max(best, maybe)
		w = why{"app-rule-addresses", "an application rule with destination addresses only: how Azure Firewall matches them is not documented"}
	}
	if unknown["destination_fqdns"] || unknown["destination_fqdn_tags"] || unknown["web_categories"] || unknown["destination_urls"] {
		best, w = max(best, maybe), why{"value-unknown", "the plan leaves the rule's destinations unknown"}
	}
	if best == maybe && proto == maybe {
		w = why{"value-unknown", "the plan leaves the rule's protocols unknown; " + w.detail}
	}
	return and(proto, best), w
}

// prepare parses the rule's sources once (NewEvaluator calls it, so that
// Evaluate only reads and may run from many goroutines).
func (r *Rule) prepare() {
	r.parsedSources = make([]parsedAddr, len(r.Sources))
	for j, s := range r.Sources {
		set, ok := parseAddrEntry(s)
		r.parsedSources[j] = parsedAddr{set, ok}
	}
}

// source returns the i-th source entry, parsed.
func (r *Rule) source(i int) (addrSet, bool) {
	if i >= len(r.parsedSources) {
		return parseAddrEntry(r.Sources[i])
	}
	p := r.parsedSources[i]
	return p.set, p.ok
}

type parsedAddr struct {
	set addrSet
	ok  bool
}
