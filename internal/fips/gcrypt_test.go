package fips

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestLibgcryptEmbeddedHMAC: libgcrypt 1.10 and later, built with
// --enable-hmac-binary-check (RHEL 9), keep the FIPS integrity HMAC in
// the library's own .rodata1 section instead of a .libgcrypt.so.20.hmac
// file beside it. Either is the integrity check a FIPS build needs.
func TestLibgcryptEmbeddedHMAC(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	for _, tt := range []struct {
		name, code string
		want       Verdict
		reason     string
	}{
		{"embedded", `__attribute__((section(".rodata1"))) const unsigned char hmac[32] = {1};
int gcry_check_version(void) { return hmac[0]; }
`, Noncompliant, ".rodata1 section, from libgcrypt's --enable-hmac-binary-check), but kensa's module table places no libgcrypt build under a CMVP certificate"},
		{"none", "int gcry_check_version(void) { return 1; }\n", Noncompliant, "no FIPS integrity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "usr/lib64")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			lib := filepath.Join(dir, "libgcrypt.so.20")
			buildSharedLib(t, gcc, lib, "libgcrypt.so.20", tt.code)
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/usr/lib64/libgcrypt.so.20", inspectFile(t, lib))
			if r.Verdict != tt.want {
				t.Errorf("verdict = %s, want %s (%q)", r.Verdict, tt.want, r.Reasons)
			}
			if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], tt.reason) {
				t.Errorf("reasons = %q, want the first to contain %q", r.Reasons, tt.reason)
			}
		})
	}
}
