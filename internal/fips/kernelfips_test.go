package fips

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestKernelFIPSSwitch: Red Hat's OpenSSL 3 (RHEL 9, Fedora, CentOS
// Stream: the kernel-fips patch) loads its FIPS provider by itself when
// /proc/sys/crypto/fips_enabled is 1, with no fipsmodule.cnf and no fips
// section in openssl.cnf. Such a libcrypto with a FIPS provider is
// conditional; the same provider beside an upstream libcrypto, with no
// configuration, stays noncompliant (TestRoot).
func TestKernelFIPSSwitch(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	s := fixtures(t)
	root := t.TempDir()
	if err := fipstest.MakeRoot(s, root, "unconfigured"); err != nil {
		fipstestMissing(t, err)
	}
	// A libcrypto.so.3 carrying the patch's switch file name, built here.
	lib := filepath.Join(root, "opt/ssl/lib/libcrypto.so.3")
	if err := os.Remove(lib); err != nil {
		t.Fatal(err)
	}
	buildSharedLib(t, gcc, lib, "libcrypto.so.3", `const char version[] = "OpenSSL 3.0.7 1 Nov 2022";
const char *fips_switch(void) { return "/proc/sys/crypto/fips_enabled"; }
int EVP_DigestInit_ex(void) { return version[0]; }
`)
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	r := c.Classify("/usr/bin/c_dyn", inspectFile(t, filepath.Join(root, "usr/bin/c_dyn")))
	if r.Verdict != Conditional {
		t.Errorf("verdict = %s, want conditional (%q)", r.Verdict, r.Reasons)
	}
	if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], "/proc/sys/crypto/fips_enabled") {
		t.Errorf("reasons = %q, want the first to name the kernel switch", r.Reasons)
	}
}

// TestNonCompliantProvider: OpenSSL builds its FIPS provider from any
// version with enable-fips, but one not from a validated release names
// itself "OpenSSL non-compliant FIPS Provider". That provider is no
// FIPS module, and the reason must say why, both for a program using it
// and for the provider scanned by itself.
func TestNonCompliantProvider(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	s := fixtures(t)
	root := t.TempDir()
	if err := fipstest.MakeRoot(s, root, "fips"); err != nil {
		fipstestMissing(t, err)
	}
	prov := filepath.Join(root, "opt/ssl/lib/ossl-modules/fips.so")
	if err := os.Remove(prov); err != nil {
		t.Fatal(err)
	}
	buildSharedLib(t, gcc, prov, "fips.so", `const char provider_name[] = "OpenSSL non-compliant FIPS Provider";
const char version[] = "OpenSSL 3.2.1 30 Jan 2024";
int OSSL_provider_init(const void *h, const void *in, const void **out, void **ctx) {
	(void)h; (void)in; (void)out; (void)ctx; return provider_name[0] + version[0];
}
`)
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	for _, tt := range []struct{ name, host string }{
		{"/usr/bin/c_dyn", filepath.Join(root, "usr/bin/c_dyn")},
		{"/opt/ssl/lib/ossl-modules/fips.so", prov},
	} {
		r := c.Classify(tt.name, inspectFile(t, tt.host))
		if r.Verdict != Noncompliant {
			t.Errorf("%s: verdict = %s, want noncompliant (%q)", tt.name, r.Verdict, r.Reasons)
		}
		if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], "non-compliant FIPS Provider") {
			t.Errorf("%s: reasons = %q, want the first to name the non-compliant provider", tt.name, r.Reasons)
		}
	}
}
