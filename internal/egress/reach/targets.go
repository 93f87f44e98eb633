package reach

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"

	"github.com/kensa-project/kensa/internal/egress"
	"golang.org/x/net/http/httpproxy"
)

// destSyntax is what --dest of egress check takes: what it can probe.
var destSyntax = egress.DestSyntax{
	Schemes: []egress.Scheme{{Name: "https", Port: 443}, {Name: "http", Port: 80}, {Name: "tls", Port: 443}, {Name: "tcp", NeedsPort: true}},
	ByPort:  map[int]string{443: "https", 80: "http"},
}

// ParseDest reads one --dest value (egress.DestSyntax): "host" (HTTPS on
// 443), "host:port" (443 → https, 80 → http, any other port → a TCP
// connect only), "https://host[:port]", "http://host[:port]",
// "tls://host:port" (TCP and TLS, no HTTP) or "tcp://host:port". An IPv6
// address is written in brackets. A path after the host is ignored.
func ParseDest(s string) (Target, error) {
	d, err := destSyntax.ParseDest(s)
	if err != nil {
		return Target{}, err
	}
	return Target{Host: d.Host, Port: d.Port, Protocol: d.Protocol, Origin: "--dest"}, nil
}

// validHost: an IP address or a DNS name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return egress.ValidHostName(h)
}

// JoinCatalog fills in the service of every target the catalog knows and
// that has none yet.
func JoinCatalog(ts []Target, cat *egress.Catalog) {
	for i := range ts {
		t := &ts[i]
		if t.Service != nil {
			continue
		}
		proto := "Https"
		if t.Protocol == "http" {
			proto = "Http"
		}
		m := cat.Match(t.Host, t.Port, proto)
		if m == nil || m.Service == nil {
			continue
		}
		s := m.Service
		t.Service = &Service{ID: s.ID, Name: s.Name, Why: s.Why, Source: s.Source, AsOf: s.AsOf}
	}
}

// FromProfile returns the profile's destinations as targets. A
// destination that needs a name of the user's (the app's SCM site, a
// storage account) and has none is returned in unbound, by its host
// pattern, so the caller can say which flag fills it. UDP destinations
// cannot be probed and are returned in skipped.
func FromProfile(p egress.Profile) (ts []Target, unbound, skipped []egress.ProfileDestination) {
	for _, d := range p.Destinations {
		host := d.Concrete()
		if d.Protocol == "udp" {
			skipped = append(skipped, d)
			continue
		}
		if host == "" || strings.Contains(host, "*") {
			unbound = append(unbound, d)
			continue
		}
		proto := d.Protocol
		if proto == "tcp" && d.Port == 443 {
			proto = "https"
		}
		ts = append(ts, Target{Host: host, Port: d.Port, Protocol: proto, Origin: "profile " + p.Name,
			Service: &Service{ID: d.Service, Name: d.ServiceName, Why: d.Why, Source: d.Source, AsOf: d.AsOf}})
	}
	return ts, unbound, skipped
}

// FromLog returns the denied destinations of an egress analysis as
// targets (named hosts and IP addresses with a port; UDP and ICMP are
// left out and counted in skipped).
func FromLog(res *egress.Result, file string) (ts []Target, skipped int) {
	for _, d := range res.Destinations {
		if d.Action != egress.ActionDeny || d.Host == "" || d.Port <= 0 {
			continue
		}
		proto := ""
		switch strings.ToUpper(d.Proto) {
		case "HTTPS":
			proto = "https"
		case "HTTP":
			proto = "http"
		case "TCP", "":
			switch d.Port {
			case 443:
				proto = "https"
			case 80:
				proto = "http"
			default:
				proto = "tcp"
			}
		default:
			skipped++
			continue
		}
		host := strings.ToLower(d.Host)
		if !validHost(host) {
			skipped++
			continue
		}
		t := Target{Host: host, Port: d.Port, Protocol: proto, Origin: "log " + file}
		if m := d.Service; m != nil && m.Service != nil {
			s := m.Service
			t.Service = &Service{ID: s.ID, Name: s.Name, Why: s.Why, Source: s.Source, AsOf: s.AsOf}
		}
		ts = append(ts, t)
	}
	return ts, skipped
}

// Dedupe drops repeated host, port and protocol, keeping the first.
func Dedupe(ts []Target) []Target {
	seen := map[string]bool{}
	out := ts[:0]
	for _, t := range ts {
		k := t.Protocol + "://" + t.Address()
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// ProxyFromEnv returns the proxy function the workload would use with
// these environment variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY and
// their lower-case forms, as curl and Go read them), or nil when none is
// set. As in Go's and curl's reading, "localhost" and loopback addresses
// never go through the proxy.
func ProxyFromEnv(getenv func(string) string) func(*url.URL) (*url.URL, error) {
	get := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return getenv(strings.ToLower(k))
	}
	c := httpproxy.Config{HTTPProxy: get("HTTP_PROXY"), HTTPSProxy: get("HTTPS_PROXY"), NoProxy: get("NO_PROXY")}
	if c.HTTPProxy == "" && c.HTTPSProxy == "" {
		return nil
	}
	return c.ProxyFunc()
}

// DescribeEnvProxy says which proxy the environment names, for the
// report: "http://10.0.0.4:3128 from the environment (HTTPS_PROXY;
// NO_PROXY=.internal)", credentials left out.
func DescribeEnvProxy(getenv func(string) string) string {
	get := func(k string) (string, string) {
		if v := getenv(k); v != "" {
			return v, k
		}
		return getenv(strings.ToLower(k)), strings.ToLower(k)
	}
	v, name := get("HTTPS_PROXY")
	if v == "" {
		v, name = get("HTTP_PROXY")
	}
	desc := "from the environment (" + name
	if u, err := ParseProxy(v); err == nil {
		desc = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String() + " " + desc
	}
	if np, _ := get("NO_PROXY"); np != "" {
		desc += "; NO_PROXY=" + np
	}
	return desc + ")"
}

// FixedProxy returns a proxy function that sends everything to u.
func FixedProxy(u *url.URL) func(*url.URL) (*url.URL, error) {
	return func(*url.URL) (*url.URL, error) { return u, nil }
}

// ParseProxy reads a --proxy value: http://host:port, https://host:port,
// or host:port (taken as http://).
func ParseProxy(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: kensa speaks to http:// and https:// proxies", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("no host")
	}
	return u, nil
}

// SystemResolvers returns the nameservers of resolv.conf (at most 3,
// as the resolver uses), or nil.
func SystemResolvers(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() && len(out) < 3 {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "nameserver" && net.ParseIP(fields[1]) != nil {
			out = append(out, net.JoinHostPort(fields[1], "53"))
		}
	}
	return out
}
