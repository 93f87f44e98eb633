package egress

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// A profile is a named set of destinations one workload needs: "App
// Service on Linux building a Python app" needs its own SCM site (Kudu's
// self-call), Oryx's CDN, pypi.org and files.pythonhosted.org. Profiles
// are what egress whatif evaluates against a firewall policy and what
// egress check probes from inside the network, before a deploy finds the
// gaps one HTTP 500 at a time.
//
// The profiles live in profiles.json (embedded). They hold no host facts
// of their own: every destination names its service in the catalog
// (catalog.json), whose row carries the hosts, the source document and
// the as-of date, and a profile's host must be one of that service's host
// patterns. A destination adds what only the profile knows: port and
// protocol, what fails without it in the user's words, and for a wildcard
// either a concrete example host or what the "*" stands for (Fill).

//go:embed profiles.json
var profilesJSON []byte

// Profile is a named set of destinations a workload needs (a catalog profile).
type Profile struct {
	Name         string // "appservice-linux-python"
	Title        string
	Destinations []ProfileDestination
	// Notes are requirements of the same document that are no host
	// (service tags, the API server's IP), in the user's terms.
	Notes []string
}

// ProfileDestination is one destination of a profile.
type ProfileDestination struct {
	Host     string // FQDN or wildcard "*.scm.azurewebsites.net" (a wildcard needs a concrete example host for probing: Example)
	Example  string // concrete host to probe for a wildcard, "" otherwise
	Port     int
	Protocol string // "https", "http", "tcp", "udp"
	Service  string // catalog service id, as egress analyze names it in JSON ("kudu", "pypi")
	Why      string // what fails without it, in the user's terms
	Source   string // document it comes from
	AsOf     string // YYYY-MM-DD

	// ServiceName is the catalog service's display name ("pip (PyPI)"),
	// as egress analyze's text output names it.
	ServiceName string
	// Fill says what the wildcard's "*" stands for when only one name is
	// right and kensa cannot know it: "app" (the App Service / Functions
	// app's name), "storage-account", "aks-api-server" (the cluster's
	// DNS prefix and location). Such a destination has no Example: call
	// [Profile.Bind] with the user's names to make it concrete.
	Fill string
}

// Concrete reports whether the destination names one host that can be
// probed or evaluated: a plain FQDN, or a wildcard with an Example.
func (d ProfileDestination) Concrete() string {
	if !strings.Contains(d.Host, "*") {
		return d.Host
	}
	return d.Example
}

// Bind returns the profile with every Fill destination whose name is in
// names made concrete: names["app"] = "contoso-api" turns
// "*.scm.azurewebsites.net" into "contoso-api.scm.azurewebsites.net".
// For "aks-api-server" a dotted value replaces the whole host (the API
// server's FQDN); for the others a host name given instead of a name
// ("orders-api.azurewebsites.net") counts by its first label.
// Destinations whose name is missing stay as they are.
func (p Profile) Bind(names map[string]string) Profile {
	out := p
	out.Destinations = make([]ProfileDestination, len(p.Destinations))
	for i, d := range p.Destinations {
		if v := names[d.Fill]; d.Fill != "" && v != "" {
			v = strings.ToLower(strings.TrimSuffix(v, "."))
			if d.Fill == "aks-api-server" && strings.Contains(v, ".") {
				d.Host = v // the API server's whole name
			} else {
				// An app or account named by one of its host names
				// ("orders-api.azurewebsites.net"): its first label.
				label, _, _ := strings.Cut(v, ".")
				d.Host = strings.Replace(d.Host, "*", label, 1)
			}
			d.Fill = ""
			d.Example = ""
		}
		out.Destinations[i] = d
	}
	return out
}

// Fills lists the names the profile's unbound destinations need ("app").
func (p Profile) Fills() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range p.Destinations {
		if d.Fill != "" && !seen[d.Fill] {
			seen[d.Fill] = true
			out = append(out, d.Fill)
		}
	}
	return out
}

type profileFile struct {
	About    string        `json:"about"`
	AsOf     string        `json:"as_of"`
	Profiles []profileJSON `json:"profiles"`
}

type profileJSON struct {
	Name         string     `json:"name"`
	Title        string     `json:"title"`
	Notes        []string   `json:"notes"`
	Include      []string   `json:"include"`
	Destinations []destJSON `json:"destinations"`
}

type destJSON struct {
	Service  string `json:"service"`
	Host     string `json:"host"`
	Example  string `json:"example"`
	Fill     string `json:"fill"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	Why      string `json:"why"`
	Source   string `json:"source"`
	AsOf     string `json:"as_of"`
}

var (
	profilesOnce sync.Once
	profilesList []Profile
)

// Profiles returns the embedded profiles, sorted by name.
func Profiles() []Profile {
	profilesOnce.Do(func() {
		ps, err := parseProfiles(profilesJSON, DefaultCatalog())
		if err != nil {
			panic(err) // the embedded file is checked by the tests
		}
		profilesList = ps
	})
	out := make([]Profile, len(profilesList))
	for i, p := range profilesList {
		p.Destinations = append([]ProfileDestination(nil), p.Destinations...)
		p.Notes = append([]string(nil), p.Notes...)
		out[i] = p
	}
	return out
}

// LookupProfile returns the profile called name; the error lists the
// known names.
func LookupProfile(name string) (Profile, error) {
	ps := Profiles()
	var names []string
	for _, p := range ps {
		if strings.EqualFold(p.Name, strings.TrimSpace(name)) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("unknown profile %q (known: %s)", name, strings.Join(names, ", "))
}

var fillNames = map[string]bool{"app": true, "storage-account": true, "aks-api-server": true}

// parseProfiles reads profiles.json and resolves every destination
// against the catalog: a destination whose service is unknown or whose
// host is not one of that service's hosts is an error, so the two files
// cannot drift apart.
func parseProfiles(data []byte, cat *Catalog) ([]Profile, error) {
	var f profileFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("reading the profiles: %w", err)
	}
	if _, err := parseTimeDate(f.AsOf); err != nil {
		return nil, fmt.Errorf("profiles: as_of %q: %v", f.AsOf, err)
	}
	byName := map[string]*profileJSON{}
	for i := range f.Profiles {
		p := &f.Profiles[i]
		if p.Name == "" || p.Title == "" || byName[p.Name] != nil {
			return nil, fmt.Errorf("profiles: profile %q: missing or repeated name, or no title", p.Name)
		}
		byName[p.Name] = p
	}
	services := map[string]*Service{}
	for i := range cat.Services {
		services[cat.Services[i].ID] = &cat.Services[i]
	}
	var out []Profile
	for _, p := range f.Profiles {
		prof := Profile{Name: p.Name, Title: p.Title}
		if err := expandProfile(&prof, p, byName, services, f.AsOf, map[string]bool{}); err != nil {
			return nil, err
		}
		if len(prof.Destinations) == 0 {
			return nil, fmt.Errorf("profiles: profile %q has no destinations", p.Name)
		}
		out = append(out, prof)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func expandProfile(prof *Profile, p profileJSON, byName map[string]*profileJSON, services map[string]*Service, asOf string, visiting map[string]bool) error {
	if visiting[p.Name] {
		return fmt.Errorf("profiles: profile %q includes itself", p.Name)
	}
	visiting[p.Name] = true
	defer delete(visiting, p.Name)
	for _, inc := range p.Include {
		ip := byName[inc]
		if ip == nil {
			return fmt.Errorf("profiles: profile %q includes unknown profile %q", p.Name, inc)
		}
		if err := expandProfile(prof, *ip, byName, services, asOf, visiting); err != nil {
			return err
		}
	}
	prof.Notes = append(prof.Notes, p.Notes...)
	for _, d := range p.Destinations {
		pd, err := resolveDestination(d, services, asOf)
		if err != nil {
			return fmt.Errorf("profiles: profile %q: %w", p.Name, err)
		}
		dup := false
		for _, x := range prof.Destinations {
			dup = dup || (x.Host == pd.Host && x.Port == pd.Port && x.Protocol == pd.Protocol)
		}
		if !dup {
			prof.Destinations = append(prof.Destinations, pd)
		}
	}
	return nil
}

func resolveDestination(d destJSON, services map[string]*Service, asOf string) (ProfileDestination, error) {
	s := services[d.Service]
	if s == nil {
		return ProfileDestination{}, fmt.Errorf("destination %q: unknown catalog service %q", d.Host, d.Service)
	}
	inCatalog := false
	for _, h := range s.Hosts {
		if h == d.Host {
			inCatalog = true
		} else if _, ok := matchPattern(h, d.Host); ok && !strings.Contains(d.Host, "*") {
			inCatalog = true
		}
	}
	if !inCatalog {
		return ProfileDestination{}, fmt.Errorf("destination %q is not a host of catalog service %q", d.Host, d.Service)
	}
	pd := ProfileDestination{
		Host: d.Host, Example: d.Example, Port: d.Port, Protocol: strings.ToLower(d.Protocol),
		Service: s.ID, ServiceName: s.Name, Why: d.Why, Source: s.Source, AsOf: s.AsOf, Fill: d.Fill,
	}
	if d.Source != "" {
		pd.Source, pd.AsOf = d.Source, asOf
		if d.AsOf != "" {
			pd.AsOf = d.AsOf
		}
	}
	if pd.Port == 0 {
		pd.Port = 443
	}
	if pd.Protocol == "" {
		pd.Protocol = "https"
	}
	switch {
	case pd.Why == "":
		return pd, fmt.Errorf("destination %q: no why", d.Host)
	case pd.Protocol != "https" && pd.Protocol != "http" && pd.Protocol != "tcp" && pd.Protocol != "udp":
		return pd, fmt.Errorf("destination %q: protocol %q is not https, http, tcp or udp", d.Host, pd.Protocol)
	case pd.Port < 1 || pd.Port > 65535:
		return pd, fmt.Errorf("destination %q: port %d out of range", d.Host, pd.Port)
	case pd.Fill != "" && !fillNames[pd.Fill]:
		return pd, fmt.Errorf("destination %q: fill %q is not app, storage-account or aks-api-server", d.Host, pd.Fill)
	case strings.Contains(pd.Host, "*") && pd.Fill == "" && pd.Example == "":
		return pd, fmt.Errorf("destination %q: a wildcard needs an example host or a fill", d.Host)
	case pd.Example != "":
		if _, ok := matchPattern(pd.Host, pd.Example); !ok {
			return pd, fmt.Errorf("destination %q: example %q does not match it", d.Host, pd.Example)
		}
	}
	if _, err := parseTimeDate(pd.AsOf); err != nil {
		return pd, fmt.Errorf("destination %q: as_of %q: %v", d.Host, pd.AsOf, err)
	}
	return pd, nil
}
