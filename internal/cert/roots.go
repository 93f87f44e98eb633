package cert

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/crypto/x509roots/fallback/bundle"

	"github.com/kensa-project/kensa/internal/limitio"
)

// Roots is a pool of trust anchors built from PEM bytes. It is never
// x509.SystemCertPool: a pool of that origin makes Go hand verification
// to the platform on macOS and Windows, which fetches missing
// intermediates through AIA and so hides the very error kensa looks for.
type Roots struct {
	Pool *x509.CertPool
	// Certs are the anchors, in file order.
	Certs []*x509.Certificate
	// Source says where they came from (a path, or the Mozilla set).
	Source string
	// NotRoots are certificates of the source that are not self-signed
	// roots. An intermediate among the trust anchors makes a bundle that
	// lacks it look complete.
	NotRoots []*x509.Certificate
}

// linuxBundles are the distribution CA bundles, in the order Go's
// crypto/x509 looks for them.
var linuxBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// LoadRoots reads trust anchors from a PEM file.
func LoadRoots(path string) (*Roots, error) {
	data, err := limitio.ReadFile(path, 64<<20, "a PEM bundle of root certificates")
	if err != nil {
		return nil, err
	}
	b, ok, err := parsePEMCertsOnly(data)
	if err != nil {
		return nil, fmt.Errorf("reading roots %s: %w", path, err)
	}
	if !ok || len(b) == 0 {
		return nil, fmt.Errorf("reading roots %s: no PEM certificate in it", path)
	}
	return newRoots(b, path), nil
}

// DefaultRoots returns the distribution bundle read as PEM on Linux (the
// file named by SSL_CERT_FILE first, when getenv has it), and the Mozilla
// set of golang.org/x/crypto/x509roots/fallback elsewhere or when no
// bundle is found.
func DefaultRoots(getenv func(string) string) (*Roots, error) {
	if f := getenv("SSL_CERT_FILE"); f != "" {
		return LoadRoots(f)
	}
	if runtime.GOOS == "linux" {
		for _, p := range linuxBundles {
			if _, err := os.Stat(p); err == nil {
				return LoadRoots(p)
			}
		}
	}
	return MozillaRoots(), nil
}

// MozillaRoots returns the root set embedded from
// golang.org/x/crypto/x509roots/fallback (with its distrust constraints).
func MozillaRoots() *Roots {
	r := &Roots{Pool: x509.NewCertPool(), Source: "Mozilla roots (golang.org/x/crypto/x509roots/fallback)"}
	for c := range bundle.Roots() {
		cert, err := x509.ParseCertificate(c.Certificate)
		if err != nil {
			continue
		}
		if c.Constraint == nil {
			r.Pool.AddCert(cert)
		} else {
			r.Pool.AddCertWithConstraint(cert, c.Constraint)
		}
		r.Certs = append(r.Certs, cert)
	}
	return r
}

// RootsFromCerts makes a pool of trust anchors from certificates.
func RootsFromCerts(certs []*x509.Certificate, source string) (*Roots, error) {
	if len(certs) == 0 {
		return nil, fmt.Errorf("no certificate in %s", source)
	}
	return newRoots(certs, source), nil
}

func newRoots(certs []*x509.Certificate, source string) *Roots {
	r := &Roots{Pool: x509.NewCertPool(), Source: source}
	for _, c := range certs {
		r.Pool.AddCert(c)
		r.Certs = append(r.Certs, c)
		if !selfSigned(c) {
			r.NotRoots = append(r.NotRoots, c)
		}
	}
	return r
}

// parsePEMCertsOnly reads the CERTIFICATE blocks of a PEM file (any
// number: a distribution bundle holds over a hundred), skipping ones that
// do not parse. ok is false when the data holds no PEM block.
func parsePEMCertsOnly(data []byte) ([]*x509.Certificate, bool, error) {
	var out []*x509.Certificate
	ok := false
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		ok = true
		if block.Type != "CERTIFICATE" && block.Type != "TRUSTED CERTIFICATE" {
			continue
		}
		if c, err := parseLeadingCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out, ok, nil
}

// selfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawSubject) == string(c.RawIssuer) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}
