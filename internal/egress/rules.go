package egress

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file turns destinations into Azure Firewall Policy rules:
// application rules (Http/Https) for names reached over HTTP or HTTPS,
// network rules for everything else and for IP-only destinations (an
// application rule needs a name from SNI or the Host header; SMB 445, NTP,
// the AKS tunnel are not HTTP). A wildcard never matches its apex
// ("*.x.com" does not match "x.com"), so the apex is added beside it.
// Only denies that an allow rule fixes become rules: the default action,
// a deny without a reason, an allowlist proxy. A deny by the user's own
// rule, threat intelligence or IDPS is listed as skipped, never allowed.
//
// Each rule gets its own rule collection: a collection holds rules of one
// type, and one rule per collection keeps the three renderings (az CLI,
// Bicep, Terraform) the same shape.

// RuleType is ApplicationRule or NetworkRule.
type RuleType string

// Rule types, as Azure names them.
const (
	AppRule RuleType = "ApplicationRule"
	NetRule RuleType = "NetworkRule"
)

// Plan is the rule collections that would allow what was denied.
type Plan struct {
	Collections []Collection
	Skipped     []Skipped
	// NeedsDNSProxy is set when a network rule names FQDNs: Azure
	// Firewall resolves them only with DNS proxy enabled.
	NeedsDNSProxy bool
	// SourcesCut is set when a destination had more distinct sources
	// than kensa keeps (maxSources): the rules name only those kept, and
	// --source should name the subnet instead.
	SourcesCut bool
	// IPv6Sources are the IPv6 sources left out of rules that name the
	// destination's IPv4 sources (see ipv6Why), sorted, at most
	// maxIPv6Listed of them; IPv6SourcesLeftOut counts them all.
	IPv6Sources        []string
	IPv6SourcesLeftOut int
	// Origin, when set, replaces the writers' opening comment (which
	// otherwise says the rules come from egress analyze's logs).
	Origin string
	// Foreign, when set, says the rules are for another firewall than
	// the logs came from (ForeignRules); the writers print it first.
	Foreign string
}

const maxIPv6Listed = 16

// Collection is one filter rule collection holding one rule.
type Collection struct {
	Name     string
	Priority int
	// Service names the catalog service ("" when none), with its source.
	Service, ServiceSource string
	Rule                   Rule
}

// Rule is one application or network rule.
type Rule struct {
	Name string
	Type RuleType
	// Protocols of an application rule: Http/Https with a port.
	Protocols []ProtoPort
	// IPProtocols and Ports of a network rule ("TCP", "443"; "*" for ICMP).
	IPProtocols []string
	Ports       []string
	Sources     []string
	// FQDNs are targetFqdns (application) or destinationFqdns (network).
	FQDNs []string
	// Addresses are the destination IP addresses of a network rule.
	Addresses []string
	// Notes explain hosts that were not in the log (companions, apexes).
	Notes []string
}

// Skipped is a denied destination that got no rule, and why.
type Skipped struct {
	Host   string
	Port   int
	Reason string
}

// PlanOptions steer the plan.
type PlanOptions struct {
	// Sources replaces the observed source addresses in every rule.
	Sources []string
	// NoCompanions leaves out the companion hosts of the catalog.
	NoCompanions bool
}

// maxAppRulePort is the highest port an application rule takes
// (FirewallPolicyRuleApplicationProtocol.port: "cannot be greater than
// 64000"; the azurerm provider's protocols.port: 0-64000).
const maxAppRulePort = 64000

type planEntry struct {
	fqdn, addr string
	app        ProtoPort // application rule protocol
	ipProto    string    // network rule protocol
	port       string
	sources    map[string]struct{}
	note       string
}

// ipv6Why is why kensa writes no IPv6 address into a rule. Azure
// Firewall takes IPv6 only in network rules, only on a firewall in dual
// stack mode, which is in preview; application and DNAT rules, IP Groups,
// Classic and Virtual hub firewalls take none (Microsoft Learn, "Deploy
// Azure Firewall in dual stack mode (preview)", azure-docs
// articles/firewall/deploy-dual-stack-firewall.md, ms.date 2026-07-16).
// A rule written for the firewalls most run would be rejected or never
// match, so such a destination is listed, not allowed.
const ipv6Why = "Azure Firewall takes IPv6 addresses only in network rules of a dual-stack firewall (preview; no application rules, IP Groups, Classic or Virtual hub firewalls)"

// is6 reports whether s is an IPv6 address (an IPv4-mapped one is IPv4).
func is6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.Unmap().Is4()
}

// Plan builds the rules that allow the denied destinations of ds.
func MakePlan(ds []*Destination, opts PlanOptions) *Plan {
	p := &Plan{}
	type group struct {
		id, name, source string
		entries          []*planEntry
		sources          map[string]struct{}
		companions       []Companion
	}
	groups := map[string]*group{}
	v6Seen := map[string]struct{}{}
	for _, d := range ds {
		if d.Action != ActionDeny || !d.Reason.NeedsAllowRule() {
			if d.Action == ActionDeny {
				p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, skipWhy(d.Reason)})
			}
			continue
		}
		if d.Reason != ReasonProxy && inbound(d.Sources) {
			p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, "every source is a public address: inbound traffic, not egress"})
			continue
		}
		id, name, source := "other", "", ""
		allow := strings.ToLower(strings.TrimSuffix(d.Host, "."))
		if d.Service != nil {
			id, name, source = d.Service.Service.ID, d.Service.Service.Name, d.Service.Service.Source
			allow = d.Service.Allow
		}
		if d.SourcesTruncated && len(opts.Sources) == 0 {
			p.SourcesCut = true
		}
		e := &planEntry{sources: map[string]struct{}{}}
		var v6 []string
		for _, s := range d.Sources {
			if is6(s) && len(opts.Sources) == 0 {
				v6 = append(v6, s)
				continue
			}
			e.sources[s] = struct{}{}
		}
		proto := strings.ToUpper(d.Proto)
		addr, err := netip.ParseAddr(d.Host)
		switch {
		case d.Port < 0 && proto != "ICMP":
			p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, "the log gives no destination port; a rule for every port would be too wide"})
			continue
		case err == nil && !addr.Unmap().Is4():
			p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, "an IPv6 destination: " + ipv6Why + "; on such a firewall add the network rule by hand"})
			continue
		case len(v6) > 0 && len(e.sources) == 0:
			p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, "every source is an IPv6 address: " + ipv6Why + "; name IPv4 sources with --source, or add the rule by hand"})
			continue
		case err == nil:
			e.addr = addr.Unmap().String()
			e.ipProto, e.port = netProto(proto, d.Port)
		case !validName(allow):
			p.Skipped = append(p.Skipped, Skipped{d.Host, d.Port, "not a valid DNS name, so no rule can name it"})
			continue
		case (proto == "HTTP" || proto == "HTTPS") && d.Port > maxAppRulePort:
			// Azure rejects an application rule on a port above 64000,
			// and with it the whole rule collection group.
			e.fqdn = netFQDN(allow, d.Host)
			e.ipProto, e.port = netProto(proto, d.Port)
			e.note = fmt.Sprintf("%s on port %d: an application rule's port cannot be above %d, so a network rule allows it", allow, d.Port, maxAppRulePort)
		case proto == "HTTP" || proto == "HTTPS":
			e.fqdn = allow
			e.app = ProtoPort{Protocol: "Https", Port: d.Port}
			if proto == "HTTP" {
				e.app.Protocol = "Http"
			}
			if e.app.Port < 0 {
				e.app.Port = map[string]int{"Http": 80, "Https": 443}[e.app.Protocol]
			}
		default:
			e.fqdn = netFQDN(allow, d.Host)
			e.ipProto, e.port = netProto(proto, d.Port)
		}
		for _, s := range v6 {
			v6Seen[s] = struct{}{}
		}
		g := groups[id]
		if g == nil {
			g = &group{id: id, name: name, source: source, sources: map[string]struct{}{}}
			groups[id] = g
		}
		for s := range e.sources {
			g.sources[s] = struct{}{}
		}
		g.entries = append(g.entries, e)
		if d.Service != nil && !opts.NoCompanions {
			g.companions = append(g.companions, d.Service.Companions...)
		}
	}
	p.IPv6SourcesLeftOut = len(v6Seen)
	p.IPv6Sources = sortedKeys(v6Seen)
	slices.SortFunc(p.IPv6Sources, compareIP)
	p.IPv6Sources = p.IPv6Sources[:min(len(p.IPv6Sources), maxIPv6Listed)]
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(cmp.Compare(boolInt(a == "other"), boolInt(b == "other")), cmp.Compare(a, b))
	})
	for _, id := range ids {
		g := groups[id]
		// Companions not already there become entries of their own.
		have := map[string]bool{}
		for _, e := range g.entries {
			if e.fqdn != "" && e.ipProto == "" {
				have[e.fqdn+"|"+e.app.Protocol+"|"+strconv.Itoa(e.app.Port)] = true
			}
		}
		for _, c := range g.companions {
			k := c.Host + "|" + c.Protocol + "|" + strconv.Itoa(c.Port)
			if have[k] || !validName(c.Host) {
				continue
			}
			have[k] = true
			g.entries = append(g.entries, &planEntry{fqdn: c.Host, app: ProtoPort{c.Protocol, c.Port}, sources: g.sources,
				note: c.Host + " is not in the log: it usually comes with " + g.name})
		}
		for _, r := range groupRules(id, g.entries, opts.Sources) {
			if r.Type == NetRule && len(r.FQDNs) > 0 {
				p.NeedsDNSProxy = true
			}
			p.Collections = append(p.Collections, Collection{Service: g.name, ServiceSource: g.source, Rule: r})
		}
	}
	used := map[string]bool{}
	for i := range p.Collections {
		c := &p.Collections[i]
		c.Name = uniqueName(azName("kensa-"+c.Rule.Name), used)
		c.Priority = min(100+10*i, 65000)
	}
	return p
}

// uniqueName returns name, or name with a numeric suffix (kept within
// Azure's 80 characters) when an earlier collection has it: names cut at
// 80 characters (a host seen on many ports) could otherwise repeat, and
// Azure rejects a rule collection group with two collections of one name.
func uniqueName(name string, used map[string]bool) string {
	n := name
	for i := 2; used[n]; i++ {
		suffix := "-" + strconv.Itoa(i)
		n = strings.TrimRight(name[:min(len(name), 80-len(suffix))], "-.") + suffix
	}
	used[n] = true
	return n
}

// netFQDN is the name a network rule allows: the catalog's name, but
// never a wildcard. A network rule's FQDNs are resolved by the firewall's
// DNS proxy, which cannot resolve "*.x.com": the name seen is allowed.
func netFQDN(allow, host string) string {
	if strings.HasPrefix(allow, "*") {
		return strings.ToLower(strings.TrimSuffix(host, "."))
	}
	return allow
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func skipWhy(r Reason) string {
	switch r {
	case ReasonRule:
		return "denied by a rule of your own: change that rule if the deployment needs it"
	case ReasonUnresolved:
		return "the firewall could not resolve the name: fix DNS (DNS proxy, private DNS zone), not the rules"
	case ReasonThreatIntel:
		return "denied by threat intelligence: investigate, do not allow"
	case ReasonIDPS:
		return "dropped by an IDPS signature: investigate, do not allow"
	}
	return "not a deny an allow rule fixes"
}

// netProto maps a logged protocol and port to a network rule's.
func netProto(proto string, port int) (string, string) {
	switch proto {
	case "UDP":
	case "ICMP":
		return "ICMP", "*"
	default:
		proto = "TCP"
	}
	if port < 0 {
		return proto, "*"
	}
	return proto, strconv.Itoa(port)
}

// groupRules turns one service's entries into rules: application entries
// with the same protocols share a rule, network entries with the same
// protocol and port share one.
func groupRules(id string, entries []*planEntry, sourceOverride []string) []Rule {
	type acc struct {
		rule    Rule
		sources map[string]struct{}
		names   map[string]bool
	}
	// Application: fqdn → its protocols.
	appProtos := map[string][]ProtoPort{}
	appSources := map[string]map[string]struct{}{}
	notes := map[string]string{}
	byKey := map[string]*acc{}
	var order []string
	for _, e := range entries {
		if e.ipProto == "" {
			if !slices.Contains(appProtos[e.fqdn], e.app) {
				appProtos[e.fqdn] = append(appProtos[e.fqdn], e.app)
			}
			if appSources[e.fqdn] == nil {
				appSources[e.fqdn] = map[string]struct{}{}
			}
			for s := range e.sources {
				appSources[e.fqdn][s] = struct{}{}
			}
			if e.note != "" {
				notes[e.fqdn] = e.note
			}
			continue
		}
		k := "net|" + e.ipProto + "|" + e.port
		a := byKey[k]
		if a == nil {
			a = &acc{rule: Rule{Type: NetRule, IPProtocols: []string{e.ipProto}, Ports: []string{e.port},
				Name: id + "-" + strings.ToLower(e.ipProto) + "-" + strings.ReplaceAll(e.port, "*", "any")},
				sources: map[string]struct{}{}, names: map[string]bool{}}
			byKey[k] = a
			order = append(order, k)
		}
		if e.addr != "" {
			a.rule.Addresses = appendUnique(a.rule.Addresses, e.addr)
		} else {
			a.rule.FQDNs = appendUnique(a.rule.FQDNs, e.fqdn)
		}
		if e.note != "" {
			a.rule.Notes = appendUnique(a.rule.Notes, e.note)
		}
		for s := range e.sources {
			a.sources[s] = struct{}{}
		}
	}
	fqdns := make([]string, 0, len(appProtos))
	for f := range appProtos {
		fqdns = append(fqdns, f)
	}
	slices.Sort(fqdns)
	for _, f := range fqdns {
		ps := appProtos[f]
		slices.SortFunc(ps, func(a, b ProtoPort) int {
			return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port))
		})
		var kb strings.Builder
		kb.WriteString("app")
		for _, p := range ps {
			fmt.Fprintf(&kb, "|%s=%d", p.Protocol, p.Port)
		}
		k := kb.String()
		a := byKey[k]
		if a == nil {
			name := id
			for _, p := range ps {
				name += "-" + strings.ToLower(p.Protocol)
				if p.Port != map[string]int{"Http": 80, "Https": 443}[p.Protocol] {
					name += "-" + strconv.Itoa(p.Port)
				}
			}
			a = &acc{rule: Rule{Type: AppRule, Protocols: ps, Name: name}, sources: map[string]struct{}{}, names: map[string]bool{}}
			byKey[k] = a
			order = append(order, k)
		}
		a.rule.FQDNs = appendUnique(a.rule.FQDNs, f)
		if n := notes[f]; n != "" {
			a.rule.Notes = append(a.rule.Notes, n)
		}
		for s := range appSources[f] {
			a.sources[s] = struct{}{}
		}
	}
	slices.Sort(order)
	var out []Rule
	for _, k := range order {
		a := byKey[k]
		r := a.rule
		// The apex beside each wildcard.
		for _, f := range slices.Clone(r.FQDNs) {
			if apex, ok := strings.CutPrefix(f, "*."); ok && !slices.Contains(r.FQDNs, apex) {
				r.FQDNs = append(r.FQDNs, apex)
				r.Notes = append(r.Notes, apex+" added: "+f+" does not match "+apex+" itself")
			}
		}
		slices.Sort(r.FQDNs)
		slices.SortFunc(r.Addresses, compareIP)
		if len(sourceOverride) > 0 {
			r.Sources = slices.Clone(sourceOverride)
		} else {
			for _, src := range sortedKeys(a.sources) {
				if ip, err := netip.ParseAddr(src); err == nil && ip.Is4In6() {
					src = ip.Unmap().String() // a dual-stack proxy's ::ffff:10.1.2.3
				}
				if validSource(src) {
					r.Sources = appendUnique(r.Sources, src)
				}
			}
			if len(r.Sources) == 0 {
				r.Sources = []string{"*"}
			}
		}
		r.Name = azName(r.Name)
		out = append(out, r)
	}
	return out
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// azName makes a rule or collection name Azure accepts: letters, digits,
// '_', '-', '.'; starting with a letter or digit; not ending in '-' or
// '.'; at most 80 characters.
func azName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			b[i] = '-'
		}
	}
	s = strings.TrimLeft(string(b), "_-.")
	if len(s) > 80 {
		s = s[:80]
	}
	s = strings.TrimRight(s, "-.")
	if s == "" {
		s = "rule"
	}
	return s
}

// validName accepts what a rule may name: DNS labels (letters, digits,
// '-', '_'), optionally led by "*.". Anything else (quotes, '$', spaces
// from a hostile log) never reaches a rule file.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	return ValidHostName(strings.TrimPrefix(s, "*."))
}

func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validSource accepts what a rule's source may be: an IP, a CIDR or "*".
func validSource(s string) bool {
	if s == "*" {
		return true
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// IsIPv6 reports whether s is an IPv6 address or prefix (an
// IPv4-mapped address is IPv4), which kensa writes into no rule.
func IsIPv6(s string) bool {
	if p, err := netip.ParsePrefix(s); err == nil {
		return !p.Addr().Unmap().Is4()
	}
	return is6(s)
}

// ValidSource reports whether s can be a rule's source address.
func ValidSource(s string) bool { return validSource(s) }

func parseTimeDate(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

// cgnat is RFC 6598 shared address space, used inside networks like
// RFC 1918 space.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// inbound reports whether every source is a public IPv4 address: a
// connection from the internet to the firewall (a scan of its public IP,
// the docs' own example), which no egress allow rule should answer. IPv6
// proves nothing (inside networks use global addresses), nor does a
// forward proxy's log (its clients are inside by definition).
func inbound(sources []string) bool {
	if len(sources) == 0 {
		return false
	}
	for _, s := range sources {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		if !a.Is4() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || cgnat.Contains(a) {
			return false
		}
	}
	return true
}
