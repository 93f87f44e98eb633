package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// watchFleet starts loopback TLS servers for the watch tests and writes
// their targets file: "soon" (6 % of its lifetime left), "expired",
// "fine", and "shop" whose three addresses serve two certificates (the
// majority and a stale one).
func watchFleet(t *testing.T, dir string) (targets, roots string) {
	t.Helper()
	now := time.Now()
	root := certtest.NewRoot("Watch Root", certtest.P256)
	inter := root.Intermediate("Watch CA", certtest.P256)
	serve := func(name string, nb time.Time, days int) string {
		leaf, key := inter.Issue(certtest.Leaf{DNS: []string{name}, KeyType: certtest.P256, NotBefore: nb, Days: days})
		addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, inter.Cert}, Key: key}, nil)
		t.Cleanup(stop)
		return addr
	}
	soon := serve("soon.example", now.AddDate(0, 0, -85), 90)
	expired := serve("expired.example", now.AddDate(0, 0, -100), 90)
	fine := serve("fine.example", now.AddDate(0, 0, -1), 90)
	ncLeaf, ncKey := inter.Issue(certtest.Leaf{DNS: []string{"nochain.example"}, KeyType: certtest.P256, NotBefore: now.AddDate(0, 0, -1), Days: 90})
	nochain, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{ncLeaf}, Key: ncKey}, nil)
	t.Cleanup(stop)
	newLeaf, newKey := inter.Issue(certtest.Leaf{DNS: []string{"shop.example"}, KeyType: certtest.P256, NotBefore: now.AddDate(0, 0, -1), Days: 90})
	oldLeaf, oldKey := inter.Issue(certtest.Leaf{DNS: []string{"shop.example"}, KeyType: certtest.P256, NotBefore: now.AddDate(0, 0, -30), Days: 90})
	var shop []string
	for _, s := range []certtest.Served{{Chain: []*x509.Certificate{newLeaf, inter.Cert}, Key: newKey},
		{Chain: []*x509.Certificate{newLeaf, inter.Cert}, Key: newKey}, {Chain: []*x509.Certificate{oldLeaf, inter.Cert}, Key: oldKey}} {
		a, stop := certtest.Serve(s, nil)
		t.Cleanup(stop)
		shop = append(shop, a)
	}
	targets = filepath.Join(dir, "endpoints.yaml")
	y := fmt.Sprintf("endpoints:\n  - {name: soon, addresses: [%s], servernames: [soon.example]}\n"+
		"  - {name: expired, addresses: [%s], servernames: [expired.example]}\n"+
		"  - {name: fine, addresses: [%s], servernames: [fine.example]}\n"+
		"  - {name: nochain, addresses: [%s], servernames: [nochain.example]}\n"+
		"  - {name: shop, addresses: [%s], servernames: [shop.example]}\n", soon, expired, fine, nochain, strings.Join(shop, ", "))
	roots = filepath.Join(dir, "roots.pem")
	for f, data := range map[string][]byte{targets: []byte(y), roots: certtest.PEM(root.Cert)} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return targets, roots
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCertWatchOnce: one round as a JSON report, with exact exit codes.
func TestCertWatchOnce(t *testing.T) {
	dir := t.TempDir()
	targets, roots := watchFleet(t, dir)
	code, out, stderr := run(t, "cert", "watch", "--targets", targets, "--roots", roots, "--once", "--format", "json")
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1 (stderr %s)", code, stderr)
	}
	var rep struct {
		Results []struct {
			Endpoint   string `json:"endpoint"`
			Expected   *bool  `json:"expected"`
			ExpectedBy string `json:"expected_by"`
		} `json:"results"`
		Findings []struct{ ID, Subject string } `json:"findings"`
		Summary  struct {
			Handshakes, Stale int
			Complete          bool
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Summary.Complete || rep.Summary.Handshakes != 7 || rep.Summary.Stale != 1 || len(rep.Results) != 7 {
		t.Errorf("complete %v, %d handshakes, %d stale, %d results", rep.Summary.Complete, rep.Summary.Handshakes, rep.Summary.Stale, len(rep.Results))
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.ID+" "+f.Subject] = true
	}
	for _, want := range []string{"expired expired", "stale-on-some-addresses shop", "expires-soon soon", "chain-incomplete nochain"} {
		if !got[want] {
			t.Errorf("no finding %q in %v", want, got)
		}
	}
	// Bad flags exit 2 before any work.
	for _, args := range [][]string{
		{"cert", "watch"},
		{"cert", "watch", "--targets", targets, "--interval", "10ms"},
		{"cert", "watch", "--targets", targets, "--jitter", "2"},
		{"cert", "watch", "--targets", targets, "--at", "2026-01-01"},
		{"cert", "watch", "--dir", filepath.Join(dir, "nope")},
		{"cert", "watch", "--targets", targets, "--web-config", filepath.Join(dir, "nope.yml")},
	} {
		if code, _, stderr := run(t, args...); code != ExitError || !strings.HasPrefix(stderr, "kensa: error: ") {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestCertWatchPrometheus: a real Prometheus (Debian's package) on
// loopback scrapes kensa cert watch with the shipped rules loaded (their
// "for" durations set to 0s so the test does not wait 15 minutes; the
// expressions are the shipped ones), and the test waits until the alerts
// for the soon-expiring, the expired and the stale endpoint fire in
// Prometheus' own API.
func TestCertWatchPrometheus(t *testing.T) {
	prom := testenv.NeedCommand(t, "prometheus")
	dir := t.TempDir()
	targets, roots := watchFleet(t, dir)
	kensaAddr, promAddr := freePort(t), freePort(t)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- Main(ctx, []string{"cert", "watch", "--targets", targets, "--roots", roots, "--interval", "2s", "--listen", kensaAddr},
			Env{Stdout: io.Discard, Stderr: &stderr})
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("cert watch exited %d after SIGINT-like cancel, want 0; stderr:\n%s", code, stderr.String())
		}
	}()

	rules, err := os.ReadFile("../../deploy/prometheus/kensa-cert-watch.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules = regexp.MustCompile(`(?m)^(\s+)for: \S+$`).ReplaceAll(rules, []byte("${1}for: 0s"))
	rulesFile := filepath.Join(dir, "rules.yml")
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(rulesFile, rules, 0o644)
	os.WriteFile(cfg, []byte(fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [%s]\n"+
		"scrape_configs:\n  - job_name: kensa\n    static_configs: [{targets: [%q]}]\n", rulesFile, kensaAddr)), 0o644)
	cmd := exec.Command(prom, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr)
	var promLog bytes.Buffer
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	want := map[string]bool{
		"KensaCertLifetimeLow soon": false, "KensaCertLifetimeCritical soon": false, "KensaCertExpired expired": false,
		"KensaCertChainIncomplete nochain": false, "KensaCertStale shop": false, "KensaCertServedByFewerAddresses shop": false,
	}
	deadline := time.Now().Add(90 * time.Second)
	var firing []string
	for time.Now().Before(deadline) {
		firing = firingAlerts(t, promAddr)
		all := true
		for k := range want {
			want[k] = false
		}
		for _, f := range firing {
			if _, ok := want[f]; ok {
				want[f] = true
			}
		}
		for _, v := range want {
			all = all && v
		}
		if all {
			break
		}
		time.Sleep(time.Second)
	}
	for k, v := range want {
		if !v {
			t.Errorf("alert %q did not fire within 90s; firing: %v\nprometheus log:\n%s", k, firing, tail(promLog.String(), 2000))
		}
	}
	for _, f := range firing {
		if strings.HasSuffix(f, " fine") || f == "KensaCertLifetimeLow expired" {
			t.Errorf("alert %q fired for the healthy endpoint", f)
		}
	}
	// The expired endpoint's certificate metrics are there although its
	// chain does not verify (blackbox_exporter#1119).
	if v := promQuery(t, promAddr, `kensa_cert_leaf_expiry_seconds{endpoint="expired"} < 0`); v == "" {
		t.Errorf("no kensa_cert_leaf_expiry_seconds for the expired endpoint")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// firingAlerts returns "alertname endpoint" for each firing alert.
func firingAlerts(t *testing.T, promAddr string) []string {
	resp, err := http.Get("http://" + promAddr + "/api/v1/alerts")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r) != nil {
		return nil
	}
	var out []string
	for _, a := range r.Data.Alerts {
		if a.State == "firing" {
			out = append(out, a.Labels["alertname"]+" "+a.Labels["endpoint"])
		}
	}
	return out
}

// promQuery returns the first value of an instant query, or "".
func promQuery(t *testing.T, promAddr, q string) string {
	resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil || len(r.Data.Result) == 0 {
		return ""
	}
	return fmt.Sprint(r.Data.Result[0].Value[1])
}

// TestCertWatchWebConfig: --web-config (exporter-toolkit) puts TLS and
// basic auth on the listener.
func TestCertWatchWebConfig(t *testing.T) {
	dir := t.TempDir()
	targets, roots := watchFleet(t, dir)
	root := certtest.NewRoot("Web Root", certtest.P256)
	leaf, key := root.Issue(certtest.Leaf{DNS: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyType: certtest.P256,
		NotBefore: time.Now().Add(-time.Hour), Days: 2})
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"web.crt": certtest.PEM(leaf), "web.key": certtest.KeyPEM(key),
		"web.yml": []byte(fmt.Sprintf("tls_server_config:\n  cert_file: %s/web.crt\n  key_file: %s/web.key\nbasic_auth_users:\n  prom: %s\n", dir, dir, hash)),
	}
	for n, d := range files {
		os.WriteFile(filepath.Join(dir, n), d, 0o600)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"cert", "watch", "--targets", targets, "--roots", roots, "--listen", addr, "--web-config", filepath.Join(dir, "web.yml")},
			Env{Stdout: io.Discard, Stderr: io.Discard})
	}()
	defer func() { cancel(); <-done }()
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(user, pass string) int {
		req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		for range 50 {
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("no answer on https://%s", addr)
		return 0
	}
	if code := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d, want 401", code)
	}
	if code := get("prom", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", code)
	}
	if code := get("prom", "s3cret"); code != http.StatusOK {
		t.Errorf("with credentials: %d, want 200", code)
	}
	// Plain HTTP is refused.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered 200")
		}
		resp.Body.Close()
	}
}
