package cert_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
)

// TestNoPoolNeverMeansSystemRoots: a Roots without a pool (or no Roots)
// must trust nothing. x509.Verify with Roots nil would use the system
// pool, which on macOS and Windows is the platform verifier, fetching
// missing intermediates through AIA. SSL_CERT_FILE points Go's system
// pool at this test's root, so falling back to it would be seen.
func TestNoPoolNeverMeansSystemRoots(t *testing.T) {
	root := certtest.NewRoot("System Root", certtest.P256)
	inter := root.Intermediate("System CA", certtest.P256)
	leaf, _ := inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	f := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(f, certtest.PEM(root.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSL_CERT_FILE", f)
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	for _, r := range []*cert.Roots{nil, {Source: "empty"}} {
		res := cert.AnalyzeChain(cert.ChainInput{Leaf: leaf, LeafFrom: "leaf.pem", LeafFirst: true,
			Supplied: []cert.Supplied{{Cert: inter.Cert, From: "chain.pem"}}, Roots: r, At: certtest.Now, Subject: "leaf.pem"})
		if res.Trusted {
			t.Errorf("Roots %+v: the chain verified, against the system pool", r)
		}
	}
}
