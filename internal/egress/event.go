package egress

import (
	"bytes"
	"net/netip"
	"time"
)

// Action is what the firewall or proxy did with a connection.
type Action uint8

// Actions. Drop (an IDPS "drop") is a deny.
const (
	ActionUnknown Action = iota
	ActionAllow
	ActionDeny
	ActionAlert
)

func (a Action) String() string {
	switch a {
	case ActionAllow:
		return "allow"
	case ActionDeny:
		return "deny"
	case ActionAlert:
		return "alert"
	}
	return "unknown"
}

// Reason says why a connection got its action. The strings are the
// "reason" field of a result.
type Reason uint8

// Reasons.
const (
	ReasonNone Reason = iota
	// ReasonNoRule: no rule matched, the default action denied it. An
	// allow rule fixes it.
	ReasonNoRule
	// ReasonDenied: denied, and the log names no rule (older network rule
	// logs). Most often the default action.
	ReasonDenied
	// ReasonRule: a named rule of the user's own denied it.
	ReasonRule
	// ReasonUnresolved: the firewall could not resolve the name itself.
	ReasonUnresolved
	// ReasonSNIMissing: a TLS connection without SNI; there is no name.
	ReasonSNIMissing
	// ReasonThreatIntel: threat intelligence denied or alerted.
	ReasonThreatIntel
	// ReasonIDPS: an IDPS signature dropped or alerted.
	ReasonIDPS
	// ReasonProxy: a proxy's access rules denied it (Squid TCP_DENIED/403).
	ReasonProxy
	// ReasonAllowed: allowed (by a rule, named in Rule where the log says).
	ReasonAllowed
)

var reasonNames = [...]string{
	ReasonNone:        "",
	ReasonNoRule:      "no-rule-matched",
	ReasonDenied:      "denied",
	ReasonRule:        "denied-by-rule",
	ReasonUnresolved:  "name-unresolved",
	ReasonSNIMissing:  "sni-missing",
	ReasonThreatIntel: "threat-intel",
	ReasonIDPS:        "idps",
	ReasonProxy:       "denied-by-proxy",
	ReasonAllowed:     "allowed",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// NeedsAllowRule reports whether a deny for this reason is fixed by an
// allow rule: the default action or an allowlist proxy denied it, not a
// rule, threat intelligence or IDPS of the user's own.
func (r Reason) NeedsAllowRule() bool {
	return r == ReasonNoRule || r == ReasonDenied || r == ReasonProxy
}

// Kind is what a record is about.
type Kind uint8

// Kinds of record.
const (
	KindUnknown Kind = iota
	// KindTraffic is a connection with an action.
	KindTraffic
	// KindDNS is a DNS proxy query (counted, not a destination).
	KindDNS
	// KindNAT is an inbound DNAT record (ignored: not egress).
	KindNAT
	// KindOther is a record of a known format that carries no verdict
	// (an AWS netflow or tls event, a Squid 407 authentication challenge).
	KindOther
	// KindAuth is a proxy authentication challenge (Squid 407).
	KindAuth
	// KindNoRequest is a connection the proxy logged without handling a
	// request: Squid's NONE tags (NONE/000, TAG_NONE/000, NONE_NONE/000,
	// with or without _ABORTED/_TIMEDOUT) for a client that closed before
	// sending one, a TLS handshake or a parse error before the request,
	// or an error before Squid chose a handling path. Neither allowed nor
	// denied: counted apart, never listed as traffic.
	KindNoRequest
)

// Event is one record. Its byte slices are its own copies, reused from
// record to record (never aliases of the read buffer, which the reader
// refills while the event lives on).
type Event struct {
	Kind Kind
	// Time is Unix nanoseconds, 0 when the record has no time.
	Time   int64
	Proto  []byte // HTTPS, HTTP, TCP, UDP, ICMP…
	Src    []byte // source IP
	Host   []byte // FQDN, or IP where the log has no name
	Port   int    // -1 when none
	Action Action
	Reason Reason
	// Rule names the rule, threat or signature (raw; see formatRule).
	Rule []byte
	// Detail is extra text: the resolution error, the proxy status.
	Detail []byte
	// Family is the firewall that wrote the record.
	Family Family
}

// Family is the kind of firewall or proxy a record comes from: rules are
// written for one of them.
type Family uint8

// Families. The zero value is Azure Firewall, whose readers are the most.
const (
	FamilyAzure Family = iota
	FamilyAWS
	FamilySquid
	numFamilies
)

func (f Family) String() string {
	return [...]string{"Azure Firewall", "AWS Network Firewall", "Squid"}[f]
}

func (e *Event) reset() {
	*e = Event{Port: -1, Proto: e.Proto[:0], Src: e.Src[:0], Host: e.Host[:0], Rule: e.Rule[:0], Detail: e.Detail[:0]}
}

// splitHostPort splits "host:port", "host:", "host", "[v6]:port" and a bare
// IPv6 address. port is -1 when absent or not a number.
func splitHostPort(b []byte) (host []byte, port int) {
	if len(b) > 0 && b[0] == '[' {
		if i := bytes.IndexByte(b, ']'); i > 0 {
			host = b[1:i]
			rest := b[i+1:]
			if len(rest) > 1 && rest[0] == ':' {
				return host, atoiPort(rest[1:])
			}
			return host, -1
		}
	}
	i := bytes.LastIndexByte(b, ':')
	if i < 0 {
		return b, -1
	}
	if bytes.IndexByte(b[:i], ':') >= 0 { // bare IPv6
		return b, -1
	}
	return b[:i], atoiPort(b[i+1:])
}

// atoiPort parses a port number 0-65535, or returns -1.
func atoiPort(b []byte) int {
	if len(b) == 0 || len(b) > 5 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return -1
	}
	return n
}

// isIP reports whether s is an IP address (so the destination has no name).
func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// parseTime parses the timestamps the formats use, fast and without
// allocating: RFC 3339 with or without fraction, "T" or space, and a zone
// of Z, ±hh:mm, ±hhmm or none (UTC). It returns Unix nanoseconds.
func parseTime(b []byte) (int64, bool) {
	// YYYY-MM-DD?HH:MM:SS
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return 0, false
	}
	rest := b[19:]
	var nanos int64
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := int64(100000000)
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			nanos += int64(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var offset int64
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		if len(z) == 5 && z[2] == ':' { // ±hh:mm → ±hhmm
			z = []byte{z[0], z[1], z[3], z[4]}
		} else if len(z) == 2 { // ±hh
			z = []byte{z[0], z[1], '0', '0'}
		}
		hh, ok := digits(z[:min(2, len(z))])
		mm, ok2 := digits(z[min(2, len(z)):])
		if len(z) != 4 || !ok || !ok2 || hh > 23 || mm > 59 {
			return 0, false
		}
		offset = int64(hh*3600 + mm*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	days := daysFromCivil(year, month, day)
	secs := days*86400 + int64(hour*3600+minute*60+sec) - offset
	return secs*1e9 + nanos, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic
// Gregorian date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseEpoch parses "1757106048.542" or "1631177288" (seconds since 1970).
func parseEpoch(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 24 {
		return 0, false
	}
	secPart, frac, _ := bytes.Cut(b, []byte("."))
	sec, ok := digits(secPart)
	if !ok || len(secPart) == 0 || len(secPart) > 11 {
		return 0, false
	}
	var nanos int64
	scale := int64(100000000)
	for _, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		nanos += int64(c-'0') * scale
		scale /= 10
	}
	return int64(sec)*1e9 + nanos, true
}

// parseTimeString parses the timestamps of JSON and CSV records, including
// the Log Analytics portal's "11/5/2024, 6:18:42.517 AM".
func parseTimeString(s string) (int64, bool) {
	if t, ok := parseTime([]byte(s)); ok {
		return t, true
	}
	for _, layout := range []string{"1/2/2006, 3:04:05.000 PM", "1/2/2006, 3:04:05 PM", "1/2/2006 3:04:05 PM", time.RFC1123Z} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixNano(), true
		}
	}
	if t, ok := parseEpoch([]byte(s)); ok {
		return t, true
	}
	return 0, false
}

// formatTime renders Unix nanoseconds as RFC 3339 UTC, "" for 0.
func formatTime(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

func parseAddr(s string) (netip.Addr, error) { return netip.ParseAddr(s) }
