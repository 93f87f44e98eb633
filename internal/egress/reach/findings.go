package reach

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
)

const (
	citeAZFWFAQ   = "Azure Firewall FAQ: \"Why can a TCP ping … connect to a target FQDN even when no rule … allows that traffic?\" (transparent proxy on 80/443)"
	citeAZFWDeny  = "Azure Firewall application rules: HTTP deny answered with status 470 \"Action: Deny. Reason: No rule matched. Proceeding with default action.\""
	citeAZFWTLSi  = "Azure Firewall Premium TLS inspection (premium-features): the firewall generates an on-the-fly certificate from its intermediate CA"
	citeSquid     = "Squid: a denied request or CONNECT is answered 403 with X-Squid-Error: ERR_ACCESS_DENIED"
	citeRFC1035   = "RFC 1035 §4.1.1 (RCODE 3, name error) / RFC 2308 (negative answers)"
	citeRFC793    = "RFC 9293 §3.5.2 (reset generation) and §3.8.3 (connection timeouts)"
	citeRFC8446   = "RFC 8446 §6 (alert protocol)"
	citeRFC6585   = "RFC 6585 §6 (511 Network Authentication Required)"
	citeProxyHTTP = "RFC 9110 §9.3.6 (CONNECT) and §15.5.4/§15.5.8 (403, 407)"
)

// Checks is the catalog of the finding ids egress check emits: one per
// failure class.
var Checks = []report.Check{
	{ID: ClassDNSNXDomain, Severity: report.Error, Title: "the resolver says the name does not exist (NXDOMAIN)",
		Citation: citeRFC1035,
		Help:     "The DNS server the workload uses answered NXDOMAIN. Check the name, and whether the VNet's DNS (a custom server, Azure Firewall's DNS proxy, a private DNS zone) forwards it: a private-link zone linked to the VNet without a record for the name answers NXDOMAIN for a public name too."},
	{ID: ClassDNSTimeout, Severity: report.Error, Title: "the resolver did not answer for the name",
		Citation: "RFC 1035 §4.2 (transport)",
		Help:     "No DNS answer came in time. The resolver is unreachable from here, or it forwards to a server that is (a firewall DNS proxy whose upstream is blocked). The workload will fail the same way before it sends a packet to the destination."},
	{ID: ClassDNSFailed, Severity: report.Error, Title: "the resolver failed (SERVFAIL, REFUSED, no address)",
		Citation: citeRFC1035,
		Help:     "The resolver answered, but with an error (SERVFAIL, REFUSED) or without an address. A resolver that refuses recursion for this client, or a forwarder that cannot reach its upstream, answers this way."},
	{ID: ClassTCPRefused, Severity: report.Error, Title: "the TCP connection was refused",
		Citation: citeRFC793,
		Help:     "A TCP reset or an ICMP unreachable answered the connection: a firewall rejects it, or nothing listens on the port. Allow the destination (host and port) on the firewall or NSG in the path."},
	{ID: ClassTCPTimeout, Severity: report.Error, Title: "the TCP connection got no answer (dropped)",
		Citation: citeRFC793,
		Help:     "Nothing answered the SYN: a firewall drops the traffic (Azure Firewall network-rule deny, an NSG, IDPS), or the route to the destination is missing. Allow the destination on the firewall in the path, or check the route table of the subnet."},
	{ID: ClassTLSResetAfterHello, Severity: report.Error, Title: "TCP connects, then a reset after the ClientHello",
		Citation: citeAZFWFAQ,
		Help:     "The TCP handshake succeeded — so nc -vz, tcpping, AKS's outbound check and Network Watcher report the destination reachable — but the connection was reset or closed as soon as the ClientHello (with the destination's name as SNI) went out. This is how Azure Firewall refuses an HTTPS destination no application rule allows: its transparent proxy answers TCP itself. Add an application rule for the name (Https:443); egress analyze --emit writes it."},
	{ID: ClassTLSAlert, Severity: report.Error, Title: "the TLS handshake was refused with an alert",
		Citation: citeRFC8446,
		Help:     "The peer answered the ClientHello with a TLS alert. A middlebox that refuses the SNI, or a server that shares no protocol version or cipher with modern clients (a FIPS-only or TLS 1.0 endpoint), answers this way; the alert's name says which."},
	{ID: ClassTLSTimeout, Severity: report.Error, Title: "TCP connects, nothing answers the ClientHello",
		Citation: citeRFC8446,
		Help:     "The TCP handshake succeeded, then nothing answered the ClientHello: a middlebox drops the TLS payload (IDPS, a filter that reads the SNI and drops), or the server is not TLS and waits for the client."},
	{ID: ClassTLSIntercepted, Severity: report.Error, Title: "a TLS-inspecting middlebox re-issued the certificate",
		Citation: citeAZFWTLSi,
		Help:     "The certificate covers the destination's name but was issued by a CA that neither the system's roots nor --ca vouch for: a TLS-inspecting firewall or proxy (Azure Firewall Premium, Squid ssl-bump, a vendor proxy) terminated the connection. pip, npm, Maven (PKIX path building failed) and Go clients refuse it unless the inspection CA is in their trust store. Either exempt the destination from inspection, or add the CA to the workload's trust store (and pass it to kensa with --ca to confirm)."},
	{ID: ClassTLSFailed, Severity: report.Error, Title: "TLS failed, or the certificate is not the destination's",
		Citation: citeRFC8446,
		Help:     "The handshake failed for a reason other than a reset, an alert or interception: the port does not speak TLS, the certificate does not cover the name (something else answered), or it expired. The detail names which."},
	{ID: ClassProxyDenied, Severity: report.Error, Title: "the explicit proxy refused the destination",
		Citation: citeSquid + "; " + citeProxyHTTP,
		Help:     "The proxy answered the CONNECT (or the request) with 403, or 407 when it wants credentials. Its X-Squid-Error header, kept in the result, names the reason. Add the destination to the proxy's allowlist (a Squid dstdomain ACL, the firewall's explicit-proxy application rule)."},
	{ID: ClassProxyFailed, Severity: report.Error, Title: "the explicit proxy could not be used",
		Citation: citeProxyHTTP,
		Help:     "The proxy did not answer, answered with an error that is not a refusal (502, 503), or its URL is not usable. Check --proxy / HTTPS_PROXY and that the proxy is reachable from here."},
	{ID: ClassHTTPDenied, Severity: report.Error, Title: "a firewall, proxy or portal answered instead",
		Citation: citeAZFWDeny + "; " + citeRFC6585,
		Help:     "The request got an answer, but not from the destination: Azure Firewall's deny page (status 470, \"Action: Deny\"), a transparent Squid's error page (X-Squid-Error), or a captive portal (511, a redirect to a login page). Allow the destination where the answer came from."},
	{ID: NotProbed, Severity: report.Warning, Title: "a profile destination needs your name for it (--app)",
		Citation: "kensa egress profiles (profiles.json): destinations with a fill",
		Help:     "The profile names a destination by pattern (the app's own SCM site *.scm.azurewebsites.net, a storage account) whose concrete name only you know. Give it (--app NAME, --storage-account NAME, --aks-api-server FQDN) so that it is probed too: Kudu's call to the app's own SCM site is the destination most often forgotten."},
	{ID: WhatifMismatch, Severity: report.Warning, Title: "the probe disagrees with the policy's prediction",
		Citation: "Azure Firewall rule processing (rule-processing.md, ms.date 05/07/2025), as kensa egress whatif evaluates it",
		Help:     "With --policy, each destination's probe is compared with what the exported policy predicts for the probe's own source address. A destination the policy allows but the probe finds refused (or the reverse) means the export is not what the firewall runs (a pending deployment, a parent policy not exported), or something else in the path decides: another firewall, an NSG, a route that bypasses the firewall."},
}

// NotProbed is the id of the warning for a profile destination that
// needs a name of the user's and was not given one.
const NotProbed = "not-probed"

// Unprobed is a profile destination that could not be probed.
type Unprobed struct {
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Profile string `json:"profile"`
	// Needs is the flag that fills it in ("--app").
	Needs   string   `json:"needs"`
	Service *Service `json:"service"`
}

// UnprobedFindings returns a warning per destination that was not probed.
func UnprobedFindings(us []Unprobed) []report.Finding {
	var out []report.Finding
	for _, u := range us {
		msg := fmt.Sprintf("%s:%d of profile %s was not probed: it needs %s", u.Host, u.Port, u.Profile, u.Needs)
		cite := "kensa egress profiles: " + u.Profile
		if s := u.Service; s != nil {
			msg += " (" + s.Name + ": " + strings.TrimSuffix(s.Why, ".") + ")"
			cite += "; kensa catalog " + s.ID + " (" + s.Source + ", as of " + s.AsOf + ")"
		}
		out = append(out, report.Finding{ID: NotProbed, Severity: report.Warning, Subject: fmt.Sprintf("%s:%d", u.Host, u.Port),
			Message: msg, Citation: cite, Remediation: "run again with " + u.Needs + " so it is probed"})
	}
	return out
}

// Findings returns one finding per blocked result; its id is the
// failure class, its subject the destination.
func Findings(results []Result) []report.Finding {
	var out []report.Finding
	for i := range results {
		r := &results[i]
		if !r.Blocked() {
			continue
		}
		// One arm per class, so that every id is a constant of the
		// catalog (catalogtest reads them).
		switch r.Class {
		case ClassDNSNXDomain:
			out = append(out, finding(ClassDNSNXDomain, r))
		case ClassDNSTimeout:
			out = append(out, finding(ClassDNSTimeout, r))
		case ClassDNSFailed:
			out = append(out, finding(ClassDNSFailed, r))
		case ClassTCPRefused:
			out = append(out, finding(ClassTCPRefused, r))
		case ClassTCPTimeout:
			out = append(out, finding(ClassTCPTimeout, r))
		case ClassTLSResetAfterHello:
			out = append(out, finding(ClassTLSResetAfterHello, r))
		case ClassTLSAlert:
			out = append(out, finding(ClassTLSAlert, r))
		case ClassTLSTimeout:
			out = append(out, finding(ClassTLSTimeout, r))
		case ClassTLSIntercepted:
			out = append(out, finding(ClassTLSIntercepted, r))
		case ClassProxyDenied:
			out = append(out, finding(ClassProxyDenied, r))
		case ClassProxyFailed:
			out = append(out, finding(ClassProxyFailed, r))
		case ClassHTTPDenied:
			out = append(out, finding(ClassHTTPDenied, r))
		default:
			out = append(out, finding(ClassTLSFailed, r))
		}
	}
	return out
}

// finding makes the finding of class id for a blocked result.
func finding(id string, r *Result) report.Finding {
	c, _ := report.Lookup(Checks, id)
	msg := fmt.Sprintf("%s is blocked at %s: %s", r.Address(), layerName(r.Layer), r.Detail)
	if id == ClassTLSResetAfterHello || id == ClassTLSTimeout || id == ClassTLSIntercepted {
		if r.TCP != nil && r.TCP.Connected && r.Proxy == nil {
			msg += "; a TCP-only check (nc -vz, tcpping) reports it reachable"
		}
	}
	cite := c.Citation
	if s := r.Service; s != nil {
		msg += ". " + s.Name + " needs it"
		if s.Why != "" {
			msg += ": " + strings.TrimSuffix(s.Why, ".")
		}
		cite += "; kensa catalog " + s.ID + " (" + s.Source + ", as of " + s.AsOf + ")"
	}
	return report.Finding{
		ID: id, Severity: c.Severity, Subject: r.Address(), Message: msg,
		Citation: cite, Remediation: remediation(r), Address: r.Address(), ServerName: serverName(r),
	}
}

func serverName(r *Result) string {
	if r.TLS != nil {
		return r.TLS.ServerName
	}
	return ""
}

func layerName(l string) string {
	switch l {
	case LayerDNS:
		return "DNS"
	case LayerTCP:
		return "TCP"
	case LayerTLS:
		return "TLS"
	case LayerHTTP:
		return "HTTP"
	case LayerProxy:
		return "the proxy"
	}
	return l
}

func remediation(r *Result) string {
	rule := "Https:" + fmt.Sprint(r.Port)
	if r.Protocol == "http" {
		rule = "Http:" + fmt.Sprint(r.Port)
	}
	switch r.Class {
	case ClassDNSNXDomain, ClassDNSTimeout, ClassDNSFailed:
		return "make " + r.Host + " resolvable from here: the VNet's DNS servers (or Azure Firewall's DNS proxy) must answer or forward it"
	case ClassTCPRefused, ClassTCPTimeout:
		if r.Protocol == "tcp" {
			return fmt.Sprintf("allow TCP to %s port %d in a network rule of the firewall (and the NSG) in the path", r.Host, r.Port)
		}
		return fmt.Sprintf("allow %s (%s) on the firewall in the path: an Azure Firewall application rule, or a network rule for port %d", r.Host, rule, r.Port)
	case ClassTLSResetAfterHello, ClassTLSTimeout:
		return fmt.Sprintf("add an Azure Firewall application rule allowing %s (%s); the TCP connect that succeeded proves nothing", r.Host, rule)
	case ClassTLSAlert:
		return fmt.Sprintf("a middlebox refusing the name answers this way (allow %s, %s, where it runs); so does a server that shares no TLS version or cipher with modern clients", r.Host, rule)
	case ClassTLSIntercepted:
		return "exempt " + r.Host + " from TLS inspection, or give the workload the inspection CA (and kensa --ca to confirm)"
	case ClassProxyDenied:
		return "allow " + r.Host + " on the proxy (a Squid dstdomain ACL, the firewall's explicit-proxy application rule), or give the proxy credentials"
	case ClassProxyFailed:
		return "check --proxy / HTTPS_PROXY and that the proxy is reachable from here"
	case ClassHTTPDenied:
		return fmt.Sprintf("allow %s (%s) on the firewall or proxy that answered", r.Host, rule)
	}
	return "check what answers for " + r.Address() + " from here"
}

// Summary counts one run's results.
type Summary struct {
	report.SeverityCounts
	Destinations int            `json:"destinations"`
	Reachable    int            `json:"reachable"`
	Blocked      int            `json:"blocked"`
	ByClass      map[string]int `json:"by_class"`
	// TCPOnlyWouldPass counts blocked destinations a TCP-only check
	// reports reachable (TCP connected, TLS or HTTP refused).
	TCPOnlyWouldPass int `json:"tcp_only_would_pass"`
	NotProbed        int `json:"not_probed"`
	// Predicted and Mismatches count the destinations compared with a
	// policy (--policy) and those where prediction and probe disagree.
	Predicted  int `json:"predicted,omitempty"`
	Mismatches int `json:"mismatches,omitempty"`
	// Vantage is where the probe ran from: the same check from a laptop
	// proves nothing about a subnet.
	Vantage *Vantage `json:"vantage,omitempty"`
}

// Vantage names the place a probe ran from.
type Vantage struct {
	Hostname string `json:"hostname"`
	// SourceAddresses are the local addresses the connections left from.
	SourceAddresses []string `json:"source_addresses,omitempty"`
	Resolver        string   `json:"resolver"`
	Proxy           string   `json:"proxy,omitempty"`
}

// Summarize counts results, the destinations not probed and the findings.
func Summarize(results []Result, unprobed []Unprobed, findings []report.Finding) Summary {
	s := Summary{ByClass: map[string]int{}, NotProbed: len(unprobed), SeverityCounts: report.CountSeverities(findings)}
	for i := range results {
		r := &results[i]
		s.Destinations++
		if p := r.Prediction; p != nil && p.Match != nil {
			s.Predicted++
			if !*p.Match {
				s.Mismatches++
			}
		}
		if r.TCP != nil && r.TCP.Local != "" {
			if s.Vantage == nil {
				s.Vantage = &Vantage{}
			}
			if h, _, err := net.SplitHostPort(r.TCP.Local); err == nil && !slices.Contains(s.Vantage.SourceAddresses, h) {
				s.Vantage.SourceAddresses = append(s.Vantage.SourceAddresses, h)
			}
		}
		if !r.Blocked() {
			s.Reachable++
			continue
		}
		s.Blocked++
		s.ByClass[r.Class]++
		if r.TCP != nil && r.TCP.Connected && r.Proxy == nil && (r.Layer == LayerTLS || r.Layer == LayerHTTP) {
			s.TCPOnlyWouldPass++
		}
	}
	if s.Vantage != nil {
		slices.Sort(s.Vantage.SourceAddresses)
	}
	return s
}

// Add adds o's counts to s (merged reports).
func (s *Summary) Add(o Summary) {
	s.SeverityCounts.Add(o.SeverityCounts)
	s.Destinations += o.Destinations
	s.Reachable += o.Reachable
	s.Blocked += o.Blocked
	s.TCPOnlyWouldPass += o.TCPOnlyWouldPass
	s.NotProbed += o.NotProbed
	s.Predicted += o.Predicted
	s.Mismatches += o.Mismatches
	if s.ByClass == nil {
		s.ByClass = map[string]int{}
	}
	for _, k := range slices.Sorted(maps.Keys(o.ByClass)) {
		s.ByClass[k] += o.ByClass[k]
	}
}
