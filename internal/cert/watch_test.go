package cert_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
)

// TestWatchRoundMajority: three addresses of one endpoint, two serving the
// new certificate and one the old; without expect the majority decides.
// With an expect in the targets file, the expect decides.
func TestWatchRoundMajority(t *testing.T) {
	p := newPKI(t)
	names := []string{"shop.example"}
	newLeaf, newKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256})
	oldLeaf, oldKey := p.inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -40)})
	var addrs []string
	for _, s := range []certtest.Served{{Chain: []*x509.Certificate{newLeaf, p.inter.Cert}, Key: newKey},
		{Chain: []*x509.Certificate{oldLeaf, p.inter.Cert}, Key: oldKey},
		{Chain: []*x509.Certificate{newLeaf, p.inter.Cert}, Key: newKey}} {
		a, stop := certtest.Serve(s, nil)
		t.Cleanup(stop)
		addrs = append(addrs, a)
	}
	opts := cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 5 * time.Second, Concurrency: 4}
	r := cert.WatchRound(context.Background(), cert.WatchInput{Endpoints: []cert.Endpoint{{Name: "shop", Addresses: addrs, ServerNames: names}}, Probe: opts})
	if !r.Complete || len(r.Results) != 3 {
		t.Fatalf("round: complete %v, %d results", r.Complete, len(r.Results))
	}
	for i, res := range r.Results {
		want := res.Dialed != addrs[1]
		if res.Expected == nil || *res.Expected != want || res.ExpectedBy != "majority" {
			t.Errorf("result %d (%s): expected %v by %q, want %v by majority", i, res.Dialed, res.Expected, res.ExpectedBy, want)
		}
	}
	if got := strings.Join(ids(r.Findings), ","); got != "error stale-on-some-addresses" {
		t.Errorf("findings = %s", got)
	}
	// The targets file's expect names the old certificate: now the two
	// new ones are stale.
	ep := cert.Endpoint{Name: "shop", Addresses: addrs, ServerNames: names, Expect: []string{cert.Fingerprint(oldLeaf)}}
	r = cert.WatchRound(context.Background(), cert.WatchInput{Endpoints: []cert.Endpoint{ep}, Probe: opts})
	stale := 0
	for _, res := range r.Results {
		if res.Expected != nil && !*res.Expected && res.ExpectedBy == "expect" {
			stale++
		}
	}
	if stale != 2 || strings.Join(ids(r.Findings), ",") != "error stale-certificate,error stale-certificate" {
		t.Errorf("with expect: %d stale, findings %v", stale, ids(r.Findings))
	}
	// cert probe with the same targets: the endpoint's expect judges it,
	// so its addresses' difference is not said twice.
	_, pf := cert.ProbeAll(context.Background(), []cert.Endpoint{ep}, opts)
	if got := strings.Join(ids(pf), ","); got != "error stale-certificate,error stale-certificate" {
		t.Errorf("probe with the endpoint's expect: findings %s", got)
	}
	// A tie decides nothing, and the split is not silent: probe's
	// certificates-differ names which address serves what.
	ep = cert.Endpoint{Name: "shop", Addresses: addrs[:2], ServerNames: names}
	r = cert.WatchRound(context.Background(), cert.WatchInput{Endpoints: []cert.Endpoint{ep}, Probe: opts})
	for _, res := range r.Results {
		if res.Expected != nil {
			t.Errorf("tie: %s has an expectation", res.Dialed)
		}
	}
	if got := strings.Join(ids(r.Findings), ","); got != "error certificates-differ" {
		t.Errorf("tie: findings %s, want certificates-differ", got)
	} else if m := r.Findings[0].Message; !strings.Contains(m, addrs[0]) || !strings.Contains(m, addrs[1]) || r.Findings[0].Subject != "shop" {
		t.Errorf("tie: certificates-differ %q about %q does not name both addresses", m, r.Findings[0].Subject)
	}
	// Two endpoints in one round: the majority decides the first (its
	// split is stale-on-some-addresses), the second is a tie
	// (certificates-differ, for it alone).
	r = cert.WatchRound(context.Background(), cert.WatchInput{Endpoints: []cert.Endpoint{
		{Name: "shop", Addresses: addrs, ServerNames: names},
		{Name: "shop-dr", Addresses: addrs[:2], ServerNames: names},
	}, Probe: opts})
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.ID+" "+f.Subject)
	}
	slices.Sort(got)
	if want := []string{"certificates-differ shop-dr", "stale-on-some-addresses shop"}; !slices.Equal(got, want) {
		t.Errorf("two endpoints: findings %q, want %q", got, want)
	}
}

// TestCheckFiles: PEM, DER and PKCS#12 files, a directory, an unreadable
// file among them, an expired certificate and a leaf without its
// intermediate.
func TestCheckFiles(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"files.example"}, KeyType: certtest.P256})
	expired, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"old.example"}, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -200)})
	pfx, err := pkcs12.Modern.Encode(key, leaf, []*x509.Certificate{p.inter.Cert}, "")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"deploy/full.pem":    certtest.PEM(leaf, p.inter.Cert),
		"deploy/leaf.der":    leaf.Raw,
		"deploy/bundle.pfx":  pfx,
		"deploy/sub/old.crt": certtest.PEM(expired, p.inter.Cert),
		"deploy/notes.txt":   []byte("not read: not a certificate extension"),
		"deploy/broken.pem":  []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		"single/extra.pem":   certtest.PEM(leaf, p.inter.Cert),
	}
	for name, data := range files {
		f := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, fs := cert.CheckFiles([]string{filepath.Join(dir, "single/extra.pem"), filepath.Join(dir, "missing.pem")},
		[]string{filepath.Join(dir, "deploy")}, nil, p.roots, certtest.Now, cert.Threshold{})
	got := map[string]string{}
	for _, f := range res {
		rel, _ := filepath.Rel(dir, f.Path)
		switch {
		case !f.OK():
			got[rel] = "unreadable"
		case f.Chain.Trusted:
			got[rel] = f.Format + " verified"
		default:
			got[rel] = f.Format + " unverified"
		}
	}
	want := map[string]string{
		"single/extra.pem":   "PEM verified",
		"missing.pem":        "unreadable",
		"deploy/bundle.pfx":  "PKCS#12 verified",
		"deploy/broken.pem":  "unreadable",
		"deploy/full.pem":    "PEM verified",
		"deploy/leaf.der":    "DER unverified",
		"deploy/sub/old.crt": "PEM verified", // the path is built; expiry is its own finding
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("files read: %v", got)
	}
	// Findings: two unreadable, the expired one, the DER leaf's missing
	// intermediate (and the expired one's chain, expired too).
	joined := strings.Join(ids(fs), ",")
	for _, id := range []string{"error cert-file-unreadable", "error expired", "error chain-incomplete"} {
		if !strings.Contains(joined, id) {
			t.Errorf("findings %s lack %s", joined, id)
		}
	}
	if n := strings.Count(joined, "cert-file-unreadable"); n != 2 {
		t.Errorf("%d cert-file-unreadable, want 2", n)
	}
}

// TestParseTargetsExpect: "expect" takes SHA-256 fingerprints in the forms
// openssl and kensa print them, and names the line of one that is not.
func TestParseTargetsExpect(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	colons := strings.ToUpper(strings.TrimSuffix(strings.Repeat("AB:", 32), ":"))
	tg, err := cert.ParseTargets([]byte("endpoints:\n  - name: a\n    addresses: [a:1]\n    expect: [" + fp + ", \"sha256 Fingerprint=" + colons + "\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Endpoints[0].Expect) != 2 || tg.Endpoints[0].Expect[0] != tg.Endpoints[0].Expect[1] {
		t.Errorf("expect = %q", tg.Endpoints[0].Expect)
	}
	_, err = cert.ParseTargets([]byte("endpoints:\n  - name: a\n    addresses: [a:1]\n    expect: new.crt\n"))
	if err == nil || !strings.Contains(err.Error(), `line 4: endpoint 1 (a): expect "new.crt" is not a SHA-256 fingerprint`) {
		t.Errorf("err = %v", err)
	}
}
