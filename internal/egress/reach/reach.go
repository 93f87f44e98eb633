package reach

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Target is one destination to probe.
type Target struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Protocol is "https" (TCP, TLS, HTTP), "http" (TCP, HTTP), "tls"
	// (TCP, TLS) or "tcp" (TCP only).
	Protocol string `json:"protocol"`
	// Origin says where the target came from: "--dest", "profile NAME",
	// "log FILE".
	Origin string `json:"origin"`
	// Service is the catalog's service that needs the destination, nil
	// when the catalog does not know it.
	Service *Service `json:"service"`
}

// Service is the catalog row joined to a target.
type Service struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Why says what fails without the destination.
	Why    string `json:"why,omitempty"`
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
}

// Address is host:port.
func (t Target) Address() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// Timeouts bound each layer of one probe.
type Timeouts struct {
	DNS, TCP, TLS, HTTP time.Duration
}

// DefaultTimeouts are the layers' timeouts unless the user sets them.
var DefaultTimeouts = Timeouts{DNS: 5 * time.Second, TCP: 5 * time.Second, TLS: 5 * time.Second, HTTP: 5 * time.Second}

// Options steer [Probe].
type Options struct {
	// Resolver is the DNS server ("10.0.0.4", "10.0.0.4:53") to ask
	// instead of the system's (resolv.conf); "" uses the system's.
	Resolver string
	// SystemResolvers names the system's DNS servers, for the results
	// ("" when unknown); see [SystemResolvers].
	SystemResolvers []string
	// Proxy returns the proxy a request to u goes through, nil for
	// none (an explicit --proxy, or the environment's HTTPS_PROXY and
	// NO_PROXY).
	Proxy func(u *url.URL) (*url.URL, error)
	// Roots verify the served chains: the system's roots plus --ca.
	Roots *x509.CertPool
	// Timeouts per layer; a zero field takes the default.
	Timeouts Timeouts
	// Concurrency is how many destinations are probed at once (default 16).
	Concurrency int
	// Progress, if set, is called after each destination.
	Progress func(done, total int)
}

// Result is what probing one target found.
type Result struct {
	Target
	// Status is "reachable" or "blocked".
	Status string `json:"status"`
	// Layer and Class name where and how a blocked destination stopped
	// (Class is the finding id); Detail says it in words.
	Layer  string      `json:"layer,omitempty"`
	Class  string      `json:"class,omitempty"`
	Detail string      `json:"detail,omitempty"`
	DNS    *DNSResult  `json:"dns,omitempty"`
	Proxy  *ProxyStep  `json:"proxy,omitempty"`
	TCP    *TCPResult  `json:"tcp,omitempty"`
	TLS    *TLSResult  `json:"tls,omitempty"`
	HTTP   *HTTPResult `json:"http,omitempty"`
	// Prediction is the policy's answer for the destination (--policy).
	Prediction *Prediction `json:"prediction,omitempty"`
	// ElapsedMS is the time the whole probe took.
	ElapsedMS int64 `json:"elapsed_ms"`
}

// Blocked reports whether the destination did not answer as itself.
func (r *Result) Blocked() bool { return r.Status == StatusBlocked }

// Statuses.
const (
	StatusReachable = "reachable"
	StatusBlocked   = "blocked"
)

// DNSResult is the DNS step.
type DNSResult struct {
	// Resolver is the server asked ("system (10.0.0.10:53)" or the
	// --resolver address).
	Resolver  string   `json:"resolver"`
	Addresses []string `json:"addresses,omitempty"`
	// CNAME is the canonical name when it differs from the host;
	// PrivateLink is set when it runs through a privatelink zone (an
	// Azure private endpoint: the traffic stays in the VNet).
	CNAME       string `json:"cname,omitempty"`
	PrivateLink bool   `json:"private_link,omitempty"`
	Error       string `json:"error,omitempty"`
	ElapsedMS   int64  `json:"elapsed_ms"`
}

// ProxyStep is the proxy's answer to CONNECT (or to the proxied request
// for plain HTTP).
type ProxyStep struct {
	URL    string `json:"url"`
	Status int    `json:"status,omitempty"`
	// StatusLine is the proxy's reason phrase, as sent.
	StatusLine string `json:"status_line,omitempty"`
	// SquidError is the X-Squid-Error header ("ERR_ACCESS_DENIED 0").
	SquidError string `json:"squid_error,omitempty"`
	Server     string `json:"server,omitempty"`
	Error      string `json:"error,omitempty"`
}

// TCPResult is the TCP step (to the destination, or to the proxy).
type TCPResult struct {
	Address   string `json:"address"`
	Connected bool   `json:"connected"`
	// Failed lists the addresses of the name tried before this one, and
	// why each failed (refused or unreachable; a timeout is not retried).
	Failed []string `json:"failed,omitempty"`
	// Local is the connection's own address (the vantage point's
	// source); for a failed connection, the address the routing table
	// would have sent it from.
	Local     string `json:"local,omitempty"`
	Error     string `json:"error,omitempty"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

// TLSResult is the TLS step.
type TLSResult struct {
	ServerName string `json:"servername,omitempty"`
	Version    string `json:"version,omitempty"`
	// Names are the leaf's DNS names (and its subject CN when it has none).
	Names   []string `json:"names,omitempty"`
	Subject string   `json:"subject,omitempty"`
	Issuer  string   `json:"issuer,omitempty"`
	// Verified says the chain verified against the roots for ServerName.
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`
	Error       string `json:"error,omitempty"`
	// ClassicalHello, after a reset or a silence, is the result of one
	// more handshake with a small, classical-only ClientHello: "ok"
	// means only the large post-quantum ClientHello is refused.
	ClassicalHello string `json:"classical_hello,omitempty"`
	ElapsedMS      int64  `json:"elapsed_ms"`
}

// HTTPResult is the HTTP step.
type HTTPResult struct {
	Request string `json:"request"`
	Status  int    `json:"status,omitempty"`
	Server  string `json:"server,omitempty"`
	// Location is a redirect's target.
	Location string `json:"location,omitempty"`
	// Answer is the classifier's verdict: "origin", "azure-firewall-deny",
	// "squid-deny", "captive-portal".
	Answer    string `json:"answer,omitempty"`
	Error     string `json:"error,omitempty"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

// Bounds on what kensa reads from a peer.
const (
	maxHeaderBytes = 64 << 10
	maxBodyBytes   = 16 << 10
	// maxHandshakeBytes bounds one TLS handshake.
	maxHandshakeBytes = 1 << 20
)

// Probe probes every target, at most Options.Concurrency at once, and
// returns the results in the targets' order. A cancelled ctx stops the
// probes in flight; their results say so.
func Probe(ctx context.Context, targets []Target, opts Options) []Result {
	opts.Timeouts = withDefaults(opts.Timeouts)
	n := opts.Concurrency
	if n <= 0 {
		n = 16
	}
	out := make([]Result, len(targets))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for i := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = probeOne(ctx, targets[i], &opts)
			if opts.Progress != nil {
				mu.Lock()
				done++
				opts.Progress(done, len(targets))
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return out
}

func withDefaults(t Timeouts) Timeouts {
	d := DefaultTimeouts
	if t.DNS > 0 {
		d.DNS = t.DNS
	}
	if t.TCP > 0 {
		d.TCP = t.TCP
	}
	if t.TLS > 0 {
		d.TLS = t.TLS
	}
	if t.HTTP > 0 {
		d.HTTP = t.HTTP
	}
	return d
}

// prober carries one target through the layers.
type prober struct {
	opts *Options
	r    *Result
}

func probeOne(ctx context.Context, t Target, opts *Options) Result {
	start := time.Now()
	r := Result{Target: t}
	p := prober{opts: opts, r: &r}
	func() {
		// One destination never stops the run: a panic (a kensa bug) is
		// this destination's failure, at the layer it reached.
		defer func() {
			if v := recover(); v != nil {
				class := ClassDNSFailed
				switch {
				case r.TLS != nil || r.TCP != nil:
					class = ClassTLSFailed
				case r.Proxy != nil:
					class = ClassProxyFailed
				}
				p.fail(r.Layer, class, fmt.Sprintf("kensa could not finish this probe (internal error: %v)", v))
			}
		}()
		p.run(ctx)
	}()
	if r.Class == "" {
		r.Status = StatusReachable
	} else {
		r.Status = StatusBlocked
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

func (p *prober) fail(layer, class, detail string) {
	p.r.Layer, p.r.Class, p.r.Detail = layer, class, detail
}

func (p *prober) run(ctx context.Context) {
	t := p.r.Target
	scheme := "https"
	if t.Protocol == "http" {
		scheme = "http"
	}
	var proxy *url.URL
	if p.opts.Proxy != nil && t.Protocol != "tcp" {
		u := &url.URL{Scheme: scheme, Host: t.Address()}
		pu, err := p.opts.Proxy(u)
		if err != nil {
			p.fail(LayerProxy, ClassProxyFailed, "the proxy setting is not a URL: "+err.Error())
			return
		}
		proxy = pu
	}
	var conn net.Conn
	if proxy != nil {
		c, ok := p.viaProxy(ctx, proxy)
		if !ok {
			return
		}
		conn = c
	} else {
		addr, ok := p.resolve(ctx)
		if !ok {
			return
		}
		c, ok := p.dial(ctx, addr, strconv.Itoa(t.Port))
		// As clients do, a refused or unreachable address (an immediate
		// answer, not a timeout) is followed by the name's next ones.
		for i := 1; !ok && p.r.Class == ClassTCPRefused && p.r.DNS != nil && i < min(len(p.r.DNS.Addresses), 3); i++ {
			p.r.TCP.Failed = append(p.r.TCP.Failed, p.r.TCP.Address+": "+p.r.Detail)
			failed := p.r.TCP.Failed
			p.r.Layer, p.r.Class, p.r.Detail = "", "", ""
			c, ok = p.dial(ctx, p.r.DNS.Addresses[i], strconv.Itoa(t.Port))
			p.r.TCP.Failed = failed
		}
		if !ok {
			return
		}
		conn = c
	}
	defer conn.Close()
	switch t.Protocol {
	case "tcp":
		return
	case "http":
		if proxy != nil {
			// The proxied request was already the HTTP step.
			return
		}
		p.httpStep(ctx, conn)
	default: // https, tls
		tc, ok := p.tlsStep(ctx, conn)
		if !ok || t.Protocol == "tls" {
			return
		}
		p.httpStep(ctx, tc)
	}
}

// Layers.
const (
	LayerDNS   = "dns"
	LayerProxy = "proxy"
	LayerTCP   = "tcp"
	LayerTLS   = "tls"
	LayerHTTP  = "http"
)

func (p *prober) resolve(ctx context.Context) (string, bool) {
	t := p.r.Target
	if ip := net.ParseIP(t.Host); ip != nil {
		return t.Host, true
	}
	d := &DNSResult{Resolver: p.resolverName()}
	p.r.DNS = d
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, p.opts.Timeouts.DNS)
	defer cancel()
	addrs, err := p.resolver().LookupIPAddr(dctx, t.Host)
	d.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil {
		d.Error = err.Error()
		class, detail := classifyDNS(err, dctx, p.resolverFlag())
		p.fail(LayerDNS, class, detail)
		return "", false
	}
	// IPv4 first, as most egress rules are written for it.
	var v4, v6 []string
	for _, a := range addrs {
		if a.IP.To4() != nil {
			v4 = append(v4, a.IP.String())
		} else {
			v6 = append(v6, a.IP.String())
		}
	}
	d.Addresses = append(v4, v6...)
	if len(d.Addresses) == 0 {
		p.fail(LayerDNS, ClassDNSFailed, "the name has no address")
		return "", false
	}
	// The canonical name: a private endpoint shows as a CNAME into a
	// privatelink zone, and then the address is private on purpose.
	if cname, err := p.resolver().LookupCNAME(dctx, t.Host); err == nil {
		cname = strings.TrimSuffix(strings.ToLower(cname), ".")
		if cname != "" && cname != t.Host {
			d.CNAME = cname
			d.PrivateLink = strings.Contains(cname, ".privatelink.")
		}
	}
	return d.Addresses[0], true
}

func (p *prober) resolverName() string {
	if p.opts.Resolver != "" {
		return resolverAddr(p.opts.Resolver)
	}
	if len(p.opts.SystemResolvers) > 0 {
		return "system (" + strings.Join(p.opts.SystemResolvers, ", ") + ")"
	}
	return "system"
}

// resolverFlag is the --resolver address, "" for the system's resolver.
func (p *prober) resolverFlag() string {
	if p.opts.Resolver == "" {
		return ""
	}
	return resolverAddr(p.opts.Resolver)
}

func resolverAddr(s string) string {
	if _, _, err := net.SplitHostPort(s); err == nil {
		return s
	}
	return net.JoinHostPort(s, "53")
}

func (p *prober) resolver() *net.Resolver {
	if p.opts.Resolver == "" {
		return &net.Resolver{PreferGo: true}
	}
	server := resolverAddr(p.opts.Resolver)
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

func (p *prober) dial(ctx context.Context, host, port string) (net.Conn, bool) {
	addr := net.JoinHostPort(host, port)
	tr := &TCPResult{Address: addr}
	p.r.TCP = tr
	start := time.Now()
	d := net.Dialer{Timeout: p.opts.Timeouts.TCP}
	conn, err := d.DialContext(ctx, "tcp", addr)
	tr.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil {
		tr.Error = err.Error()
		// The source address the connection would have left from: a
		// connected UDP socket asks the routing table and sends nothing.
		if u, uerr := net.Dial("udp", addr); uerr == nil {
			tr.Local = u.LocalAddr().String()
			u.Close()
		}
		class, detail := classifyTCP(err)
		p.fail(LayerTCP, class, detail+" connecting to "+addr)
		return nil, false
	}
	tr.Connected = true
	tr.Local = conn.LocalAddr().String()
	return conn, true
}

// viaProxy connects to the proxy and asks it for the target: CONNECT for
// HTTPS and TLS, the request itself for plain HTTP.
func (p *prober) viaProxy(ctx context.Context, proxy *url.URL) (net.Conn, bool) {
	t := p.r.Target
	ps := &ProxyStep{URL: redactedURL(proxy)}
	p.r.Proxy = ps
	port := proxy.Port()
	if port == "" {
		port = map[string]string{"https": "443"}[proxy.Scheme]
		if port == "" {
			port = "80"
		}
	}
	phost := proxy.Hostname()
	if ip := net.ParseIP(phost); ip == nil {
		d := &DNSResult{Resolver: p.resolverName()}
		p.r.DNS = d
		start := time.Now()
		dctx, cancel := context.WithTimeout(ctx, p.opts.Timeouts.DNS)
		addrs, err := p.resolver().LookupIPAddr(dctx, phost)
		cancel()
		d.ElapsedMS = time.Since(start).Milliseconds()
		if err != nil || len(addrs) == 0 {
			if err == nil {
				err = errors.New("no address")
			}
			d.Error = err.Error()
			class, detail := classifyDNS(err, dctx, p.resolverFlag())
			p.fail(LayerProxy, class, "the proxy's name "+phost+": "+detail)
			return nil, false
		}
		d.Addresses = []string{addrs[0].IP.String()}
		phost = addrs[0].IP.String()
	}
	conn, ok := p.dial(ctx, phost, port)
	if !ok {
		p.r.Layer = LayerProxy
		p.r.Detail = "the proxy " + ps.URL + ": " + p.r.Detail
		return nil, false
	}
	if proxy.Scheme == "https" {
		tc := tls.Client(conn, &tls.Config{ServerName: proxy.Hostname(), RootCAs: p.opts.Roots})
		hctx, cancel := context.WithTimeout(ctx, p.opts.Timeouts.TLS)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			conn.Close()
			ps.Error = err.Error()
			p.fail(LayerProxy, ClassProxyFailed, "TLS to the proxy "+ps.URL+" failed: "+err.Error())
			return nil, false
		}
		conn = tc
	}
	var req *http.Request
	if t.Protocol == "http" {
		req = &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "http", Host: t.Address(), Path: "/"},
			Host: t.Host, Header: http.Header{"User-Agent": {userAgent}, "Connection": {"close"}}, ProtoMajor: 1, ProtoMinor: 1}
		p.r.HTTP = &HTTPResult{Request: "GET http://" + t.Address() + "/ (via the proxy)"}
	} else {
		req = &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: t.Address()}, Host: t.Address(),
			Header: http.Header{"User-Agent": {userAgent}}, ProtoMajor: 1, ProtoMinor: 1}
	}
	if u := proxy.User; u != nil {
		pw, _ := u.Password()
		req.Header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	deadline := time.Now().Add(p.opts.Timeouts.HTTP)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	start := time.Now()
	var resp *http.Response
	var err error
	if t.Protocol == "http" {
		err = req.WriteProxy(conn) // absolute URI
	} else {
		err = req.Write(conn)
	}
	br := bufio.NewReader(io.LimitReader(conn, maxHeaderBytes+maxBodyBytes))
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if err != nil {
		conn.Close()
		ps.Error = err.Error()
		p.fail(LayerProxy, ClassProxyFailed, "the proxy "+ps.URL+" did not answer the request: "+shortErr(err))
		return nil, false
	}
	ps.Status = resp.StatusCode
	ps.StatusLine = resp.Status
	ps.SquidError = resp.Header.Get("X-Squid-Error")
	ps.Server = resp.Header.Get("Server")
	if t.Protocol == "http" {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
		resp.Body.Close()
		h := p.r.HTTP
		h.Status, h.Server, h.Location = resp.StatusCode, resp.Header.Get("Server"), resp.Header.Get("Location")
		h.ElapsedMS = time.Since(start).Milliseconds()
		if class, detail, _ := proxyRefusal(resp.StatusCode, ps.SquidError, ps.URL); class != "" && (ps.SquidError != "" || resp.StatusCode == http.StatusProxyAuthRequired) {
			// The proxy answered the request itself.
			h.Answer = AnswerSquidDeny
			p.fail(LayerProxy, class, detail)
			conn.Close()
			return nil, false
		}
		p.classifyAnswer(resp, body)
		return conn, true
	}
	if resp.StatusCode/100 != 2 {
		conn.Close()
		class, detail, _ := proxyRefusal(resp.StatusCode, ps.SquidError, ps.URL)
		p.fail(LayerProxy, class, detail)
		return nil, false
	}
	conn.SetDeadline(time.Time{})
	if br.Buffered() > 0 {
		// Bytes after the CONNECT answer belong to the tunnel.
		buffered, _ := br.Peek(br.Buffered())
		conn = &prefixConn{Conn: conn, prefix: append([]byte(nil), buffered...)}
	}
	return conn, true
}

// proxyRefusal classifies a proxy's non-2xx answer.
func proxyRefusal(status int, squidError, proxyURL string) (class, detail string, refused bool) {
	name, errno, _ := strings.Cut(strings.TrimSpace(squidError), " ")
	says := fmt.Sprintf("the proxy %s answered %d", proxyURL, status)
	if squidError != "" {
		says += " (X-Squid-Error: " + squidError + ")"
	}
	switch {
	case status == http.StatusForbidden:
		return ClassProxyDenied, says + ": its rules deny this destination", true
	case status == http.StatusProxyAuthRequired:
		return ClassProxyDenied, says + ": it wants credentials (put them in the proxy URL: http://user:password@proxy:3128)", true
	case name == "ERR_DNS_FAIL":
		return ClassDNSNXDomain, says + ": the proxy could not resolve the name", false
	case name == "ERR_CONNECT_FAIL" && errno == "110":
		return ClassTCPTimeout, says + ": the proxy's connection timed out", false
	case name == "ERR_CONNECT_FAIL":
		return ClassTCPRefused, says + ": the proxy's connection was refused", false
	case status/100 == 2:
		return "", "", false
	}
	return ClassProxyFailed, says, false
}

type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// limitedConn stops a handshake that reads more than its budget.
type limitedConn struct {
	net.Conn
	left int64
}

var errTooMuch = errors.New("the peer sent more than 1 MiB during the handshake")

func (c *limitedConn) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooMuch
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.Conn.Read(b)
	c.left -= int64(n)
	return n, err
}

func redactedURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.Redacted()
}

const userAgent = "kensa-egress-check"

func (p *prober) tlsStep(ctx context.Context, conn net.Conn) (*tls.Conn, bool) {
	t := p.r.Target
	tr := &TLSResult{}
	p.r.TLS = tr
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	if net.ParseIP(t.Host) == nil {
		cfg.ServerName = t.Host
		tr.ServerName = t.Host
	}
	lc := &limitedConn{Conn: conn, left: maxHandshakeBytes}
	tc := tls.Client(lc, cfg)
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, p.opts.Timeouts.TLS)
	err := tc.HandshakeContext(hctx)
	cancel()
	tr.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil {
		tr.Error = err.Error()
		class, detail := classifyTLS(err)
		if (class == ClassTLSResetAfterHello || class == ClassTLSTimeout) && p.r.Proxy == nil && p.r.TCP != nil {
			tr.ClassicalHello = p.classicalHello(ctx, p.r.TCP.Address, cfg.ServerName)
			if tr.ClassicalHello == "ok" {
				detail += "; a classical ClientHello (X25519 only, about 270 bytes) gets through: the middlebox fails on the 1.5 KB post-quantum ClientHello of Go 1.24+ and current browsers, while clients with a small hello (older OpenSSL) pass"
			}
		}
		p.fail(LayerTLS, class, detail)
		return nil, false
	}
	lc.left = 1 << 62
	cs := tc.ConnectionState()
	tr.Version = tls.VersionName(cs.Version)
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		p.fail(LayerTLS, ClassTLSFailed, "the server sent no certificate")
		return nil, false
	}
	leaf := certs[0]
	tr.Names = leaf.DNSNames
	if len(tr.Names) == 0 && leaf.Subject.CommonName != "" {
		tr.Names = []string{leaf.Subject.CommonName}
	}
	if len(tr.Names) > 20 {
		tr.Names = append(tr.Names[:20:20], fmt.Sprintf("… %d more", len(leaf.DNSNames)-20))
	}
	tr.Subject = leaf.Subject.String()
	tr.Issuer = leaf.Issuer.String()
	inter := x509.NewCertPool()
	for _, c := range certs[1:min(len(certs), 16)] {
		inter.AddCert(c)
	}
	// The name, or for an IP address its IP SAN (crypto/x509 checks an
	// IP written as DNSName against the certificate's IP addresses).
	vo := x509.VerifyOptions{Roots: p.opts.Roots, Intermediates: inter, DNSName: t.Host}
	if _, verr := leaf.Verify(vo); verr != nil {
		tr.VerifyError = verr.Error()
		class, detail := classifyVerify(verr, leaf, t.Host)
		p.fail(LayerTLS, class, detail)
		return nil, false
	}
	tr.Verified = true
	return tc, true
}

// classicalHello tries the handshake again on a new connection with a
// ClientHello that offers only classical key exchanges: one segment,
// where Go's default (with the ML-KEM key share) spans two. It tells a
// middlebox that refuses the destination from one that breaks on large
// ClientHellos (live-checks §4.3.2). It returns "ok" or "failed".
func (p *prober) classicalHello(ctx context.Context, addr, serverName string) string {
	d := net.Dialer{Timeout: p.opts.Timeouts.TCP}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "failed"
	}
	defer conn.Close()
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: serverName, NextProtos: []string{"http/1.1"},
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	hctx, cancel := context.WithTimeout(ctx, p.opts.Timeouts.TLS)
	defer cancel()
	if err := tls.Client(&limitedConn{Conn: conn, left: maxHandshakeBytes}, cfg).HandshakeContext(hctx); err != nil {
		return "failed"
	}
	return "ok"
}

func (p *prober) httpStep(ctx context.Context, conn net.Conn) {
	t := p.r.Target
	scheme := "https"
	if t.Protocol == "http" {
		scheme = "http"
	}
	h := &HTTPResult{Request: "GET " + scheme + "://" + t.Address() + "/"}
	p.r.HTTP = h
	req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Host: hostHeader(t),
		Header: http.Header{"User-Agent": {userAgent}, "Connection": {"close"}}, ProtoMajor: 1, ProtoMinor: 1}
	deadline := time.Now().Add(p.opts.Timeouts.HTTP)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	start := time.Now()
	err := req.Write(conn)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(bufio.NewReader(io.LimitReader(conn, maxHeaderBytes)), req)
	}
	h.ElapsedMS = time.Since(start).Milliseconds()
	if err != nil {
		h.Error = err.Error()
		if t.Protocol == "http" {
			// A plain HTTP connection accepted and then dropped or reset
			// is the firewall's answer too.
			class, detail := classifyHTTPErr(err)
			p.fail(LayerHTTP, class, detail)
		}
		// Over TLS the destination proved itself with its certificate;
		// an HTTP server that does not answer "GET /" is not a network
		// block.
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	resp.Body.Close()
	h.ElapsedMS = time.Since(start).Milliseconds()
	h.Status, h.Server, h.Location = resp.StatusCode, resp.Header.Get("Server"), resp.Header.Get("Location")
	p.classifyAnswer(resp, body)
}

func (p *prober) classifyAnswer(resp *http.Response, body []byte) {
	h := p.r.HTTP
	a := ClassifyHTTP(resp.StatusCode, resp.Header, body, p.r.Host)
	if a.Kind == AnswerCaptive && resp.StatusCode/100 == 3 && p.r.TLS != nil && p.r.TLS.Verified {
		// Over TLS verified for the destination, a redirect is the
		// destination's own (a sign-in page elsewhere), not a portal's.
		a = Answer{Kind: AnswerOrigin}
	}
	h.Answer = a.Kind
	if a.Denied {
		p.fail(LayerHTTP, ClassHTTPDenied, a.Detail)
	}
}

func hostHeader(t Target) string {
	if (t.Protocol == "http" && t.Port == 80) || (t.Protocol != "http" && t.Port == 443) {
		return t.Host
	}
	return t.Address()
}
