package cert

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// The TLS posture of an endpoint: what a handshake negotiated, whether the
// endpoint accepts the hybrid post-quantum groups when they are offered
// alone, and whether a client in FIPS 140-3 mode could connect. The rules
// are data (tlsposture.json), each row with its source and the date it was
// read.
//
// Why "offered alone": Go's default ClientHello carries an X25519 key
// share beside X25519MLKEM768, so a classical-only server completes the
// handshake with X25519 and says nothing. Only a ClientHello whose sole
// group is the hybrid tells whether the server supports it.
//
// What a client cannot test: which TLS 1.3 suites the server would refuse
// (crypto/tls does not let a client choose them) and the server's
// signature scheme (not in tls.ConnectionState). The FIPS verdict says so
// when the server picked a TLS 1.3 suite outside the FIPS list.

//go:embed tlsposture.json
var postureJSON []byte

// PostureGroup is one row of the groups table.
type PostureGroup struct {
	Name     string `json:"name"`
	ID       uint16 `json:"id"`
	PQ       bool   `json:"pq"`
	MLKEM    int    `json:"ml_kem,omitempty"`
	CNSA2    bool   `json:"cnsa2"`
	FIPS     bool   `json:"fips"`
	Source   string `json:"source"`
	AsOf     string `json:"as_of"`
	Verified bool   `json:"verified"`
}

// PostureRules is tlsposture.json.
type PostureRules struct {
	Groups []PostureGroup `json:"groups"`
	FIPS   struct {
		Source           string   `json:"source"`
		AsOf             string   `json:"as_of"`
		Versions         []string `json:"versions"`
		TLS13Suites      []string `json:"tls13_suites"`
		TLS12Suites      []string `json:"tls12_suites"`
		TLS12RequiresEMS bool     `json:"tls12_requires_ems"`
		MinRSABits       int      `json:"min_rsa_bits"`
		Curves           []string `json:"curves"`
	} `json:"fips"`
	Milestones []struct {
		ID       string `json:"id"`
		Date     string `json:"date"`
		Text     string `json:"text"`
		Source   string `json:"source"`
		AsOf     string `json:"as_of"`
		Verified bool   `json:"verified"`
	} `json:"milestones"`
}

// Rules returns the embedded posture rules.
func Rules() *PostureRules { return postureRules() }

// postureRules is tlsposture.json, decoded on first use: the commands
// that do not probe TLS never pay for it at start.
var postureRules = sync.OnceValue(func() *PostureRules {
	var r PostureRules
	if err := json.Unmarshal(postureJSON, &r); err != nil {
		panic("cert: tlsposture.json: " + err.Error())
	}
	return &r
})

// GroupSupport is the outcome of offering one group alone.
type GroupSupport struct {
	Group     string `json:"group"`
	Supported bool   `json:"supported"`
	// Error is the handshake's error when the group was refused.
	Error string `json:"error,omitempty"`
}

// FIPSVerdict says whether a client in FIPS 140-3 mode (Go's policy) could
// connect, and why not.
type FIPSVerdict struct {
	Compatible bool     `json:"compatible"`
	Reasons    []string `json:"reasons,omitempty"`
	// Version, CipherSuite and Group are what the FIPS-shaped handshake
	// negotiated.
	Version     string `json:"tls_version,omitempty"`
	CipherSuite string `json:"cipher_suite,omitempty"`
	Group       string `json:"group,omitempty"`
}

// Posture is the TLS posture of one handshake target.
type Posture struct {
	Version           string `json:"tls_version"`
	CipherSuite       string `json:"cipher_suite"`
	Group             string `json:"group,omitempty"`
	HelloRetryRequest bool   `json:"hello_retry_request"`
	// ExtendedMasterSecret is set for TLS 1.2 sessions only.
	ExtendedMasterSecret *bool          `json:"extended_master_secret,omitempty"`
	PQGroups             []GroupSupport `json:"pq_groups"`
	FIPS                 FIPSVerdict    `json:"fips"`
}

// Supports reports whether the endpoint accepted group offered alone.
func (p *Posture) Supports(group string) bool {
	for _, g := range p.PQGroups {
		if g.Group == group {
			return g.Supported
		}
	}
	return false
}

// groupName names a negotiated group ("" for none: RSA key exchange).
func groupName(id tls.CurveID) string {
	if id == 0 {
		return ""
	}
	for _, g := range postureRules().Groups {
		if tls.CurveID(g.ID) == id {
			return g.Name
		}
	}
	return id.String()
}

// suiteID maps a suite name to its id.
func suiteID(name string) (uint16, bool) {
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if s.Name == name {
			return s.ID, true
		}
	}
	return 0, false
}

const (
	citePQ    = "draft-ietf-tls-ecdhe-mlkem (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024); Go crypto/tls (kensa data tlsposture.json)"
	citeCNSA2 = "NSA CNSA 2.0 (ML-KEM-1024 for key establishment; kensa data tlsposture.json, milestones)"
	citeFIPS  = "FIPS 140-3 TLS policy of Go's crypto/tls (defaults_fips140.go; TLS 1.2 needs Extended Master Secret); NIST SP 800-52r2 (kensa data tlsposture.json)"
)

// probePosture makes the posture handshakes for p: each post-quantum
// group offered alone, then a FIPS-shaped ClientHello.
func probePosture(ctx context.Context, p plan, o ProbeOptions, main handshakeState) (Posture, []report.Finding) {
	rules := postureRules()
	pos := Posture{Version: tls.VersionName(main.version), CipherSuite: tls.CipherSuiteName(main.suite),
		Group: groupName(main.group), HelloRetryRequest: main.hrr}
	if main.version == tls.VersionTLS12 {
		ems := main.ems
		pos.ExtendedMasterSecret = &ems
	}
	for _, g := range rules.Groups {
		if !g.PQ {
			continue
		}
		hs, err := handshake(ctx, p.dialed, p.servername, o.Timeout, clientHello{minVersion: tls.VersionTLS13, groups: []tls.CurveID{tls.CurveID(g.ID)}})
		gs := GroupSupport{Group: g.Name, Supported: err == nil && hs.group == tls.CurveID(g.ID)}
		if err != nil {
			gs.Error = err.Error()
		}
		pos.PQGroups = append(pos.PQGroups, gs)
	}
	pos.FIPS = fipsVerdict(ctx, p, o)

	label := p.endpoint
	if label == "" {
		label = p.address
	}
	where := p.dialed
	if p.sni {
		where += " for " + DisplayName(p.servername)
	}
	var fs []report.Finding
	if !slices.ContainsFunc(pos.PQGroups, func(g GroupSupport) bool { return g.Supported }) {
		fs = append(fs, report.Finding{ID: "tls-no-pq", Severity: report.Info, Subject: label,
			Message:     fmt.Sprintf("%s accepts no hybrid post-quantum group offered alone (negotiated %s with Go's default ClientHello)", where, orNone(pos.Group)),
			Remediation: "enable X25519MLKEM768 on the listener (OpenSSL 3.5+, BoringSSL, Go 1.24+, recent load balancer TLS policies) so that recorded traffic is protected against a future quantum computer",
			Citation:    citePQ})
	}
	if !pos.Supports("SecP384r1MLKEM1024") {
		next := ""
		for _, m := range rules.Milestones {
			if d, err := time.Parse(time.DateOnly, m.Date); err == nil && d.After(o.At) {
				next = fmt.Sprintf(" (next milestone %s: %s)", m.Date, m.Text)
				break
			}
		}
		fs = append(fs, report.Finding{ID: "tls-no-cnsa2-group", Severity: report.Info, Subject: label,
			Message:     fmt.Sprintf("%s does not accept SecP384r1MLKEM1024, the one hybrid group with ML-KEM-1024 that CNSA 2.0 requires%s", where, next),
			Remediation: "if the endpoint serves National Security Systems, enable SecP384r1MLKEM1024 (Go 1.26+, OpenSSL 3.5+)",
			Citation:    citeCNSA2})
	}
	if !pos.FIPS.Compatible {
		fs = append(fs, report.Finding{ID: "tls-fips-incompatible", Severity: report.Warning, Subject: label,
			Message:     fmt.Sprintf("a client in FIPS 140-3 mode could not use %s: %s", where, strings.Join(pos.FIPS.Reasons, "; ")),
			Remediation: "offer TLS 1.2 with Extended Master Secret or TLS 1.3, ECDHE on P-256/P-384/P-521 (or an ML-KEM hybrid), AES-GCM suites, and an RSA ≥2048 or ECDSA P-256/P-384/P-521 certificate",
			Citation:    citeFIPS})
	}
	return pos, fs
}

func orNone(s string) string {
	if s == "" {
		return "no group (RSA key exchange)"
	}
	return s
}

// fipsVerdict makes a handshake with only what Go's FIPS 140-3 policy
// allows a client to offer and checks what comes back.
func fipsVerdict(ctx context.Context, p plan, o ProbeOptions) FIPSVerdict {
	rules := postureRules()
	var ch clientHello
	ch.minVersion = tls.VersionTLS12
	for _, g := range rules.Groups {
		if g.FIPS {
			ch.groups = append(ch.groups, tls.CurveID(g.ID))
		}
	}
	for _, n := range rules.FIPS.TLS12Suites {
		if id, ok := suiteID(n); ok {
			ch.suites = append(ch.suites, id)
		}
	}
	hs, err := handshake(ctx, p.dialed, p.servername, o.Timeout, ch)
	if err != nil {
		return FIPSVerdict{Reasons: []string{"no handshake with FIPS-approved versions, groups and suites: " + err.Error()}}
	}
	v := FIPSVerdict{Version: tls.VersionName(hs.version), CipherSuite: tls.CipherSuiteName(hs.suite), Group: groupName(hs.group)}
	if !slices.Contains(rules.FIPS.Versions, v.Version) {
		v.Reasons = append(v.Reasons, v.Version+" is not allowed")
	}
	if hs.version == tls.VersionTLS13 && !slices.Contains(rules.FIPS.TLS13Suites, v.CipherSuite) {
		v.Reasons = append(v.Reasons, "the server chose "+v.CipherSuite+" (a FIPS client does not offer it; whether the server would accept AES-GCM instead cannot be tested from a client)")
	}
	if hs.version == tls.VersionTLS12 && rules.FIPS.TLS12RequiresEMS && !hs.ems {
		v.Reasons = append(v.Reasons, "TLS 1.2 without Extended Master Secret (RFC 7627): Go 1.26.6+ in FIPS mode refuses it")
	}
	if len(hs.certs) > 0 {
		if why := fipsKeyRefused(hs.certs[0], rules.FIPS.MinRSABits); why != "" {
			v.Reasons = append(v.Reasons, why)
		}
	}
	v.Compatible = len(v.Reasons) == 0
	return v
}

// fipsKeyRefused says why a FIPS client refuses the leaf's key, or "".
func fipsKeyRefused(c *x509.Certificate, minRSA int) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSA {
			return fmt.Sprintf("the certificate's RSA key has %d bits (FIPS needs at least %d)", k.N.BitLen(), minRSA)
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return "the certificate's ECDSA curve " + k.Curve.Params().Name + " is not allowed"
		}
	case ed25519.PublicKey:
	default:
		return fmt.Sprintf("the certificate's key (%T) is not allowed", c.PublicKey)
	}
	return ""
}
