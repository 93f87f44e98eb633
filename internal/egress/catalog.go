package egress

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

//go:embed catalog.json
var catalogJSON []byte

// Catalog is the list of services whose outbound destinations kensa
// knows, read from catalog.json (embedded). Each service carries its
// source document and the date it was checked.
type Catalog struct {
	About    string    `json:"about"`
	Services []Service `json:"services"`
}

// Service is one row of the catalog.
type Service struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Why    string `json:"why"`
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
	// Hosts are exact names or patterns ("*.data.mcr.microsoft.com").
	Hosts []string `json:"hosts"`
	// IPPorts match destinations that are IP addresses by port.
	IPPorts []ProtoPort `json:"ip_ports,omitempty"`
	// Emit is "host" (allow the name seen) or "pattern" (allow the
	// catalog's pattern, as the source document does).
	Emit       string      `json:"emit"`
	FQDNTag    string      `json:"fqdn_tag,omitempty"`
	Companions []Companion `json:"companions,omitempty"`
}

// ProtoPort is a protocol and port: "UDP" 1194, "Https" 443.
type ProtoPort struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// Companion is a host that usually comes with a service.
type Companion struct {
	Host     string `json:"host"`
	Protocol string `json:"protocol,omitempty"` // Http or Https (default)
	Port     int    `json:"port,omitempty"`     // default 443
}

// Match is a destination's service.
type Match struct {
	Service *Service
	// Pattern is the catalog pattern that matched ("" for a port match).
	Pattern string
	// Allow is the name a rule should allow: the host, or the pattern.
	Allow string
	// Companions are the service's companion hosts with "{*}" filled in.
	Companions []Companion
}

var (
	defaultCatalog     *Catalog
	defaultCatalogOnce sync.Once
)

// DefaultCatalog returns the embedded catalog.
func DefaultCatalog() *Catalog {
	defaultCatalogOnce.Do(func() {
		c, err := ParseCatalog(catalogJSON)
		if err != nil {
			panic(err) // the embedded file is checked by the tests
		}
		defaultCatalog = c
	})
	return defaultCatalog
}

// ParseCatalog reads a catalog and checks every row.
func ParseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		switch {
		case s.ID == "" || seen[s.ID]:
			return nil, fmt.Errorf("catalog: service %q: missing or repeated id", s.ID)
		case s.Name == "" || s.Source == "" || s.AsOf == "":
			return nil, fmt.Errorf("catalog: service %q: name, source and as_of are required", s.ID)
		case s.Emit != "host" && s.Emit != "pattern":
			return nil, fmt.Errorf("catalog: service %q: emit must be host or pattern", s.ID)
		}
		if _, err := parseTimeDate(s.AsOf); err != nil {
			return nil, fmt.Errorf("catalog: service %q: as_of %q: %v", s.ID, s.AsOf, err)
		}
		for _, h := range s.Hosts {
			if !validPattern(h) {
				return nil, fmt.Errorf("catalog: service %q: %q is not a host name or pattern", s.ID, h)
			}
		}
		seen[s.ID] = true
	}
	return &c, nil
}

// Match finds the service a destination belongs to: the most specific
// host pattern that matches, else (for an IP address) a port match.
func (c *Catalog) Match(host string, port int, proto string) *Match {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var best *Match
	bestScore := -1
	for i := range c.Services {
		s := &c.Services[i]
		for _, p := range s.Hosts {
			captured, ok := matchPattern(p, host)
			if !ok {
				continue
			}
			score := strings.Count(p, ".")*2 - strings.Count(p, "*")
			if score <= bestScore {
				continue
			}
			bestScore = score
			allow := host
			if s.Emit == "pattern" {
				allow = p
			}
			best = &Match{Service: s, Pattern: p, Allow: allow, Companions: fill(s.Companions, captured)}
		}
	}
	if best != nil || !isIP(host) {
		return best
	}
	for i := range c.Services {
		s := &c.Services[i]
		for _, pp := range s.IPPorts {
			if pp.Port == port && (strings.EqualFold(pp.Protocol, proto) || proto == "") {
				return &Match{Service: s, Allow: host}
			}
		}
	}
	return nil
}

func fill(cs []Companion, captured string) []Companion {
	var out []Companion
	for _, c := range cs {
		if strings.Contains(c.Host, "{*}") {
			if captured == "" {
				continue
			}
			c.Host = strings.ReplaceAll(c.Host, "{*}", captured)
		}
		if c.Protocol == "" {
			c.Protocol = "Https"
		}
		if c.Port == 0 {
			c.Port = 443
		}
		out = append(out, c)
	}
	return out
}

// matchPattern matches host against an exact name or a pattern. A leading
// "*." matches one or more labels (returned as captured); an inner "*"
// label matches exactly one.
func matchPattern(pattern, host string) (captured string, ok bool) {
	if !strings.Contains(pattern, "*") {
		return "", pattern == host
	}
	pl := strings.Split(pattern, ".")
	hl := strings.Split(host, ".")
	lead := pl[0] == "*"
	if lead {
		pl = pl[1:]
		if len(hl) <= len(pl) {
			return "", false
		}
	} else if len(hl) != len(pl) {
		return "", false
	}
	off := len(hl) - len(pl)
	for i, l := range pl {
		if l != "*" && l != hl[off+i] {
			return "", false
		}
		if l == "*" && hl[off+i] == "" {
			return "", false
		}
	}
	return strings.Join(hl[:off], "."), true
}

// validPattern accepts names and patterns made of DNS labels and "*".
func validPattern(p string) bool {
	if p == "" || len(p) > 253 {
		return false
	}
	for i, l := range strings.Split(p, ".") {
		if l == "*" {
			continue
		}
		if i == 0 && l == "{*}" {
			continue
		}
		if !validLabel(l) {
			return false
		}
	}
	return true
}
