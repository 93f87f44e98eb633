package fips

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// debPackage returns the directory where Debian's package name (the
// candidate version of the machine's apt sources) is unpacked, fetched
// with `apt-get download` and unpacked with `dpkg-deb -x` once per
// machine (os.UserCacheDir()/kensa/corpus/deb/NAME). Nothing is
// installed or run. It also returns the package's upstream version
// (the Version field without epoch and Debian revision).
func debPackage(t *testing.T, name string) (dir, upstream string) {
	t.Helper()
	aptGet := testenv.NeedCommand(t, "apt-get")
	dpkgDeb := testenv.NeedCommand(t, "dpkg-deb")
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir = filepath.Join(base, "kensa", "corpus", "deb", name)
	version := func() string {
		b, err := os.ReadFile(filepath.Join(dir, "VERSION"))
		if err != nil {
			return ""
		}
		v := strings.TrimSpace(string(b))
		if _, after, ok := strings.Cut(v, ":"); ok {
			v = after
		}
		if i := strings.LastIndexByte(v, '-'); i > 0 {
			v = v[:i]
		}
		return v
	}
	if v := version(); v != "" {
		return filepath.Join(dir, "root"), v
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	// Other test binaries may fetch the same package: one at a time.
	unlock, err := fipstest.LockFile(dir + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if v := version(); v != "" {
		return filepath.Join(dir, "root"), v
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "fetch-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// apt drops privileges to _apt for downloads; a temporary directory
	// it can write to avoids its warning.
	_ = os.Chmod(tmp, 0o777)
	cmd := exec.Command(aptGet, "download", "-q", name)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "cannot download the Debian package "+name+" (apt-get update first?): "+err.Error()+": "+string(out))
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download %s: %d .deb files", name, len(debs))
	}
	if out, err := exec.Command(dpkgDeb, "-x", debs[0], filepath.Join(tmp, "root")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	v, err := exec.Command(dpkgDeb, "-f", debs[0], "Version").Output()
	if err != nil {
		t.Fatalf("dpkg-deb -f: %v", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "VERSION"), v, 0o644); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "root"), version()
}

// TestDebianBusyBox: Debian's busybox (dynamically linked, PIE) and
// busybox-static packages are built with busybox's own TLS client
// (networking/tls.c: `strings` shows "got bad TLS record (len:%d) while
// expecting %s", "TLS %s from peer (alert code %d): %s", "note: TLS
// certificate validation not implemented"; readelf: no libssl or
// libcrypto in DT_NEEDED). Both are busybox-tls, noncompliant, with
// busybox's version; their other linked libraries bring no crypto.
func TestDebianBusyBox(t *testing.T) {
	for _, pkg := range []string{"busybox", "busybox-static"} {
		t.Run(pkg, func(t *testing.T) {
			dir, version := debPackage(t, pkg)
			bin := filepath.Join(dir, "bin", "busybox")
			r := classifyAlone(t, bin)
			if r.Kind != KindExecutable || r.Verdict != Noncompliant {
				t.Errorf("kind %s, verdict %s; want executable, noncompliant (%q)", r.Kind, r.Verdict, r.Reasons)
			}
			if diff := cmp.Diff([]string{BackendBusyBoxTLS}, r.Crypto); diff != "" {
				t.Errorf("crypto (-want +got):\n%s\nreasons %q", diff, r.Reasons)
			}
			if !slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Backend == BackendBusyBoxTLS && m.Version == version }) {
				t.Errorf("modules %+v; want busybox-tls %s (the package's upstream version)", r.Modules, version)
			}
			for _, want := range []string{"BusyBox " + version + " has its own TLS client", "TLS certificate validation not implemented"} {
				if !hasReason(r, want) {
					t.Errorf("reasons %q, want one containing %q", r.Reasons, want)
				}
			}
		})
	}
}

// TestStaticGnuTLS links Debian's real libgnutls.a (libgnutls28-dev)
// into a program, kept and stripped: both are a GnuTLS copy with its
// version (`strings`: "Enabled GnuTLS 3.7.9 logging...",
// "../../lib/x509/…" assertion paths; `nm`: about 1,000 gnutls_
// functions defined). A program that links libgnutls.so dynamically and
// merely prints a GnuTLS banner is GnuTLS through the library, never a
// copy.
func TestStaticGnuTLS(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	const archive = "/usr/lib/x86_64-linux-gnu/libgnutls.a"
	if out, err := exec.Command(gcc, "-dumpmachine").Output(); err != nil || strings.TrimSpace(string(out)) != "x86_64-linux-gnu" {
		t.Skip("the libgnutls.a paths are x86_64-linux-gnu")
	}
	testenv.NeedFile(t, archive, "libgnutls28-dev")
	build := func(t *testing.T, code string, args ...string) string {
		dir := t.TempDir()
		src := filepath.Join(dir, "p.c")
		if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "p")
		if b, err := exec.Command(gcc, append([]string{"-o", out, src}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, b)
		}
		return out
	}
	const client = `#include <gnutls/gnutls.h>
#include <stdio.h>
int main(void) { gnutls_session_t s; gnutls_global_init(); gnutls_init(&s, GNUTLS_CLIENT);
	printf("%s\n", gnutls_check_version(NULL)); return 0; }
`
	// GnuTLS and its own dependencies from their static archives; the
	// few Debian ships only as shared libraries stay dynamic. The program
	// is never run.
	static := []string{"-Wl,-Bstatic", "-lgnutls", "-lhogweed", "-lnettle", "-lgmp", "-ltasn1", "-lidn2", "-Wl,-Bdynamic"}
	for _, lib := range []string{"libunistring.so.2", "libp11-kit.so.0"} {
		p := filepath.Join("/usr/lib/x86_64-linux-gnu", lib)
		testenv.NeedFile(t, p, "libgnutls28-dev's dependencies")
		static = append(static, p)
	}
	full := build(t, client, append(static, "-pthread")...)
	stripped := build(t, client, append(static, "-pthread", "-s")...)
	ver := regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	for _, tt := range []struct {
		name, path, evidence string
	}{
		{"kept symbols", full, "gnutls_ functions defined"},
		{"stripped", stripped, "GnuTLS source directories in its strings"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := classifyAlone(t, tt.path)
			if r.Verdict != Noncompliant || !slices.Contains(r.Crypto, BackendGnuTLS) {
				t.Fatalf("verdict %s, crypto %v; want noncompliant with gnutls (%q)", r.Verdict, r.Crypto, r.Reasons)
			}
			i := slices.IndexFunc(r.Modules, func(m Module) bool { return m.Name == "GnuTLS (linked in statically)" })
			if i < 0 || !ver.MatchString(r.Modules[i].Version) {
				t.Fatalf("modules %+v; want a static GnuTLS with its version", r.Modules)
			}
			if !hasReason(r, "embeds its own copy of GnuTLS "+r.Modules[i].Version) || !hasReason(r, tt.evidence) {
				t.Errorf("reasons %q; want the copy and its evidence (%s)", r.Reasons, tt.evidence)
			}
		})
	}

	t.Run("dynamic, with a mention", func(t *testing.T) {
		p := build(t, `#include <gnutls/gnutls.h>
#include <stdio.h>
const char *banner = "Enabled GnuTLS 3.7.9 logging...";
int main(void) { puts(banner); return gnutls_global_init(); }
`, "-lgnutls")
		c := NewClassifier(rootfs.Dir("/"), Options{At: now})
		r := c.Classify(p, inspectFile(t, p))
		if slices.ContainsFunc(r.Modules, func(m Module) bool { return strings.Contains(m.Name, "statically") }) {
			t.Errorf("modules %+v: a mention is no copy", r.Modules)
		}
		if !slices.Contains(r.Crypto, BackendGnuTLS) || len(r.Via) == 0 {
			t.Errorf("crypto %v, via %v: want gnutls through libgnutls.so", r.Crypto, r.Via)
		}
	})
}

// TestDebianHaskell: Debian's pandoc is a GHC program that links
// cryptonite and the tls package (bookworm: `strings` shows the unit ids
// "cryptonite-0.29-4IC9gCHtg2RL8OkLfwxocI:Crypto.Error.Types" and
// "tls-1.5.8-6Ejz73TE0mR3vf51KXkUFQ:Network.TLS…"; no crypto library in
// DT_NEEDED). It was "no crypto" before: now haskell-crypton, with both
// versions.
func TestDebianHaskell(t *testing.T) {
	dir, _ := debPackage(t, "pandoc")
	r := classifyAlone(t, filepath.Join(dir, "usr/bin/pandoc"))
	if r.Verdict != Noncompliant {
		t.Errorf("verdict %s, want noncompliant (%q)", r.Verdict, r.Reasons)
	}
	if diff := cmp.Diff([]string{BackendHaskellCrypton}, r.Crypto); diff != "" {
		t.Errorf("crypto (-want +got):\n%s\nreasons %q", diff, r.Reasons)
	}
	re := regexp.MustCompile(`Haskell crypto library crypton(ite)? \d+\.\d+.*Haskell tls \d+\.\d+`)
	if !slices.ContainsFunc(r.Reasons, re.MatchString) {
		t.Errorf("reasons %q, want the cryptonite and tls versions", r.Reasons)
	}
}

// TestHaskellUnitID: only a GHC unit id of cryptonite or crypton with a
// Crypto.* module counts, never a mention of the name.
func TestHaskellUnitID(t *testing.T) {
	for s, want := range map[string]string{
		"cryptonite-0.29-4IC9gCHtg2RL8OkLfwxocI:Crypto.Error.Types": "cryptonite 0.29",
		"crypton-1.0.1-2mKx9Jq0aLxHkT6sWbV3Fz:Crypto.Hash.SHA256":   "crypton 1.0.1",
		"cryptonite_sha256_init":                                    "",
		"crypton-1.0.1 is a fork of cryptonite":                     "",
		"crypton-1.0.1-abcdef:Data.Memory":                          "",
	} {
		var e EmbeddedFacts
		e.noteEmbedded(2, []byte(s))
		if e.HaskellCrypto != want {
			t.Errorf("%q: %q, want %q", s, e.HaskellCrypto, want)
		}
	}
}

// TestDebianStrongSwan: Debian's libstrongswan ships charon's plugins;
// those with strongSwan's own algorithms (aes, sha2, md5, rc2 …) are
// strongswan, noncompliant, each naming its algorithm; the others
// (x509, pem, nonce, random, kernel-netlink …) carry no crypto.
func TestDebianStrongSwan(t *testing.T) {
	dir, _ := debPackage(t, "libstrongswan")
	plugins := filepath.Join(dir, "usr/lib/ipsec/plugins")
	for name, want := range map[string]string{
		"libstrongswan-aes.so":  "strongSwan's own AES implementation",
		"libstrongswan-sha2.so": "strongSwan's own SHA-2 implementation",
		"libstrongswan-gmp.so":  "strongSwan's own RSA (on libgmp) implementation",
		"libstrongswan-x509.so": "",
		"libstrongswan-pem.so":  "",
	} {
		r := classifyAlone(t, filepath.Join(plugins, name))
		if want == "" {
			if len(r.Crypto) != 0 {
				t.Errorf("%s: crypto %v (%q), want none", name, r.Crypto, r.Reasons)
			}
			continue
		}
		if r.Verdict != Noncompliant || !slices.Equal(r.Crypto, []string{BackendStrongSwan}) || !hasReason(r, want) {
			t.Errorf("%s: verdict %s, crypto %v, reasons %q; want noncompliant strongswan, %q", name, r.Verdict, r.Crypto, r.Reasons, want)
		}
	}
}
