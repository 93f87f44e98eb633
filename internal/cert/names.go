package cert

import (
	"crypto/x509"
	"net"
	"strings"
)

// Name matching, as TLS clients do it (RFC 6125 §6.4.3, the CA/B BR and
// Go's crypto/x509): a wildcard is only a whole leftmost label, and it
// stands for exactly one non-empty label. "*.example.com" covers
// "a.example.com", not "example.com" and not "a.b.example.com". A wildcard
// name itself is covered only by the same wildcard. The subject common
// name is ignored, as modern clients ignore it.

// normalizeName lower-cases a DNS name and drops a trailing dot.
func normalizeName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// Covers reports whether certificate c is valid for name (a DNS name, a
// wildcard name, or an IP address). A Unicode name is matched by its
// A-labels, as certificates carry them.
func Covers(c *x509.Certificate, name string) bool {
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		for _, a := range c.IPAddresses {
			if a.Equal(ip) {
				return true
			}
		}
		return false
	}
	name = lenientASCII(name)
	for _, p := range c.DNSNames {
		if matchName(p, name) {
			return true
		}
	}
	return false
}

// matchName reports whether the SAN pattern covers name.
func matchName(pattern, name string) bool {
	pattern, name = normalizeName(pattern), normalizeName(name)
	if pattern == "" || name == "" {
		return false
	}
	if pattern == name {
		return true
	}
	rest, ok := strings.CutPrefix(pattern, "*.")
	if !ok || strings.HasPrefix(name, "*.") {
		return false
	}
	label, domain, ok := strings.Cut(name, ".")
	return ok && label != "" && domain == rest && strings.Contains(rest, ".")
}

// CompareNames returns the names of old that new does not cover (dropped)
// and the names of new that old did not cover (added).
func CompareNames(oldCert, newCert *x509.Certificate) (dropped, added []string) {
	for _, n := range SANs(oldCert) {
		if isDNSOrIP(n) && !Covers(newCert, n) {
			dropped = append(dropped, n)
		}
	}
	for _, n := range SANs(newCert) {
		if isDNSOrIP(n) && !Covers(oldCert, n) {
			added = append(added, n)
		}
	}
	return dropped, added
}

// isDNSOrIP reports whether a SAN string is a DNS name or an IP address
// (not a URI or an e-mail address).
func isDNSOrIP(s string) bool {
	return (!strings.Contains(s, ":") && !strings.Contains(s, "@")) || net.ParseIP(s) != nil
}
