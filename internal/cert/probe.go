package cert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Limits a hostile server runs into. crypto/tls already caps one
// handshake message (the certificate message at 256 KiB); these bound the
// whole handshake.
const (
	// MaxHandshakeBytes is the most kensa reads from one server before
	// giving up on its handshake.
	MaxHandshakeBytes = 1 << 20
	// MaxServedCertificates is the most certificates of a served chain
	// that are analysed; a longer chain is itself a finding.
	MaxServedCertificates = 16
)

// ProbeOptions configure [ProbeAll].
type ProbeOptions struct {
	Roots *Roots
	At    time.Time
	// Expect are the SHA-256 fingerprints of the certificates that should
	// be served (any of them); empty means no expectation.
	Expect []string
	// ExpectFrom names where the expectation came from, for messages.
	ExpectFrom string
	// Timeout bounds each connection: dial and handshake together.
	Timeout     time.Duration
	Concurrency int
	Remaining   Threshold
	// Posture adds the TLS posture handshakes to each successful one
	// (see [Posture]): the post-quantum groups offered alone and a
	// FIPS-shaped ClientHello.
	Posture bool
	// Resolver resolves names to every IP; nil uses net.DefaultResolver.
	Resolver *net.Resolver
	// Progress, if set, is called after each handshake.
	Progress func(done, total int)
}

// ProbeResult is what one handshake (one IP, one server name or none)
// found.
type ProbeResult struct {
	Endpoint string `json:"endpoint"`
	// Address is the address as the user gave it; Dialed the IP and port
	// connected to.
	Address    string `json:"address"`
	Dialed     string `json:"dialed"`
	ServerName string `json:"servername"`
	SNI        bool   `json:"sni"`
	OK         bool   `json:"ok"`
	Error      string `json:"error,omitempty"`
	TLSVersion string `json:"tls_version,omitempty"`
	// CipherSuite and Group are what the handshake negotiated (Group is
	// empty for an RSA key exchange).
	CipherSuite string `json:"cipher_suite,omitempty"`
	Group       string `json:"group,omitempty"`
	// FailureClass names why a handshake failed, in a closed set fit for
	// a metric label (see [FailureClasses]).
	FailureClass string `json:"failure_class,omitempty"`
	// Posture is filled by --tls-posture.
	Posture *Posture `json:"tls_posture,omitempty"`
	// HandshakeMS is the time from dial to handshake done.
	HandshakeMS int64        `json:"handshake_ms"`
	Leaf        *Facts       `json:"leaf,omitempty"`
	Chain       *ChainResult `json:"chain,omitempty"`
	// Served is what the server sent, in order.
	Served   []Facts `json:"served,omitempty"`
	Expected *bool   `json:"expected,omitempty"`
	// ExpectedBy says where the expectation came from: "expect" (--expect
	// or the targets file) or "majority" (cert watch: what most addresses
	// of the endpoint serve).
	ExpectedBy string `json:"expected_by,omitempty"`
	// Baseline comparison: Change is "unchanged", "changed", "new" (not
	// in the baseline); Previous what was served then.
	Change   string `json:"change,omitempty"`
	Previous *Facts `json:"previous,omitempty"`

	certs    []*x509.Certificate
	findings []report.Finding
	group    int
}

// Certificates returns what the server sent.
func (r *ProbeResult) Certificates() []*x509.Certificate { return r.certs }

// Label names the endpoint in findings: its name, else the address.
func (r *ProbeResult) Label() string {
	if r.Endpoint != "" {
		return r.Endpoint
	}
	return r.Address
}

// where describes the handshake for messages.
func (r *ProbeResult) where() string {
	at := r.Dialed
	if r.Dialed != "" && !strings.HasPrefix(r.Dialed, r.Address) {
		at = fmt.Sprintf("%s (%s)", r.Address, r.Dialed)
	}
	if !r.SNI {
		return at + " without SNI"
	}
	return at + " for " + DisplayName(r.ServerName)
}

// dialAddress splits an address as SplitAddress does and converts its host
// to A-labels: what the resolver looks up and what SNI sends by default.
func dialAddress(a string) (host, port string, err error) {
	host, port, err = SplitAddress(a)
	if err != nil {
		return "", "", err
	}
	if host, err = ASCIIName(host); err != nil {
		return "", "", fmt.Errorf("address %q: %w", a, err)
	}
	return host, port, nil
}

// plan is one handshake to make.
type plan struct {
	group                                 int // index of the endpoint
	endpoint, address, dialed, servername string
	sni                                   bool
	err                                   error // resolution failure
	allNames                              []string
	expect                                []string // the endpoint's own expect
}

// ProbeAll expands endpoints to every address × IP × server name (and no
// SNI where asked), runs the handshakes with bounded concurrency, and
// returns one result per handshake with its findings.
func ProbeAll(ctx context.Context, endpoints []Endpoint, o ProbeOptions) ([]*ProbeResult, []report.Finding) {
	plans := expand(ctx, endpoints, o)
	results := make([]*ProbeResult, len(plans))
	conc := max(1, min(o.Concurrency, len(plans)))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				results[i] = probeOne(ctx, plans[i], o)
				if o.Progress != nil {
					mu.Lock()
					done++
					n := done
					mu.Unlock()
					o.Progress(n, len(plans))
				}
			}
		})
	}
	for i := range plans {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if len(o.Expect) == 0 {
		differing(results)
	}
	var fs []report.Finding
	for _, r := range results {
		fs = append(fs, r.findings...)
	}
	return results, fs
}

// expand resolves every address and pairs it with the server names.
func expand(ctx context.Context, endpoints []Endpoint, o ProbeOptions) []plan {
	res := o.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	var out []plan
	seen := map[string]bool{}
	// MaxProbes bounds the plans too: names that resolve to many IPs, or
	// many --connect addresses, bypass the targets file's own count. The
	// handshakes past it become one failure, never a silent success.
	add := func(p plan) {
		switch {
		case len(out) > MaxProbes:
			return
		case len(out) == MaxProbes:
			out = append(out, plan{endpoint: p.endpoint, address: p.address, servername: p.servername, sni: p.sni, allNames: p.allNames,
				err: fmt.Errorf("more than %d handshakes: this one and the rest were not probed", MaxProbes)})
			return
		}
		k := p.endpoint + "\x00" + p.address + "\x00" + p.dialed + "\x00" + p.servername + fmt.Sprint(p.sni)
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	type answer struct {
		addrs []net.IPAddr
		err   error
	}
	// Resolve every distinct name first, concurrently within the bound:
	// a DNS server that never answers costs one timeout, not one per name.
	cache := map[string]*answer{}
	for _, e := range endpoints {
		for _, a := range e.Addresses {
			if host, _, err := dialAddress(a); err == nil && net.ParseIP(host) == nil {
				if _, ok := cache[host]; !ok {
					cache[host] = &answer{}
				}
			}
		}
	}
	sem := make(chan struct{}, max(1, o.Concurrency))
	var wg sync.WaitGroup
	for host, ans := range cache {
		sem <- struct{}{} // before the goroutine: at most Concurrency exist
		wg.Go(func() {
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, max(o.Timeout, time.Second))
			defer cancel()
			ans.addrs, ans.err = res.LookupIPAddr(rctx, host)
			if ans.err == nil && len(ans.addrs) == 0 {
				ans.err = errors.New("no addresses")
			}
		})
	}
	wg.Wait()
	lookup := func(host string) ([]net.IPAddr, error) {
		a := cache[host]
		return a.addrs, a.err
	}
	for gi, e := range endpoints {
		add := func(p plan) { p.group = gi; add(p) }
		for _, a := range e.Addresses {
			host, port, err := dialAddress(a)
			if err != nil {
				add(plan{endpoint: e.Name, address: a, err: err})
				continue
			}
			names := make([]string, len(e.ServerNames))
			for i, n := range e.ServerNames {
				names[i] = lenientASCII(n)
			}
			if len(names) == 0 && net.ParseIP(host) == nil {
				names = []string{host}
			}
			var ips []string
			if ip := net.ParseIP(host); ip != nil {
				ips = []string{ip.String()}
			} else {
				addrs, err := lookup(host)
				if err != nil {
					for _, n := range names {
						add(plan{endpoint: e.Name, address: a, servername: n, sni: true, err: fmt.Errorf("resolving %s: %w", host, err), allNames: names, expect: e.Expect})
					}
					continue
				}
				for _, ad := range addrs {
					ips = append(ips, ad.IP.String())
				}
				slices.Sort(ips)
			}
			for _, ip := range ips {
				dialed := net.JoinHostPort(ip, port)
				for _, n := range names {
					add(plan{endpoint: e.Name, address: a, dialed: dialed, servername: n, sni: true, allNames: names, expect: e.Expect})
				}
				if e.NoSNI || len(names) == 0 {
					add(plan{endpoint: e.Name, address: a, dialed: dialed, allNames: names, expect: e.Expect})
				}
			}
		}
	}
	return out
}

// limitConn fails reads past a byte budget, so a server cannot make the
// handshake read without end.
type limitConn struct {
	net.Conn
	left int
}

var errTooMuch = fmt.Errorf("the server sent more than %d bytes during the handshake", MaxHandshakeBytes)

func (c *limitConn) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooMuch
	}
	if len(p) > c.left {
		p = p[:c.left]
	}
	n, err := c.Conn.Read(p)
	c.left -= n
	return n, err
}

func probeOne(ctx context.Context, p plan, o ProbeOptions) *ProbeResult {
	r := &ProbeResult{Endpoint: p.endpoint, Address: p.address, Dialed: p.dialed, ServerName: p.servername, SNI: p.sni, group: p.group}
	if p.err != nil {
		err := p.err
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsTimeout {
			err = fmt.Errorf("no DNS answer for %s within %s: %w", dnsErr.Name, max(o.Timeout, time.Second), err)
		}
		r.Error = err.Error()
		r.FailureClass = FailureClass(err)
		r.findings = append(r.findings, handshakeFailed(r, err, o))
		return r
	}
	start := time.Now()
	hs, err := handshake(ctx, p.dialed, p.servername, o.Timeout, clientHello{})
	r.HandshakeMS = time.Since(start).Milliseconds()
	if err == nil && len(hs.certs) == 0 {
		err = errNoCertificate
	}
	if err != nil {
		err = describeFailure(err, o.Timeout)
		r.Error = err.Error()
		r.FailureClass = FailureClass(err)
		r.findings = append(r.findings, handshakeFailed(r, err, o))
		return r
	}
	r.OK = true
	r.TLSVersion = tls.VersionName(hs.version)
	r.CipherSuite = tls.CipherSuiteName(hs.suite)
	r.Group = groupName(hs.group)
	r.certs = hs.certs
	analyseServed(r, p, o)
	if o.Posture {
		pos, fs := probePosture(ctx, p, o, hs)
		r.Posture = &pos
		for i := range fs {
			fs[i].Address, fs[i].ServerName = r.Dialed, r.ServerName
		}
		r.findings = append(r.findings, fs...)
	}
	return r
}

var errNoCertificate = errors.New("the server sent no certificate")

// clientHello is what one handshake offers; the zero value is Go's
// default ClientHello (TLS 1.0 and up, every default group and suite).
type clientHello struct {
	minVersion uint16
	groups     []tls.CurveID
	suites     []uint16
}

// handshakeState is what kensa keeps of a completed handshake.
type handshakeState struct {
	certs          []*x509.Certificate
	version, suite uint16
	group          tls.CurveID
	hrr            bool
	// ems is whether a TLS 1.2 session has the Extended Master Secret
	// (RFC 7627); always true for TLS 1.3.
	ems bool
}

// handshake connects to addr and returns the certificates the server
// sent, without verifying them: verification is done afterwards, against
// kensa's own roots and only the served intermediates.
func handshake(ctx context.Context, addr, servername string, timeout time.Duration, ch clientHello) (handshakeState, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return handshakeState{}, &dialError{err}
	}
	defer raw.Close()
	deadline, _ := ctx.Deadline()
	raw.SetDeadline(deadline)
	cfg := &tls.Config{
		// Verification is kensa's: with its roots, without AIA, after
		// the handshake. Nothing is sent over the connection.
		InsecureSkipVerify: true,
		ServerName:         servername,
		MinVersion:         tls.VersionTLS10,
		CurvePreferences:   ch.groups,
		CipherSuites:       ch.suites,
	}
	if ch.minVersion != 0 {
		cfg.MinVersion = ch.minVersion
	}
	conn := tls.Client(&limitConn{Conn: raw, left: MaxHandshakeBytes}, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return handshakeState{}, err
	}
	st := conn.ConnectionState()
	conn.Close()
	hs := handshakeState{certs: st.PeerCertificates, version: st.Version, suite: st.CipherSuite,
		group: st.CurveID, hrr: st.HelloRetryRequest, ems: true}
	if st.Version < tls.VersionTLS13 {
		// crypto/tls refuses to export keying material from a TLS 1.2
		// session without EMS (RFC 5705 §6, RFC 7627 §5.4): the one place
		// the negotiated extension is visible to a client.
		_, err := st.ExportKeyingMaterial("EXPORTER-kensa-ems-probe", nil, 1)
		hs.ems = err == nil
	}
	return hs, nil
}

// dialError is a failure to connect, before any TLS.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// timeoutError says in the user's terms what "context deadline exceeded"
// or "i/o timeout" meant.
type timeoutError struct {
	dial    bool
	timeout time.Duration
	err     error
}

func (e *timeoutError) Error() string {
	if e.dial {
		return fmt.Sprintf("no TCP connection within %s (nothing answered)", e.timeout)
	}
	return fmt.Sprintf("no TLS handshake within %s", e.timeout)
}
func (e *timeoutError) Unwrap() error { return e.err }

// describeFailure rewords a timeout as what it means: Go's "context
// deadline exceeded" says nothing to someone checking a listener.
func describeFailure(err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &timeoutError{dial: errors.As(err, new(*dialError)), timeout: timeout, err: err}
	}
	return err
}

// FailureClasses are the values of ProbeResult.FailureClass.
var FailureClasses = []string{"dns", "refused", "timeout", "tls_alert", "not_tls", "bad_certificate", "too_large", "tls", "network", "too_many"}

// FailureClass names why a handshake failed, from a closed set (see
// [FailureClasses]) fit for a metric label and an alert.
func FailureClass(err error) string {
	var ne net.Error
	var alert tls.AlertError
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &dnsErr) || strings.HasPrefix(err.Error(), "resolving "):
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case strings.Contains(err.Error(), "SAN dNSName is malformed"), strings.Contains(err.Error(), "failed to parse certificate from server"), errors.Is(err, errNoCertificate):
		return "bad_certificate"
	case errors.As(err, new(tls.RecordHeaderError)):
		return "not_tls"
	case errors.Is(err, errTooMuch):
		return "too_large"
	case errors.As(err, &alert):
		return "tls_alert"
	case errors.As(err, new(*timeoutError)) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "timeout"
	case strings.HasPrefix(err.Error(), "more than "):
		return "too_many"
	case strings.HasPrefix(err.Error(), "tls: "), strings.Contains(err.Error(), "remote error: tls"):
		return "tls"
	}
	return "network"
}

func handshakeFailed(r *ProbeResult, err error, o ProbeOptions) report.Finding {
	remedy := "check that the listener is up and reachable from here, then probe again; an endpoint that cannot be checked is not known to serve the new certificate"
	switch FailureClass(err) {
	case "dns":
		remedy = "check the name (and the DNS this host uses); give the load balancer's addresses with --connect or in the targets file"
	case "refused":
		remedy = "nothing listens on this address and port: check the listener, the port, and security groups or firewalls"
	case "bad_certificate":
		switch {
		case strings.Contains(err.Error(), "SAN dNSName is malformed"):
			remedy = "the server answered with a certificate that " + uLabelSAN
		case strings.Contains(err.Error(), "failed to parse certificate from server"):
			why := err.Error()
			if _, w, ok := strings.Cut(why, "x509: "); ok {
				why = w
			}
			remedy = "the server answered, with a certificate kensa (like every Go client) cannot parse (" + why +
				"): serve a certificate with a positive serial and an RSA key or an ECDSA key on P-256, P-384 or P-521"
		}
	case "not_tls":
		remedy = "something answered on this port, but not TLS (plain HTTP, or another protocol): check the port (443, not 80) and that the listener terminates TLS"
	case "too_large":
		remedy = "the server's handshake is abnormally large; check what it serves"
	case "tls_alert":
		remedy = "the server refused the handshake with a TLS alert: it may have no certificate for this name (check the listener's SNI certificate list) or accept no protocol version kensa offers"
	case "timeout":
		remedy = fmt.Sprintf("the server accepted the connection but did not complete a TLS handshake within %s: check that it speaks TLS on this port, or raise --timeout", o.Timeout)
		if errors.As(err, new(*dialError)) {
			remedy = fmt.Sprintf("nothing accepted the connection within %s: check the address, that a firewall or security group does not drop the traffic, or raise --timeout", o.Timeout)
		}
	case "tls":
		remedy = "the server answered, but its TLS handshake is malformed or unacceptable (see the message): check the listener's TLS configuration and what it serves"
	}
	return report.Finding{ID: "handshake-failed", Severity: report.Error, Subject: r.Label(),
		Address: r.Dialed, ServerName: r.ServerName,
		Message:     fmt.Sprintf("no TLS handshake with %s: %v", r.whereOrAddress(), err),
		Remediation: remedy,
		Citation:    citeUnchecked}
}

func (r *ProbeResult) whereOrAddress() string {
	if r.Dialed == "" {
		return r.Address
	}
	return r.where()
}

// analyseServed runs the checks on a served chain.
func analyseServed(r *ProbeResult, p plan, o ProbeOptions) {
	certs := r.certs
	var fs []report.Finding
	label := r.Label()
	if len(certs) > MaxServedCertificates {
		fs = append(fs, report.Finding{ID: "chain-extra", Severity: report.Warning, Subject: label,
			Message:     fmt.Sprintf("%s sent %d certificates; kensa analysed the first %d", r.where(), len(certs), MaxServedCertificates),
			Remediation: "serve the leaf and its intermediates only",
			Citation:    citeChain})
		certs = certs[:MaxServedCertificates]
	}
	leaf := certs[0]
	lf := FactsOf(leaf, o.At)
	r.Leaf = &lf
	for _, c := range certs {
		r.Served = append(r.Served, FactsOf(c, o.At))
	}
	var supplied []Supplied
	for i, c := range certs[1:] {
		supplied = append(supplied, Supplied{Cert: c, From: fmt.Sprintf("served #%d", i+2)})
	}
	ch := AnalyzeChain(ChainInput{Leaf: leaf, LeafFrom: "served #1", LeafFirst: true, Supplied: supplied,
		Roots: o.Roots, At: o.At, Subject: label, Served: true})
	r.Chain = &ch
	fs = append(fs, ch.Findings...)
	if r.SNI {
		if !Covers(leaf, r.ServerName) {
			fs = append(fs, report.Finding{ID: "hostname-mismatch", Severity: report.Error, Subject: label,
				Message:     fmt.Sprintf("%s serves %q, which does not cover %s (its names: %s)", r.where(), ShortName(leaf), r.ServerName, namesOrNone(leaf)),
				Remediation: fmt.Sprintf("attach a certificate covering %s to this listener (check its SNI certificate list and default certificate)", r.ServerName),
				Citation:    citeHostname})
		}
	} else {
		var missing []string
		for _, n := range p.allNames {
			if !Covers(leaf, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			fs = append(fs, report.Finding{ID: "hostname-mismatch", Severity: report.Warning, Subject: label,
				Message:     fmt.Sprintf("clients that send no SNI get %q from %s, which does not cover %s", ShortName(leaf), r.where(), DisplayNames(missing)),
				Remediation: "make the listener's default certificate the one that covers these names, if clients without SNI must connect",
				Citation:    citeHostname})
		}
	}
	fs = append(fs, ValidityFindings(leaf, o.At, o.Remaining, label, "served certificate")...)
	fs = append(fs, strengthOf(leaf, label)...)
	fs = append(fs, intermediatesStrength(ch, supplied, label)...)
	expect, from := o.Expect, o.ExpectFrom
	if len(p.expect) > 0 {
		expect, from = p.expect, "the targets file's expect of "+label
	}
	if len(expect) > 0 {
		ok := slices.Contains(expect, lf.SHA256)
		r.Expected = &ok
		if !ok {
			fs = append(fs, report.Finding{ID: "stale-certificate", Severity: report.Error, Subject: label,
				Message: fmt.Sprintf("%s serves %q (SHA-256 %s, serial %s, not after %s) instead of the expected certificate (%s)",
					r.where(), ShortName(leaf), lf.SHA256, lf.Serial, lf.NotAfter.Format(time.DateOnly), from),
				Remediation: "deploy the new certificate on this listener too (a second load balancer, another listener, or an SNI certificate list still holding the old one), then probe again",
				Citation:    citeRenewalServed})
		}
	}
	for i := range fs {
		fs[i].Address, fs[i].ServerName = r.Dialed, r.ServerName
	}
	r.findings = fs
}

// differing adds a certificates-differ finding for each endpoint and
// server name whose addresses serve different certificates: without
// --expect it is the only sign of a listener or second load balancer the
// renewal forgot. The finding follows the endpoint's last handshake, so
// findings keep the order of the results.
func differing(results []*ProbeResult) {
	type key struct {
		group int
		name  string
		sni   bool
	}
	type seen struct {
		last   *ProbeResult
		served map[string][]string // SHA-256 → where
		order  []string
		leaf   map[string]*Facts
	}
	groups := map[key]*seen{}
	var keys []key
	for _, r := range results {
		// An endpoint with its own expectation (the targets file's
		// expect) is judged by it: stale-certificate says which address
		// serves what.
		if !r.OK || r.Leaf == nil || r.Expected != nil {
			continue
		}
		k := key{r.group, r.ServerName, r.SNI}
		g := groups[k]
		if g == nil {
			g = &seen{served: map[string][]string{}, leaf: map[string]*Facts{}}
			groups[k] = g
			keys = append(keys, k)
		}
		g.last = r
		fp := r.Leaf.SHA256
		if _, ok := g.served[fp]; !ok {
			g.order = append(g.order, fp)
			g.leaf[fp] = r.Leaf
		}
		g.served[fp] = append(g.served[fp], r.Dialed)
	}
	for _, k := range keys {
		g := groups[k]
		if len(g.order) < 2 {
			continue
		}
		var parts []string
		for _, fp := range g.order {
			l := g.leaf[fp]
			parts = append(parts, fmt.Sprintf("%s serves %q (SHA-256 %s…, not after %s)", strings.Join(g.served[fp], ", "), l.Subject, fp[:min(len(fp), 23)], l.NotAfter.Format(time.DateOnly)))
		}
		name := "without SNI"
		if k.sni {
			name = "for " + DisplayName(k.name)
		}
		r := g.last
		whose := "the addresses of " + r.Endpoint
		if r.Endpoint == "" {
			whose = "the --connect addresses"
		}
		r.findings = append(r.findings, report.Finding{ID: "certificates-differ", Severity: report.Error, Subject: r.Label(),
			ServerName: r.ServerName,
			Message:    fmt.Sprintf("%s serve %d different certificates %s: %s", whose, len(g.order), name, strings.Join(parts, "; ")),
			Remediation: "install the same (new) certificate on every listener and load balancer of the endpoint; " +
				"give --expect NEW.crt to name the one that should be served",
			Citation: citeRenewalServed})
	}
}

// SortProbeFindings orders findings as the results (the table) are
// ordered: a finding follows the handshake it is about; one about a whole
// endpoint (no address) follows that endpoint's last handshake. The order
// within a handshake is kept.
func SortProbeFindings(results []*ProbeResult, fs []report.Finding) {
	type key struct{ subject, address, name string }
	row := map[key]int{}
	for i, r := range results {
		row[key{r.Label(), r.Dialed, r.ServerName}] = i
		row[key{r.Label(), "", r.ServerName}] = i // the endpoint's last
	}
	rank := func(f report.Finding) int {
		if i, ok := row[key{f.Subject, f.Address, f.ServerName}]; ok {
			return i
		}
		if i, ok := row[key{f.Subject, "", f.ServerName}]; ok {
			return i
		}
		return len(results)
	}
	slices.SortStableFunc(fs, func(a, b report.Finding) int { return rank(a) - rank(b) })
}
