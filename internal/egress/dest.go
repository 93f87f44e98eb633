package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// A Dest is a destination as a user names it on the command line
// (--dest of egress whatif and egress check): a host, a port and the
// protocol the command will evaluate or probe.
type Dest struct {
	Host     string // lower case, without a trailing dot; an IP as written
	Port     int
	Protocol string
}

// A Scheme is a protocol a destination may name as SCHEME://host: its
// default port. Port 0 with NeedsPort false: the protocol has no port
// (icmp).
type Scheme struct {
	Name      string
	Port      int
	NeedsPort bool
}

// DestSyntax is what one command accepts as a destination: its schemes,
// in the order its errors list them, and the protocol a bare host:port
// gets from its port (any other port is plain TCP).
type DestSyntax struct {
	Schemes []Scheme
	ByPort  map[int]string
}

// ParseDest reads a destination as users write it: "pypi.org" (HTTPS on
// 443), "host:port" (the protocol from the port), "SCHEME://host[:port]",
// an IPv6 address in brackets ("[2001:db8::1]:443"; bare without a port).
// A path, query or fragment after the host is ignored; a trailing dot and
// upper case in the name are dropped. The host must be an IP address or a
// DNS name (ValidHostName).
func (sx DestSyntax) ParseDest(s string) (Dest, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return Dest{}, errors.New("empty destination")
	}
	var scheme *Scheme
	if name, after, ok := strings.Cut(rest, "://"); ok {
		for i := range sx.Schemes {
			if strings.EqualFold(sx.Schemes[i].Name, name) {
				scheme = &sx.Schemes[i]
			}
		}
		if scheme == nil {
			var names []string
			for _, sc := range sx.Schemes {
				names = append(names, sc.Name)
			}
			list := names[0]
			if n := len(names); n > 1 {
				list = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
			}
			return Dest{}, fmt.Errorf("%q: protocol %q is not %s", s, name, list)
		}
		rest = after
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	host, port := rest, ""
	switch {
	case strings.HasPrefix(rest, "["):
		i := strings.Index(rest, "]")
		if i < 0 {
			return Dest{}, fmt.Errorf("%q: unclosed [", s)
		}
		host, port = rest[1:i], rest[i+1:]
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return Dest{}, fmt.Errorf("%q: %q after the address is not :port", s, port)
			}
			port = p
		}
	case strings.Count(rest, ":") == 1:
		host, port, _ = strings.Cut(rest, ":")
	}
	d := Dest{Host: strings.ToLower(strings.TrimSuffix(host, "."))}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return Dest{}, fmt.Errorf("%q: port %q is not a number from 1 to 65535", s, port)
		}
		d.Port = n
	}
	if a, err := netip.ParseAddr(d.Host); err == nil && a.Zone() != "" {
		return Dest{}, fmt.Errorf("%q: %q names an interface zone: a destination beyond the firewall has none", s, d.Host)
	} else if err != nil && !ValidHostName(d.Host) {
		return Dest{}, fmt.Errorf("%q: %q is not a host name or IP address", s, d.Host)
	}
	switch {
	case scheme != nil:
		d.Protocol = scheme.Name
		if d.Port == 0 {
			if scheme.NeedsPort {
				return Dest{}, fmt.Errorf("%q: %s:// needs a port", s, scheme.Name)
			}
			d.Port = scheme.Port
		}
	case d.Port == 0:
		d.Protocol, d.Port = "https", 443
	default:
		d.Protocol = sx.ByPort[d.Port]
		if d.Protocol == "" {
			d.Protocol = "tcp"
		}
	}
	return d, nil
}

// ValidHostName reports whether h is a DNS name kensa accepts from a user
// or puts in a rule: labels of lower-case letters, digits, '-' and '_',
// none empty or longer than 63 bytes or starting or ending with '-', at
// most 253 bytes in all.
func ValidHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !validLabel(l) {
			return false
		}
	}
	return true
}
