package reach

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/egress"
	"golang.org/x/net/http/httpproxy"
)

// ParseDest reads one --dest value: "host" (HTTPS on 443), "host:port"
// (443 → https, 80 → http, any other port → a TCP connect only),
// "https://host[:port]", "http://host[:port]", "tls://host:port" (TCP and
// TLS, no HTTP) or "tcp://host:port". An IPv6 address is written in
// brackets. A path after the host is ignored.
func ParseDest(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Target{}, fmt.Errorf("empty destination")
	}
	proto := ""
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		proto = strings.ToLower(scheme)
		switch proto {
		case "https", "http", "tls", "tcp":
		default:
			return Target{}, fmt.Errorf("%q: scheme %q is not https, http, tls or tcp", s, scheme)
		}
		s = rest
		if i := strings.IndexAny(s, "/?#"); i >= 0 {
			s = s[:i]
		}
	}
	host, portStr := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, portStr = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	port := 0
	if portStr != "" {
		n, err := strconv.Atoi(portStr)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, portStr)
		}
		port = n
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if !validHost(host) {
		return Target{}, fmt.Errorf("%q: %q is not a host name or IP address", s, host)
	}
	switch {
	case proto == "" && port == 0:
		proto, port = "https", 443
	case proto == "" && port == 443:
		proto = "https"
	case proto == "" && port == 80:
		proto = "http"
	case proto == "":
		proto = "tcp"
	case port == 0 && proto == "http":
		port = 80
	case port == 0 && (proto == "https" || proto == "tls"):
		port = 443
	case port == 0:
		return Target{}, fmt.Errorf("%q: tcp:// needs a port", s)
	}
	return Target{Host: host, Port: port, Protocol: proto, Origin: "--dest"}, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
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
