package policy

import (
	_ "embed"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// tri is a three-valued match: a rule matches, does not, or may.
type tri int

const (
	no tri = iota
	maybe
	yes
)

// why is the reason a match is "maybe" (a code and the words for it).
type why struct{ code, detail string }

// and combines two conditions that must both hold.
func and(a tri, b tri) tri { return min(a, b) }

// matchFQDN matches host against an application rule's target FQDN, as
// the Azure Firewall FAQ's wildcard table says: "*" matches every name;
// "*.contoso.com" matches any name under contoso.com (at any depth) but
// not contoso.com; "*contoso.com" matches contoso.com and any name ending
// in it ("anycontoso.com" too); otherwise an exact, case-blind match. A
// "*" anywhere else ("www.contoso.*") is not supported and matches
// nothing.
func matchFQDN(pattern, host string) bool {
	p := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(pattern), "."))
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case p == "*":
		return true
	case strings.HasPrefix(p, "*."):
		rest := p[1:] // ".contoso.com"
		return !strings.Contains(rest, "*") && strings.HasSuffix(h, rest) && len(h) > len(rest)
	case strings.HasPrefix(p, "*"):
		rest := p[1:]
		return rest != "" && !strings.Contains(rest, "*") && strings.HasSuffix(h, rest)
	case strings.Contains(p, "*"):
		return false
	}
	return p == h
}

// addrSet is a parsed address entry: "*", an address, a CIDR or a range.
type addrSet struct {
	any      bool
	from, to netip.Addr
}

func parseAddrEntry(s string) (addrSet, bool) {
	s = strings.TrimSpace(s)
	if s == "*" || s == "0.0.0.0/0" || s == "::/0" || strings.EqualFold(s, "any") {
		return addrSet{any: true}, true
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		fa, e1 := netip.ParseAddr(strings.TrimSpace(a))
		fb, e2 := netip.ParseAddr(strings.TrimSpace(b))
		if e1 != nil || e2 != nil || fa.Is4() != fb.Is4() || fb.Less(fa) {
			return addrSet{}, false
		}
		return addrSet{from: fa.Unmap(), to: fb.Unmap()}, true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		return addrSet{from: p.Addr().Unmap(), to: lastAddr(p)}, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return addrSet{from: a, to: a}, true
	}
	return addrSet{}, false
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().Unmap().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func prefixRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	p = p.Masked()
	return p.Addr().Unmap(), lastAddr(p)
}

// covers says whether the set holds all of [from,to] (yes), part (maybe)
// or none (no).
func (s addrSet) covers(from, to netip.Addr) tri {
	if s.any {
		return yes
	}
	if from.Is4() != s.from.Is4() {
		return no
	}
	if to.Less(s.from) || s.to.Less(from) {
		return no
	}
	if !from.Less(s.from) && !s.to.Less(to) {
		return yes
	}
	return maybe
}

// private reports whether the set lies wholly in address space that a
// public name never resolves to (RFC 1918, RFC 6598, loopback,
// link-local, unique local), the assumption kensa makes about a
// destination name whose addresses were not given.
func (s addrSet) private() bool {
	if s.any {
		return false
	}
	for _, p := range privateSpace {
		f, t := prefixRange(p)
		if !s.from.Less(f) && !t.Less(s.to) {
			return true
		}
	}
	return false
}

var privateSpace = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::1/128"),
}

// matchPorts matches a network rule's destination ports ("*", "443",
// "1000-2000").
func matchPorts(ports []string, port int) tri {
	best := no
	for _, p := range ports {
		p = strings.TrimSpace(p)
		if p == "*" {
			return yes
		}
		a, b, isRange := strings.Cut(p, "-")
		lo, e1 := strconv.Atoi(strings.TrimSpace(a))
		hi := lo
		var e2 error
		if isRange {
			hi, e2 = strconv.Atoi(strings.TrimSpace(b))
		}
		if e1 != nil || e2 != nil {
			best = max(best, maybe)
			continue
		}
		if port >= lo && port <= hi {
			return yes
		}
	}
	return best
}

// ipProtoMatches says whether a network rule's protocols take the
// destination's protocol (TCP for HTTP, HTTPS, MSSQL).
func ipProtoMatches(protos []string, proto string) bool {
	want := "TCP"
	switch proto {
	case "udp":
		want = "UDP"
	case "icmp":
		want = "ICMP"
	}
	for _, p := range protos {
		if strings.EqualFold(p, "Any") || strings.EqualFold(p, want) {
			return true
		}
	}
	return false
}

// FQDN tags and service tags (embedded data).

//go:embed fqdntags.json
var fqdnTagsJSON []byte

//go:embed servicetags.json
var serviceTagsJSON []byte

// FQDNTag is one row of fqdntags.json.
type FQDNTag struct {
	Name       string   `json:"name"`
	Source     string   `json:"source"`
	AsOf       string   `json:"as_of"`
	Documented []string `json:"documented"`
}

type tagData struct {
	fqdn        map[string]*FQDNTag
	service     map[string]bool
	serviceFrom string
	serviceAsOf string
}

var (
	tagsOnce sync.Once
	tags     *tagData
)

func loadTags() *tagData {
	tagsOnce.Do(func() {
		var f struct {
			Tags []FQDNTag `json:"tags"`
		}
		if err := json.Unmarshal(fqdnTagsJSON, &f); err != nil {
			panic(err) // checked by the tests
		}
		var s struct {
			Source string   `json:"source"`
			AsOf   string   `json:"as_of"`
			Tags   []string `json:"tags"`
		}
		if err := json.Unmarshal(serviceTagsJSON, &s); err != nil {
			panic(err)
		}
		t := &tagData{fqdn: map[string]*FQDNTag{}, service: map[string]bool{}, serviceFrom: s.Source, serviceAsOf: s.AsOf}
		for i := range f.Tags {
			t.fqdn[strings.ToLower(f.Tags[i].Name)] = &f.Tags[i]
		}
		for _, n := range s.Tags {
			t.service[strings.ToLower(n)] = true
		}
		tags = t
	})
	return tags
}

// FQDNTags returns the FQDN tag data, for documentation and tests.
func FQDNTags() []FQDNTag {
	var out []FQDNTag
	for _, t := range loadTags().fqdn {
		out = append(out, *t)
	}
	return out
}

// isServiceTag reports whether s names a service tag kensa knows,
// possibly regional ("Storage.westeurope").
func isServiceTag(s string) bool {
	t := loadTags()
	l := strings.ToLower(s)
	if t.service[l] {
		return true
	}
	if i := strings.LastIndexByte(l, '.'); i > 0 {
		return t.service[l[:i]]
	}
	return false
}

// tagMember reports whether host is among the documented FQDNs of an
// FQDN tag (which uses the catalog's pattern form: "*.x" is one or more
// labels, an inner "*" one label), and the tag's row.
func tagMember(tag, host string) (bool, *FQDNTag) {
	t := loadTags().fqdn[strings.ToLower(tag)]
	if t == nil {
		return false, nil
	}
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range t.Documented {
		if patternMatch(p, h) {
			return true, t
		}
	}
	return false, t
}

// patternMatch is the catalog's host pattern match: a leading "*." is one
// or more labels, an inner "*" label exactly one.
func patternMatch(pattern, host string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == host
	}
	pl := strings.Split(pattern, ".")
	hl := strings.Split(host, ".")
	if pl[0] == "*" {
		pl = pl[1:]
		if len(hl) <= len(pl) {
			return false
		}
	} else if len(hl) != len(pl) {
		return false
	}
	off := len(hl) - len(pl)
	for i, l := range pl {
		if hl[off+i] == "" || (l != "*" && l != hl[off+i]) {
			return false
		}
	}
	return true
}
