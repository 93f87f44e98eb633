package cert

import (
	"crypto"
	"crypto/dsa" //nolint:staticcheck // only to recognise DSA keys, which kensa reports as weak
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Threshold is how much validity must remain before expires-soon fires:
// a duration, or a fraction of the certificate's lifetime. The zero value
// is the default, one third of the lifetime (cert-manager renews at two
// thirds; a fixed number of days does not scale to 47-day certificates).
type Threshold struct {
	Duration time.Duration
	Fraction float64
	// Never turns expires-soon off ("--min-remaining 0d").
	Never bool
}

// ParseThreshold reads "30d", "720h" or "20%".
func ParseThreshold(s string, parseDuration func(string) (time.Duration, error)) (Threshold, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		var f float64
		if _, err := fmt.Sscanf(p, "%g", &f); err != nil || !(f > 0 && f < 100) { // NaN too
			return Threshold{}, fmt.Errorf("%q is not a percentage between 0 and 100", s)
		}
		return Threshold{Fraction: f / 100}, nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return Threshold{}, err
	}
	if d < 0 {
		return Threshold{}, fmt.Errorf("%q is negative", s)
	}
	return Threshold{Duration: d, Never: d == 0}, nil
}

// For returns the remaining validity under which c expires soon.
func (t Threshold) For(c *x509.Certificate) time.Duration {
	if t.Never {
		return 0
	}
	if t.Duration > 0 {
		return t.Duration
	}
	f := t.Fraction
	if f == 0 {
		f = 1.0 / 3
	}
	return time.Duration(float64(c.NotAfter.Sub(c.NotBefore)) * f)
}

// String describes the threshold for messages.
// days writes a number of days: "1 day", "30 days".
func days(n int) string {
	if n == 1 || n == -1 {
		return fmt.Sprintf("%d day", n)
	}
	return fmt.Sprintf("%d days", n)
}

func (t Threshold) String() string {
	switch {
	case t.Never:
		return "zero (expires-soon off)"
	case t.Duration > 0:
		return days(int(t.Duration.Hours() / 24))
	case t.Fraction > 0:
		return fmt.Sprintf("%g%% of its lifetime", t.Fraction*100)
	}
	return "a third of its lifetime"
}

// CheckInput is what "kensa cert check" was given.
type CheckInput struct {
	// Certs are the certificates of --cert in file order (a PKCS#12
	// file's leaf first).
	Certs    []*x509.Certificate
	CertFrom string
	// Chain are the certificates of the --chain files.
	Chain []Supplied
	// Key is the private key (from --key, or inside --cert), or nil.
	Key     crypto.Signer
	KeyFrom string
	// Current is the certificate in service (--current or
	// --current-endpoint), or nil.
	Current     *x509.Certificate
	CurrentFrom string
	Roots       *Roots
	At          time.Time
	ServerNames []string
	Remaining   Threshold
	// Private skips the CA/Browser Forum rules that bind only public
	// CAs: the validity limit and the key algorithms (EdDSA).
	Private bool
}

// CheckResult is the one result of "kensa cert check".
type CheckResult struct {
	File  string      `json:"file"`
	Leaf  Facts       `json:"leaf"`
	Chain ChainResult `json:"chain"`
	// KeyFrom names the private key checked; KeyMatches is nil when no
	// key was given.
	KeyFrom    string      `json:"key_from,omitempty"`
	KeyType    string      `json:"key_type,omitempty"`
	KeyMatches *bool       `json:"key_matches,omitempty"`
	Roots      string      `json:"roots"`
	Current    *Facts      `json:"current,omitempty"`
	Comparison *Comparison `json:"comparison,omitempty"`
	// Leaf certificate, kept for records (never serialized).
	LeafCert    *x509.Certificate `json:"-"`
	CurrentCert *x509.Certificate `json:"-"`
}

// Comparison is the new certificate against the one in service.
type Comparison struct {
	CurrentFrom    string   `json:"current_from"`
	SANsDropped    []string `json:"sans_dropped"`
	SANsAdded      []string `json:"sans_added"`
	Newer          bool     `json:"newer"`
	KeyReused      bool     `json:"key_reused"`
	SubjectChanged bool     `json:"subject_changed"`
	IssuerChanged  bool     `json:"issuer_changed"`
}

// Citations of the checks.
const (
	citeBRKeys        = "CA/B Forum TLS BR v2.2.6 §6.1.5 (RSA ≥ 2048 bits, ECDSA on P-256, P-384, P-521); FIPS 186-5 §5.1 (RSA modulus ≥ 2048 bits) and §6 (ECDSA on the curves of SP 800-186)"
	citeSP800131A     = "NIST SP 800-131A Rev. 2 §9 (SHA-1 disallowed for digital signature generation); FIPS 186-5 (DSA no longer approved for signature generation)"
	citeValidity      = "RFC 5280 §4.1.2.5 (validity); clients reject a certificate outside notBefore..notAfter"
	citeHostname      = "RFC 6125 §6.4 and CA/B BR §7.1.2.7.12: clients match the name they connect to against the DNS and IP SANs; a wildcard covers exactly one leftmost label"
	citeKeyMatch      = "RFC 5280 §4.1.2.7: the certificate's subjectPublicKeyInfo must be the public half of the server's private key"
	citeRenewalSAN    = "kensa renewal check: every name the certificate in service covers must be covered by its replacement"
	citeRenewalChange = "kensa renewal check: what changes against the certificate in service: an older or wrong certificate picked"
)

// Check runs every check of "kensa cert check" and returns the result and
// its findings.
func Check(in CheckInput) (CheckResult, []report.Finding) {
	var fs []report.Finding
	subject := in.CertFrom
	leafIdx := pickLeaf(in.Certs, in.Key)
	leaf := in.Certs[leafIdx]
	res := CheckResult{File: in.CertFrom, Leaf: FactsOf(leaf, in.At), Roots: in.Roots.Source, LeafCert: leaf}

	// Key.
	if in.Key != nil {
		res.KeyFrom = in.KeyFrom
		res.KeyType = KeyType(in.Key.Public())
		ok := publicKeyEqual(in.Key.Public(), leaf.PublicKey)
		res.KeyMatches = &ok
		if !ok {
			fs = append(fs, keyMismatch(in, leaf, subject))
		}
	}

	// Chain.
	var supplied []Supplied
	for i, c := range in.Certs {
		if i != leafIdx {
			supplied = append(supplied, Supplied{Cert: c, From: fmt.Sprintf("%s #%d", in.CertFrom, i+1)})
		}
	}
	supplied = append(supplied, in.Chain...)
	res.Chain = AnalyzeChain(ChainInput{
		Leaf: leaf, LeafFrom: in.CertFrom, LeafFirst: leafIdx == 0, LeafAt: leafIdx, Supplied: supplied,
		Roots: in.Roots, At: in.At, Subject: subject,
	})
	fs = append(fs, res.Chain.Findings...)
	if leaf.IsCA {
		for _, c := range in.Chain {
			if !c.Cert.IsCA {
				fs = append(fs, report.Finding{ID: "chain-order", Severity: report.Error, Subject: subject,
					Message:     fmt.Sprintf("%s holds the CA certificate %q, and the server certificate %q is in %s: the certificate and chain files are swapped", in.CertFrom, ShortName(leaf), ShortName(c.Cert), c.From),
					Remediation: fmt.Sprintf("give the server certificate with --cert %s and the intermediates with --chain %s", c.From, in.CertFrom),
					Citation:    citeChain})
				break
			}
		}
	}

	// Validity and strength.
	fs = append(fs, ValidityFindings(leaf, in.At, in.Remaining, subject, "new certificate")...)
	if !in.Private {
		fs = append(fs, lifetimeFinding(leaf, subject)...)
		fs = append(fs, publicTrustKeyFinding(leaf, subject)...)
	}
	fs = append(fs, StrengthFindings(leaf, subject)...)
	fs = append(fs, intermediatesStrength(res.Chain, supplied, subject)...)

	// Names.
	for _, n := range in.ServerNames {
		if !Covers(leaf, n) {
			fs = append(fs, report.Finding{ID: "hostname-not-covered", Severity: report.Error, Subject: subject,
				Message:     fmt.Sprintf("the new certificate does not cover %q (its names: %s); clients connecting to %s will reject it", DisplayName(n), namesOrNone(leaf), n),
				Remediation: fmt.Sprintf("get a certificate whose SANs include %s (or a wildcard for its parent domain), or drop --servername %s if the name is not served", n, n),
				Citation:    citeHostname})
		}
	}

	// Against the certificate in service.
	if in.Current != nil {
		cur := in.Current
		f := FactsOf(cur, in.At)
		res.Current = &f
		res.CurrentCert = cur
		dropped, added := CompareNames(cur, leaf)
		cmp := &Comparison{
			CurrentFrom:    in.CurrentFrom,
			SANsDropped:    nonNil(dropped),
			SANsAdded:      nonNil(added),
			Newer:          leaf.NotAfter.After(cur.NotAfter),
			KeyReused:      SPKIFingerprint(leaf) == SPKIFingerprint(cur),
			SubjectChanged: leaf.Subject.String() != cur.Subject.String(),
			IssuerChanged:  leaf.Issuer.String() != cur.Issuer.String(),
		}
		res.Comparison = cmp
		if len(dropped) > 0 {
			fs = append(fs, report.Finding{ID: "san-dropped", Severity: report.Error, Subject: subject,
				Message:     fmt.Sprintf("the new certificate no longer covers %s, which the certificate in service (%s) covers; those names break on the switch", DisplayNames(dropped), in.CurrentFrom),
				Remediation: "ask the CA to reissue with every SAN of the current certificate (or confirm the names are retired) before the change",
				Citation:    citeRenewalSAN})
		}
		if len(added) > 0 {
			fs = append(fs, report.Finding{ID: "san-added", Severity: report.Info, Subject: subject,
				Message:     fmt.Sprintf("the new certificate also covers %s, which the certificate in service does not", DisplayNames(added)),
				Remediation: "probe the added names after the change too (kensa cert probe --servername …)",
				Citation:    citeRenewalSAN})
		}
		if !cmp.Newer && leaf.Equal(cur) {
			fs = append(fs, report.Finding{ID: "not-newer", Severity: report.Error, Subject: subject,
				Message:     fmt.Sprintf("the new certificate is the certificate already in service (%s, same SHA-256 %s): the change would renew nothing", in.CurrentFrom, res.Leaf.SHA256),
				Remediation: "pick the renewed certificate the CA issued (a new serial, a later not after)",
				Citation:    citeRenewalNewer})
		} else if !cmp.Newer && leaf.NotBefore.After(cur.NotBefore) {
			fs = append(fs, report.Finding{ID: "not-newer", Severity: report.Warning, Subject: subject,
				Message: fmt.Sprintf("the new certificate was issued after the certificate in service but expires sooner (%s, %s of validity) than it (%s, %s, %s): switching now gives up %s",
					leaf.NotAfter.UTC().Format(time.DateOnly), days(ValidityDays(leaf.NotBefore, leaf.NotAfter)), in.CurrentFrom, cur.NotAfter.UTC().Format(time.DateOnly),
					days(ValidityDays(cur.NotBefore, cur.NotAfter)), days(int(cur.NotAfter.Sub(leaf.NotAfter).Hours()/24))),
				Remediation: "expected when the CA issues shorter certificates (the CA/B Forum limits fall to 200 days from 2026-03-15): deploy it and plan the next renewal by its date; otherwise check that you picked the certificate ordered for this renewal",
				Citation:    citeRenewalNewer})
		} else if !cmp.Newer {
			fs = append(fs, report.Finding{ID: "not-newer", Severity: report.Error, Subject: subject,
				Message: fmt.Sprintf("the new certificate expires on %s, not after the certificate in service (%s, %s): this is an older or wrong certificate",
					leaf.NotAfter.UTC().Format(time.DateOnly), in.CurrentFrom, cur.NotAfter.UTC().Format(time.DateOnly)),
				Remediation: "check that you picked the renewed certificate (compare serial and SHA-256 with what the CA issued)",
				Citation:    citeRenewalNewer})
		}
		if cmp.SubjectChanged {
			fs = append(fs, report.Finding{ID: "subject-changed", Severity: report.Info, Subject: subject,
				Message:     fmt.Sprintf("the subject changes from %q to %q", cur.Subject.String(), leaf.Subject.String()),
				Remediation: "expected when the organisation or CN changed; otherwise check that this is the certificate ordered for this service",
				Citation:    citeRenewalChange})
		}
		if cmp.IssuerChanged {
			fs = append(fs, report.Finding{ID: "issuer-changed", Severity: report.Info, Subject: subject,
				Message:     fmt.Sprintf("the issuer changes from %q to %q: the chain file must change with it", cur.Issuer.String(), leaf.Issuer.String()),
				Remediation: "deploy the new issuer's intermediate with the certificate, and tell clients that pin the old intermediate or CA",
				Citation:    citeRenewalChange})
		}
		if cmp.KeyReused && !leaf.Equal(cur) {
			fs = append(fs, report.Finding{ID: "key-reused", Severity: report.Warning, Subject: subject,
				Message:     fmt.Sprintf("the new certificate uses the same key as the certificate in service (SPKI SHA-256 %s)", res.Leaf.SPKISHA256),
				Remediation: "generate a new key and CSR for each renewal unless your policy allows reuse; a key exposed with the old certificate stays usable with the new one",
				Citation:    citeKeyReuse})
		}
	}
	return res, fs
}

// signatureName names c's signature algorithm when Go does not know it:
// RSASSA-PSS with unusual parameters, or the algorithm's OID.
func signatureName(c *x509.Certificate) string {
	var outer struct {
		TBS    asn1.RawValue
		SigAlg pkix.AlgorithmIdentifier
	}
	if _, err := asn1.Unmarshal(c.Raw, &outer); err != nil {
		return "an unknown algorithm"
	}
	if outer.SigAlg.Algorithm.Equal(oidEd448) {
		return "Ed448 (approved by FIPS 186-5)"
	}
	if outer.SigAlg.Algorithm.Equal(oidRSAPSS) {
		return "RSASSA-PSS with parameters (hash, salt length) outside the three Go supports"
	}
	return "the algorithm " + outer.SigAlg.Algorithm.String()
}

// namesOrNone lists c's SANs for messages.
func namesOrNone(c *x509.Certificate) string {
	if s := SANs(c); len(s) > 0 {
		return DisplayNames(s)
	}
	return "none"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// intermediatesStrength reports weak-key and weak-signature for the
// supplied intermediates on a chain's path.
func intermediatesStrength(ch ChainResult, supplied []Supplied, subject string) []report.Finding {
	var out []report.Finding
	for i, c := range ch.Path {
		if i > 0 && c.Role == "intermediate" {
			out = append(out, strengthOf(findCert(supplied, c.SHA256), subject)...)
		}
	}
	return out
}

func findCert(s []Supplied, fp string) *x509.Certificate {
	for _, x := range s {
		if Fingerprint(x.Cert) == fp {
			return x.Cert
		}
	}
	return nil
}

// pickLeaf returns the index of the leaf among certs: the one matching
// key, else the first that is not a CA, else the first.
func pickLeaf(certs []*x509.Certificate, key crypto.Signer) int {
	if key != nil {
		for i, c := range certs {
			if publicKeyEqual(key.Public(), c.PublicKey) {
				return i
			}
		}
	}
	for i, c := range certs {
		if !c.IsCA {
			return i
		}
	}
	return 0
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func keyMismatch(in CheckInput, leaf *x509.Certificate, subject string) report.Finding {
	pub := in.Key.Public()
	msg := fmt.Sprintf("the private key %s (%s) does not belong to the certificate %q (%s): a server configured with them fails to start or fails every handshake",
		in.KeyFrom, KeyType(pub), ShortName(leaf), CertKeyType(leaf))
	remedy := "find the private key generated with the CSR of this certificate (\"openssl x509 -noout -pubkey -in CERT\" and \"openssl pkey -pubout -in KEY\" print the same key when they match), or have the certificate reissued for this key"
	if in.Current != nil && publicKeyEqual(pub, in.Current.PublicKey) {
		msg += fmt.Sprintf("; the key is the one of the certificate in service (%s): the new certificate was issued for another key", in.CurrentFrom)
		remedy = "use the key generated with the CSR of the renewal, not the old one; if you no longer have it, generate a new key and CSR and have the certificate reissued"
	}
	return report.Finding{ID: "key-mismatch", Severity: report.Error, Subject: subject, Message: msg, Remediation: remedy, Citation: citeKeyMatch}
}

// ValidityFindings reports expired, not-yet-valid and expires-soon for c
// as of at. what names it in messages ("new certificate", "served
// certificate").
func ValidityFindings(c *x509.Certificate, at time.Time, t Threshold, subject, what string) []report.Finding {
	na, nb := c.NotAfter.UTC().Format("2006-01-02 15:04 MST"), c.NotBefore.UTC().Format("2006-01-02 15:04 MST")
	switch {
	case at.After(c.NotAfter):
		return []report.Finding{{ID: "expired", Severity: report.Error, Subject: subject,
			Message:     fmt.Sprintf("the %s %q expired on %s (%s ago)", what, ShortName(c), na, days(-DaysLeft(c, at))),
			Remediation: "renew it now and deploy the renewed certificate; clients reject an expired one",
			Citation:    citeValidity}}
	case at.Before(c.NotBefore):
		return []report.Finding{{ID: "not-yet-valid", Severity: report.Error, Subject: subject,
			Message:     fmt.Sprintf("the %s %q is not valid before %s; deployed now, clients would reject it", what, ShortName(c), nb),
			Remediation: "wait until notBefore to deploy it (check the clock of the issuing system if that date is wrong)",
			Citation:    citeValidity}}
	}
	left := c.NotAfter.Sub(at)
	if th := t.For(c); left < th {
		return []report.Finding{{ID: "expires-soon", Severity: report.Warning, Subject: subject,
			Message: fmt.Sprintf("the %s %q expires on %s: %s left of %d, less than %s (%s)",
				what, ShortName(c), na, days(DaysLeft(c, at)), ValidityDays(c.NotBefore, c.NotAfter), t, days(int(th.Hours()/24))),
			Remediation: "plan its renewal now (set --min-remaining to change the threshold)",
			Citation:    citeExpiryThreshold}}
	}
	return nil
}

// lifetimeFinding checks c's validity period against the CA/Browser Forum
// schedule for its issuance date (notBefore).
func lifetimeFinding(c *x509.Certificate, subject string) []report.Finding {
	if c.IsCA {
		return nil
	}
	s := Schedule()
	row, ok := s.Limit(c.NotBefore)
	days := ValidityDays(c.NotBefore, c.NotAfter)
	if !ok || days <= row.MaxDays {
		return nil
	}
	return []report.Finding{{ID: "validity-too-long", Severity: report.Error, Subject: subject,
		Message: fmt.Sprintf("%q is valid for %d days (%s to %s); a publicly trusted certificate issued on %s may be valid for at most %d days, and browsers reject longer ones",
			ShortName(c), days, c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly), c.NotBefore.UTC().Format(time.DateOnly), row.MaxDays),
		Remediation: fmt.Sprintf("have it reissued for at most %d days; if it comes from a private CA that clients trust explicitly, run with --private", row.MaxDays),
		Citation:    s.Citation(row)}}
}

// citeBRKeyAlgorithms is why an EdDSA key is not a weak key but still
// not usable for a public certificate.
const citeBRKeyAlgorithms = "CA/B Forum TLS BR v2.2.6 §6.1.5 (RSA, and ECDSA on P-256, P-384, P-521; no other algorithms) and §7.1.3.1 (subjectPublicKeyInfo encodings); FIPS 186-5 §7 (EdDSA approved)"

// publicTrustKeyFinding reports key-not-publicly-trusted for a leaf whose
// key FIPS 186-5 approves but the CA/Browser Forum does not allow in a
// publicly trusted TLS certificate: Ed25519 and Ed448. It is not a weak
// key (weak-key would send an operator after the wrong fix), so it is
// its own finding, a warning, skipped with --private, where a private CA
// and its clients may agree on EdDSA.
func publicTrustKeyFinding(c *x509.Certificate, subject string) []report.Finding {
	kt := CertKeyType(c)
	if kt != "Ed25519" && kt != "Ed448" {
		return nil
	}
	return []report.Finding{{ID: "key-not-publicly-trusted", Severity: report.Warning, Subject: subject,
		Message:     fmt.Sprintf("%q has an %s key: FIPS 186-5 approves EdDSA, but the CA/Browser Forum Baseline Requirements (§6.1.5) allow only RSA and ECDSA keys in publicly trusted TLS certificates, so no public CA issues one and browsers reject it", ShortName(c), kt),
		Remediation: "for a service browsers or the public reach, get the certificate for an RSA (2048 bits or more) or ECDSA P-256/P-384 key; if it comes from a private CA whose clients accept EdDSA, run with --private",
		Citation:    citeBRKeyAlgorithms}}
}

// StrengthFindings reports weak-key and weak-signature for c.
func StrengthFindings(c *x509.Certificate, subject string) []report.Finding {
	return strengthOf(c, subject)
}

func strengthOf(c *x509.Certificate, subject string) []report.Finding {
	if c == nil {
		return nil
	}
	var out []report.Finding
	name := ShortName(c)
	weakKey := func(msg string) {
		out = append(out, report.Finding{ID: "weak-key", Severity: report.Error, Subject: subject,
			Message:     fmt.Sprintf("%q has %s", name, msg),
			Remediation: "reissue it with an RSA key of at least 2048 bits or an ECDSA key on P-256 or P-384",
			Citation:    citeBRKeys})
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		bits := k.N.BitLen()
		switch {
		case bits < 2048:
			weakKey(fmt.Sprintf("an RSA key of %d bits: below the 2048 bits FIPS 186-5 and the CA/B BR require", bits))
		case bits%8 != 0:
			weakKey(fmt.Sprintf("an RSA modulus of %d bits, not a multiple of 8 as the CA/B BR require", bits))
		case k.E < 65537:
			weakKey(fmt.Sprintf("an RSA public exponent of %d: FIPS 186-5 requires an odd exponent of at least 65537", k.E))
		}
	case *ecdsa.PublicKey:
		switch k.Curve.Params().Name {
		case "P-256", "P-384", "P-521":
		case "P-224":
			weakKey("an ECDSA key on P-224: the CA/B BR allow only P-256, P-384 and P-521 (FIPS 186-5 still approves P-224, at 112-bit security)")
		default:
			weakKey("an ECDSA key on " + k.Curve.Params().Name + ", a curve outside FIPS 186-5's approved set")
		}
	case ed25519.PublicKey:
		// FIPS 186-5 approves EdDSA: not weak. The CA/B BR do not allow
		// it in public TLS certificates (key-not-publicly-trusted, for
		// the leaf of "check" without --private).
	case *dsa.PublicKey:
		weakKey(fmt.Sprintf("a %s key: FIPS 186-5 no longer approves DSA for signatures, and the CA/B BR do not allow it", KeyType(k)))
	default:
		kt := CertKeyType(c)
		var bits int
		if rest, ok := strings.CutPrefix(kt, "RSA-PSS "); ok {
			bits, _ = strconv.Atoi(rest)
		}
		switch {
		case kt == "Ed448":
			// EdDSA, approved by FIPS 186-5 (as Ed25519 above).
		case bits > 0 && bits < 2048:
			weakKey(fmt.Sprintf("an %s key (id-RSASSA-PSS): below the 2048 bits FIPS 186-5 and the CA/B BR require", kt))
		case strings.HasPrefix(kt, "RSA-PSS"):
			out = append(out, report.Finding{ID: "weak-key", Severity: report.Warning, Subject: subject,
				Message:     fmt.Sprintf("%q has an %s key (id-RSASSA-PSS): FIPS 186-5 approves RSASSA-PSS, but the CA/B BR allow only rsaEncryption keys in public certificates, and Go and many TLS clients cannot use this key type", name, kt),
				Remediation: "reissue it with an ordinary RSA key (rsaEncryption, PSS signatures still possible in TLS 1.3) or an ECDSA key on P-256 or P-384",
				Citation:    citeBRKeys + "; CA/B BR §7.1.3.1"})
		default:
			weakKey(fmt.Sprintf("a key of %s, outside FIPS 186-5's approved signature algorithms (RSA, ECDSA, EdDSA) and the CA/B BR", kt))
		}
	}
	if !selfSigned(c) {
		switch c.SignatureAlgorithm {
		case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA, x509.DSAWithSHA256:
			alg := c.SignatureAlgorithm.String()
			why := "SHA-1 is disallowed for digital signature generation by NIST SP 800-131A and rejected by browsers and by Go since 1.18"
			switch c.SignatureAlgorithm {
			case x509.MD5WithRSA, x509.MD2WithRSA:
				why = "MD5 and MD2 are broken and rejected by every TLS client"
			case x509.DSAWithSHA256:
				why = "DSA is no longer approved for signature generation by FIPS 186-5"
			}
			out = append(out, report.Finding{ID: "weak-signature", Severity: report.Error, Subject: subject,
				Message:     fmt.Sprintf("%q is signed with %s: %s", name, alg, why),
				Remediation: "have the CA reissue it with a SHA-256 (or stronger) RSA or ECDSA signature",
				Citation:    citeSP800131A})
		case x509.UnknownSignatureAlgorithm:
			out = append(out, report.Finding{ID: "weak-signature", Severity: report.Warning, Subject: subject,
				Message:     fmt.Sprintf("%q is signed with %s, which kensa (and Go's TLS clients) cannot verify, so its strength is not known", name, signatureName(c)),
				Remediation: "have the CA reissue it with a SHA-256 (or stronger) RSA or ECDSA signature",
				Citation:    citeSP800131A})
		}
	}
	return out
}
