package cert_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// The tests in this file probe real load balancers from Debian's
// packages on loopback: haproxy with a crt-list of several SNI
// certificates (the old one left in the list after a renewal, as ALB
// keeps it) and nginx with several server_name blocks.

// needSbin finds a daemon Debian installs in /usr/sbin, which is not in a
// normal user's PATH.
func needSbin(t *testing.T, name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	testenv.NeedFile(t, p, "Debian's "+name+" package (.ci/install-deps)")
	return p
}

type lbPKI struct {
	dir   string
	inter *certtest.CA
	roots *cert.Roots
	now   time.Time
}

func newLBPKI(t *testing.T) *lbPKI {
	root := certtest.NewRoot("LB Root", certtest.P256)
	return &lbPKI{dir: t.TempDir(), inter: root.Intermediate("LB CA", certtest.P256), roots: rootsOf(t, root.Cert), now: time.Now()}
}

// issue writes a certificate for names (chain with the intermediate
// unless leafOnly) and its key, as name.pem (certificate, chain, key:
// haproxy's form), name.crt and name.key (nginx's).
func (p *lbPKI) issue(t *testing.T, name string, names []string, nbDaysAgo int, leafOnly bool) *x509.Certificate {
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: p.now.AddDate(0, 0, -nbDaysAgo), Days: 90})
	chain := []*x509.Certificate{leaf, p.inter.Cert}
	if leafOnly {
		chain = chain[:1]
	}
	write := func(f string, parts ...[]byte) {
		if err := os.WriteFile(filepath.Join(p.dir, f), bytes.Join(parts, nil), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(name+".pem", certtest.PEM(chain...), certtest.KeyPEM(key.(crypto.Signer)))
	write(name+".crt", certtest.PEM(chain...))
	write(name+".key", certtest.KeyPEM(key.(crypto.Signer)))
	return leaf
}

// startLB starts a load balancer in the foreground and stops it with the
// test.
func startLB(t *testing.T, addr string, name string, args ...string) {
	cmd := exec.Command(name, args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	// nginx's workers inherit the output pipe: do not wait for it long
	// after the master is gone.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM: both stop at once, nginx's master with its workers.
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, log.String())
		}
	})
	waitListening(t, addr)
}

func probeFindings(t *testing.T, eps []cert.Endpoint, roots *cert.Roots) ([]*cert.ProbeResult, map[string]string) {
	results, fs := cert.ProbeAll(context.Background(), eps, cert.ProbeOptions{Roots: roots, At: time.Now(), Timeout: 5 * time.Second, Concurrency: 4})
	got := map[string]string{}
	for _, f := range fs {
		key := f.ServerName
		if key == "" {
			key = "(no SNI)"
		}
		got[key] += string(f.Severity) + " " + f.ID + ";"
	}
	return results, got
}

// TestHAProxyCrtList: haproxy serves a crt-list with a default
// certificate, shop's new certificate and (after it) the old one left in
// the list, and api's old certificate whose renewal was never added.
func TestHAProxyCrtList(t *testing.T) {
	haproxy := needSbin(t, "haproxy")
	p := newLBPKI(t)
	p.issue(t, "default", []string{"lb.example"}, 10, false)
	shopNew := p.issue(t, "shop-new", []string{"shop.example", "www.shop.example"}, 2, false)
	p.issue(t, "shop-old", []string{"shop.example", "www.shop.example"}, 40, false)
	p.issue(t, "api-old", []string{"api.example"}, 40, false)
	apiNew := p.issue(t, "api-new", []string{"api.example"}, 2, false) // issued, never added
	addr := freeAddr(t)
	crtList := fmt.Sprintf("%[1]s/default.pem\n%[1]s/shop-new.pem shop.example www.shop.example\n%[1]s/shop-old.pem shop.example www.shop.example\n%[1]s/api-old.pem api.example\n", p.dir)
	cfg := fmt.Sprintf(`global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 5s
    timeout server 5s
frontend fe
    bind %s ssl crt-list %s/crt-list.txt
    http-request return status 200 content-type text/plain string ok
`, addr, p.dir)
	os.WriteFile(filepath.Join(p.dir, "crt-list.txt"), []byte(crtList), 0o600)
	os.WriteFile(filepath.Join(p.dir, "haproxy.cfg"), []byte(cfg), 0o600)
	if out, err := exec.Command(haproxy, "-c", "-f", filepath.Join(p.dir, "haproxy.cfg")).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	startLB(t, addr, haproxy, "-db", "-f", filepath.Join(p.dir, "haproxy.cfg"))
	eps := []cert.Endpoint{
		{Name: "shop", Addresses: []string{addr}, ServerNames: []string{"shop.example", "www.shop.example"}, NoSNI: true, Expect: []string{cert.Fingerprint(shopNew)}},
		{Name: "api", Addresses: []string{addr}, ServerNames: []string{"api.example"}, Expect: []string{cert.Fingerprint(apiNew)}},
	}
	results, got := probeFindings(t, eps, p.roots)
	served := map[string]string{}
	for _, r := range results {
		if !r.OK {
			t.Fatalf("%s: %s", r.ServerName, r.Error)
		}
		served[r.Endpoint+" "+r.ServerName] = r.Leaf.Subject
	}
	// haproxy picks the first crt-list entry for a name: the new one; the
	// old one stays in the list unseen by a probe (the inventory finds it
	// on ALB). api serves the old certificate: stale.
	want := map[string]string{
		"shop.example":     "",
		"www.shop.example": "",
		"api.example":      "error stale-certificate;",
		// Without SNI: the default certificate, which is not shop's.
		"(no SNI)": "warning hostname-mismatch;error stale-certificate;",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: findings %q, want %q (served %v)", k, got[k], v, served)
		}
	}
	if served["shop "] != "CN=lb.example" {
		t.Errorf("without SNI haproxy serves %q, want the default CN=lb.example", served["shop "])
	}
}

// TestNginxServerNames: nginx with a default server and one server block
// per name; api's block serves its leaf without the intermediate.
func TestNginxServerNames(t *testing.T) {
	nginx := needSbin(t, "nginx")
	p := newLBPKI(t)
	p.issue(t, "default", []string{"lb.example"}, 10, false)
	shop := p.issue(t, "shop", []string{"shop.example"}, 2, false)
	p.issue(t, "api", []string{"api.example"}, 2, true)
	addr := freeAddr(t)
	var blocks strings.Builder
	for _, s := range []struct{ name, file, extra string }{{"_", "default", " default_server"}, {"shop.example", "shop", ""}, {"api.example", "api", ""}} {
		fmt.Fprintf(&blocks, "    server {\n        listen %s ssl%s;\n        server_name %s;\n        ssl_certificate %s/%s.crt;\n        ssl_certificate_key %s/%s.key;\n        return 200 ok;\n    }\n",
			addr, s.extra, s.name, p.dir, s.file, p.dir, s.file)
	}
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	conf := fmt.Sprintf("%sdaemon off;\nworker_processes 1;\npid %[2]s/nginx.pid;\nerror_log %[2]s/error.log;\nevents { worker_connections 64; }\nhttp {\n    access_log off;\n"+
		"    client_body_temp_path %[2]s/body;\n    proxy_temp_path %[2]s/proxy;\n    fastcgi_temp_path %[2]s/fastcgi;\n    uwsgi_temp_path %[2]s/uwsgi;\n    scgi_temp_path %[2]s/scgi;\n%[3]s}\n",
		user, p.dir, blocks.String())
	os.WriteFile(filepath.Join(p.dir, "nginx.conf"), []byte(conf), 0o600)
	startLB(t, addr, nginx, "-p", p.dir, "-e", filepath.Join(p.dir, "error.log"), "-c", filepath.Join(p.dir, "nginx.conf"))
	eps := []cert.Endpoint{
		{Name: "web", Addresses: []string{addr}, ServerNames: []string{"shop.example", "api.example", "other.example"}},
	}
	results, got := probeFindings(t, eps, p.roots)
	want := map[string]string{
		"shop.example":  "",
		"api.example":   "error chain-incomplete;",
		"other.example": "error hostname-mismatch;",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: findings %q, want %q", k, got[k], v)
		}
	}
	for _, r := range results {
		if r.ServerName == "shop.example" && (r.Leaf == nil || r.Leaf.SHA256 != cert.Fingerprint(shop)) {
			t.Errorf("shop.example served %+v", r.Leaf)
		}
	}
}

// TestOpenSSLOddCases: openssl s_server on loopback for the cases a watch
// round must tell apart: one address of three serving the old certificate
// (no expect: the majority decides), a leaf served without its
// intermediate, and an expired certificate.
func TestOpenSSLOddCases(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	p := newLBPKI(t)
	p.issue(t, "new", []string{"shop.example"}, 2, false)
	p.issue(t, "old", []string{"shop.example"}, 40, false)
	p.issue(t, "leafonly", []string{"api.example"}, 2, true)
	p.issue(t, "expired", []string{"old.example"}, 100, false)
	serve := func(name string) string {
		addr := freeAddr(t)
		crt := filepath.Join(p.dir, name+".crt")
		// s_server takes the chain after the leaf with -cert_chain.
		args := []string{"s_server", "-accept", addr, "-cert", crt, "-key", filepath.Join(p.dir, name+".key"), "-www", "-quiet"}
		if name != "leafonly" {
			chain := filepath.Join(p.dir, "inter.crt")
			os.WriteFile(chain, certtest.PEM(p.inter.Cert), 0o600)
			args = append(args, "-cert_chain", chain)
		}
		startLB(t, addr, openssl, args...)
		return addr
	}
	shop := []string{serve("new"), serve("old"), serve("new")}
	api, expired := serve("leafonly"), serve("expired")
	r := cert.WatchRound(context.Background(), cert.WatchInput{Endpoints: []cert.Endpoint{
		{Name: "shop", Addresses: shop, ServerNames: []string{"shop.example"}},
		{Name: "api", Addresses: []string{api}, ServerNames: []string{"api.example"}},
		{Name: "old", Addresses: []string{expired}, ServerNames: []string{"old.example"}},
	}, Probe: cert.ProbeOptions{Roots: p.roots, At: time.Now(), Timeout: 5 * time.Second, Concurrency: 4}})
	got := map[string]string{}
	for _, f := range r.Findings {
		got[f.Subject+" "+f.Address] += f.ID + ";"
	}
	want := map[string]string{
		"shop " + shop[1]: "stale-on-some-addresses;",
		"api " + api:      "chain-incomplete;",
		"old " + expired:  "expired;",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	for _, res := range r.Results {
		if res.Endpoint == "shop" && (res.Expected == nil || *res.Expected != (res.Dialed != shop[1])) {
			t.Errorf("%s: expected = %v", res.Dialed, res.Expected)
		}
	}
}
