package cert_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestEdDSAKeyNotPubliclyTrusted: Ed25519 and Ed448 leaves, made by
// OpenSSL as a private CA would, are not weak (FIPS 186-5 approves
// EdDSA) but no public CA may issue them (CA/B BR §6.1.5): a warning
// key-not-publicly-trusted, and nothing with --private.
func TestEdDSAKeyNotPubliclyTrusted(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	for _, alg := range []string{"Ed25519", "Ed448"} {
		t.Run(alg, func(t *testing.T) {
			out := filepath.Join(dir, alg+".pem")
			args := []string{"req", "-x509", "-newkey", strings.ToLower(alg), "-nodes", "-keyout", filepath.Join(dir, alg+".key"),
				"-out", out, "-subj", "/CN=eddsa.example", "-addext", "subjectAltName=DNS:eddsa.example", "-days", "90"}
			if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl req: %v\n%s", err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			b, err := cert.ParseBundle(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, private := range []bool{false, true} {
				_, fs := cert.Check(cert.CheckInput{Certs: b.Certs, CertFrom: "eddsa.pem", Roots: rootsOf(t, b.Certs[0]),
					At: time.Now(), ServerNames: []string{"eddsa.example"}, Private: private})
				var got []string
				for _, f := range fs {
					if f.ID == "weak-key" || f.ID == "key-not-publicly-trusted" {
						got = append(got, string(f.Severity)+" "+f.ID)
						if !strings.Contains(f.Message, alg) || !strings.Contains(f.Citation, "§6.1.5") || !strings.Contains(f.Remediation, "--private") {
							t.Errorf("%s: message %q, citation %q, remediation %q: want the key type, BR §6.1.5 and --private", f.ID, f.Message, f.Citation, f.Remediation)
						}
					}
				}
				want := []string{"warning key-not-publicly-trusted"}
				if private {
					want = nil
				}
				if !slices.Equal(got, want) {
					t.Errorf("private=%v: key findings %v, want %v\n%s", private, got, want, dump(fs))
				}
			}
		})
	}
}
