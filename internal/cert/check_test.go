package cert_test

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/report"
)

// pki is the hierarchy most tests share: a root, an intermediate under it,
// and a second intermediate of the same name with another key (a "wrong
// generation").
type pki struct {
	root, inter, interOld, other *certtest.CA
	roots                        *cert.Roots
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{root: certtest.NewRoot("Test Root", certtest.P256)}
	p.inter = p.root.Intermediate("Test Issuing CA", certtest.P256)
	p.interOld = p.root.Intermediate("Test Issuing CA", certtest.P256)
	p.other = p.root.Intermediate("Other Issuing CA", certtest.P256)
	p.roots = rootsOf(t, p.root.Cert)
	return p
}

func rootsOf(t *testing.T, cs ...*x509.Certificate) *cert.Roots {
	t.Helper()
	b, err := cert.ParseBundle(certtest.PEM(cs...), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cert.RootsFromCerts(b.Certs, "test roots")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ids returns "severity id" for each finding, sorted.
func ids(fs []report.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.Severity)+" "+f.ID)
	}
	slices.Sort(out)
	return out
}

func supplied(cs ...*x509.Certificate) []cert.Supplied {
	var out []cert.Supplied
	for i, c := range cs {
		out = append(out, cert.Supplied{Cert: c, From: fmt.Sprintf("chain.pem #%d", i+1)})
	}
	return out
}

func TestCheck(t *testing.T) {
	p := newPKI(t)
	at := certtest.Now
	counter := certtest.NewCounter()
	defer counter.Close()
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com", "www.example.com"}, KeyType: certtest.P256, AIA: []string{counter.URL()}})
	otherKey := certtest.NewKey(certtest.P256)
	// The certificate in service: older, one more name.
	current, curKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com", "www.example.com", "api.example.com"}, KeyType: certtest.P256,
		NotBefore: at.AddDate(0, -6, 0), Days: 200})
	// In service: issued two months ago for 398 days, it outlives a fresh
	// 90-day renewal.
	longCurrent, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com", "www.example.com"}, KeyType: certtest.P256,
		NotBefore: at.AddDate(0, -2, 0), Days: 398})
	renamed, renamedKey := p.other.Issue(certtest.Leaf{DNS: []string{"shop.example.com"}, KeyType: certtest.P256})
	sameKey, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com", "www.example.com"}, Key: curKey})
	rsaLeaf, rsaKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.RSA2048})
	weak, weakKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.RSA1024})
	p224, p224Key := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P224})
	rsaInter := p.root.Intermediate("RSA Issuing CA", certtest.RSA2048)
	sha1Leaf, sha1Key := rsaInter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, SHA1: true})
	expired, expiredKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, -100), Days: 90})
	future, futureKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, 3), Days: 90})
	soon, soonKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, -70), Days: 90})
	lastDay, lastDayKey := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, -88).Add(-12 * time.Hour), Days: 90})
	// The cross-signed path: the leaf's issuer was signed by an old root,
	// which the new root cross-signed.
	oldRoot := certtest.NewRoot("Old Root", certtest.P256)
	newRoot := certtest.NewRoot("New Root", certtest.P256)
	cross := newRoot.CrossSign(oldRoot)
	crossInter := oldRoot.Intermediate("Cross Issuing CA", certtest.P256)
	crossLeaf, crossKey := crossInter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})

	tests := []struct {
		name    string
		in      cert.CheckInput
		want    []string
		message string // a finding's message or remediation contains it
	}{
		{name: "complete", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.inter.Cert)}, want: []string{}},
		{name: "fullchain in one file", in: cert.CheckInput{Certs: []*x509.Certificate{leaf, p.inter.Cert}, Key: key}, want: []string{}},
		{name: "key mismatch", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: otherKey, Chain: supplied(p.inter.Cert)},
			want: []string{"error key-mismatch"}, message: "does not belong to the certificate"},
		{name: "key of the current certificate", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: curKey, Chain: supplied(p.inter.Cert), Current: current, CurrentFrom: "old.crt"},
			want: []string{"error key-mismatch", "error san-dropped"}, message: "the key is the one of the certificate in service"},
		{name: "missing intermediate", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key},
			want: []string{"error chain-incomplete"}, message: `its issuer "CN=Test Issuing CA,O=kensa test" (authority key id`},
		{name: "wrong intermediate of the same name", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.interOld.Cert)},
			want: []string{"error chain-incomplete"}, message: "has the right name but did not sign"},
		{name: "wrong intermediate of another name", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.other.Cert)},
			want: []string{"error chain-incomplete"}, message: "did not issue it: wrong intermediate"},
		{name: "intermediate among the roots", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Roots: rootsOf(t, p.root.Cert, p.inter.Cert)},
			want: []string{"error chain-incomplete"}, message: "verifies only because the trust anchors"},
		{name: "untrusted root", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.inter.Cert), Roots: rootsOf(t, newRoot.Cert)},
			want: []string{"error chain-incomplete"}, message: "is neither in the bundle nor among the trusted roots"},
		{name: "root included", in: cert.CheckInput{Certs: []*x509.Certificate{leaf, p.inter.Cert, p.root.Cert}, Key: key},
			want: []string{"info chain-extra"}, message: "includes the root"},
		{name: "stale extra intermediate", in: cert.CheckInput{Certs: []*x509.Certificate{leaf, p.inter.Cert, p.other.Cert}, Key: key},
			want: []string{"warning chain-extra"}, message: "not on the chain"},
		{name: "out of order", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.other.Cert, p.root.Cert, p.inter.Cert)},
			want: []string{"info chain-extra", "warning chain-extra", "warning chain-order"}, message: "write them in this order: example.com → Test Issuing CA → Test Root"},
		{name: "leaf not first", in: cert.CheckInput{Certs: []*x509.Certificate{p.inter.Cert, leaf}, Key: key},
			want: []string{"warning chain-order"}, message: "write them in this order: example.com → Test Issuing CA"},
		{name: "leaf not first shows the file's order", in: cert.CheckInput{Certs: []*x509.Certificate{p.inter.Cert, leaf}, Key: key},
			want: []string{"warning chain-order"}, message: "out of order (Test Issuing CA → example.com)"},
		{name: "stale intermediate in --cert: remove it from that file", in: cert.CheckInput{Certs: []*x509.Certificate{leaf, p.inter.Cert, p.other.Cert}, Key: key},
			want: []string{"warning chain-extra"}, message: "remove them from new.crt"},
		{name: "certificate and chain files swapped", in: cert.CheckInput{Certs: []*x509.Certificate{p.inter.Cert}, Chain: supplied(leaf)},
			want: []string{"error chain-order", "warning chain-extra"}, message: "the certificate and chain files are swapped"},
		{name: "hostname of a certificate without names", in: cert.CheckInput{Certs: []*x509.Certificate{p.inter.Cert}, ServerNames: []string{"example.com"}},
			want: []string{"error hostname-not-covered"}, message: "(its names: none)"},
		{name: "renewed early with a shorter lifetime", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.inter.Cert), Current: longCurrent, CurrentFrom: "old.crt"},
			want: []string{"warning not-newer"}, message: "issued after the certificate in service but expires sooner"},
		{name: "cross-signed path to the new root", in: cert.CheckInput{Certs: []*x509.Certificate{crossLeaf, crossInter.Cert, cross}, Key: crossKey, Roots: rootsOf(t, newRoot.Cert)},
			want: []string{}},
		{name: "cross-sign unneeded when the old root is trusted", in: cert.CheckInput{Certs: []*x509.Certificate{crossLeaf, crossInter.Cert, cross}, Key: crossKey, Roots: rootsOf(t, newRoot.Cert, oldRoot.Cert)},
			want: []string{"info chain-extra"}, message: "cross-signed"},
		{name: "cross-signed chain misordered", in: cert.CheckInput{Certs: []*x509.Certificate{crossLeaf, cross, crossInter.Cert}, Key: crossKey, Roots: rootsOf(t, newRoot.Cert)},
			want: []string{"warning chain-order"}, message: "Cross Issuing CA → Old Root"},
		{name: "san dropped, not newer", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.inter.Cert), Current: current, CurrentFrom: "old.crt"},
			want: []string{"error san-dropped"}, message: "no longer covers api.example.com"},
		{name: "older certificate picked", in: cert.CheckInput{Certs: []*x509.Certificate{current}, Key: curKey, Chain: supplied(p.inter.Cert), Current: leaf, CurrentFrom: "served"},
			want: []string{"error not-newer", "info san-added", "warning expires-soon"}, message: "not after the certificate in service"},
		{name: "key reused", in: cert.CheckInput{Certs: []*x509.Certificate{sameKey}, Key: curKey, Chain: supplied(p.inter.Cert), Current: current, CurrentFrom: "old.crt"},
			want: []string{"error san-dropped", "warning key-reused"}},
		{name: "subject and issuer changed", in: cert.CheckInput{Certs: []*x509.Certificate{renamed}, Key: renamedKey, Chain: supplied(p.other.Cert), Current: current, CurrentFrom: "old.crt"},
			want: []string{"error san-dropped", "info issuer-changed", "info san-added", "info subject-changed"}, message: "the chain file must change with it"},
		{name: "hostname not covered", in: cert.CheckInput{Certs: []*x509.Certificate{leaf}, Key: key, Chain: supplied(p.inter.Cert), ServerNames: []string{"www.example.com", "shop.example.com"}},
			want: []string{"error hostname-not-covered"}, message: `does not cover "shop.example.com"`},
		{name: "rsa leaf", in: cert.CheckInput{Certs: []*x509.Certificate{rsaLeaf}, Key: rsaKey, Chain: supplied(p.inter.Cert)}, want: []string{}},
		{name: "weak key", in: cert.CheckInput{Certs: []*x509.Certificate{weak}, Key: weakKey, Chain: supplied(p.inter.Cert)},
			want: []string{"error weak-key"}, message: "RSA key of 1024 bits"},
		{name: "P-224 key: FIPS 186-5 approves it, the CA/B BR do not", in: cert.CheckInput{Certs: []*x509.Certificate{p224}, Key: p224Key, Chain: supplied(p.inter.Cert)},
			want: []string{"error weak-key"}, message: "the CA/B BR allow only P-256, P-384 and P-521 (FIPS 186-5 still approves P-224"},
		{name: "sha1 signature", in: cert.CheckInput{Certs: []*x509.Certificate{sha1Leaf}, Key: sha1Key, Chain: supplied(rsaInter.Cert)},
			want: []string{"error weak-signature"}, message: "SHA1-RSA"},
		{name: "expired", in: cert.CheckInput{Certs: []*x509.Certificate{expired}, Key: expiredKey, Chain: supplied(p.inter.Cert)},
			want: []string{"error expired"}, message: "expired on"},
		{name: "not yet valid", in: cert.CheckInput{Certs: []*x509.Certificate{future}, Key: futureKey, Chain: supplied(p.inter.Cert)},
			want: []string{"error not-yet-valid"}},
		{name: "expires soon by default", in: cert.CheckInput{Certs: []*x509.Certificate{soon}, Key: soonKey, Chain: supplied(p.inter.Cert)},
			want: []string{"warning expires-soon"}, message: "less than a third of its lifetime"},
		{name: "one day left, said in the singular", in: cert.CheckInput{Certs: []*x509.Certificate{lastDay}, Key: lastDayKey, Chain: supplied(p.inter.Cert)},
			want: []string{"warning expires-soon"}, message: ": 1 day left of 90,"},
		{name: "expires soon 10d", in: cert.CheckInput{Certs: []*x509.Certificate{soon}, Key: soonKey, Chain: supplied(p.inter.Cert), Remaining: cert.Threshold{Duration: 10 * 24 * time.Hour}},
			want: []string{}},
		{name: "expires soon 30%", in: cert.CheckInput{Certs: []*x509.Certificate{soon}, Key: soonKey, Chain: supplied(p.inter.Cert), Remaining: cert.Threshold{Fraction: 0.3}},
			want: []string{"warning expires-soon"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.CertFrom, in.KeyFrom = "new.crt", "new.key"
			if in.Roots == nil {
				in.Roots = p.roots
			}
			in.At = at
			_, fs := cert.Check(in)
			if diff := cmp.Diff(tt.want, ids(fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", diff, dump(fs))
			}
			if tt.message != "" && !slices.ContainsFunc(fs, func(f report.Finding) bool {
				return strings.Contains(f.Message, tt.message) || strings.Contains(f.Remediation, tt.message)
			}) {
				t.Errorf("no finding says %q:\n%s", tt.message, dump(fs))
			}
			for _, f := range fs {
				if f.Message == "" || f.Remediation == "" || f.Citation == "" {
					t.Errorf("finding %s lacks a message, remediation or citation: %+v", f.ID, f)
				}
			}
		})
	}
	if n := counter.Count(); n != 0 {
		t.Errorf("the AIA listener saw %d connections; kensa must never fetch AIA", n)
	}
}

func dump(fs []report.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s %s: %s → %s\n", f.Severity, f.ID, f.Message, f.Remediation)
	}
	return b.String()
}

// TestValiditySchedule checks the CA/B Forum limits around their dates:
// 398 days before 2026-03-15, 200 from then.
func TestValiditySchedule(t *testing.T) {
	root := certtest.NewRoot("Schedule Root", certtest.P256)
	inter := root.Intermediate("Schedule CA", certtest.P256)
	roots := rootsOf(t, root.Cert)
	day := 24 * time.Hour
	before := certtest.Milestone200.Add(-time.Second)
	tests := []struct {
		name    string
		issued  time.Time
		days    int
		private bool
		want    []string
	}{
		{"398 days the second before 2026-03-15", before, 398, false, []string{}},
		{"399 days before 2026-03-15", before, 399, false, []string{"error validity-too-long"}},
		{"398 days on 2026-03-15", certtest.Milestone200, 398, false, []string{"error validity-too-long"}},
		{"200 days on 2026-03-15", certtest.Milestone200, 200, false, []string{}},
		{"201 days on 2026-03-15", certtest.Milestone200, 201, false, []string{"error validity-too-long"}},
		{"201 days, private PKI", certtest.Milestone200, 201, true, []string{}},
		{"101 days on 2027-03-15", time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), 101, false, []string{"error validity-too-long"}},
		{"100 days on 2027-03-15", time.Date(2027, 3, 15, 0, 0, 0, 0, time.UTC), 100, false, []string{}},
		{"48 days on 2029-03-15", time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), 48, false, []string{"error validity-too-long"}},
		{"47 days on 2029-03-15", time.Date(2029, 3, 15, 0, 0, 0, 0, time.UTC), 47, false, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf, key := inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: tt.issued, Days: tt.days})
			if got := cert.ValidityDays(leaf.NotBefore, leaf.NotAfter); got != tt.days {
				t.Fatalf("ValidityDays = %d, want %d", got, tt.days)
			}
			_, fs := cert.Check(cert.CheckInput{Certs: []*x509.Certificate{leaf}, CertFrom: "new.crt", Key: key, Chain: supplied(inter.Cert),
				Roots: roots, At: tt.issued.Add(day), Private: tt.private})
			if diff := cmp.Diff(tt.want, ids(fs)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%s", diff, dump(fs))
			}
			for _, f := range fs {
				if !strings.Contains(f.Citation, "as of 2026-05-04") {
					t.Errorf("citation %q does not carry the data's as-of date", f.Citation)
				}
			}
		})
	}
}

func TestCompareNamesWildcards(t *testing.T) {
	ca := certtest.NewRoot("Names Root", certtest.P256)
	mk := func(names ...string) *x509.Certificate {
		c, _ := ca.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256})
		return c
	}
	tests := []struct {
		name           string
		old, new       []string
		dropped, added []string
	}{
		{"same", []string{"a.example.com"}, []string{"a.example.com"}, nil, nil},
		{"wildcard covers one label", []string{"a.example.com"}, []string{"*.example.com"}, nil, []string{"*.example.com"}},
		{"wildcard does not cover the apex", []string{"example.com"}, []string{"*.example.com"}, []string{"example.com"}, []string{"*.example.com"}},
		{"wildcard does not cover two labels", []string{"a.b.example.com"}, []string{"*.example.com"}, []string{"a.b.example.com"}, []string{"*.example.com"}},
		{"old wildcard needs the same wildcard", []string{"*.example.com"}, []string{"a.example.com", "b.example.com"}, []string{"*.example.com"}, nil},
		{"case and trailing dot", []string{"WWW.Example.com."}, []string{"www.example.com"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, a := cert.CompareNames(mk(tt.old...), mk(tt.new...))
			if diff := cmp.Diff(tt.dropped, d); diff != "" {
				t.Errorf("dropped (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.added, a); diff != "" {
				t.Errorf("added (-want +got):\n%s", diff)
			}
		})
	}
}

// TestThresholdZero: --min-remaining 0d turns expires-soon off; it used to
// fall back to the default third of the lifetime. A negative one is an
// error.
func TestThresholdZero(t *testing.T) {
	parse := func(s string) (time.Duration, error) {
		n, _ := strings.CutSuffix(s, "d")
		var d float64
		_, err := fmt.Sscanf(n, "%g", &d)
		return time.Duration(d * float64(24*time.Hour)), err
	}
	p := newPKI(t)
	soon, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -70), Days: 90})
	th, err := cert.ParseThreshold("0d", parse)
	if err != nil {
		t.Fatal(err)
	}
	if fs := cert.ValidityFindings(soon, certtest.Now, th, "s", "new certificate"); len(fs) != 0 {
		t.Errorf("--min-remaining 0d: %s", dump(fs))
	}
	if _, err := cert.ParseThreshold("-3d", parse); err == nil {
		t.Error("--min-remaining -3d accepted")
	}
}
