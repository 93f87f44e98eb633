package cert_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"golang.org/x/net/dns/dnsmessage"
)

// TestASCIIName: names users type (Unicode, full-width, the ideographic
// full stop, upper case A-labels) become the A-labels certificates carry;
// names IDNA refuses are errors; ASCII names and IPs are left alone.
func TestASCIIName(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"例え.jp", "xn--r8jz45g.jp", ""},
		{"日本語.example.jp", "xn--wgv71a119e.example.jp", ""},
		{"例え。ＪＰ", "xn--r8jz45g.jp", ""},
		{"*.日本語.example.jp", "*.xn--wgv71a119e.example.jp", ""},
		{"XN--R8JZ45G.JP", "xn--r8jz45g.jp", ""},
		{"例え.jp.", "xn--r8jz45g.jp.", ""},
		{"Example.COM", "Example.COM", ""},
		{"host_1.corp.example", "host_1.corp.example", ""},
		{"192.0.2.1", "192.0.2.1", ""},
		{"[2001:db8::1]", "[2001:db8::1]", ""},
		{"例え..jp", "", "each label must be 1 to 63"},
		{"xn--.jp", "", "each label must be 1 to 63"},
		{"xn--zz.jp", "", "not a valid internationalized domain name"},
		{"-例え.jp", "", "not a valid internationalized domain name"},
		{"\u200d例え.jp", "", "not a valid internationalized domain name"},
		{" ", "", "empty name"},
	} {
		got, err := cert.ASCIIName(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ASCIIName(%q) = %q, %v; want an error saying %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ASCIIName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"xn--r8jz45g.jp":   "例え.jp (xn--r8jz45g.jp)",
		"例え.jp":            "例え.jp (xn--r8jz45g.jp)",
		"*.xn--r8jz45g.jp": "*.例え.jp (*.xn--r8jz45g.jp)",
		"example.com":      "example.com",
		"xn--zz.jp":        "xn--zz.jp",
		"192.0.2.1":        "192.0.2.1",
	} {
		if got := cert.DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCoversIDN: a certificate's A-label SANs cover the Unicode names an
// operator types, wildcards included.
func TestCoversIDN(t *testing.T) {
	p := newPKI(t)
	leaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.jp", "*.xn--wgv71a119e.example.jp"}, KeyType: certtest.P256})
	for name, want := range map[string]bool{
		"例え.jp":              true,
		"例え。ＪＰ":              true,
		"XN--R8JZ45G.JP.":    true,
		"www.日本語.example.jp": true,
		"ウェブ.日本語.example.jp": true,
		"*.日本語.example.jp":   true,
		"日本語.example.jp":     false,
		"例.jp":               false,
	} {
		if got := cert.Covers(leaf, name); got != want {
			t.Errorf("Covers(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestCompareNamesCaseAndDot: SAN comparison ignores case and a trailing
// dot, as DNS does, for ASCII and A-label names alike.
func TestCompareNamesCaseAndDot(t *testing.T) {
	p := newPKI(t)
	oldLeaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"WWW.Example.COM.", "xn--r8jz45g.jp", "*.Example.com"}, KeyType: certtest.P256})
	newLeaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"www.example.com", "XN--R8JZ45G.JP.", "*.example.COM."}, KeyType: certtest.P256})
	dropped, added := cert.CompareNames(oldLeaf, newLeaf)
	if len(dropped)+len(added) != 0 {
		t.Errorf("dropped %q, added %q; want none (case and trailing dots do not matter)", dropped, added)
	}
}

// TestCheckIDNServerName: --servername in Unicode is checked against the
// A-labels, and a name not covered is shown in both forms.
func TestCheckIDNServerName(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.jp"}, KeyType: certtest.P256})
	oldLeaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.jp", "xn--wgv71a119e.example.jp"}, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -60)})
	in := cert.CheckInput{Certs: []*x509.Certificate{leaf}, CertFrom: "new.crt", Key: key, KeyFrom: "new.key",
		Chain: []cert.Supplied{{Cert: p.inter.Cert, From: "inter.crt"}}, Roots: p.roots, At: certtest.Now,
		ServerNames: []string{"例え.jp", "日本語.example.jp"}, Current: oldLeaf, CurrentFrom: "old.crt"}
	_, fs := cert.Check(in)
	if diff := cmp.Diff([]string{"error hostname-not-covered", "error san-dropped"}, ids(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	for _, f := range fs {
		if !strings.Contains(f.Message, "日本語.example.jp (xn--wgv71a119e.example.jp)") {
			t.Errorf("%s: message does not show both forms of the name: %s", f.ID, f.Message)
		}
	}
}

// TestProbeIDN: a Unicode server name is sent as SNI in A-labels (the
// server picks its certificate by it) and matched against the SANs.
func TestProbeIDN(t *testing.T) {
	p := newPKI(t)
	idnLeaf, idnKey := p.inter.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.jp"}, KeyType: certtest.P256})
	other, otherKey := p.inter.Issue(certtest.Leaf{DNS: []string{"default.example"}, KeyType: certtest.P256})
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{other, p.inter.Cert}, Key: otherKey},
		map[string]certtest.Served{"xn--r8jz45g.jp": {Chain: []*x509.Certificate{idnLeaf, p.inter.Cert}, Key: idnKey}})
	defer stop()
	results, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"例え.jp", "日本語.example.jp"}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 2})
	if len(results) != 2 || !results[0].OK || results[0].ServerName != "xn--r8jz45g.jp" {
		t.Fatalf("results = %+v; want two, the first a handshake for xn--r8jz45g.jp", results)
	}
	if results[0].Leaf.SHA256 != cert.Fingerprint(idnLeaf) {
		t.Errorf("SNI %q got %s, not the certificate for xn--r8jz45g.jp", results[0].ServerName, results[0].Leaf.Subject)
	}
	if diff := cmp.Diff([]string{"error hostname-mismatch"}, ids(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	if !strings.Contains(fs[0].Message, "日本語.example.jp (xn--wgv71a119e.example.jp)") || fs[0].ServerName != "xn--wgv71a119e.example.jp" {
		t.Errorf("hostname-mismatch = %+v; want both forms in the message and the A-label as servername", fs[0])
	}
}

// TestULabelSAN: a mis-issued certificate whose SAN holds a U-label as
// UTF-8 is refused by crypto/x509; kensa says why, in a file and served.
func TestULabelSAN(t *testing.T) {
	p := newPKI(t)
	der, key := p.inter.IssueDER(certtest.Leaf{RawDNS: []string{"例え.jp"}, CN: "例え.jp", KeyType: certtest.P256})
	_, err := cert.ParseBundle(certtest.PEM(&x509.Certificate{Raw: der}), nil)
	if err == nil || !strings.Contains(err.Error(), "A-label (xn--r8jz45g.jp)") {
		t.Errorf("ParseBundle: %v; want an error that explains the U-label SAN", err)
	}
	addr, stop := certtest.ServeConfig(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, p.inter.Cert.Raw}, PrivateKey: key}}})
	defer stop()
	_, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"例え.jp"}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1})
	if diff := cmp.Diff([]string{"error handshake-failed"}, ids(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	if !strings.Contains(fs[0].Remediation, "reissued with every name converted to A-labels") {
		t.Errorf("remediation = %q; want it to explain the U-label SAN", fs[0].Remediation)
	}
}

// TestParseTargetsIDN: a targets file's server names become A-labels;
// a name IDNA refuses is an error on its line.
func TestParseTargetsIDN(t *testing.T) {
	tg, err := cert.ParseTargets([]byte("endpoints:\n  - name: jp\n    addresses: [例え.jp]\n    servernames: [例え.jp, www.日本語.example.jp]\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []cert.Endpoint{{Name: "jp", Addresses: []string{"例え.jp"}, ServerNames: []string{"xn--r8jz45g.jp", "www.xn--wgv71a119e.example.jp"}}}
	if diff := cmp.Diff(want, tg.Endpoints); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for in, want := range map[string]string{
		"endpoints:\n  - name: jp\n    addresses: [a:1]\n    servernames:\n      - ok.jp\n      - 例え..jp\n": "line 6: endpoint 1 (jp): servername \"例え..jp\"",
		"endpoints:\n  - name: jp\n    addresses: ['-例え.jp:443']\n":                                         "line 3: endpoint 1 (jp): address \"-例え.jp:443\"",
	} {
		if _, err := cert.ParseTargets([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTargets(%q) = %v; want an error saying %q", in, err, want)
		}
	}
}

// TestProbeIDNAddress: a Unicode host in an address is resolved, and sent
// as SNI, in A-labels. A DNS server on loopback answers only the A-label
// query (as every DNS server does: the DNS holds A-labels).
func TestProbeIDNAddress(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.test"}, KeyType: certtest.P256})
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, p.inter.Cert}, Key: key}, nil)
	defer stop()
	_, port, _ := net.SplitHostPort(addr)
	dns, queries := serveDNS(t, map[string]net.IP{"xn--r8jz45g.test.": net.IPv4(127, 0, 0, 1)})
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}
	results, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{"例え.test:" + port}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1, Resolver: res})
	if len(results) != 1 || !results[0].OK || results[0].ServerName != "xn--r8jz45g.test" || results[0].Address != "例え.test:"+port {
		t.Fatalf("results = %+v (DNS queries %q); want one handshake with 例え.test:%s resolved and sent as xn--r8jz45g.test", results, queries(), port)
	}
	if len(fs) != 0 {
		t.Errorf("findings:\n%s", dump(fs))
	}
}

// serveDNS answers A queries for names on a loopback UDP port (AAAA and
// unknown names get no records); it returns the address and the names
// asked so far.
func serveDNS(t *testing.T, names map[string]net.IP) (string, func() []string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	var mu sync.Mutex
	var asked []string
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var m dnsmessage.Message
			if m.Unpack(buf[:n]) != nil || len(m.Questions) != 1 {
				continue
			}
			q := m.Questions[0]
			mu.Lock()
			asked = append(asked, q.Name.String())
			mu.Unlock()
			m.Header.Response, m.Header.Authoritative = true, true
			ip, ok := names[q.Name.String()]
			if !ok {
				m.Header.RCode = dnsmessage.RCodeNameError
			} else if q.Type == dnsmessage.TypeA {
				m.Answers = []dnsmessage.Resource{{Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body: &dnsmessage.AResource{A: [4]byte(ip.To4())}}}
			}
			if out, err := m.Pack(); err == nil {
				pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// FuzzASCIIName: any input converts to ASCII that converts to itself,
// or is refused; DisplayName never fails.
func FuzzASCIIName(f *testing.F) {
	for _, s := range []string{"例え.jp", "*.日本語.example.jp", "xn--r8jz45g.jp", "例え。ＪＰ", "xn--.jp", "a_b.example", "[::1]", "..", "*.", "xn--zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = cert.DisplayName(s)
		a, err := cert.ASCIIName(s)
		if err != nil {
			return
		}
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 && isASCIIString(strings.TrimSpace(s)) {
				t.Fatalf("ASCIIName(%q) = %q, not ASCII", s, a)
			}
		}
		if isASCIIString(a) {
			if b, err := cert.ASCIIName(a); err != nil || b != a {
				t.Fatalf("ASCIIName(%q) = %q, but ASCIIName(%q) = %q, %v", s, a, a, b, err)
			}
		} else {
			t.Fatalf("ASCIIName(%q) = %q, not ASCII", s, a)
		}
		_ = cert.DisplayName(a)
	})
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
