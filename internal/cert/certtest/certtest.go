// Package certtest makes the PKI and the TLS servers the certificate tests
// need: roots, intermediates, cross-signs, RSA and ECDSA leaves with any
// validity, SHA-1 signatures, AIA URLs; and real TLS servers on loopback
// (full chain, no chain, per-SNI certificates, a server that never
// finishes the handshake). Nothing here is committed as a fixture: every
// key and certificate is generated when a test runs.
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"sync/atomic"
	"time"
)

// Key types.
const (
	RSA2048 = "rsa2048"
	RSA1024 = "rsa1024"
	P256    = "p256"
	P224    = "p224"
)

// Reference times: the CA/B schedule's first step and a "now" for --at.
var (
	Milestone200 = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	Now          = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// NewKey returns a fresh key of type kt.
func NewKey(kt string) crypto.Signer {
	switch kt {
	case RSA1024:
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		must(err)
		return k
	case P256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		return k
	case P224:
		k, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
		must(err)
		return k
	}
	return rsaKey()
}

func rsaKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	return k
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// CA is a certificate authority: its certificate and key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(1000 + serial.Add(1)) }

// NewRoot makes a self-signed root valid for ten years around Now.
func NewRoot(cn, kt string) *CA {
	key := NewKey(kt)
	tpl := caTemplate(cn)
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, key.Public(), key)
	must(err)
	c, err := x509.ParseCertificate(der)
	must(err)
	return &CA{Cert: c, Key: key}
}

func caTemplate(cn string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"kensa test"}},
		NotBefore:             Now.AddDate(-5, 0, 0),
		NotAfter:              Now.AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// Intermediate makes a CA signed by ca.
func (ca *CA) Intermediate(cn, kt string) *CA {
	key := NewKey(kt)
	c := ca.sign(caTemplate(cn), key.Public())
	return &CA{Cert: c, Key: key}
}

// CrossSign issues a certificate for other's subject and key, signed by
// ca: the cross-signed form of another root.
func (ca *CA) CrossSign(other *CA) *x509.Certificate {
	tpl := caTemplate(other.Cert.Subject.CommonName)
	tpl.Subject = other.Cert.Subject
	return ca.sign(tpl, other.Key.Public())
}

func (ca *CA) sign(tpl *x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	c, err := x509.ParseCertificate(ca.signDER(tpl, pub))
	must(err)
	return c
}

func (ca *CA) signDER(tpl *x509.Certificate, pub crypto.PublicKey) []byte {
	der, err := x509.CreateCertificate(rand.Reader, tpl, ca.Cert, pub, ca.Key)
	must(err)
	return der
}

// Leaf describes a server certificate to issue.
type Leaf struct {
	CN        string
	DNS       []string
	IPs       []net.IP
	NotBefore time.Time // default Now - 10 days
	NotAfter  time.Time // default NotBefore + 90 days - 1s
	Days      int       // validity in days (notAfter = notBefore + Days - 1s), if NotAfter is zero
	KeyType   string
	Key       crypto.Signer // reuse this key
	SHA1      bool
	AIA       []string
	// RawDNS are dNSName SANs written as given, bypassing crypto/x509's
	// IA5String check: a mis-issued certificate with a U-label (UTF-8)
	// name, which crypto/x509 then refuses to parse.
	RawDNS []string
}

// Issue makes a leaf certificate and its key.
func (ca *CA) Issue(l Leaf) (*x509.Certificate, crypto.Signer) {
	der, key := ca.IssueDER(l)
	c, err := x509.ParseCertificate(der)
	must(err)
	return c, key
}

// IssueDER makes a leaf certificate, as DER, and its key: for
// certificates crypto/x509 cannot parse (see Leaf.RawDNS).
func (ca *CA) IssueDER(l Leaf) ([]byte, crypto.Signer) {
	key := l.Key
	if key == nil {
		key = NewKey(l.KeyType)
	}
	nb := l.NotBefore
	if nb.IsZero() {
		nb = Now.AddDate(0, 0, -10)
	}
	na := l.NotAfter
	if na.IsZero() {
		days := l.Days
		if days == 0 {
			days = 90
		}
		na = nb.Add(time.Duration(days)*24*time.Hour - time.Second)
	}
	cn := l.CN
	if cn == "" && len(l.DNS) > 0 {
		cn = l.DNS[0]
	}
	tpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              l.DNS,
		IPAddresses:           l.IPs,
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IssuingCertificateURL: l.AIA,
	}
	if len(l.RawDNS) > 0 {
		var names []asn1.RawValue
		for _, n := range l.RawDNS {
			names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(n)})
		}
		v, err := asn1.Marshal(names)
		must(err)
		tpl.DNSNames = nil
		tpl.ExtraExtensions = append(tpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: v})
	}
	if l.SHA1 {
		switch ca.Key.(type) {
		case *rsa.PrivateKey:
			tpl.SignatureAlgorithm = x509.SHA1WithRSA
		default:
			tpl.SignatureAlgorithm = x509.ECDSAWithSHA1
		}
	}
	return ca.signDER(tpl, key.Public()), key
}

// PEM encodes certificates.
func PEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a key as PKCS#8 PEM.
func KeyPEM(k crypto.Signer) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	must(err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Fingerprint is the SHA-1 of a certificate (a quick unique id for test
// names).
func Fingerprint(c *x509.Certificate) string {
	return fmt.Sprintf("%x", sha1.Sum(c.Raw))[:8]
}

// Served is what a test server presents for one server name.
type Served struct {
	Chain []*x509.Certificate
	Key   crypto.Signer
}

// Serve starts a TLS server on 127.0.0.1 that presents def, or byName[SNI]
// when the client asks for a name it has. It returns the address and a
// stop function.
func Serve(def Served, byName map[string]Served) (string, func()) {
	toTLS := func(s Served) *tls.Certificate {
		c := &tls.Certificate{PrivateKey: s.Key, Leaf: s.Chain[0]}
		for _, x := range s.Chain {
			c.Certificate = append(c.Certificate, x.Raw)
		}
		return c
	}
	cfg := &tls.Config{
		GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if s, ok := byName[h.ServerName]; ok {
				return toTLS(s), nil
			}
			return toTLS(def), nil
		},
	}
	return ServeConfig(cfg)
}

// ServeConfig starts a TLS server with cfg on a loopback port; each
// connection is handshaken and closed. It returns the address and a stop
// function.
func ServeConfig(cfg *tls.Config) (string, func()) {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	must(err)
	acceptLoop(ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.(*tls.Conn).Handshake()
		c.Close()
	})
	return ln.Addr().String(), func() { ln.Close() }
}

// acceptLoop serves each connection of ln with handle, in its own
// goroutine, until ln is closed.
func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}

// Stall starts a listener that accepts connections and never answers:
// a server that never finishes the handshake.
func Stall() (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c) // held open, never read
		}
	}()
	return ln.Addr().String(), func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	}
}

// Counter is a listener that counts the connections it gets: an AIA URL
// pointed at it proves nothing fetched it.
type Counter struct {
	ln    net.Listener
	count atomic.Int64
}

// NewCounter starts a counting listener on loopback.
func NewCounter() *Counter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	c := &Counter{ln: ln}
	acceptLoop(ln, func(conn net.Conn) {
		c.count.Add(1)
		conn.Close()
	})
	return c
}

// URL is an http URL on the listener.
func (c *Counter) URL() string { return "http://" + c.ln.Addr().String() + "/issuer.crt" }

// Count is the number of connections seen.
func (c *Counter) Count() int64 { return c.count.Load() }

// Close stops the listener.
func (c *Counter) Close() { c.ln.Close() }

// Drip starts a listener that sends one byte of a TLS record header every
// 20 ms and never finishes: a server that keeps a client reading.
func Drip() (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	acceptLoop(ln, func(c net.Conn) {
		defer c.Close()
		// A handshake record announcing 16 KiB, delivered slowly.
		hdr := []byte{0x16, 0x03, 0x03, 0x40, 0x00}
		for i := 0; i < 1000; i++ {
			b := []byte{0}
			if i < len(hdr) {
				b[0] = hdr[i]
			}
			if _, err := c.Write(b); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return ln.Addr().String(), func() { ln.Close() }
}
