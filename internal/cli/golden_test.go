package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
)

var update = flag.Bool("update", false, "rewrite the golden files of the text views in testdata/golden")

// golden compares got with testdata/golden/name; go test -run Golden
// -update rewrites the files (read the diff before committing it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/cli -run Golden -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", path, diff)
	}
}

// runEnv runs kensa in-process with environment variables.
func runEnv(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := Main(t.Context(), args, Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string { return vars[k] }})
	return code, out.String(), errOut.String()
}

// TestGoldenEgressText: the egress analyze text view of real logs, whole
// and on an 80-column terminal.
func TestGoldenEgressText(t *testing.T) {
	for _, tt := range []struct {
		name, columns string
		args          []string
	}{
		{"egress-azfw.txt", "", []string{egressFixture("azfw.log")}},
		{"egress-azfw-80.txt", "80", []string{egressFixture("azfw.log")}},
		{"egress-squid.txt", "", []string{egressFixture("access.log")}},
		{"egress-formats.txt", "", []string{egressFixture("structured.jsonl"), egressFixture("la-export.csv"), egressFixture("aws-nfw.jsonl")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, stdout, stderr := runEnv(t, map[string]string{"COLUMNS": tt.columns, "SOURCE_DATE_EPOCH": "1790000000"},
				append([]string{"egress", "analyze"}, tt.args...)...)
			if stdout == "" {
				t.Fatalf("no output; stderr %q", stderr)
			}
			golden(t, tt.name, strings.ReplaceAll(stdout, "../egress/testdata/", ""))
		})
	}
}

// TestGoldenFipsText: the fips scan text view: paths, an image, a walk
// error, an image that could not be scanned, on a wide and an 80-column
// terminal, with and without --all.
func TestGoldenFipsText(t *testing.T) {
	rs := []fips.Result{
		{Path: "/usr/lib/x86_64-linux-gnu/cryptsetup/libcryptsetup-token-systemd-pkcs11.so", Kind: "shared-library", Crypto: []string{"libgcrypt", "openssl"}, Verdict: fips.Noncompliant,
			Reasons: []string{"libgcrypt.so.20 has no FIPS integrity file (.libgcrypt.so.20.hmac) beside it: not a FIPS build"}},
		{Path: "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", Kind: "shared-library", Crypto: []string{"openssl"}, Verdict: fips.Noncompliant,
			Reasons: []string{"libcrypto.so.3 (OpenSSL 3.0.19) has no FIPS provider (no ossl-modules/fips.so)"}},
		{Path: "bin/app", Kind: "executable", Language: "go", Crypto: []string{"go-fips140"}, Verdict: fips.Compliant,
			Reasons: []string{"Go Cryptographic Module v1.0.0-c2097c7c (FIPS 140-3 certificate #5247)"}},
		{Path: "bin/helper", Kind: "executable", Language: "go", Verdict: fips.NotApplicable, Reasons: []string{"Go binary without crypto packages"}},
		{Path: "bin/broken", Kind: fips.KindUnreadable, Verdict: fips.NotApplicable, Reasons: []string{"corrupt ELF file (truncated section headers)"}},
		{Path: "/usr/bin/openssl", Kind: "executable", Crypto: []string{"openssl"}, Verdict: fips.Conditional, Image: "registry:example.com/app:1.2", Platform: "linux/amd64", Digest: "sha256:0123456789ab",
			Reasons: []string{"libcrypto.so.3 with the FIPS provider: compliant when the host runs in FIPS mode"}},
	}
	var fs []report.Finding
	for _, r := range rs {
		fs = append(fs, fips.Findings(r)...)
	}
	ref, _, _ := image.ParseReference("registry:example.com/missing:1")
	failed := []fips.RefScan{{Ref: ref, Err: os.ErrNotExist}}
	fs = append(fs, fips.ImageUnreadableFinding(ref, os.ErrNotExist))
	walkErrs := []fips.WalkError{{Path: "/root/secret", Err: os.ErrPermission}}
	fs = append(fs, fips.UnreadableFinding(walkErrs[0]))
	fips.SortResults(rs)
	sum := fips.Summarize(rs, fs, fips.Examined{Files: 1800, Images: 1})
	for _, tt := range []struct {
		name  string
		width int
		all   bool
	}{{"fips.txt", 0, false}, {"fips-80.txt", 80, false}, {"fips-all.txt", 0, true}} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tw := &textWriter{w: &b, width: tt.width}
			if writeFipsText(tw, fipsListed(rs, nil, tt.all), walkErrs, failed, sum); tw.err != nil {
				t.Fatal(tw.err)
			}
			golden(t, tt.name, b.String())
		})
	}
}

func facts(cn, issuer, fp string, notBefore, notAfter time.Time, at time.Time) cert.Facts {
	days := func(d time.Duration) int { return int(d.Hours() / 24) }
	return cert.Facts{Subject: "CN=" + cn, Issuer: "CN=" + issuer, SANs: []string{cn, "www." + cn}, Serial: "4d2",
		NotBefore: notBefore, NotAfter: notAfter, ValidityDays: days(notAfter.Sub(notBefore)) + 1, DaysLeft: days(notAfter.Sub(at)),
		SHA256: fp, KeyType: "ECDSA P-256", SignatureAlgorithm: "ECDSA-SHA256"}
}

// TestGoldenCertText: the cert check and cert probe text views.
func TestGoldenCertText(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	fpNew := strings.Repeat("1C:", 31) + "1C"
	fpOld := strings.Repeat("4E:", 31) + "4E"
	newF := facts("example.com", "Kensa Test Issuing CA", fpNew, at.AddDate(0, 0, -10), at.AddDate(0, 0, 80), at)
	oldF := facts("example.com", "Kensa Test Issuing CA", fpOld, at.AddDate(0, 0, -150), at.AddDate(0, 0, 48), at)
	yes := true
	res := cert.CheckResult{File: "new.crt", Leaf: newF, KeyFrom: "new.key", KeyType: "ECDSA P-256", KeyMatches: &yes, Roots: "root.pem",
		Chain: cert.ChainResult{Trusted: true, Path: []cert.ChainCert{{Role: "leaf", From: "new.crt", Facts: newF},
			{Role: "intermediate", From: "inter.pem", Facts: facts("Kensa Test Issuing CA", "Kensa Test Root", fpOld, at, at, at)}}},
		Current: &oldF, Comparison: &cert.Comparison{CurrentFrom: "old.crt", SANsDropped: []string{"api.example.com"}, Newer: true}}
	rep := report.New("cert check", "test", at, at)
	rep.Findings = []report.Finding{{ID: "san-dropped", Severity: report.Error, Subject: "new.crt",
		Message: "the new certificate does not cover api.example.com, which the certificate in service (old.crt) covers", Remediation: "have it reissued with api.example.com"}}
	var b strings.Builder
	tw := &textWriter{w: &b}
	if writeCheckText(tw, res, rep); tw.err != nil {
		t.Fatal(tw.err)
	}
	golden(t, "cert-check.txt", b.String())

	no := false
	results := []*cert.ProbeResult{
		{Endpoint: "alb-1", Address: "lb1.example.com:443", Dialed: "10.0.0.5:443", ServerName: "example.com", SNI: true, OK: true, Leaf: &newF, Expected: &yes, Chain: &cert.ChainResult{Trusted: true}},
		{Endpoint: "alb-2", Address: "lb2.example.com:443", Dialed: "10.0.0.6:443", ServerName: "example.com", SNI: true, OK: true, Leaf: &oldF, Expected: &no, Chain: &cert.ChainResult{Trusted: true}},
		{Address: "10.0.0.7:443", Dialed: "10.0.0.7:443", ServerName: "example.com", SNI: true, Error: "no TLS handshake within 5s"},
	}
	prep := report.New("cert probe", "test", at, at)
	prep.Findings = []report.Finding{
		{ID: "handshake-failed", Severity: report.Error, Subject: "10.0.0.7:443", Address: "10.0.0.7:443", ServerName: "example.com",
			Message: "no TLS handshake with 10.0.0.7:443 for example.com: no TLS handshake within 5s", Remediation: "check the listener"},
		{ID: "stale-certificate", Severity: report.Error, Subject: "alb-2", Address: "10.0.0.6:443", ServerName: "example.com",
			Message: "10.0.0.6:443 for example.com serves the old certificate", Remediation: "deploy the new certificate on this listener too"},
		{ID: "expires-soon", Severity: report.Warning, Subject: "alb-2", Address: "10.0.0.6:443", ServerName: "example.com",
			Message: "48 days left", Remediation: "plan its renewal now"},
	}
	cert.SortProbeFindings(results, prep.Findings)
	sum := cert.SummarizeProbe(results, prep.Findings)
	for _, tt := range []struct {
		name  string
		width int
	}{{"cert-probe.txt", 0}, {"cert-probe-60.txt", 60}} {
		b.Reset()
		tw = &textWriter{w: &b, width: tt.width}
		if writeProbeText(tw, results, prep, sum); tw.err != nil {
			t.Fatal(tw.err)
		}
		golden(t, tt.name, b.String())
	}
}
