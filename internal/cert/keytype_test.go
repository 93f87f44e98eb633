package cert_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestKeyTypesGoCannotUse: certificates whose key Go's crypto/x509 does
// not decode (RSA-PSS SubjectPublicKeyInfo, DSA) are named for what they
// are, and judged by FIPS 186-5 and the CA/B BR, never as "<nil>" or a Go
// type name. The certificates are made by OpenSSL, as a CA would.
func TestKeyTypesGoCannotUse(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	dsaParams := filepath.Join(dir, "dsa.params")
	if out, err := exec.Command(openssl, "dsaparam", "-out", dsaParams, "1024").CombinedOutput(); err != nil {
		t.Fatalf("openssl dsaparam: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name, newkey, keyType string
		want                  []string // "severity id"
		msg                   string
	}{
		{"rsa-pss", "rsa-pss", "RSA-PSS 2048", []string{"warning weak-key", "warning weak-signature"}, "FIPS 186-5 approves RSASSA-PSS"},
		{"rsa-pss-1024", "rsa-pss", "RSA-PSS 1024", []string{"error weak-key", "warning weak-signature"}, "below the 2048 bits"},
		{"dsa", "dsa:" + dsaParams, "DSA 1024", []string{"error weak-key", "error weak-signature"}, "DSA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"req", "-x509", "-newkey", tc.newkey, "-nodes", "-keyout", filepath.Join(dir, "k.pem"),
				"-out", filepath.Join(dir, "c.pem"), "-subj", "/CN=" + tc.name, "-days", "30"}
			if tc.name == "rsa-pss-1024" {
				args = append(args, "-pkeyopt", "rsa_keygen_bits:1024")
			}
			if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl req: %v\n%s", err, out)
			}
			data, err := os.ReadFile(filepath.Join(dir, "c.pem"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := cert.ParseBundle(data, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := b.Certs[0]
			if got := cert.FactsOf(c, certtest.Now).KeyType; got != tc.keyType {
				t.Errorf("KeyType = %q, want %q", got, tc.keyType)
			}
			fs := cert.StrengthFindings(c, "c.pem")
			got := []string{}
			for _, f := range fs {
				got = append(got, string(f.Severity)+" "+f.ID)
				if strings.Contains(f.Message, "<nil>") || strings.Contains(f.Message, "*dsa") || (f.ID == "weak-key" && !strings.Contains(f.Message, tc.msg)) {
					t.Errorf("message %q: want it to contain %q and no Go type name", f.Message, tc.msg)
				}
			}
			slices.Sort(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("findings = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUnreadableInputsExplained: a private key Go cannot decode (RSA-PSS,
// DSA) and a certificate with a negative serial are refused with what
// they are and what to do, not "not a PKCS#8, PKCS#1 or SEC1 private key".
func TestUnreadableInputsExplained(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		data, err := os.ReadFile(filepath.Join(dir, "out.pem"))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	out := filepath.Join(dir, "out.pem")
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"rsa-pss key", run("genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:1024", "-out", out), "RSA-PSS private key"},
		{"brainpool curve", run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-nodes", "-keyout", filepath.Join(dir, "k"), "-out", out, "-subj", "/CN=bp", "-days", "30"), "curve Go"},
		{"negative serial", run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", filepath.Join(dir, "k"), "-out", out, "-subj", "/CN=neg", "-set_serial", "-1234"), "negative serial number"},
	} {
		_, err := cert.ParseBundle(tc.data, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "openssl") && !strings.Contains(err.Error(), "reissue") {
			t.Errorf("%s: err = %v, want it to say what to do", tc.name, err)
		}
	}
}

// TestSkippedBlocksBounded: a file of thousands of PEM blocks of other
// types yields an error that names each type once, not a megabyte of
// "[X X X …]" on the terminal.
func TestSkippedBlocksBounded(t *testing.T) {
	data := []byte(strings.Repeat("-----BEGIN X-----\n-----END X-----\n", 20000) + "-----BEGIN PKCS7-----\n-----END PKCS7-----\n")
	_, err := cert.ParseBundle(data, nil)
	if err == nil || len(err.Error()) > 300 || !strings.Contains(err.Error(), "X, PKCS7") {
		t.Errorf("err = %.300v (%d bytes), want a short error naming the block types", err, len(fmt.Sprint(err)))
	}
}

// TestCSRGivenAsCertificate: the CSR is a common wrong file at 2 a.m.; the
// error says so.
func TestCSRGivenAsCertificate(t *testing.T) {
	_, err := cert.ParseBundle([]byte("-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "signing request") {
		t.Errorf("err = %v, want it to say this is a certificate signing request", err)
	}
}

// TestProbeUnparsableServedCertificate: a server whose certificate Go
// cannot parse answered; the remediation says so instead of "check that
// the listener is up".
func TestProbeUnparsableServedCertificate(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	out := filepath.Join(dir, "bp.der")
	if b, err := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-nodes",
		"-keyout", filepath.Join(dir, "k"), "-out", out, "-outform", "DER", "-subj", "/CN=bp", "-days", "30").CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, b)
	}
	der, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	addr, stop := certtest.ServeConfig(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: certtest.NewKey(certtest.P256)}}})
	defer stop()
	_, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"bp"}}},
		cert.ProbeOptions{Roots: &cert.Roots{}, At: certtest.Now, Timeout: 2 * time.Second, Concurrency: 1})
	if len(fs) != 1 || fs[0].ID != "handshake-failed" || !strings.Contains(fs[0].Remediation, "the server answered") {
		t.Errorf("findings = %+v, want handshake-failed saying the server answered with a certificate kensa cannot parse", fs)
	}
}

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
