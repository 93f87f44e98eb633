package cert

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Supplied is a certificate the user supplied or a server sent, with
// where it came from ("intermediate.crt", "served #2").
type Supplied struct {
	Cert *x509.Certificate
	From string
}

// ChainInput is a leaf and the certificates offered to complete its
// chain, in the order they were given.
type ChainInput struct {
	Leaf     *x509.Certificate
	LeafFrom string
	// LeafFirst is false when the leaf was not the first certificate of
	// its file (or of what the server sent).
	LeafFirst bool
	// LeafAt is where the leaf stood among Supplied in the order the
	// certificates were given: 0 before all of them.
	LeafAt   int
	Supplied []Supplied
	Roots    *Roots
	At       time.Time
	// Subject is the subject of the findings (a file or an endpoint).
	Subject string
	// Served is true when the certificates come from a TLS server: the
	// remediation then speaks of the server's configuration.
	Served bool
}

// ChainCert is one certificate of a verified (or partly built) chain.
type ChainCert struct {
	Role string `json:"role"` // leaf, intermediate, root
	From string `json:"from"` // a file, "served #n", or the roots source
	Facts
}

// ChainResult is the outcome of [AnalyzeChain].
type ChainResult struct {
	// Trusted is true when the leaf chains to a root of the pool using
	// only the supplied certificates.
	Trusted bool        `json:"trusted"`
	Path    []ChainCert `json:"path"`
	// Findings are chain-incomplete, chain-extra and chain-order
	// findings, and expired for intermediates on the path.
	Findings []report.Finding `json:"-"`
}

const (
	citeChain = "RFC 5246 §7.4.2 and RFC 8446 §4.4.2: the server sends its certificate followed by the certificates that certify it, each certifying the one before; clients are not required to fetch missing ones (AIA)"
	citeAIA   = "kensa never fetches AIA (RFC 5280 §4.2.2.1 caIssuers): a chain is complete only with the certificates supplied"
)

// AnalyzeChain verifies in.Leaf against in.Roots with only in.Supplied as
// intermediates, and says what is wrong when it does not verify: which
// issuer is missing, which supplied intermediate is the wrong one, which
// supplied certificates are unused or out of order.
func AnalyzeChain(in ChainInput) ChainResult {
	var res ChainResult
	// Never a nil pool: x509.Verify would take the system roots, which on
	// macOS and Windows is the platform verifier (AIA fetching).
	if in.Roots == nil {
		in.Roots = &Roots{Source: "no trust anchors"}
	}
	if in.Roots.Pool == nil {
		r := *in.Roots
		r.Pool = x509.NewCertPool()
		for _, c := range r.Certs {
			r.Pool.AddCert(c)
		}
		in.Roots = &r
	}
	inter := x509.NewCertPool()
	for _, s := range in.Supplied {
		inter.AddCert(s.Cert)
	}
	// Chain completeness is judged inside the leaf's validity period, so
	// an expired leaf is reported as expired, not as a broken chain.
	vt := in.At
	if vt.Before(in.Leaf.NotBefore) {
		vt = in.Leaf.NotBefore.Add(time.Second)
	}
	if vt.After(in.Leaf.NotAfter) {
		vt = in.Leaf.NotAfter.Add(-time.Second)
	}
	opts := x509.VerifyOptions{
		Roots:         in.Roots.Pool,
		Intermediates: inter,
		CurrentTime:   vt,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	chains, verr := in.Leaf.Verify(opts)
	if verr == nil && len(chains) > 0 {
		chain := bestChain(chains)
		res.Path = describePath(chain, in)
		anchor := chain[len(chain)-1]
		if !selfSigned(anchor) {
			// The pool holds an intermediate: the chain looks complete
			// only because of it (certigo #132).
			res.Findings = append(res.Findings, in.finding("chain-incomplete", report.Error,
				fmt.Sprintf("%s verifies only because the trust anchors (%s) hold the intermediate %q, which is not a root; clients that trust only roots need that intermediate from the %s and fail with \"unable to get local issuer certificate\"",
					describeLeaf(in), in.Roots.Source, ShortName(anchor), in.source()),
				fmt.Sprintf("add the intermediate %q (SHA-256 %s) to %s, after the leaf; give kensa a roots file that holds only self-signed roots", ShortName(anchor), Fingerprint(anchor), in.remedyTarget()),
				citeChain))
		} else {
			res.Trusted = true
		}
		res.Findings = append(res.Findings, extraAndOrder(in, chain, chains)...)
		res.Findings = append(res.Findings, expiredOnPath(in, chain)...)
		return res
	}
	res.Findings = append(res.Findings, diagnose(in, verr, &res)...)
	return res
}

// bestChain prefers a chain that ends at a self-signed root, then the
// shortest.
func bestChain(chains [][]*x509.Certificate) []*x509.Certificate {
	best := chains[0]
	for _, c := range chains[1:] {
		bs, cs := selfSigned(best[len(best)-1]), selfSigned(c[len(c)-1])
		if (cs && !bs) || (cs == bs && len(c) < len(best)) {
			best = c
		}
	}
	return best
}

func (in ChainInput) finding(id string, sev report.Severity, msg, remedy, cite string) report.Finding {
	return report.Finding{ID: id, Severity: sev, Subject: in.Subject, Message: msg, Remediation: remedy, Citation: cite}
}

func (in ChainInput) source() string {
	if in.Served {
		return "chain the server sent"
	}
	return "bundle"
}

func (in ChainInput) remedyTarget() string {
	if in.Served {
		return "the chain the server sends (its fullchain file, or the load balancer's certificate chain field)"
	}
	return "the chain file (--chain)"
}

func describeLeaf(in ChainInput) string {
	return fmt.Sprintf("the certificate %q", ShortName(in.Leaf))
}

// fileOf returns where a supplied certificate came from, as a file the
// user edits: the remediation target of a server's chain, else the file
// name without its " #n" position.
func (in ChainInput) fileOf(ss ...Supplied) string {
	if in.Served {
		return in.remedyTarget()
	}
	var files []string
	for _, s := range ss {
		f := s.From
		if i := strings.LastIndex(f, " #"); i > 0 {
			f = f[:i]
		}
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return in.remedyTarget()
	}
	return strings.Join(files, " and ")
}

// describePath turns a verified chain into ChainCerts, naming where each
// certificate came from.
func describePath(chain []*x509.Certificate, in ChainInput) []ChainCert {
	out := make([]ChainCert, 0, len(chain))
	for i, c := range chain {
		cc := ChainCert{Facts: FactsOf(c, in.At)}
		switch {
		case i == 0:
			cc.Role, cc.From = "leaf", in.LeafFrom
		case i == len(chain)-1 && !slices.ContainsFunc(in.Supplied, func(s Supplied) bool { return s.Cert.Equal(c) }):
			cc.Role, cc.From = "root", in.Roots.Source
		default:
			cc.Role = "intermediate"
			if selfSigned(c) {
				cc.Role = "root"
			}
			for _, s := range in.Supplied {
				if s.Cert.Equal(c) {
					cc.From = s.From
					break
				}
			}
		}
		out = append(out, cc)
	}
	return out
}

// extraAndOrder reports supplied certificates that are not on the chain
// (chain-extra) and a chain given out of order (chain-order).
func extraAndOrder(in ChainInput, chain []*x509.Certificate, all [][]*x509.Certificate) []report.Finding {
	var out []report.Finding
	onPath := func(c *x509.Certificate) int {
		for i, p := range chain {
			if p.Equal(c) {
				return i
			}
		}
		return -1
	}
	anchor := chain[len(chain)-1]
	var extras []string
	var extraFrom []Supplied
	for _, s := range in.Supplied {
		c := s.Cert
		i := onPath(c)
		switch {
		case i == 0:
			out = append(out, in.finding("chain-extra", report.Warning,
				fmt.Sprintf("the %s holds the leaf %q twice (again in %s)", in.source(), ShortName(c), s.From),
				"remove the second copy of the leaf from "+in.fileOf(s), citeChain))
		case i > 0 && i == len(chain)-1 && selfSigned(c):
			out = append(out, in.finding("chain-extra", report.Info,
				fmt.Sprintf("the %s includes the root %q (%s); clients use their own copy of a root, so sending it only adds bytes to every handshake", in.source(), ShortName(c), s.From),
				"remove the root from "+in.fileOf(s), citeChain))
		case i > 0:
		case selfSigned(c) && c.Equal(anchor):
		case selfSigned(c):
			out = append(out, in.finding("chain-extra", report.Warning,
				fmt.Sprintf("the %s includes the root %q (%s), which is not on the chain to %q", in.source(), ShortName(c), s.From, ShortName(anchor)),
				"remove it from "+in.fileOf(s), citeChain))
		case usedByAnotherChain(c, all):
			out = append(out, in.finding("chain-extra", report.Info,
				fmt.Sprintf("%q (%s) is a cross-signed certificate: clients that trust %q do not need it, older clients that trust only %q do", ShortName(c), s.From, ShortName(anchor), c.Issuer.CommonName),
				"keep it if old clients must connect; otherwise remove it", citeChain))
		default:
			extras = append(extras, fmt.Sprintf("%q (%s, issued by %q)", ShortName(c), s.From, c.Issuer.CommonName))
			extraFrom = append(extraFrom, s)
		}
	}
	if len(extras) > 0 {
		out = append(out, in.finding("chain-extra", report.Warning,
			fmt.Sprintf("the %s holds certificates that are not on the chain of %q: %s; a stale intermediate left from an older bundle, or one for another certificate", in.source(), ShortName(in.Leaf), strings.Join(extras, ", ")),
			"remove them from "+in.fileOf(extraFrom...), citeChain))
	}
	// Order: the leaf first, then each certificate followed by its
	// issuer.
	idx := func(c *x509.Certificate) int {
		for i, s := range in.Supplied {
			if s.Cert.Equal(c) {
				return i
			}
		}
		return -1
	}
	ordered := in.LeafFirst
	last := -1
	for _, c := range chain[1:] {
		i := idx(c)
		if i < 0 {
			continue
		}
		if i < last {
			ordered = false
		}
		last = i
	}
	if !ordered {
		leafAt := min(max(in.LeafAt, 0), len(in.Supplied))
		if in.LeafFirst {
			leafAt = 0
		}
		var given []string
		for _, s := range in.Supplied {
			given = append(given, ShortName(s.Cert))
		}
		given = slices.Insert(given, leafAt, ShortName(in.Leaf))
		var want []string
		for _, c := range chain {
			if idx(c) >= 0 || c == chain[0] {
				want = append(want, ShortName(c))
			}
		}
		msg := fmt.Sprintf("the certificates of the %s are out of order (%s); servers send them in file order and strict clients (Java, older OpenSSL, some load balancers) reject a chain that is not leaf first, then each issuer", in.source(), strings.Join(given, " → "))
		if !in.LeafFirst {
			msg = fmt.Sprintf("the leaf %q is not the first certificate of %s; ", ShortName(in.Leaf), in.LeafFrom) + msg
		}
		out = append(out, in.finding("chain-order", report.Warning, msg,
			"write them in this order: "+strings.Join(want, " → "), citeChain))
	}
	return out
}

func usedByAnotherChain(c *x509.Certificate, all [][]*x509.Certificate) bool {
	for _, ch := range all {
		for _, x := range ch[1:] {
			if x.Equal(c) {
				return true
			}
		}
	}
	return false
}

// expiredOnPath reports intermediates of the chain that have expired or
// expire before the leaf.
func expiredOnPath(in ChainInput, chain []*x509.Certificate) []report.Finding {
	var out []report.Finding
	for _, c := range chain[1:] {
		if selfSigned(c) {
			continue
		}
		if in.At.After(c.NotAfter) {
			out = append(out, in.finding("expired", report.Error,
				fmt.Sprintf("the intermediate %q on the chain expired on %s", ShortName(c), c.NotAfter.UTC().Format(time.DateOnly)),
				"replace it with the CA's current intermediate in "+in.remedyTarget(), "RFC 5280 §6.1.3 (a certificate on the path must be within its validity period)"))
		} else if c.NotAfter.Before(in.Leaf.NotAfter) && c.NotAfter.Sub(in.At) < 90*24*time.Hour {
			out = append(out, in.finding("expires-soon", report.Warning,
				fmt.Sprintf("the intermediate %q expires on %s, before the leaf (%s); the chain stops verifying then", ShortName(c), c.NotAfter.UTC().Format(time.DateOnly), in.Leaf.NotAfter.UTC().Format(time.DateOnly)),
				"get the CA's current intermediate (or a reissued certificate) and replace it in "+in.remedyTarget(), "RFC 5280 §6.1.3"))
		}
	}
	return out
}

// diagnose builds the path by hand to say why verification failed.
func diagnose(in ChainInput, verr error, res *ChainResult) []report.Finding {
	var out []report.Finding
	cur := in.Leaf
	path := []*x509.Certificate{in.Leaf}
	used := map[*x509.Certificate]bool{}
	insecure := false
	for depth := 0; depth < 12; depth++ {
		if root := issuerIn(cur, in.Roots.Certs); root != nil {
			path = append(path, root)
			break
		}
		if selfSigned(cur) {
			res.Path = describePath(path, in)
			return append(out, in.finding("chain-incomplete", report.Error,
				fmt.Sprintf("the chain of %q ends at the root %q, which is not among the trusted roots (%s)", ShortName(in.Leaf), ShortName(cur), in.Roots.Source),
				"if it is your private CA, pass its certificate with --roots FILE (and use --private); if the certificate must be publicly trusted, get one issued by a public CA",
				citeChain))
		}
		var named []Supplied
		var signer *x509.Certificate
		for _, s := range in.Supplied {
			if used[s.Cert] || string(s.Cert.RawSubject) != string(cur.RawIssuer) {
				continue
			}
			named = append(named, s)
			err := checkSigned(cur, s.Cert)
			if err == nil || isInsecure(err) {
				insecure = insecure || err != nil
				signer = s.Cert
				break
			}
		}
		if signer != nil {
			used[signer] = true
			path = append(path, signer)
			cur = signer
			continue
		}
		res.Path = describePath(path, in)
		if len(named) > 0 {
			w := named[0]
			return append(out, in.finding("chain-incomplete", report.Error,
				fmt.Sprintf("the supplied intermediate %q (%s, subject key id %s) has the right name but did not sign %q (authority key id %s): it is a different certificate of the same name, from another generation or key of the CA; with it the chain does not verify",
					ShortName(w.Cert), w.From, keyID(w.Cert.SubjectKeyId), ShortName(cur), keyID(cur.AuthorityKeyId)),
				fmt.Sprintf("replace it with the intermediate %q whose subject key id is %s%s, in %s", cur.Issuer.CommonName, keyID(cur.AuthorityKeyId), aiaHint(cur), in.remedyTarget()),
				citeChain+"; "+citeAIA))
		}
		msg := fmt.Sprintf("no certificate in the %s issued %q: its issuer %q (authority key id %s) is missing; browsers hide this by fetching the issuer through AIA, but curl, Java, Go, mobile apps and API clients fail with \"unable to get local issuer certificate\"",
			in.source(), ShortName(cur), cur.Issuer.String(), keyID(cur.AuthorityKeyId))
		if unrelated := unusedIntermediates(in, used); len(unrelated) > 0 {
			msg += fmt.Sprintf("; the supplied %s did not issue it: wrong intermediate", strings.Join(unrelated, ", "))
		}
		for _, r := range in.Roots.NotRoots {
			if string(r.RawSubject) == string(cur.RawIssuer) {
				msg += fmt.Sprintf("; note that %s holds it among the roots, which hides this from tools that use it", in.Roots.Source)
			}
		}
		remedy := fmt.Sprintf("add the intermediate %q%s to %s, after the leaf", cur.Issuer.String(), aiaHint(cur), in.remedyTarget())
		if cur != in.Leaf {
			msg = fmt.Sprintf("the chain of %q stops at %q: its issuer %q (authority key id %s) is neither in the %s nor among the trusted roots (%s)",
				ShortName(in.Leaf), ShortName(cur), cur.Issuer.String(), keyID(cur.AuthorityKeyId), in.source(), in.Roots.Source)
			remedy = fmt.Sprintf("if %q is a root (your private CA), pass it with --roots FILE; if it is an intermediate, add it%s to %s", cur.Issuer.String(), aiaHint(cur), in.remedyTarget())
		}
		return append(out, in.finding("chain-incomplete", report.Error, msg, remedy, citeChain+"; "+citeAIA))
	}
	res.Path = describePath(path, in)
	for _, c := range path[:len(path)-1] {
		insecure = insecure || weakSignature(c.SignatureAlgorithm)
	}
	if insecure {
		// The path exists; its weak signature is reported as
		// weak-signature.
		return out
	}
	var invalid x509.CertificateInvalidError
	if errors.As(verr, &invalid) && invalid.Reason == x509.Expired {
		return append(out, expiredOnPath(in, path)...)
	}
	msg := fmt.Sprintf("the chain of %q does not verify", ShortName(in.Leaf))
	if verr != nil {
		msg += ": " + verr.Error()
	}
	return append(out, in.finding("chain-incomplete", report.Error, msg,
		"check the intermediates in "+in.remedyTarget()+" against the ones the CA issued with this certificate", citeChain))
}

// unusedIntermediates names supplied non-root certificates that are not on
// the partial path.
func unusedIntermediates(in ChainInput, used map[*x509.Certificate]bool) []string {
	var out []string
	for _, s := range in.Supplied {
		if !used[s.Cert] && !selfSigned(s.Cert) && !s.Cert.Equal(in.Leaf) {
			out = append(out, fmt.Sprintf("%q (%s)", ShortName(s.Cert), s.From))
		}
	}
	return out
}

// issuerIn returns the certificate of pool that signed c, if any.
func issuerIn(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, r := range pool {
		if string(r.RawSubject) == string(c.RawIssuer) && checkSigned(c, r) == nil {
			return r
		}
	}
	return nil
}

// checkSigned checks c's signature with parent's key, whatever parent's
// CA flags say (they are Verify's business).
func checkSigned(c, parent *x509.Certificate) error {
	return parent.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature)
}

// weakSignature reports the algorithms Go refuses to verify.
func weakSignature(a x509.SignatureAlgorithm) bool {
	switch a {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1, x509.MD5WithRSA, x509.MD2WithRSA:
		return true
	}
	return false
}

func isInsecure(err error) bool {
	var ia x509.InsecureAlgorithmError
	return errors.As(err, &ia)
}

func keyID(id []byte) string {
	if len(id) == 0 {
		return "(none)"
	}
	return colonHex(id)
}

// aiaHint names where the CA publishes the issuer, without fetching it.
func aiaHint(c *x509.Certificate) string {
	if len(c.IssuingCertificateURL) == 0 {
		return " (from the CA's download page)"
	}
	return fmt.Sprintf(" (the certificate says the CA publishes it at %s; kensa did not fetch it)", strings.Join(c.IssuingCertificateURL, ", "))
}
