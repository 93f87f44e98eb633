package cli

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"software.sslmate.com/src/go-pkcs12"
)

// TestCertExitCodes pins the exit codes of the cert commands: 0 clean,
// 1 findings (an unreachable endpoint included), 2 bad input.
func TestCertExitCodes(t *testing.T) {
	dir := t.TempDir()
	root := certtest.NewRoot("Exit Root", certtest.P256)
	inter := root.Intermediate("Exit CA", certtest.P256)
	leaf, key := inter.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	other := certtest.NewKey(certtest.P256)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rootF := write("root.pem", certtest.PEM(root.Cert))
	leafF := write("leaf.pem", certtest.PEM(leaf))
	keyF := write("leaf.key", certtest.KeyPEM(key))
	otherF := write("other.key", certtest.KeyPEM(other))
	interF := write("inter.pem", certtest.PEM(inter.Cert))
	junkF := write("junk.pem", []byte("not a certificate"))
	hugeF := write("huge.json", nil)
	if err := os.Truncate(hugeF, cert.MaxRecordSize+1); err != nil {
		t.Fatal(err)
	}
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf, inter.Cert}, Key: key}, nil)
	defer stop()
	closed, stopClosed := certtest.Stall()
	stopClosed()
	at := "--at=2026-06-01"

	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"check clean", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--key", keyF, "--chain", interF}, ExitOK, ""},
		{"check key mismatch", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--key", otherF, "--chain", interF}, ExitFindings, ""},
		{"check findings below --fail-on", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--key", otherF, "--chain", interF, "--fail-on", "never"}, ExitOK, ""},
		{"check junk", []string{"cert", "check", "--roots", rootF, "--cert", junkF}, ExitError, "kensa: error: --cert"},
		{"check key file is not a key", []string{"cert", "check", "--roots", rootF, "--cert", leafF, "--key", leafF}, ExitError, "holds no private key"},
		{"check password flag", []string{"cert", "check", "--cert", leafF, "--password", "x"}, ExitError, "--password-file"},
		{"check unset password env", []string{"cert", "check", "--cert", leafF, "--password-env", "KENSA_NO_SUCH_VAR"}, ExitError, "is not set"},
		{"check bad roots", []string{"cert", "check", "--roots", junkF, "--cert", leafF}, ExitError, "no PEM certificate"},
		{"check bad threshold", []string{"cert", "check", "--cert", leafF, "--min-remaining", "lots"}, ExitError, "--min-remaining"},
		{"check timeout without endpoint", []string{"cert", "check", "--cert", leafF, "--timeout", "5s"}, ExitError, "--timeout bounds the connection of --current-endpoint"},
		{"check record to a directory", []string{"cert", "check", "--cert", leafF, "--record", dir}, ExitError, "--record " + dir + " is a directory"},
		{"check servername not a host name", []string{"cert", "check", "--cert", leafF, "--servername", "a b.example"}, ExitError, "is not a host name"},
		{"check wildcard servername", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--key", keyF, "--chain", interF, "--servername", "*.example.com"}, ExitFindings, ""},
		{"probe servername is an IP", []string{"cert", "probe", "--connect", addr, "--servername", "10.0.0.1"}, ExitError, "SNI carries host names only"},
		{"probe baseline missing", []string{"cert", "probe", "--connect", addr, "--baseline", filepath.Join(dir, "none.json")}, ExitError, "kensa: hint: give a file written by kensa cert probe --record"},
		{"probe clean", []string{"cert", "probe", at, "--roots", rootF, "--connect", addr, "--servername", "example.com", "--expect", leafF}, ExitOK, ""},
		{"probe unreachable", []string{"cert", "probe", at, "--roots", rootF, "--connect", closed, "--servername", "example.com"}, ExitFindings, ""},
		{"probe bad address", []string{"cert", "probe", "--connect", "a:b:c"}, ExitError, "--connect"},
		{"probe bad concurrency", []string{"cert", "probe", "--connect", addr, "--concurrency", "0"}, ExitError, "--concurrency"},
		{"probe bad baseline", []string{"cert", "probe", "--connect", addr, "--baseline", junkF}, ExitError, "--baseline"},
		{"probe baseline too large", []string{"cert", "probe", "--connect", addr, "--baseline", hugeF}, ExitError, "larger than 67108864 bytes"},
		{"check bad timeout", []string{"cert", "check", "--cert", leafF, "--current-endpoint", addr, "--timeout", "0s"}, ExitError, "--timeout 0s is outside"},
		{"cert group", []string{"cert"}, ExitError, "needs a command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.want {
				t.Errorf("Main(%q) = %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

// TestCertPasswordNeverEchoed: a password typed as a flag value is refused
// without being repeated on stderr (where CI logs and terminals keep it).
func TestCertPasswordNeverEchoed(t *testing.T) {
	const secret = "hunter2-Sekret"
	for _, args := range [][]string{
		{"cert", "check", "--cert", "x.pem", "--password", secret},
		{"cert", "check", "--cert", "x.pem", "--password=" + secret},
		{"cert", "check", "-password", secret, "--cert", "x.pem"},
		{"cert", "check", "--cert", "x.pem", "--pass", secret},
	} {
		code, stdout, stderr := run(t, args...)
		if code != ExitError {
			t.Errorf("Main(%q) = %d, want %d", args, code, ExitError)
		}
		if strings.Contains(stderr+stdout, secret) {
			t.Errorf("Main(%q) printed the password: %q", args, stderr)
		}
		if !strings.Contains(stderr, "--password-file") {
			t.Errorf("Main(%q) stderr = %q, want the hint to --password-file", args, stderr)
		}
	}
}

// TestCertProbeExpectEncrypted: probe has no password flags, so an
// encrypted --expect file must not be answered with "give the password
// with --password-file".
func TestCertProbeExpectEncrypted(t *testing.T) {
	root := certtest.NewRoot("Expect Root", certtest.P256)
	leaf, key := root.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	pfx, err := pkcs12.Modern.Encode(key, leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "new.pfx")
	if err := os.WriteFile(f, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "cert", "probe", "--expect", f, "--connect", "127.0.0.1:1")
	if code != ExitError || strings.Contains(stderr, "--password-file") || !strings.Contains(stderr, "openssl pkcs12") {
		t.Errorf("exit %d, stderr %q: want exit 2 and how to extract the certificate", code, stderr)
	}
}

// TestCertRecordKeepsThePrevious: running the "before" command again after
// the change must not destroy the only copy of the previous certificates:
// the record it replaces is kept as FILE.prev.
func TestCertRecordKeepsThePrevious(t *testing.T) {
	dir := t.TempDir()
	root := certtest.NewRoot("Record Root", certtest.P256)
	oldLeaf, oldKey := root.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	newLeaf, newKey := root.Issue(certtest.Leaf{DNS: []string{"example.com"}, KeyType: certtest.P256})
	rootF := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(rootF, certtest.PEM(root.Cert), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "before.json")
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf}, Key: oldKey}, nil)
	run(t, "cert", "probe", "--at=2026-06-01", "--roots", rootF, "--connect", addr, "--servername", "example.com", "--record", rec)
	stop()
	first, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	addr2, stop2 := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{newLeaf}, Key: newKey}, nil)
	defer stop2()
	_, _, stderr := run(t, "cert", "probe", "--at=2026-06-01", "--roots", rootF, "--connect", addr2, "--servername", "example.com", "--record", rec)
	prev, err := os.ReadFile(rec + ".prev")
	if err != nil || string(prev) != string(first) {
		t.Fatalf("the replaced record was not kept as %s.prev (err %v)", rec, err)
	}
	if !strings.Contains(stderr, "before.json.prev") {
		t.Errorf("stderr %q does not say where the replaced record is", stderr)
	}
	// recorded_at is when the record was made, not --at (2026-06-01).
	var r struct {
		RecordedAt time.Time `json:"recorded_at"`
	}
	if err := json.Unmarshal(prev, &r); err != nil || time.Since(r.RecordedAt).Abs() > time.Hour {
		t.Errorf("recorded_at = %v (err %v), want about now", r.RecordedAt, err)
	}
}

// TestCertIDN: names typed in Unicode are checked, sent and shown as the
// A-labels certificates carry; an invalid name is a usage error with a
// hint.
func TestCertIDN(t *testing.T) {
	dir := t.TempDir()
	root := certtest.NewRoot("IDN Root", certtest.P256)
	leaf, key := root.Issue(certtest.Leaf{DNS: []string{"xn--r8jz45g.jp"}, KeyType: certtest.P256})
	rootF := filepath.Join(dir, "root.pem")
	leafF := filepath.Join(dir, "leaf.pem")
	badF := filepath.Join(dir, "bad.yaml")
	for f, data := range map[string][]byte{rootF: certtest.PEM(root.Cert), leafF: certtest.PEM(leaf),
		badF: []byte("endpoints:\n  - name: jp\n    addresses: [127.0.0.1:1]\n    servernames: [例え..jp]\n")} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr, stop := certtest.Serve(certtest.Served{Chain: []*x509.Certificate{leaf}, Key: key}, nil)
	defer stop()
	at := "--at=2026-06-01"
	tests := []struct {
		name         string
		args         []string
		want         int
		stdout, errs string
	}{
		{"check unicode name covered", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--servername", "例え.jp"}, ExitOK, "例え.jp (xn--r8jz45g.jp)", ""},
		{"check full-width name covered", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--servername", "例え。ＪＰ"}, ExitOK, "", ""},
		{"check unicode name not covered", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--servername", "日本語.example.jp"}, ExitFindings, "日本語.example.jp (xn--wgv71a119e.example.jp)", ""},
		{"check invalid name", []string{"cert", "check", at, "--roots", rootF, "--cert", leafF, "--servername", "例え..jp"}, ExitError, "", "kensa: hint: write the host name in Unicode"},
		{"probe unicode name", []string{"cert", "probe", at, "--roots", rootF, "--connect", addr, "--servername", "例え.jp"}, ExitOK, "xn--r8jz45g.jp", ""},
		{"probe invalid connect host", []string{"cert", "probe", "--connect", "-例え.jp:443"}, ExitError, "", "--connect -例え.jp:443"},
		{"probe invalid servername", []string{"cert", "probe", "--connect", addr, "--servername", "xn--zz.jp"}, ExitError, "", "--servername"},
		{"probe invalid targets name", []string{"cert", "probe", "--targets", badF}, ExitError, "", "line 4: endpoint 1 (jp): servername \"例え..jp\""},
		{"probe invalid targets name hint", []string{"cert", "probe", "--targets", badF}, ExitError, "", "kensa: hint: write the host name in Unicode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != tt.want {
				t.Errorf("Main(%q) = %d, want %d (stdout %q, stderr %q)", tt.args, code, tt.want, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.errs) {
				t.Errorf("stdout %q, stderr %q; want them to contain %q and %q", stdout, stderr, tt.stdout, tt.errs)
			}
		})
	}
}
