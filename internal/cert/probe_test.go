package cert_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/report"
)

// TestProbe runs real TLS servers on loopback, one per case, and probes
// them with SNI (and without, where asked).
func TestProbe(t *testing.T) {
	p := newPKI(t)
	counter := certtest.NewCounter()
	defer counter.Close()
	names := []string{"example.com", "www.example.com"}
	newLeaf, newKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, AIA: []string{counter.URL()}})
	oldLeaf, oldKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, -3, 0), Days: 200})
	otherLeaf, otherKey := p.inter.Issue(certtest.Leaf{DNS: []string{"other.example.net"}, KeyType: certtest.RSA2048})
	expired, expiredKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -100), Days: 90})

	full, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{newLeaf, p.inter.Cert}, Key: newKey}, nil)
	defer stop()
	noChain, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{newLeaf}, Key: newKey}, nil)
	defer stop()
	stale, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf, p.inter.Cert}, Key: oldKey}, nil)
	defer stop()
	wrongHost, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{otherLeaf, p.inter.Cert}, Key: otherKey}, nil)
	defer stop()
	expiredSrv, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{expired, p.inter.Cert}, Key: expiredKey}, nil)
	defer stop()
	// SNI picks the new certificate; no SNI gets the old default.
	sniOnly, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{otherLeaf, p.inter.Cert}, Key: otherKey},
		map[string]certtest.Served{"example.com": {Chain: []*x509.Certificate{newLeaf, p.inter.Cert}, Key: newKey}})
	defer stop()
	stall, stop := certtest.Stall()
	defer stop()
	refused, stop := certtest.Stall()
	stop()
	drip, stop := certtest.Drip()
	defer stop()
	// A chain longer than kensa analyses: the leaf, the intermediate and
	// 18 unrelated CA certificates.
	long := []*x509.Certificate{newLeaf, p.inter.Cert}
	for range 18 {
		long = append(long, p.other.Cert)
	}
	longChain, stop := certtest.Serve(certtest.Served{Chain: long, Key: newKey}, nil)
	defer stop()

	expect := []string{cert.Fingerprint(newLeaf)}
	tests := []struct {
		name     string
		endpoint cert.Endpoint
		want     []string
		message  string
	}{
		{"full chain", cert.Endpoint{Addresses: []string{full}, ServerNames: names}, []string{}, ""},
		{"no chain", cert.Endpoint{Addresses: []string{noChain}, ServerNames: names[:1]}, []string{"error chain-incomplete"}, "the chain the server sent"},
		{"stale", cert.Endpoint{Addresses: []string{stale}, ServerNames: names[:1]}, []string{"error stale-certificate"}, "serial"},
		{"wrong host", cert.Endpoint{Addresses: []string{wrongHost}, ServerNames: names[:1]}, []string{"error hostname-mismatch", "error stale-certificate"}, "does not cover example.com"},
		{"expired", cert.Endpoint{Addresses: []string{expiredSrv}, ServerNames: names[:1]}, []string{"error expired", "error stale-certificate"}, "expired on"},
		{"sni and no sni", cert.Endpoint{Addresses: []string{sniOnly}, ServerNames: names[:1], NoSNI: true},
			[]string{"error stale-certificate", "warning hostname-mismatch"}, "clients that send no SNI"},
		{"never finishes the handshake", cert.Endpoint{Addresses: []string{stall}, ServerNames: names[:1]}, []string{"error handshake-failed"}, "did not complete a TLS handshake"},
		{"refused", cert.Endpoint{Addresses: []string{refused}, ServerNames: names[:1]}, []string{"error handshake-failed"}, "nothing listens"},
		{"drips bytes forever", cert.Endpoint{Addresses: []string{drip}, ServerNames: names[:1]}, []string{"error handshake-failed"}, "did not complete a TLS handshake"},
		{"chain too long", cert.Endpoint{Addresses: []string{longChain}, ServerNames: names[:1]}, []string{"warning chain-extra", "warning chain-extra"}, "kensa analysed the first 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			results, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{tt.endpoint}, cert.ProbeOptions{
				Roots: p.roots, At: certtest.Now, Expect: expect, ExpectFrom: "new.crt", Timeout: 500 * time.Millisecond, Concurrency: 4})
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("probe took %s; the timeout must bound it", d)
			}
			if diff := cmp.Diff(tt.want, ids(fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", diff, dump(fs))
			}
			if tt.message != "" && !containsText(fs, tt.message) {
				t.Errorf("no finding says %q:\n%s", tt.message, dump(fs))
			}
			for _, f := range fs {
				if f.Address == "" {
					t.Errorf("finding %s names no address", f.ID)
				}
			}
			wantN := len(tt.endpoint.ServerNames)
			if tt.endpoint.NoSNI {
				wantN++
			}
			if len(results) != wantN {
				t.Errorf("%d results, want %d (one per servername, plus no SNI)", len(results), wantN)
			}
		})
	}
	if n := counter.Count(); n != 0 {
		t.Errorf("the AIA listener saw %d connections; kensa must never fetch AIA", n)
	}
}

// TestProbeResolvesNames: an address given as a name is probed on every
// IP it resolves to, and each result names the IP dialed.
func TestProbeResolvesNames(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, p.inter.Cert}, Key: key}, nil)
	defer stop()
	_, port, _ := net.SplitHostPort(addr)
	ips, err := net.DefaultResolver.LookupIPAddr(context.Background(), "localhost")
	if err != nil {
		t.Skipf("localhost does not resolve: %v", err)
	}
	results, _ := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{"localhost:" + port}, ServerNames: []string{"example.com"}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: time.Second, Concurrency: 4})
	if len(results) != len(ips) {
		t.Fatalf("%d results for %d addresses of localhost", len(results), len(ips))
	}
	for _, r := range results {
		host, _, _ := net.SplitHostPort(r.Dialed)
		if net.ParseIP(host) == nil {
			t.Errorf("dialed %q, not an IP", r.Dialed)
		}
		if host == "127.0.0.1" && !r.OK {
			t.Errorf("127.0.0.1: %s", r.Error)
		}
	}
}

func containsText(fs []report.Finding, s string) bool {
	for _, f := range fs {
		if strings.Contains(f.Message, s) || strings.Contains(f.Remediation, s) {
			return true
		}
	}
	return false
}

// TestProbeBaseline records a fleet, changes one server, and checks what
// the baseline comparison says: which endpoint changed, the previous
// certificate for rollback, and the forgotten second load balancer.
func TestProbeBaseline(t *testing.T) {
	p := newPKI(t)
	names := []string{"example.com"}
	oldLeaf, oldKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, Days: 200, NotBefore: certtest.Now.AddDate(0, -3, 0)})
	newLeaf, newKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256})
	lb1, stop1 := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf, p.inter.Cert}, Key: oldKey}, nil)
	defer stop1()
	lb2, stop2 := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf, p.inter.Cert}, Key: oldKey}, nil)
	defer stop2()
	eps := []cert.Endpoint{{Name: "alb-1", Addresses: []string{lb1}, ServerNames: names}, {Name: "alb-2", Addresses: []string{lb2}, ServerNames: names}}
	opts := cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 2}
	before, _ := cert.ProbeAll(context.Background(), eps, opts)
	data, err := cert.NewProbeRecord(before, certtest.Now).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "PRIVATE KEY") {
		t.Fatal("a record holds a private key")
	}
	base, err := cert.ParseRecord(data)
	if err != nil {
		t.Fatal(err)
	}

	// The change: alb-1 gets the new certificate, alb-2 is forgotten.
	stop1()
	lb1b, stop1b := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{newLeaf, p.inter.Cert}, Key: newKey}, nil)
	defer stop1b()
	eps[0].Addresses = []string{lb1b}
	base.Endpoints[0].Address, base.Endpoints[0].Dialed = lb1b, lb1b

	after, _ := cert.ProbeAll(context.Background(), eps, opts)
	plan, fs := cert.CompareBaseline(after, base, false)
	if diff := cmp.Diff([]string{"warning stale-certificate"}, ids(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	if len(fs) == 1 && fs[0].Subject != "alb-2" {
		t.Errorf("stale-certificate names %q, want alb-2", fs[0].Subject)
	}
	if len(plan) != 1 || plan[0].Endpoint != "alb-1" || plan[0].Previous.SHA256 != cert.Fingerprint(oldLeaf) {
		t.Fatalf("rollback plan = %+v, want alb-1 back to the old certificate", plan)
	}
	prev := base.Endpoints[plan[0].RecordIndex].Chain[0]
	if !strings.Contains(prev.PEM, "BEGIN CERTIFICATE") {
		t.Errorf("the record does not keep the previous certificate's PEM")
	}
	changes := map[string]string{}
	for _, r := range after {
		changes[r.Endpoint] = r.Change
	}
	if diff := cmp.Diff(map[string]string{"alb-1": "changed", "alb-2": "unchanged"}, changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	// With --expect, the expectation judges instead of the heuristic.
	opts.Expect = []string{cert.Fingerprint(newLeaf)}
	after, fs = cert.ProbeAll(context.Background(), eps, opts)
	_, bf := cert.CompareBaseline(after, base, true)
	if diff := cmp.Diff([]string{"error stale-certificate"}, ids(append(fs, bf...))); diff != "" {
		t.Errorf("with --expect (-want +got):\n%s", diff)
	}
	js, _ := json.Marshal(after)
	if strings.Contains(string(js), "PRIVATE") {
		t.Error("results hold a private key")
	}
}

func TestParseTargets(t *testing.T) {
	good := "endpoints:\n  - name: public\n    addresses: [10.0.0.5:443, lb.example.com]\n    servernames: [example.com]\n    no_sni: true\n"
	tg, err := cert.ParseTargets([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []cert.Endpoint{{Name: "public", Addresses: []string{"10.0.0.5:443", "lb.example.com"}, ServerNames: []string{"example.com"}, NoSNI: true}}
	if diff := cmp.Diff(want, tg.Endpoints); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{
		"",
		"endpoints: []",
		"endpoints:\n  - name: x\n    servername: [a]\n    addresses: [a:1]\n",
		"endpoints:\n  - name: x\n",
		"endpoints:\n  - addresses: ['a:99999']\n",
	} {
		if _, err := cert.ParseTargets([]byte(bad)); err == nil {
			t.Errorf("ParseTargets(%q) = nil error", bad)
		}
	}
}

// TestParseTargetsErrors: every error of a targets file names its line
// and says what was expected, in the file's terms (not Go's).
func TestParseTargetsErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"# only a comment\n", "empty"},
		{"endpoints: []", "no endpoints"},
		{"- name: a\n  addresses: [a:1]\n", "line 1: expected a mapping with \"endpoints:\""},
		{"endpoint:\n  - name: a\n", "line 1: unknown key \"endpoint\""},
		{"endpoints:\n  - name: x\n    addresses: [a:1]\n  - name: y\n    servername: [a]\n    addresses: [a:1]\n", "line 5: unknown key \"servername\" (known: name, addresses, servernames, no_sni, expect)"},
		{"endpoints:\n  - name: x\n    addresses: [a:1]\n  - name: b\n    servernames: [x.example.com]\n", "line 4: endpoint 2 (b): no addresses"},
		{"endpoints:\n  - name: a\n    addresses:\n      - 10.0.0.1:443\n      - '1.2.3.4:99999'\n", "line 5: endpoint 1 (a): address \"1.2.3.4:99999\": bad port"},
		{"endpoints:\n  - name: a\n    addresses: {x: 1}\n", "line 3: \"addresses\" must be a list"},
		{"endpoints:\n  - name: a\n    addresses: [a:1]\n    no_sni: maybe\n", "line 4: \"no_sni\" must be true or false"},
		{"endpoints:\n  name: a\n", "line 2: \"endpoints\" must be a list"},
		{"endpoints:\n  - [a]\n", "line 2: endpoint 1 must be a mapping"},
		{"endpoints:\n  - name: a\n    addresses: [\"\"]\n", "line 3: endpoint 1 (a): empty address"},
		{"endpoints:\n  - name: a\n    addresses: [a:1\n", "line "},
	} {
		_, err := cert.ParseTargets([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseTargets(%q) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
	// A single address or name may be written without brackets.
	tg, err := cert.ParseTargets([]byte("endpoints:\n  - name: a\n    addresses: 10.0.0.1:443\n    servernames: example.com\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []cert.Endpoint{{Name: "a", Addresses: []string{"10.0.0.1:443"}, ServerNames: []string{"example.com"}}}
	if diff := cmp.Diff(want, tg.Endpoints); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// FuzzParseTargets: a targets file never panics, and what it accepts is
// within the limits.
func FuzzParseTargets(f *testing.F) {
	f.Add([]byte("endpoints:\n  - name: public\n    addresses: [10.0.0.5:443, lb.example.com]\n    servernames: [example.com]\n    no_sni: true\n"))
	f.Add([]byte("endpoints:\n  - name: a\n    addresses: 10.0.0.1\n    servernames: example.com\n"))
	f.Add([]byte("endpoints: &a [*a]\n"))
	f.Add([]byte("endpoints:\n  - name: a\n    addresses: [a:1]\n    expect: [\"AB:CD\", 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tg, err := cert.ParseTargets(data)
		if err != nil {
			return
		}
		n := 0
		for _, e := range tg.Endpoints {
			if len(e.Addresses) == 0 {
				t.Fatalf("endpoint %q accepted without addresses", e.Name)
			}
			for _, fp := range e.Expect {
				if n, ok := cert.NormalizeFingerprint(fp); !ok || n != fp {
					t.Fatalf("expect %q accepted, not a normalized fingerprint", fp)
				}
			}
			n += len(e.Addresses) * max(1, len(e.ServerNames)+1)
		}
		if n > cert.MaxProbes {
			t.Fatalf("%d handshakes accepted", n)
		}
	})
}

// TestProbeBaselineOlder: an endpoint that now serves a certificate
// issued before the one it served at the baseline got an older or wrong
// certificate (seed 002, error 4); "changed" alone would look like the
// renewal went through.
func TestProbeBaselineOlder(t *testing.T) {
	p := newPKI(t)
	names := []string{"example.com"}
	oldLeaf, oldKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, Days: 200, NotBefore: certtest.Now.AddDate(0, -3, 0)})
	curLeaf, curKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256})
	lb, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{curLeaf, p.inter.Cert}, Key: curKey}, nil)
	eps := []cert.Endpoint{{Name: "alb-1", Addresses: []string{lb}, ServerNames: names}}
	opts := cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1}
	before, _ := cert.ProbeAll(context.Background(), eps, opts)
	stop()
	data, _ := cert.NewProbeRecord(before, certtest.Now).Marshal()
	base, err := cert.ParseRecord(data)
	if err != nil {
		t.Fatal(err)
	}
	lb2, stop2 := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf, p.inter.Cert}, Key: oldKey}, nil)
	defer stop2()
	eps[0].Addresses = []string{lb2}
	base.Endpoints[0].Address, base.Endpoints[0].Dialed = lb2, lb2
	after, _ := cert.ProbeAll(context.Background(), eps, opts)
	_, fs := cert.CompareBaseline(after, base, false)
	if diff := cmp.Diff([]string{"error not-newer"}, ids(fs)); diff != "" {
		t.Fatalf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	if f := fs[0]; f.Subject != "alb-1" || !strings.Contains(f.Message, oldLeaf.NotAfter.UTC().Format(time.DateOnly)) || !strings.Contains(f.Message, curLeaf.NotAfter.UTC().Format(time.DateOnly)) {
		t.Errorf("finding = %+v, want alb-1 and both dates", f)
	}
}

// TestProbeDeadDNSIsBounded: names are resolved concurrently, so a DNS
// server that never answers costs one timeout for the run, not one per
// name (16 names × 1s would be 16s before the first handshake).
func TestProbeDeadDNSIsBounded(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	dead := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		inFlight--
		mu.Unlock()
		return nil, ctx.Err()
	}}
	var eps []cert.Endpoint
	for i := range 16 {
		eps = append(eps, cert.Endpoint{Name: fmt.Sprint("lb", i), Addresses: []string{fmt.Sprintf("lb%d.invalid-kensa-test.example:443", i)}})
	}
	results, fs := cert.ProbeAll(context.Background(), eps, cert.ProbeOptions{Roots: newPKI(t).roots, At: certtest.Now,
		Timeout: time.Second, Concurrency: 8, Resolver: dead})
	if len(results) != 16 {
		t.Fatalf("%d results, want 16", len(results))
	}
	for _, r := range results {
		if r.OK || r.Error == "" {
			t.Errorf("%s: ok=%v error=%q, want a resolution failure", r.Address, r.OK, r.Error)
		}
	}
	if got := ids(fs); len(got) != 16 || got[0] != "error handshake-failed" {
		t.Errorf("findings = %v, want 16 handshake-failed", got)
	}
	// The resolver's goroutines may still be unwinding: read under the lock.
	mu.Lock()
	defer mu.Unlock()
	if most < 8 {
		t.Errorf("at most %d lookups in flight, want them concurrent (8 at once)", most)
	}
}

// TestProbeWeakIntermediate: a served intermediate with a weak key is
// reported, as cert check reports it for a bundle.
func TestProbeWeakIntermediate(t *testing.T) {
	p := newPKI(t)
	weak := p.root.Intermediate("Weak Issuing CA", certtest.RSA1024)
	leaf, key := weak.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, weak.Cert}, Key: key}, nil)
	defer stop()
	_, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"example.com"}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1})
	if diff := cmp.Diff([]string{"error weak-key"}, ids(fs)); diff != "" {
		t.Errorf("findings (-want +got):\n%s\n%s", diff, dump(fs))
	}
	if !containsText(fs, "Weak Issuing CA") {
		t.Errorf("the finding does not name the intermediate:\n%s", dump(fs))
	}
}

// TestProbeWhereNoSNI: a handshake without SNI to an IP is named once
// ("127.0.0.1:N without SNI"), not "127.0.0.1:N (127.0.0.1:N) without SNI".
func TestProbeWhereNoSNI(t *testing.T) {
	addr, stop := certtest.Stall()
	stop()
	_, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, NoSNI: true}},
		cert.ProbeOptions{Roots: &cert.Roots{}, At: certtest.Now, Timeout: time.Second, Concurrency: 1})
	if len(fs) != 1 || !strings.Contains(fs[0].Message, addr+" without SNI") {
		t.Errorf("findings = %s, want %q named once", dump(fs), addr+" without SNI")
	}
}

// TestProbePlainHTTP: a port that answers in plain HTTP (the wrong port, a
// listener without TLS) is said to be so, not "check that the listener is
// up".
func TestProbePlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"plain HTTP", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "not TLS"},
		// A handshake record announcing a 16 MiB certificate message.
		{"oversized handshake", "\x16\x03\x03\x40\x00\x0b\xff\xff\xff" + strings.Repeat("\x00", 0x4000-4), "the server answered, but"},
	} {
		t.Run(tc.name, func(t *testing.T) { probeAnswer(t, tc.answer, tc.want) })
	}
}

func probeAnswer(t *testing.T, answer, want string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(answer))
			c.Close()
		}
	}()
	_, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{ln.Addr().String()}, ServerNames: []string{"example.com"}}},
		cert.ProbeOptions{Roots: &cert.Roots{}, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1})
	if len(fs) != 1 || !strings.Contains(fs[0].Remediation, want) {
		t.Errorf("findings = %s, want a remediation saying %q", dump(fs), want)
	}
}
