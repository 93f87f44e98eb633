package egress

import (
	"bytes"
)

// This file reads Squid's native access.log format (src/log/FormatSquidNative.cc):
//
//	time elapsed client code/status bytes method URL ident hierarchy/peer type
//	1757106048.542      1 192.168.12.87 TCP_DENIED/403 3867 CONNECT host:443 - HIER_NONE/- text/html
//
// TCP_DENIED/403 (and any *_DENIED*, whatever the status but 407) is a
// policy deny: the proxy's access rules refused the destination. A 407 is the proxy asking for
// authentication, not a deny of the destination. A NONE tag (NONE/000 in
// Squid 2-3, TAG_NONE/000 in 3.2-4, NONE_NONE/000 in 5 and later, any of them
// with _ABORTED or _TIMEDOUT) means Squid never chose a handling path: the
// client closed before sending a request, a TLS or parse error came first
// ("error:transaction-end-before-headers", "error:invalid-request"), or
// (Squid 5 and earlier, squid-cache/squid#1354) a tunnel failed or was
// refused before it was logged as TCP_TUNNEL. Such a record is neither
// allowed nor denied. Everything else is traffic the proxy let through
// (whatever the origin answered).

// parseSquid parses one native access.log line into ev.
func parseSquid(line []byte, ev *Event) bool {
	ev.Family = FamilySquid
	var f [10][]byte
	n := 0
	rest := line
	for n < 10 {
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 {
			break
		}
		i := bytes.IndexAny(rest, " \t")
		if i < 0 {
			i = len(rest)
		}
		f[n] = rest[:i]
		rest = rest[i:]
		n++
	}
	if n < 7 {
		return false
	}
	t, ok := parseEpoch(f[0])
	if !ok {
		return false
	}
	if _, ok := digits(f[1]); !ok && !(len(f[1]) > 1 && f[1][0] == '-') {
		return false
	}
	code, status, ok := bytes.Cut(f[3], []byte("/"))
	if !ok || len(code) == 0 || len(status) != 3 {
		return false
	}
	st, ok := digits(status)
	if !ok {
		return false
	}
	ev.Time = t
	ev.Src = append(ev.Src, f[2]...)
	if squidNoVerdictTag(code) {
		ev.Kind = KindNoRequest
		return true
	}
	method, url := f[5], f[6]
	host, port, proto := squidTarget(method, url)
	if len(host) == 0 {
		// "NONE_NONE/000 0 - error:transaction-end-before-headers": a
		// connection that never sent a request. Known, without a verdict.
		if bytes.HasPrefix(url, []byte("error:")) || bytes.Equal(method, []byte("-")) {
			ev.Kind = KindOther
			return true
		}
		return false
	}
	ev.Host = append(ev.Host, host...)
	ev.Port = port
	ev.Proto = append(ev.Proto, proto...)
	ev.Detail = append(ev.Detail, f[3]...)
	ev.Kind = KindTraffic
	switch {
	case st == 407:
		ev.Kind = KindAuth
	case bytes.Contains(code, []byte("DENIED")):
		// 403 by default; a deny_info page can carry another status, and
		// with SslBump a denied CONNECT is bumped to show the error page
		// and logged TCP_DENIED/200.
		ev.Action = ActionDeny
		ev.Reason = ReasonProxy
	default:
		ev.Action = ActionAllow
		ev.Reason = ReasonAllowed
	}
	return true
}

// squidNoVerdictTag reports whether a result code is one of Squid's NONE
// tags: no handling path was chosen, so no verdict was given.
func squidNoVerdictTag(code []byte) bool {
	for _, p := range [][]byte{[]byte("NONE"), []byte("TAG_NONE")} {
		if rest, ok := bytes.CutPrefix(code, p); ok && (len(rest) == 0 || rest[0] == '_') {
			return true
		}
	}
	return false
}

// squidTarget extracts host, port and protocol from a request line's URL:
// "host:443" for CONNECT, "http://host[:port]/path" otherwise.
func squidTarget(method, url []byte) (host []byte, port int, proto string) {
	if bytes.Equal(method, []byte("CONNECT")) {
		h, p := splitHostPort(url)
		if p < 0 {
			p = 443
		}
		return h, p, "HTTPS"
	}
	proto, port = "HTTP", 80
	switch {
	case bytes.HasPrefix(url, []byte("http://")):
		url = url[7:]
	case bytes.HasPrefix(url, []byte("https://")):
		url = url[8:]
		proto, port = "HTTPS", 443
	default:
		return nil, -1, ""
	}
	if i := bytes.IndexAny(url, "/?#"); i >= 0 {
		url = url[:i]
	}
	if i := bytes.LastIndexByte(url, '@'); i >= 0 { // user:pass@host
		url = url[i+1:]
	}
	h, p := splitHostPort(url)
	if p >= 0 {
		port = p
	}
	return h, port, proto
}
