package reach

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/kensa-project/kensa/internal/report"
)

// Failure classes: each is the id of the finding a blocked destination
// gets. The first nine are the classes a user meets behind Azure
// Firewall, Squid and TLS-inspecting proxies; the last four name what
// none of them describes (a SERVFAIL, a silent TLS peer, a server that is
// not TLS, an unusable proxy) so that no failure is ever reported as
// another.
const (
	ClassDNSNXDomain        = "dns-nxdomain"
	ClassDNSTimeout         = "dns-timeout"
	ClassTCPRefused         = "tcp-refused"
	ClassTCPTimeout         = "tcp-timeout"
	ClassTLSResetAfterHello = "tls-reset-after-hello"
	ClassTLSAlert           = "tls-alert"
	ClassTLSIntercepted     = "tls-intercepted"
	ClassProxyDenied        = "proxy-denied"
	ClassHTTPDenied         = "http-denied"

	ClassDNSFailed   = "dns-failed"
	ClassTLSTimeout  = "tls-timeout"
	ClassTLSFailed   = "tls-failed"
	ClassProxyFailed = "proxy-failed"
)

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classifyDNS names a failed lookup. resolver is the --resolver address
// ("" for the system's): Go's error names the resolv.conf server it
// would have asked even when the lookup was redirected to --resolver.
func classifyDNS(err error, ctx context.Context, resolver string) (class, detail string) {
	var de *net.DNSError
	if errors.As(err, &de) {
		server := ""
		if resolver != "" {
			server = " (resolver " + resolver + ")"
		} else if de.Server != "" {
			server = " (resolver " + de.Server + ")"
		}
		switch {
		case de.IsNotFound:
			return ClassDNSNXDomain, "the resolver says the name does not exist (NXDOMAIN)" + server
		case de.IsTimeout || ctx.Err() != nil:
			return ClassDNSTimeout, "the resolver did not answer in time" + server
		}
		return ClassDNSFailed, "the resolver failed: " + de.Err + server
	}
	if isTimeout(err) || ctx.Err() != nil {
		return ClassDNSTimeout, "the resolver did not answer in time"
	}
	return ClassDNSFailed, "the lookup failed: " + shortErr(err)
}

func classifyTCP(err error) (class, detail string) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassTCPRefused, "the connection was refused (TCP reset)"
	case errors.Is(err, syscall.ENETUNREACH):
		return ClassTCPRefused, "no route to the destination from here (network unreachable: a missing route, or an ICMP network-unreachable from a router)"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return ClassTCPRefused, "the destination is unreachable (ICMP host unreachable or prohibited from a firewall or router, or no answer to ARP on the local network)"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return ClassTCPRefused, "the local host refused the connection (" + shortErr(err) + ")"
	case isTimeout(err):
		return ClassTCPTimeout, "no answer to the TCP connection (packets dropped)"
	}
	return ClassTCPRefused, "the connection failed: " + shortErr(err)
}

func classifyTLS(err error) (class, detail string) {
	var alert tls.AlertError
	var ae *net.OpError
	switch {
	case errors.As(err, &ae) && ae.Op == "remote error":
		// crypto/tls reports an alert received over TCP as an OpError
		// "remote error" around its unexported alert type.
		return ClassTLSAlert, "the peer answered the ClientHello with a TLS alert: " + ae.Err.Error()
	case errors.As(err, &alert):
		return ClassTLSAlert, "the peer answered the ClientHello with TLS alert " + strconv.Itoa(int(alert)) + " (" + alert.Error() + ")"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ClassTLSResetAfterHello, "TCP connected, then the connection was reset after the ClientHello: a firewall accepted TCP and refused the TLS destination (what Azure Firewall does for a denied HTTPS name)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassTLSResetAfterHello, "TCP connected, then the connection was closed after the ClientHello without an answer: a firewall accepted TCP and refused the TLS destination"
	case isTimeout(err):
		return ClassTLSTimeout, "TCP connected, but nothing answered the ClientHello (dropped after the handshake)"
	case errors.Is(err, errTooMuch):
		return ClassTLSFailed, err.Error()
	case errors.As(err, &ae):
		return ClassTLSFailed, "the TLS handshake failed: " + shortErr(err)
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return ClassTLSFailed, "the server does not speak TLS on this port (its first bytes are no TLS record)"
	}
	return ClassTLSFailed, "the TLS handshake failed: " + shortErr(err)
}

// classifyVerify names a chain that does not verify. A certificate that
// covers the name but comes from an issuer no trusted root vouches for is
// what a TLS-inspecting middlebox serves (Azure Firewall Premium, a proxy
// with SSL bump): the workload's client will refuse it unless it trusts
// that CA.
func classifyVerify(err error, leaf *x509.Certificate, host string) (class, detail string) {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	issuer := leaf.Issuer.CommonName
	if issuer == "" {
		issuer = leaf.Issuer.String()
	}
	switch {
	case errors.As(err, &ua):
		if leaf.VerifyHostname(host) == nil || net.ParseIP(host) != nil {
			return ClassTLSIntercepted, "the certificate for " + host + " was issued by \"" + issuer + "\", which no trusted root vouches for: a TLS-inspecting middlebox re-issued it"
		}
		return ClassTLSFailed, "the certificate does not cover " + host + " and its issuer \"" + issuer + "\" is not trusted: something other than the destination answered"
	case errors.As(err, &he):
		return ClassTLSFailed, "the certificate does not cover " + host + " (it names " + strings.Join(first(leaf.DNSNames, 3), ", ") + "): something other than the destination answered"
	case errors.As(err, &ci):
		return ClassTLSFailed, "the certificate is not valid: " + ci.Error()
	}
	return ClassTLSFailed, "the certificate did not verify: " + err.Error()
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "…")
	}
	if len(s) == 0 {
		return []string{"no names"}
	}
	return s
}

func classifyHTTPErr(err error) (class, detail string) {
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassHTTPDenied, "TCP connected, then the connection was reset or closed after the HTTP request without an answer"
	case isTimeout(err):
		return ClassHTTPDenied, "TCP connected, but nothing answered the HTTP request"
	}
	return ClassHTTPDenied, "the HTTP request failed: " + shortErr(err)
}

// shortErr drops the "dial tcp 1.2.3.4:443: " prefixes Go puts on
// network errors: the result already names the address.
func shortErr(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		var se *os.SyscallError
		if errors.As(oe.Err, &se) {
			return se.Err.Error()
		}
		return oe.Err.Error()
	}
	return err.Error()
}

// Answers of [ClassifyHTTP].
const (
	AnswerOrigin        = "origin"
	AnswerAzureFirewall = "azure-firewall-deny"
	AnswerSquidDeny     = "squid-deny"
	AnswerCaptive       = "captive-portal"
)

// Answer is the verdict on one HTTP answer.
type Answer struct {
	// Kind is one of the Answer* constants.
	Kind string
	// Denied is true when a middlebox, not the destination, answered.
	Denied bool
	Detail string
}

// ClassifyHTTP says who answered an HTTP request to host: the
// destination itself (any status: a 401 or 404 still proves the path is
// open), or a middlebox refusing it:
//
//   - Azure Firewall's deny: status 470, or a short plain body that is its
//     deny text ("Action: Deny. Reason: No rule matched. Proceeding with
//     default action.", or its log line "HTTP request from … Action: Deny.
//     No rule matched…" as older firewalls wrote it);
//   - a Squid error page: any answer carrying X-Squid-Error (a transparent
//     Squid answers the request itself; the header names the error,
//     "ERR_ACCESS_DENIED 0");
//   - a captive portal: 511 Network Authentication Required (RFC 6585),
//     or a redirect to another host whose URL reads like a login page
//     (the prober ignores such a redirect over TLS verified for host: the
//     destination itself sent its users to sign in elsewhere).
//
// Only the first 16 KiB of the body are looked at. ClassifyHTTP never
// fails: unknown answers are the origin's.
func ClassifyHTTP(status int, h http.Header, body []byte, host string) Answer {
	if len(body) > maxBodyBytes {
		body = body[:maxBodyBytes]
	}
	if status == 470 || azfwDenyBody(body) {
		d := "Azure Firewall answered the request with its deny page"
		if status != 0 {
			d += " (HTTP " + strconv.Itoa(status) + ")"
		}
		if line := denyLine(body); line != "" {
			d += ": \"" + line + "\""
		}
		return Answer{Kind: AnswerAzureFirewall, Denied: true, Detail: d}
	}
	if se := h.Get("X-Squid-Error"); se != "" {
		return Answer{Kind: AnswerSquidDeny, Denied: true,
			Detail: "a Squid proxy answered the request itself: HTTP " + strconv.Itoa(status) + ", X-Squid-Error: " + printable(se, 80)}
	}
	if status == http.StatusNetworkAuthenticationRequired {
		return Answer{Kind: AnswerCaptive, Denied: true, Detail: "a captive portal answered: HTTP 511 Network Authentication Required"}
	}
	if status/100 == 3 {
		if loc, err := url.Parse(h.Get("Location")); err == nil && loc.Host != "" && captiveURL(loc, host) {
			return Answer{Kind: AnswerCaptive, Denied: true,
				Detail: "a captive portal answered: HTTP " + strconv.Itoa(status) + " redirect to " + printable(loc.Redacted(), 120)}
		}
	}
	return Answer{Kind: AnswerOrigin}
}

var actionDeny = []byte("action: deny")

// azfwDenyBody reports whether body is Azure Firewall's deny text with
// any status: a short plain body that starts with "Action: Deny" or with
// the firewall's log line ("HTTP request from … Action: Deny…"). A page
// that merely mentions the words (documentation of a firewall) is not.
func azfwDenyBody(body []byte) bool {
	if len(body) > 2048 {
		return false
	}
	low := bytes.ToLower(bytes.TrimSpace(body))
	if !bytes.Contains(low, actionDeny) {
		return false
	}
	return bytes.HasPrefix(low, actionDeny) || bytes.HasPrefix(low, []byte("http request from")) ||
		bytes.HasPrefix(low, []byte("http  request from")) || bytes.HasPrefix(low, []byte("https request from"))
}

// denyLine returns the body's line holding "Action: Deny", trimmed and
// printable, at most 200 characters.
func denyLine(body []byte) string {
	low := bytes.ToLower(body)
	i := bytes.Index(low, actionDeny)
	if i < 0 {
		return ""
	}
	start := bytes.LastIndexAny(body[:i], "\r\n>") + 1
	end := len(body)
	if j := bytes.IndexAny(body[i:], "\r\n<"); j >= 0 {
		end = i + j
	}
	return printable(strings.TrimSpace(string(body[start:end])), 200)
}

// captiveURL reports whether a redirect leaves host for a page that reads
// like a portal's login.
func captiveURL(loc *url.URL, host string) bool {
	lh := strings.ToLower(loc.Hostname())
	if lh == strings.ToLower(host) || strings.HasSuffix(lh, "."+strings.ToLower(host)) || strings.HasSuffix(strings.ToLower(host), "."+lh) {
		return false
	}
	s := strings.ToLower(lh + loc.Path + "?" + loc.RawQuery)
	for _, w := range []string{"captive", "portal", "login", "logon", "signin", "sign-in", "hotspot", "guest", "auth"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// printable makes s one line of printable text (report.Printable) of at
// most n runes.
func printable(s string, n int) string {
	s = report.Printable(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
