package cert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// Limits on what one input may make kensa hold. Real bundles are a few
// kilobytes with two to four certificates.
const (
	// MaxFileSize is the largest certificate, key or bundle file read.
	MaxFileSize = 4 << 20
	// MaxCertificates is the most certificates taken from one input.
	MaxCertificates = 64
	// pkcs12Timeout bounds PKCS#12 decoding, whose key derivation runs
	// for as many iterations as the file asks.
	pkcs12Timeout = 20 * time.Second
)

// Errors a caller branches on.
var (
	// ErrPasswordRequired means the input is encrypted and no password was
	// given.
	ErrPasswordRequired = errors.New("the file is encrypted and needs a password")
	// ErrIncorrectPassword means the password given does not decrypt it.
	ErrIncorrectPassword = errors.New("the password does not decrypt it")
	// ErrNoCertificate means the input holds no certificate (nor key).
	ErrNoCertificate = errors.New("no certificate or private key found (expected PEM, DER or PKCS#12)")
)

// Bundle is what one or more files held: certificates in the order they
// appeared and at most one private key.
type Bundle struct {
	Certs []*x509.Certificate
	// Key is the private key, if the input held one. It is used only to
	// compare its public half with a certificate's and is never printed,
	// recorded or written.
	Key crypto.Signer
	// Format names the encoding read: "PEM", "DER", "PKCS#12".
	Format string
	// Skipped lists the types of PEM blocks that were ignored (each once,
	// at most eight).
	Skipped []string
}

// ParseBundle reads certificates and a private key from data: PEM (any
// mix of CERTIFICATE and private key blocks), DER (one or more
// concatenated certificates, or one key), or PKCS#12. password is used
// for encrypted keys and PKCS#12 files; nil means none was given.
func ParseBundle(data []byte, password []byte) (*Bundle, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("the file is larger than %d bytes: not a certificate bundle", MaxFileSize)
	}
	if b, ok, err := parsePEM(data, password); ok || err != nil {
		return b, err
	}
	if certs, err := x509.ParseCertificates(data); err == nil && len(certs) > 0 {
		if len(certs) > MaxCertificates {
			return nil, fmt.Errorf("%d certificates: more than the %d kensa reads from one file", len(certs), MaxCertificates)
		}
		return &Bundle{Certs: certs, Format: "DER"}, nil
	}
	if key, err := parseDERKey(data, password); err == nil {
		return &Bundle{Key: key, Format: "DER"}, nil
	} else if errors.Is(err, ErrPasswordRequired) || errors.Is(err, ErrIncorrectPassword) {
		return nil, err
	}
	if looksLikePKCS12(data) {
		return parsePKCS12(data, password)
	}
	return nil, ErrNoCertificate
}

// parsePEM reads every PEM block of data. ok is false when data holds no
// PEM block at all.
func parsePEM(data []byte, password []byte) (*Bundle, bool, error) {
	b := &Bundle{Format: "PEM"}
	rest := data
	found := false
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		found = true
		switch block.Type {
		case "CERTIFICATE", "X509 CERTIFICATE":
			if len(b.Certs) >= MaxCertificates {
				return nil, true, fmt.Errorf("more than %d certificates in one file", MaxCertificates)
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, true, certError(len(b.Certs)+1, err)
			}
			b.Certs = append(b.Certs, c)
		case "TRUSTED CERTIFICATE":
			// OpenSSL's -trustout form: the certificate followed by
			// trust settings. Only the certificate is read.
			c, err := parseLeadingCertificate(block.Bytes)
			if err != nil {
				return nil, true, fmt.Errorf("trusted certificate %d: %w", len(b.Certs)+1, err)
			}
			b.Certs = append(b.Certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			if b.Key != nil {
				return nil, true, errors.New("more than one private key in one file")
			}
			key, err := parsePEMKey(block, password)
			if err != nil {
				return nil, true, err
			}
			b.Key = key
		default:
			// Each type once: a hostile file may hold thousands.
			if !slices.Contains(b.Skipped, block.Type) && len(b.Skipped) < 8 {
				b.Skipped = append(b.Skipped, block.Type)
			}
		}
	}
	if !found {
		return nil, false, nil
	}
	if len(b.Certs) == 0 && b.Key == nil {
		if slices.Contains(b.Skipped, "CERTIFICATE REQUEST") || slices.Contains(b.Skipped, "NEW CERTIFICATE REQUEST") {
			return nil, true, fmt.Errorf("%w: this is a certificate signing request (CSR), what is sent to the CA; give the certificate the CA sent back", ErrNoCertificate)
		}
		return nil, true, fmt.Errorf("%w (PEM blocks found: %s)", ErrNoCertificate, strings.Join(b.Skipped, ", "))
	}
	return b, true, nil
}

// parseLeadingCertificate parses the first DER element of der as a
// certificate and ignores what follows it.
func parseLeadingCertificate(der []byte) (*x509.Certificate, error) {
	n, err := derLength(der)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der[:n])
}

// derLength returns the length of the DER element at the start of b.
func derLength(b []byte) (int, error) {
	if len(b) < 2 {
		return 0, errors.New("truncated DER")
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return 0, errors.New("bad DER length")
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l < 0 || hdr+l > len(b) {
		return 0, errors.New("truncated DER")
	}
	return hdr + l, nil
}

func parsePEMKey(block *pem.Block, password []byte) (crypto.Signer, error) {
	der := block.Bytes
	//lint:ignore SA1019 legacy OpenSSL "Proc-Type: 4,ENCRYPTED" keys are still handed out; reading them is what the user needs.
	if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck
		if password == nil {
			return nil, fmt.Errorf("private key: %w", ErrPasswordRequired)
		}
		//lint:ignore SA1019 see above
		d, err := x509.DecryptPEMBlock(block, password) //nolint:staticcheck
		if err != nil {
			return nil, fmt.Errorf("private key: %w", ErrIncorrectPassword)
		}
		der = d
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		if password == nil {
			return nil, fmt.Errorf("private key: %w", ErrPasswordRequired)
		}
		d, err := DecryptPKCS8(der, password)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		der = d
	}
	key, err := parseKeyDER(der)
	if err != nil {
		return nil, fmt.Errorf("private key (%s): %w", block.Type, err)
	}
	return key, nil
}

// parseDERKey reads a DER private key: PKCS#8 (plain or encrypted),
// PKCS#1 or SEC1.
func parseDERKey(der []byte, password []byte) (crypto.Signer, error) {
	if key, err := parseKeyDER(der); err == nil {
		return key, nil
	}
	if isEncryptedPKCS8(der) {
		if password == nil {
			return nil, fmt.Errorf("private key: %w", ErrPasswordRequired)
		}
		d, err := DecryptPKCS8(der, password)
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		return parseKeyDER(d)
	}
	return nil, errors.New("not a private key")
}

// parseKeyDER tries PKCS#8, PKCS#1 and SEC1, in that order.
func parseKeyDER(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return asSigner(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if alg := pkcs8Algorithm(der); alg != "" {
		return nil, fmt.Errorf("%s %s private key, which kensa cannot read; compare it with the certificate by hand: \"openssl pkey -in KEY -pubout\" and \"openssl x509 -in CERT -noout -pubkey\" print the same key when they match", article(alg), alg)
	}
	return nil, errors.New("not a PKCS#8, PKCS#1 or SEC1 private key")
}

// pkcs8Algorithm names the algorithm of a PKCS#8 key Go does not decode
// (RSA-PSS, DSA, Ed448, X25519, X448), or returns "".
func pkcs8Algorithm(der []byte) string {
	var p8 struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil {
		return ""
	}
	return algorithmName(p8.Algorithm.Algorithm)
}

// article is "an" before a name read with a leading vowel sound (Ed448,
// RSA-PSS, X25519), "a" otherwise (DSA).
func article(name string) string {
	if name != "" && strings.ContainsRune("AEFHILMNORSX", rune(name[0])) {
		return "an"
	}
	return "a"
}

// uLabelSAN explains crypto/x509's "SAN dNSName is malformed": a dNSName
// is an IA5String, and the usual non-ASCII one is an internationalized
// name a CA or openssl wrote as UTF-8 instead of as its A-labels.
const uLabelSAN = "has a DNS name (SAN) that is not ASCII, such as an internationalized name written as UTF-8 (例え.jp) instead of its A-label (xn--r8jz45g.jp): RFC 5280 §4.2.1.6 and RFC 5890 require A-labels, and Go clients (and kensa) refuse the certificate; have it reissued with every name converted to A-labels (openssl: subjectAltName=DNS:xn--…)"

// certError explains a certificate crypto/x509 refuses.
func certError(n int, err error) error {
	if strings.Contains(err.Error(), "unsupported elliptic curve") {
		return fmt.Errorf("certificate %d has an ECDSA key on a curve Go's TLS clients (and kensa) do not support, such as a brainpool curve or secp256k1; the CA/B BR allow only P-256, P-384 and P-521: have it reissued on one of them", n)
	}
	if strings.Contains(err.Error(), "SAN dNSName is malformed") {
		return fmt.Errorf("certificate %d %s", n, uLabelSAN)
	}
	if strings.Contains(err.Error(), "negative serial number") {
		return fmt.Errorf("certificate %d has a negative serial number, which RFC 5280 §4.1.2.2 forbids; Go-based clients (and kensa) reject it: have the CA reissue it with a positive serial", n)
	}
	return fmt.Errorf("certificate %d: %w", n, err)
}

func asSigner(k any) (crypto.Signer, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case crypto.Signer:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported private key type %T", k)
}

// looksLikePKCS12 reports whether data starts like a PFX: a DER SEQUENCE
// whose first element is INTEGER 3.
func looksLikePKCS12(data []byte) bool {
	if len(data) < 8 || data[0] != 0x30 {
		return false
	}
	n, err := derLength(data)
	if err != nil || n < 5 {
		return false
	}
	hdr := 2
	if data[1]&0x80 != 0 {
		hdr += int(data[1] & 0x7f)
	}
	return len(data) >= hdr+3 && bytes.Equal(data[hdr:hdr+3], []byte{0x02, 0x01, 0x03})
}

// parsePKCS12 decodes a PFX file. A missing password is tried as the
// empty one, which many exports use.
func parsePKCS12(data []byte, password []byte) (*Bundle, error) {
	if n := maxIterations(data, 0); n > maxPBKDF2Iterations {
		return nil, fmt.Errorf("PKCS#12: the file asks for %d key-derivation iterations, more than the %d kensa accepts", n, maxPBKDF2Iterations)
	}
	pw := string(password)
	type result struct {
		b   *Bundle
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{nil, fmt.Errorf("PKCS#12: malformed file (%v)", r)}
			}
		}()
		key, leaf, cas, err := pkcs12.DecodeChain(data, pw)
		if err == nil {
			b := &Bundle{Certs: append([]*x509.Certificate{leaf}, cas...), Format: "PKCS#12"}
			if key != nil {
				s, err := asSigner(key)
				if err != nil {
					done <- result{nil, fmt.Errorf("PKCS#12: %w", err)}
					return
				}
				b.Key = s
			}
			done <- result{b, nil}
			return
		}
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			if password == nil {
				err = ErrPasswordRequired
			} else {
				err = ErrIncorrectPassword
			}
			done <- result{nil, fmt.Errorf("PKCS#12: %w", err)}
			return
		}
		// A certificates-only PFX (a trust store).
		if certs, err2 := pkcs12.DecodeTrustStore(data, pw); err2 == nil && len(certs) > 0 {
			done <- result{&Bundle{Certs: certs, Format: "PKCS#12"}, nil}
			return
		}
		done <- result{nil, fmt.Errorf("PKCS#12: %w", err)}
	}()
	select {
	case r := <-done:
		if r.b != nil && len(r.b.Certs) > MaxCertificates {
			return nil, fmt.Errorf("PKCS#12: more than %d certificates", MaxCertificates)
		}
		return r.b, r.err
	case <-time.After(pkcs12Timeout):
		return nil, fmt.Errorf("PKCS#12: decoding took longer than %s (an extreme key-derivation iteration count?)", pkcs12Timeout)
	}
}

// maxIterations returns the largest iteration count in the DER of a
// PKCS#12 file: every SEQUENCE holding an OCTET STRING (a salt) followed
// by an INTEGER (PKCS#5 pbeParams, PBKDF2-params, PKCS#12 MacData), also
// inside OCTET STRINGs that hold DER (the authenticated safe). Decoding a
// file that asks for billions of iterations would never end, so kensa
// refuses it before any derivation.
func maxIterations(der []byte, depth int) int {
	if depth > 16 {
		return 0
	}
	most := 0
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return most
		}
		der = rest
		switch {
		case v.IsCompound:
			most = max(most, maxIterations(v.Bytes, depth+1))
			if v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence {
				most = max(most, saltThenCount(v.Bytes))
			}
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
			most = max(most, maxIterations(v.Bytes, depth+1))
		}
	}
	return most
}

// saltThenCount looks for an OCTET STRING followed by an INTEGER among
// the elements of a SEQUENCE and returns the INTEGER (saturated).
func saltThenCount(b []byte) int {
	most := 0
	prevOctets := false
	for len(b) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(b, &v)
		if err != nil {
			return most
		}
		b = rest
		if prevOctets && v.Class == asn1.ClassUniversal && v.Tag == asn1.TagInteger {
			n := 0
			for _, c := range v.Bytes {
				if n > 1<<40 {
					break
				}
				n = n<<8 | int(c)
			}
			most = max(most, n)
		}
		prevOctets = v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString && !v.IsCompound
	}
	return most
}
