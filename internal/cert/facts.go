package cert

import (
	"crypto/dsa" //nolint:staticcheck // only to name DSA keys, which kensa reports as weak
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math"
	"strings"
	"time"
)

// Facts are what an operator checks of a certificate by eye, and what a
// record keeps of it. They never include a private key.
type Facts struct {
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	SANs               []string  `json:"sans"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"not_before"`
	NotAfter           time.Time `json:"not_after"`
	ValidityDays       int       `json:"validity_days"`
	DaysLeft           int       `json:"days_left"`
	SHA256             string    `json:"sha256"`
	SPKISHA256         string    `json:"spki_sha256"`
	KeyType            string    `json:"key_type"`
	SignatureAlgorithm string    `json:"signature_algorithm"`
	IsCA               bool      `json:"is_ca,omitempty"`
	// AIAIssuers are the caIssuers URLs the certificate names. kensa
	// never fetches them; they tell the operator where the CA publishes
	// the missing intermediate.
	AIAIssuers []string `json:"aia_issuers,omitempty"`
	// PEM is the certificate itself, kept in records so a rollback has it
	// at hand.
	PEM string `json:"pem,omitempty"`
}

// FactsOf returns the facts of c as of at.
func FactsOf(c *x509.Certificate, at time.Time) Facts {
	return Facts{
		Subject:            c.Subject.String(),
		Issuer:             c.Issuer.String(),
		SANs:               SANs(c),
		Serial:             colonHex(c.SerialNumber.Bytes()),
		NotBefore:          c.NotBefore.UTC(),
		NotAfter:           c.NotAfter.UTC(),
		ValidityDays:       ValidityDays(c.NotBefore, c.NotAfter),
		DaysLeft:           DaysLeft(c, at),
		SHA256:             Fingerprint(c),
		SPKISHA256:         SPKIFingerprint(c),
		KeyType:            CertKeyType(c),
		SignatureAlgorithm: c.SignatureAlgorithm.String(),
		IsCA:               c.IsCA,
		AIAIssuers:         c.IssuingCertificateURL,
	}
}

// WithPEM returns f with the certificate's PEM filled in.
func (f Facts) WithPEM(c *x509.Certificate) Facts {
	f.PEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	return f
}

// DaysLeft is the number of whole days from at to c's notAfter; negative
// once it has expired.
func DaysLeft(c *x509.Certificate, at time.Time) int {
	return int(math.Floor(c.NotAfter.Sub(at).Hours() / 24))
}

// Fingerprint is the SHA-256 of the certificate's DER, as OpenSSL prints
// it ("openssl x509 -fingerprint -sha256"): colon-separated upper-case hex.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return colonHex(sum[:])
}

// SPKIFingerprint is the SHA-256 of the certificate's public key
// (SubjectPublicKeyInfo): equal for two certificates of the same key.
func SPKIFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return colonHex(sum[:])
}

func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	h := strings.ToUpper(hex.EncodeToString(b))
	var s strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			s.WriteByte(':')
		}
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

// NormalizeFingerprint turns a SHA-256 fingerprint written any usual way
// (colons or not, any case, an optional "sha256:" prefix) into the form
// [Fingerprint] returns. ok is false when s is not 32 bytes of hex.
func NormalizeFingerprint(s string) (string, bool) {
	s = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), "sha256:")
	s = strings.TrimPrefix(s, "sha256 fingerprint=")
	s = strings.NewReplacer(":", "", " ", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return "", false
	}
	return colonHex(b), true
}

// KeyType describes a public key: "RSA 2048", "ECDSA P-256", "Ed25519".
func KeyType(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	case *dsa.PublicKey:
		return fmt.Sprintf("DSA %d", k.P.BitLen())
	case nil:
		return "unknown"
	}
	return fmt.Sprintf("%T", pub)
}

// Public key algorithms crypto/x509 does not decode.
var (
	oidRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidDSA    = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}
	oidEd448  = asn1.ObjectIdentifier{1, 3, 101, 113}
	oidX25519 = asn1.ObjectIdentifier{1, 3, 101, 110}
	oidX448   = asn1.ObjectIdentifier{1, 3, 101, 111}
)

// CertKeyType describes c's public key like [KeyType], and also keys Go
// does not decode, from the SubjectPublicKeyInfo: "RSA-PSS 2048" (an
// id-RSASSA-PSS key), "Ed448", "X25519", or the algorithm's OID.
func CertKeyType(c *x509.Certificate) string {
	if c.PublicKey != nil {
		return KeyType(c.PublicKey)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return "unknown"
	}
	name := algorithmName(spki.Algorithm.Algorithm)
	if name == "RSA-PSS" {
		if k, err := x509.ParsePKCS1PublicKey(spki.PublicKey.RightAlign()); err == nil {
			return fmt.Sprintf("RSA-PSS %d", k.N.BitLen())
		}
	}
	if name == "" {
		return "key algorithm " + spki.Algorithm.Algorithm.String()
	}
	return name
}

// algorithmName names the public key algorithms crypto/x509 does not
// decode, or returns "".
func algorithmName(oid asn1.ObjectIdentifier) string {
	switch {
	case oid.Equal(oidRSAPSS):
		return "RSA-PSS"
	case oid.Equal(oidDSA):
		return "DSA"
	case oid.Equal(oidEd448):
		return "Ed448"
	case oid.Equal(oidX25519):
		return "X25519"
	case oid.Equal(oidX448):
		return "X448"
	}
	return ""
}

// SANs lists the subject alternative names of c: DNS names, IP
// addresses, URIs and e-mail addresses, in certificate order.
func SANs(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	out = append(out, c.EmailAddresses...)
	return out
}

// ShortName is the common name of a certificate's subject, or the whole
// subject when it has none: how messages refer to it.
func ShortName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return "(empty subject)"
}
