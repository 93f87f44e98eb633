package cert_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestPosture runs Go TLS servers on loopback with and without the
// hybrid post-quantum groups and with FIPS-refused parameters, and checks
// what --tls-posture reports for each.
func TestPosture(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"pq.example"}, KeyType: certtest.P256})
	pair := tls.Certificate{Certificate: [][]byte{leaf.Raw, p.inter.Cert.Raw}, PrivateKey: key, Leaf: leaf}
	serve := func(cfg *tls.Config) string {
		cfg.Certificates = []tls.Certificate{pair}
		addr, stop := certtest.ServeConfig(cfg)
		t.Cleanup(stop)
		return addr
	}
	tests := []struct {
		name       string
		cfg        *tls.Config
		version    string
		group      string
		supported  []string // hybrid groups accepted offered alone
		fips       bool
		fipsReason string
		ids        []string
	}{
		{name: "Go defaults (X25519MLKEM768 first)", cfg: &tls.Config{},
			version: "TLS 1.3", group: "X25519MLKEM768",
			supported: []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"}, fips: true},
		{name: "X25519MLKEM768 only among hybrids", cfg: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}},
			version: "TLS 1.3", group: "X25519MLKEM768", supported: []string{"X25519MLKEM768"}, fips: true,
			ids: []string{"info tls-no-cnsa2-group"}},
		{name: "classical only", cfg: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}},
			version: "TLS 1.3", group: "X25519", fips: true,
			ids: []string{"info tls-no-cnsa2-group", "info tls-no-pq"}},
		{name: "X25519 only: a FIPS client has no group", cfg: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}},
			version: "TLS 1.3", group: "X25519", fipsReason: "no handshake with FIPS-approved",
			ids: []string{"info tls-no-cnsa2-group", "info tls-no-pq", "warning tls-fips-incompatible"}},
		{name: "TLS 1.2 ChaCha20 only", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			version: "TLS 1.2", group: "X25519MLKEM768", fipsReason: "no handshake with FIPS-approved",
			ids: []string{"info tls-no-cnsa2-group", "info tls-no-pq", "warning tls-fips-incompatible"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(tt.cfg)
			results, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"pq.example"}}},
				cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 5 * time.Second, Concurrency: 1, Posture: true})
			r := results[0]
			if !r.OK || r.Posture == nil {
				t.Fatalf("probe failed: %s", r.Error)
			}
			pos := r.Posture
			if pos.Version != tt.version || r.TLSVersion != tt.version {
				t.Errorf("version = %s / %s, want %s", pos.Version, r.TLSVersion, tt.version)
			}
			if tt.version == "TLS 1.3" && pos.Group != tt.group {
				t.Errorf("group = %q, want %q", pos.Group, tt.group)
			}
			for _, g := range []string{"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"} {
				want := false
				for _, s := range tt.supported {
					want = want || s == g
				}
				if pos.Supports(g) != want {
					t.Errorf("Supports(%s) = %v, want %v (%+v)", g, pos.Supports(g), want, pos.PQGroups)
				}
			}
			if pos.FIPS.Compatible != tt.fips {
				t.Errorf("FIPS compatible = %v, want %v (%v)", pos.FIPS.Compatible, tt.fips, pos.FIPS.Reasons)
			}
			if tt.fipsReason != "" && !strings.Contains(strings.Join(pos.FIPS.Reasons, ";"), tt.fipsReason) {
				t.Errorf("FIPS reasons %q lack %q", pos.FIPS.Reasons, tt.fipsReason)
			}
			got := strings.Join(ids(fs), ",")
			if want := strings.Join(append([]string{}, tt.ids...), ","); got != want && !(want == "" && got == "") {
				t.Errorf("findings = %s, want %s", got, want)
			}
		})
	}
}

// TestPostureNoEMS: OpenSSL's s_server with Extended Master Secret
// switched off (Options = -ExtendedMasterSecret, TLS 1.2 at most): a FIPS
// client refuses the session.
func TestPostureNoEMS(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"ems.example"}, KeyType: certtest.P256})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	certFile := write("leaf.pem", certtest.PEM(leaf, p.inter.Cert))
	keyFile := write("leaf.key", certtest.KeyPEM(key))
	conf := write("noems.cnf", []byte("openssl_conf = init\n[init]\nssl_conf = ssl_sect\n[ssl_sect]\nsystem_default = sys\n[sys]\nOptions = -ExtendedMasterSecret\nMaxProtocol = TLSv1.2\n"))
	for _, ems := range []bool{false, true} {
		addr := freeAddr(t)
		cmd := exec.Command(openssl, "s_server", "-accept", addr, "-cert", certFile, "-key", keyFile, "-www", "-quiet")
		if !ems {
			cmd.Env = append(os.Environ(), "OPENSSL_CONF="+conf)
		} else {
			cmd.Args = append(cmd.Args, "-tls1_2")
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitListening(t, addr)
		results, fs := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"ems.example"}}},
			cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 5 * time.Second, Concurrency: 1, Posture: true})
		pos := results[0].Posture
		if pos == nil {
			t.Fatalf("ems=%v: no posture: %s", ems, results[0].Error)
		}
		if pos.ExtendedMasterSecret == nil || *pos.ExtendedMasterSecret != ems {
			t.Errorf("ems=%v: ExtendedMasterSecret = %v", ems, pos.ExtendedMasterSecret)
		}
		if pos.FIPS.Compatible != ems {
			t.Errorf("ems=%v: FIPS compatible = %v %v", ems, pos.FIPS.Compatible, pos.FIPS.Reasons)
		}
		if !ems && !strings.Contains(strings.Join(ids(fs), ","), "warning tls-fips-incompatible") {
			t.Errorf("no tls-fips-incompatible finding: %v", ids(fs))
		}
	}
}

// TestPostureRSA1024: a FIPS client refuses a 1024-bit RSA certificate.
func TestPostureRSA1024(t *testing.T) {
	p := newPKI(t)
	leaf, key := p.inter.Issue(certtest.Leaf{DNS: []string{"weak.example"}, KeyType: certtest.RSA1024})
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, p.inter.Cert}, Key: key}, nil)
	defer stop()
	results, _ := cert.ProbeAll(context.Background(), []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{"weak.example"}}},
		cert.ProbeOptions{Roots: p.roots, At: certtest.Now, Timeout: 5 * time.Second, Concurrency: 1, Posture: true})
	pos := results[0].Posture
	if pos == nil || pos.FIPS.Compatible || !strings.Contains(strings.Join(pos.FIPS.Reasons, ";"), "1024 bits") {
		t.Fatalf("posture = %+v", pos)
	}
}
