package cert_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/testenv"
	"software.sslmate.com/src/go-pkcs12"
)

// inputs returns encodings of one leaf, its key and its chain, the way
// users receive them.
func inputs(t testing.TB) (leaf *x509.Certificate, chain []*x509.Certificate, files map[string][]byte) {
	root := certtest.NewRoot("Parse Root", certtest.P256)
	inter := root.Intermediate("Parse CA", certtest.P256)
	leaf, key := inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.RSA2048})
	ecLeaf, ecKey := inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	_ = ecLeaf
	rk := key.(*rsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := pkcs12.Modern2023.Encode(key, leaf, []*x509.Certificate{inter.Cert}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	pfxEmpty, err := pkcs12.Modern2023.Encode(key, leaf, []*x509.Certificate{inter.Cert}, "")
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 legacy encrypted PEM is an input users still have.
	legacy, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{
		"leaf.pem":      certtest.PEM(leaf),
		"fullchain.pem": certtest.PEM(leaf, inter.Cert),
		"combined.pem":  append(certtest.PEM(leaf, inter.Cert), certtest.KeyPEM(key)...),
		"leaf.der":      leaf.Raw,
		"chain.der":     append(append([]byte{}, leaf.Raw...), inter.Cert.Raw...),
		"pkcs8.pem":     certtest.KeyPEM(key),
		"pkcs1.pem":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
		"sec1.pem":      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"sec1.der":      sec1,
		"pkcs1.der":     x509.MarshalPKCS1PrivateKey(rk),
		"bundle.pfx":    pfx,
		"empty.pfx":     pfxEmpty,
		"legacy.pem":    pem.EncodeToMemory(legacy),
	}
	return leaf, []*x509.Certificate{inter.Cert}, files
}

func TestParseBundle(t *testing.T) {
	leaf, _, files := inputs(t)
	pw := []byte("s3cret")
	tests := []struct {
		file     string
		password []byte
		certs    int
		key      bool
		err      error
	}{
		{"leaf.pem", nil, 1, false, nil},
		{"fullchain.pem", nil, 2, false, nil},
		{"combined.pem", nil, 2, true, nil},
		{"leaf.der", nil, 1, false, nil},
		{"chain.der", nil, 2, false, nil},
		{"pkcs8.pem", nil, 0, true, nil},
		{"pkcs1.pem", nil, 0, true, nil},
		{"sec1.pem", nil, 0, true, nil},
		{"sec1.der", nil, 0, true, nil},
		{"pkcs1.der", nil, 0, true, nil},
		{"bundle.pfx", pw, 2, true, nil},
		{"bundle.pfx", nil, 0, false, cert.ErrPasswordRequired},
		{"bundle.pfx", []byte("wrong"), 0, false, cert.ErrIncorrectPassword},
		{"empty.pfx", nil, 2, true, nil},
		{"legacy.pem", pw, 0, true, nil},
		{"legacy.pem", nil, 0, false, cert.ErrPasswordRequired},
		{"legacy.pem", []byte("wrong"), 0, false, cert.ErrIncorrectPassword},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := cert.ParseBundle(files[tt.file], tt.password)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("ParseBundle(%s) error = %v, want %v", tt.file, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseBundle(%s): %v", tt.file, err)
			}
			if len(b.Certs) != tt.certs || (b.Key != nil) != tt.key {
				t.Fatalf("ParseBundle(%s) = %d certs, key %v; want %d, %v", tt.file, len(b.Certs), b.Key != nil, tt.certs, tt.key)
			}
			if tt.certs > 0 && !b.Certs[0].Equal(leaf) {
				t.Errorf("first certificate is not the leaf")
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("hello"), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), make([]byte, cert.MaxFileSize+1)} {
		if _, err := cert.ParseBundle(bad, nil); err == nil {
			t.Errorf("ParseBundle(%.20q) = nil error", bad)
		}
	}
}

// TestEncryptedPKCS8 reads keys encrypted by OpenSSL the ways it offers:
// PBKDF2 with AES (the default), 3DES, and scrypt.
func TestEncryptedPKCS8(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	key := certtest.NewKey(certtest.P256)
	plain := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(plain, certtest.KeyPEM(key), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-v2", "aes-256-cbc"},
		{"-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"},
		{"-v2", "des3"},
		{"-scrypt"},
	} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			out := filepath.Join(dir, "enc.pem")
			cmd := exec.Command(openssl, append([]string{"pkcs8", "-topk8", "-in", plain, "-out", out, "-passout", "pass:s3cret"}, args...)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl: %v\n%s", err, b)
			}
			data, _ := os.ReadFile(out)
			b, err := cert.ParseBundle(data, []byte("s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			if !key.Public().(*ecdsa.PublicKey).Equal(b.Key.Public()) {
				t.Error("decrypted key differs")
			}
			if _, err := cert.ParseBundle(data, []byte("wrong")); !errors.Is(err, cert.ErrIncorrectPassword) {
				t.Errorf("wrong password: err = %v", err)
			}
			if _, err := cert.ParseBundle(data, nil); !errors.Is(err, cert.ErrPasswordRequired) {
				t.Errorf("no password: err = %v", err)
			}
		})
	}
}

func FuzzParseBundle(f *testing.F) {
	_, _, files := inputs(f)
	for _, data := range files {
		f.Add(data, "s3cret")
	}
	f.Add([]byte("-----BEGIN TRUSTED CERTIFICATE-----\nMAA=\n-----END TRUSTED CERTIFICATE-----\n"), "")
	defer cert.SetKDFLimitsForTest(4096, 1<<12)()
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		var pw []byte
		if password != "" {
			pw = []byte(password)
		}
		b, err := cert.ParseBundle(data, pw)
		if err != nil {
			return
		}
		if b == nil || (len(b.Certs) == 0 && b.Key == nil) {
			t.Fatalf("ParseBundle returned no error and nothing")
		}
		if len(b.Certs) > cert.MaxCertificates {
			t.Fatalf("%d certificates, over the limit", len(b.Certs))
		}
		for _, c := range b.Certs {
			_ = cert.FactsOf(c, certtest.Now)
		}
	})
}

func FuzzDecryptPKCS8(f *testing.F) {
	key := certtest.NewKey(certtest.P256)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f.Add(der, "s3cret")
	if openssl, err := exec.LookPath("openssl"); err == nil {
		dir := f.TempDir()
		plain := filepath.Join(dir, "key.pem")
		os.WriteFile(plain, certtest.KeyPEM(key), 0o600)
		for _, args := range [][]string{{"-v2", "aes-256-cbc"}, {"-v2", "des3"}, {"-scrypt"}} {
			out := filepath.Join(dir, "enc.der")
			cmd := exec.Command(openssl, append([]string{"pkcs8", "-topk8", "-in", plain, "-outform", "DER", "-out", out, "-passout", "pass:s3cret"}, args...)...)
			if cmd.Run() == nil {
				data, _ := os.ReadFile(out)
				f.Add(data, "s3cret")
			}
		}
	}
	defer cert.SetKDFLimitsForTest(2048, 1<<12)()
	f.Fuzz(func(t *testing.T, der []byte, password string) {
		out, err := cert.DecryptPKCS8(der, []byte(password))
		if err != nil {
			return
		}
		if _, err := x509.ParsePKCS8PrivateKey(out); err != nil {
			t.Fatalf("DecryptPKCS8 returned a key that does not parse: %v", err)
		}
	})
}

// TestPKCS12IterationBound: a PFX that asks for more key-derivation work
// than any real export is refused before decoding, not run for minutes.
func TestPKCS12IterationBound(t *testing.T) {
	root := certtest.NewRoot("Iter Root", certtest.P256)
	leaf, key := root.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	defer cert.SetKDFLimitsForTest(5000, 1<<12)()
	pfx, err := pkcs12.Modern2023.WithIterations(6000).Encode(key, leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.ParseBundle(pfx, []byte("pw")); err == nil || !strings.Contains(err.Error(), "iterations") {
		t.Errorf("ParseBundle(6000-iteration PFX, limit 5000) error = %v, want the iteration bound", err)
	}
	pfx, _ = pkcs12.Modern2023.WithIterations(4000).Encode(key, leaf, nil, "pw")
	if _, err := cert.ParseBundle(pfx, []byte("pw")); err != nil {
		t.Errorf("ParseBundle(4000-iteration PFX): %v", err)
	}
}
