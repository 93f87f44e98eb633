package egress

import (
	"bytes"
	"strings"
)

// This file reads Azure Firewall's legacy "msg" text (properties.msg, or
// the msg_s column of AzureDiagnostics). The grammar is irregular in real
// logs (see docs/egress.md and the reference): one or two spaces after the
// protocol, "ICMP Type=8", endpoints as ip:port, ip, "ip:" (empty port) or
// fqdn:port, an optional "Url: …" before the action, "Allow.." with two
// dots, a trailing ". ", un-keyed reasons ("No rule matched…", "Failed to
// resolve address…"), keyed segments ("Policy: …. Rule Collection Group:
// …"), an SNI-missing deny with no destination, DNAT lines without an
// action, and DNS proxy lines. The parser walks the line once, by
// position, instead of one big regular expression.

var (
	bRequestFrom = []byte("request from ")
	bTo          = []byte(" to ")
	bDNAT        = []byte(" was DNAT'ed to ")
	bWasDenied   = []byte("was denied")
	bURL         = []byte("Url: ")
	bDotAction   = []byte(". Action: ")
	bAction      = []byte("Action: ")
	bNoRule      = []byte("No rule matched")
	bResolve     = []byte("Failed to resolve address")
	bSNI         = []byte("SNI TLS extension was missing")
	bThreat      = []byte("ThreatIntel: ")
	bSignature   = []byte("Signature: ")
	bDNSRequest  = []byte("DNS Request: ")
	bDNSError    = []byte("Error: ")
)

// parseMsg parses one legacy msg line into ev (which the caller has
// reset). It returns false when the line is no msg of a known shape.
func parseMsg(s []byte, ev *Event) bool {
	s = bytes.TrimRight(s, " \t\r")
	if bytes.HasPrefix(s, bDNSRequest) {
		ev.Kind = KindDNS
		src, _, _ := bytes.Cut(s[len(bDNSRequest):], []byte(" "))
		host, _ := splitHostPort(src)
		ev.Src = append(ev.Src, host...) // a copy: ev outlives the line
		return true
	}
	if t := bytes.TrimLeft(s, " "); bytes.HasPrefix(t, bDNSError) {
		ev.Kind = KindDNS
		return true
	}
	// Protocol token: letters and digits.
	i := 0
	for i < len(s) && i < 12 && isAlnum(s[i]) {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ' ' {
		return false
	}
	ev.Proto = append(ev.Proto, s[:i]...)
	upper(ev.Proto)
	rest := trimSpaces(s[i:])
	if bytes.HasPrefix(rest, []byte("Type=")) { // ICMP Type=8
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return false
		}
		rest = trimSpaces(rest[j:])
	}
	if !bytes.HasPrefix(rest, bRequestFrom) {
		return false
	}
	srcTok, rest := cutToken(rest[len(bRequestFrom):])
	noDest := false
	if n := len(srcTok); n > 0 && srcTok[n-1] == '.' { // "from 10.1.2.3:7314. Action: Deny…"
		srcTok = srcTok[:n-1]
		noDest = true
	}
	src, _ := splitHostPort(srcTok)
	if len(src) == 0 {
		return false
	}
	ev.Src = append(ev.Src, src...)
	switch {
	case !noDest && bytes.HasPrefix(rest, bTo):
		var dst []byte
		dst, rest = cutToken(rest[len(bTo):])
		if bytes.HasPrefix(rest, bDNAT) {
			ev.Kind = KindNAT
			host, port := splitHostPort(dst)
			ev.Host = append(ev.Host, host...)
			ev.Port = port
			return true
		}
		dst = bytes.TrimRight(dst, ".")
		host, port := splitHostPort(dst)
		if len(host) == 0 {
			return false
		}
		ev.Host = append(ev.Host, host...)
		ev.Port = port
	case noDest, bytes.HasPrefix(trimSpaces(rest), bWasDenied):
		// SNI missing: no destination at all.
	default:
		return false
	}
	rest = trimSpaces(rest)
	if bytes.HasPrefix(rest, bURL) {
		k := bytes.Index(rest, bDotAction)
		if k < 0 {
			return false
		}
		rest = rest[k+2:]
	}
	switch {
	case bytes.HasPrefix(rest, bAction):
		rest = rest[len(bAction):]
		k := 0
		for k < len(rest) && rest[k] != '.' && rest[k] != ' ' {
			k++
		}
		ev.Action = parseAction(rest[:k])
		if ev.Action == ActionUnknown {
			return false
		}
		rest = rest[k:]
		for len(rest) > 0 && (rest[0] == '.' || rest[0] == ' ') {
			rest = rest[1:]
		}
	case bytes.HasPrefix(rest, bWasDenied):
		ev.Action = ActionDeny
		rest = rest[len(bWasDenied):]
		for len(rest) > 0 && (rest[0] == '.' || rest[0] == ' ') {
			rest = rest[1:]
		}
	default:
		return false
	}
	ev.Kind = KindTraffic
	classify(rest, ev)
	return true
}

// classify sets the reason (and rule text) from what follows the action.
func classify(rest []byte, ev *Event) {
	switch {
	case len(ev.Host) == 0:
		ev.Reason = ReasonSNIMissing
		return
	case bytes.HasPrefix(rest, bNoRule):
		ev.Reason = ReasonNoRule
	case bytes.HasPrefix(rest, bResolve):
		ev.Reason = ReasonUnresolved
		ev.Detail = append(ev.Detail, rest...)
	case bytes.Contains(rest, bSNI):
		ev.Reason = ReasonSNIMissing
	case bytes.HasPrefix(rest, bThreat):
		ev.Reason = ReasonThreatIntel
		ev.Rule = append(ev.Rule, rest...)
	case bytes.HasPrefix(rest, bSignature):
		ev.Reason = ReasonIDPS
		ev.Rule = append(ev.Rule, rest...)
	case len(rest) == 0:
		ev.Reason = ReasonDenied
	default:
		ev.Reason = ReasonRule
		ev.Rule = append(ev.Rule, rest...)
	}
	if ev.Reason != ReasonThreatIntel && ev.Reason != ReasonIDPS {
		switch ev.Action {
		case ActionAllow:
			ev.Reason = ReasonAllowed
		case ActionAlert:
			ev.Reason = ReasonNone
		}
	}
}

func parseAction(b []byte) Action {
	switch {
	case eqFold(b, "allow"):
		return ActionAllow
	case eqFold(b, "deny"), eqFold(b, "drop"), eqFold(b, "reject"):
		return ActionDeny
	case eqFold(b, "alert"), eqFold(b, "log"):
		return ActionAlert
	}
	return ActionUnknown
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

func upper(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}

// cutToken splits b at its first blank or control byte: a token ends there.
func cutToken(b []byte) (tok, rest []byte) {
	for i, c := range b {
		if c <= ' ' {
			return b[:i], b[i:]
		}
	}
	return b, nil
}

func trimSpaces(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return b
}

// msgKeys are the keyed segments of a msg, in the order they print.
var msgKeys = []string{"Policy", "Rule Collection Group", "Rule Collection", "Rule", "Web Category",
	"ThreatIntel", "Signature", "IDS", "Priority", "Classification", "Reason"}

// formatRule turns the raw segments after the action ("Policy: p. Rule
// Collection Group: g. Rule Collection: c. Rule: r. Web Category: w") into
// a compact path "p / g / c / r (web category w)". Unknown text is kept.
func formatRule(raw string) string {
	seg := splitSegments(raw)
	if seg == nil {
		return strings.TrimSpace(strings.TrimSuffix(raw, "."))
	}
	if v, ok := seg["ThreatIntel"]; ok {
		return v
	}
	if v, ok := seg["Signature"]; ok {
		s := "signature " + v
		if ids := seg["IDS"]; ids != "" {
			s += ": " + ids
		}
		if c := seg["Classification"]; c != "" {
			s += " (" + c + ")"
		}
		return s
	}
	var parts []string
	for _, k := range []string{"Policy", "Rule Collection Group", "Rule Collection", "Rule"} {
		if v := seg[k]; v != "" {
			parts = append(parts, v)
		}
	}
	s := strings.Join(parts, " / ")
	if v := seg["Web Category"]; v != "" {
		s += " (web category " + v + ")"
	}
	if v := seg["Reason"]; v != "" {
		s = strings.TrimSpace(s + " " + v)
	}
	return s
}

// splitSegments splits "Key: value. Key: value" on the known keys; values
// may hold dots, commas and spaces. nil when raw does not start with a key.
func splitSegments(raw string) map[string]string {
	key := leadingKey(raw)
	if key == "" {
		return nil
	}
	m := map[string]string{}
	for key != "" {
		raw = raw[len(key)+2:]
		end, next := len(raw), ""
		for i := 0; i+2 < len(raw); i++ {
			if raw[i] == '.' && raw[i+1] == ' ' {
				if k := leadingKey(raw[i+2:]); k != "" {
					end, next = i, k
					break
				}
			}
		}
		m[key] = strings.TrimSpace(strings.TrimSuffix(raw[:end], "."))
		if next == "" {
			break
		}
		raw = raw[end+2:]
		key = next
	}
	return m
}

func leadingKey(s string) string {
	best := ""
	for _, k := range msgKeys {
		if len(s) > len(k)+1 && s[:len(k)] == k && s[len(k)] == ':' && s[len(k)+1] == ' ' && len(k) > len(best) {
			best = k
		}
	}
	return best
}
