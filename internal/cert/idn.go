package cert

import (
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Internationalized domain names (IDNA 2008, RFC 5890-5891, with the
// UTS #46 mapping browsers apply). A certificate carries every DNS name as
// ASCII: a label such as 例え is written as its A-label xn--r8jz45g (an
// X.509 dNSName is an IA5String, RFC 5280 §4.2.1.6). Operators type the
// Unicode form. kensa converts every name it is given (--servername, a
// targets file's servernames and addresses, --connect hosts) to A-labels
// before it resolves it, sends it as SNI or matches it, and shows both
// forms in messages.
//
// The conversion uses the Lookup profile, the one for names a user looks
// up rather than registers: it maps what an input method produces (upper
// case, full-width letters, the ideographic full stop 。) as a browser's
// address bar does, then rejects what IDNA disallows. The Registration
// profile would refuse those mappings, and an operator copying 例え。ＪＰ from
// a ticket means 例え.jp.

// ASCIIName converts a DNS name as a user wrote it to the ASCII form
// certificates and the DNS use. An IP address, and an ASCII name without
// an "xn--" label, is returned unchanged (IDNA's STD3 rules would refuse
// an underscore that internal host names sometimes carry). A leading
// wildcard label "*." is kept. A name IDNA rejects is an error that says
// why.
func ASCIIName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", &NameError{fmt.Errorf("empty name")}
	}
	if net.ParseIP(strings.Trim(n, "[]")) != nil {
		return n, nil
	}
	if isASCII(n) && !hasACELabel(n) {
		return n, nil
	}
	if !utf8.ValidString(n) {
		// idna would turn the bad bytes into U+FFFD and encode that.
		return "", &NameError{fmt.Errorf("%q is not valid UTF-8 (check the terminal's or the file's encoding: kensa reads UTF-8)", name)}
	}
	wild, rest := "", n
	if r, ok := strings.CutPrefix(n, "*."); ok {
		wild, rest = "*.", r
	}
	a, err := idna.Lookup.ToASCII(rest)
	if err != nil {
		return "", &NameError{fmt.Errorf("%q is not a valid internationalized domain name: %w", name, err)}
	}
	// The Lookup profile leaves DNS lengths unchecked: an empty label
	// ("例え..jp", or "xn--" alone, which decodes to nothing) or a label
	// over 63 bytes could never be a certificate's name.
	labels := strings.Split(strings.TrimSuffix(a, "."), ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", &NameError{fmt.Errorf("%q is not a valid domain name: each label must be 1 to 63 characters once converted to ASCII (%q)", name, a)}
		}
	}
	if len(a) > 253 {
		return "", &NameError{fmt.Errorf("%q is not a valid domain name: longer than 253 characters once converted to ASCII", name)}
	}
	return wild + a, nil
}

// NameError is ASCIIName's error: a name IDNA (or DNS) refuses.
type NameError struct{ Err error }

func (e *NameError) Error() string { return e.Err.Error() }
func (e *NameError) Unwrap() error { return e.Err }

// lenientASCII is ASCIIName for matching: a name that does not convert is
// matched as written (it then matches nothing a certificate can hold).
func lenientASCII(name string) string {
	if a, err := ASCIIName(name); err == nil {
		return a
	}
	return name
}

// DisplayName shows a DNS name for people: "例え.jp (xn--r8jz45g.jp)" when
// it has (or converts to) A-labels that decode, the name unchanged otherwise (an ASCII
// name, an IP address, or an A-label that is not valid IDNA, which is
// shown as the certificate or the user wrote it).
func DisplayName(name string) string {
	name = lenientASCII(name)
	if !isASCII(name) || !hasACELabel(name) {
		return name
	}
	wild, rest := "", name
	if r, ok := strings.CutPrefix(name, "*."); ok {
		wild, rest = "*.", r
	}
	u, err := idna.Lookup.ToUnicode(rest)
	if err != nil || strings.EqualFold(u, rest) || strings.Contains(u, "..") || strings.HasPrefix(u, ".") {
		return name
	}
	return wild + u + " (" + name + ")"
}

// DisplayNames is DisplayName over a list, joined for a message.
func DisplayNames(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = DisplayName(n)
	}
	return strings.Join(out, ", ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasACELabel reports whether a label of s starts with the IDNA ACE
// prefix "xn--".
func hasACELabel(s string) bool {
	for l := range strings.SplitSeq(s, ".") {
		if len(l) >= 4 && strings.EqualFold(l[:4], "xn--") {
			return true
		}
	}
	return false
}

// SNIName converts a server name to send with SNI and check (--servername,
// a targets file's servernames) to its A-labels and checks that it is a
// host name a client can send (RFC 6066 §3): letters, digits and hyphens
// in labels of 1 to 63 characters, no hyphen at either end of a label, no
// IP address and no wildcard.
func SNIName(name string) (string, error) {
	a, err := ASCIIName(name)
	if err != nil {
		return "", err
	}
	if net.ParseIP(strings.Trim(a, "[]")) != nil {
		return "", &NameError{fmt.Errorf("%q is an IP address: SNI carries host names only (RFC 6066 §3); give the address with --connect and the name the certificate covers with --servername", name)}
	}
	if strings.HasPrefix(a, "*.") {
		return "", &NameError{fmt.Errorf("%q is a wildcard: a client sends one host name; give a name the wildcard covers (www.%s)", name, a[2:])}
	}
	for _, l := range strings.Split(strings.TrimSuffix(a, "."), ".") {
		if l == "" || len(l) > 63 {
			return "", &NameError{fmt.Errorf("%q is not a host name: each label must be 1 to 63 characters", name)}
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", &NameError{fmt.Errorf("%q is not a host name: a label cannot start or end with a hyphen", name)}
		}
		for _, c := range []byte(l) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return "", &NameError{fmt.Errorf("%q is not a host name: %q is not a letter, digit or hyphen", name, rune(c))}
			}
		}
	}
	return a, nil
}
