// Package reachtest makes the network the egress probe tests run
// against: a small authoritative DNS server (answering, refusing, or
// staying silent per name), TLS servers with their own certificates, and
// the middleboxes a probe meets in the field: a firewall that accepts TCP
// and resets the connection after the TLS ClientHello while answering
// plain HTTP with Azure Firewall's 470 deny page, a TLS-inspecting proxy
// that re-issues every certificate from its own CA, and a server that
// answers the ClientHello with a TLS alert. Every server takes a listener
// the caller made, so the same code runs on loopback and inside network
// namespaces. Nothing here is a fixture on disk: keys are made at run time.
package reachtest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/kensa-project/kensa/internal/cert/certtest"
	"golang.org/x/net/dns/dnsmessage"
)

// DNS is a small authoritative DNS server for the tests. Names in A are
// answered; names in Refused get REFUSED, in ServFail SERVFAIL; names in
// Silent get no answer at all; every other name is NXDOMAIN.
type DNS struct {
	mu sync.Mutex
	A  map[string][]netip.Addr
	// CNAME maps a name to its canonical name, answered (with the
	// target's addresses) for A, AAAA and CNAME questions.
	CNAME    map[string]string
	Refused  map[string]bool
	ServFail map[string]bool
	Silent   map[string]bool
	// Queries counts the questions asked, by name.
	Queries map[string]int
}

// NewDNS returns an empty server.
func NewDNS() *DNS {
	return &DNS{A: map[string][]netip.Addr{}, CNAME: map[string]string{}, Refused: map[string]bool{}, ServFail: map[string]bool{}, Silent: map[string]bool{}, Queries: map[string]int{}}
}

// Add answers name with addrs.
func (d *DNS) Add(name string, addrs ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := strings.ToLower(strings.TrimSuffix(name, "."))
	for _, a := range addrs {
		d.A[key] = append(d.A[key], netip.MustParseAddr(a))
	}
}

// ServeUDP answers on pc until it is closed.
func (d *DNS) ServeUDP(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out := d.answer(buf[:n]); out != nil {
			pc.WriteTo(out, addr)
		}
	}
}

// ServeTCP answers on l until it is closed.
func (d *DNS) ServeTCP(l net.Listener) {
	accept(l, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var lb [2]byte
		for {
			if _, err := io.ReadFull(c, lb[:]); err != nil {
				return
			}
			msg := make([]byte, int(lb[0])<<8|int(lb[1]))
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			out := d.answer(msg)
			if out == nil {
				continue
			}
			c.Write(append([]byte{byte(len(out) >> 8), byte(len(out))}, out...))
		}
	})
}

func (d *DNS) answer(msg []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	d.mu.Lock()
	d.Queries[name]++
	cname := d.CNAME[name]
	target := name
	if cname != "" {
		target = cname
	}
	addrs, known := d.A[target]
	refused, servfail, silent := d.Refused[name], d.ServFail[name], d.Silent[name]
	d.mu.Unlock()
	if silent {
		return nil
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	switch {
	case refused:
		rh.RCode = dnsmessage.RCodeRefused
	case servfail:
		rh.RCode = dnsmessage.RCodeServerFailure
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	if rh.RCode == dnsmessage.RCodeSuccess {
		owner := q.Name
		if cname != "" {
			cn, err := dnsmessage.NewName(cname + ".")
			if err != nil {
				return nil
			}
			b.CNAMEResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 5}, dnsmessage.CNAMEResource{CNAME: cn})
			owner = cn
		}
		for _, a := range addrs {
			rr := dnsmessage.ResourceHeader{Name: owner, Class: dnsmessage.ClassINET, TTL: 5}
			switch {
			case q.Type == dnsmessage.TypeA && a.Is4():
				b.AResource(rr, dnsmessage.AResource{A: a.As4()})
			case q.Type == dnsmessage.TypeAAAA && a.Is6():
				b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

func accept(l net.Listener, handle func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go handle(c)
	}
}

// PKI is a CA that issues the test servers' certificates.
type PKI struct {
	CA *certtest.CA
}

// NewPKI makes a root CA called cn.
func NewPKI(cn string) *PKI { return &PKI{CA: certtest.NewRoot(cn, certtest.P256)} }

// PEM is the CA certificate, for --ca.
func (p *PKI) PEM() []byte { return certtest.PEM(p.CA.Cert) }

// Pool is a pool holding the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA.Cert)
	return pool
}

// Cert issues a certificate for names, valid from an hour ago for 30 days.
func (p *PKI) Cert(names ...string) tls.Certificate {
	var dns []string
	var ips []net.IP
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	c, key := p.CA.Issue(certtest.Leaf{CN: names[0], DNS: dns, IPs: ips, NotBefore: time.Now().Add(-time.Hour), Days: 30, KeyType: certtest.P256})
	return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: key, Leaf: c}
}

// ServeHTTPS serves body (status 200) over TLS with cert on l.
func ServeHTTPS(l net.Listener, cert tls.Certificate, body string) {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	srv.Serve(tls.NewListener(l, cfg))
}

// ServeHTTPSRedirect answers every request over TLS with cert with a 302
// to location (a site sending its users to sign in elsewhere).
func ServeHTTPSRedirect(l net.Listener, cert tls.Certificate, location string) {
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	srv := &http.Server{Handler: http.RedirectHandler(location, http.StatusFound), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	srv.Serve(tls.NewListener(l, cfg))
}

// ServeHTTP serves status and body over plain HTTP on l.
func ServeHTTP(l net.Listener, status int, header http.Header, body string) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	srv.Serve(l)
}

// quiet drops the servers' handshake-error log lines: the tests make
// those errors on purpose.
var quiet = log.New(io.Discard, "", 0)

// AzureFirewallDenyBody is the page Azure Firewall answers a denied
// plain-HTTP request with (status 470), as documented.
const AzureFirewallDenyBody = "Action: Deny. Reason: No rule matched. Proceeding with default action."

// ResetAfterHello plays Azure Firewall's transparent proxy on a TLS
// port: it accepts every TCP connection, reads the ClientHello, and
// resets the connection (RST: SO_LINGER 0). With close instead of reset
// it closes with a FIN.
func ResetAfterHello(l net.Listener, reset bool) {
	accept(l, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var hdr [5]byte
		io.ReadFull(c, hdr[:]) // the ClientHello's record header, then drop it
		if tc, ok := c.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
		c.Close()
	})
}

// AzureFirewallHTTP plays Azure Firewall on a plain-HTTP port: every
// request is answered 470 with the deny page.
func AzureFirewallHTTP(l net.Listener) {
	ServeHTTP(l, 470, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, AzureFirewallDenyBody)
}

// Alert answers every ClientHello with a TLS alert (the server's
// handshake fails: no certificate for any name → internal_error or
// handshake_failure).
func Alert(l net.Listener) {
	cfg := &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return nil, errors.New("refused by policy")
	}}
	accept(l, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tls.Server(c, cfg).Handshake()
	})
}

// Interceptor is a TLS-inspecting middlebox: it terminates every TLS
// connection with a certificate it issues on the fly for the SNI from
// its own CA, then relays the plaintext to upstream (a function of the
// SNI returning the origin's address and the pool to verify it with;
// "" answers 200 itself).
type Interceptor struct {
	PKI      *PKI
	Upstream func(sni string) (addr string, roots *x509.CertPool)

	mu    sync.Mutex
	certs map[string]*tls.Certificate
}

// Serve intercepts on l.
func (m *Interceptor) Serve(l net.Listener) {
	cfg := &tls.Config{NextProtos: []string{"http/1.1"}, GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.certs == nil {
			m.certs = map[string]*tls.Certificate{}
		}
		name := h.ServerName
		if name == "" {
			name = "no-sni.invalid"
		}
		if c := m.certs[name]; c != nil {
			return c, nil
		}
		c := m.PKI.Cert(name)
		m.certs[name] = &c
		return &c, nil
	}}
	accept(l, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(15 * time.Second))
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		sni := tc.ConnectionState().ServerName
		addr, roots := "", (*x509.CertPool)(nil)
		if m.Upstream != nil {
			addr, roots = m.Upstream(sni)
		}
		if addr == "" {
			br := bufio.NewReader(tc)
			if _, err := http.ReadRequest(br); err == nil {
				fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nintercepted\n")
			}
			return
		}
		up, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{ServerName: sni, RootCAs: roots})
		if err != nil {
			return
		}
		defer up.Close()
		go io.Copy(up, tc)
		io.Copy(tc, up)
	})
}
