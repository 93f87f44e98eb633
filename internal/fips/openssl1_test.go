package fips

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestOpenSSL1FIPSBuild: every OpenSSL 1.0.2 and 1.1.x libcrypto defines
// FIPS_mode_set (upstream's crypto/o_fips.c is a stub that fails with
// "fips mode not supported"), so it is no evidence of a FIPS build. A
// FIPS build says so in its version ("1.0.2k-fips", RHEL 8's "1.1.1k
// FIPS"), defines the FIPS module's own entry points, or has its
// integrity file beside it (RHEL, Ubuntu Pro FIPS).
func TestOpenSSL1FIPSBuild(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	tests := []struct {
		name, version, extra, hmac string
		want                       Verdict
	}{
		{"upstream 1.1.1 stub", "OpenSSL 1.1.1w  11 Sep 2023", "", "", Noncompliant},
		{"upstream 1.0.2 stub", "OpenSSL 1.0.2u  20 Dec 2019", "", "", Noncompliant},
		{"RHEL 7 1.0.2k-fips", "OpenSSL 1.0.2k-fips  26 Jan 2017", "", "", Conditional},
		{"RHEL 8 1.1.1k FIPS", "OpenSSL 1.1.1k  FIPS 25 Mar 2021", "", "", Conditional},
		{"FIPS object module", "OpenSSL 1.0.2u  20 Dec 2019", "int FIPS_module_mode_set(int r) { return r; }\n", "", Conditional},
		{"integrity file", "OpenSSL 1.1.1f  31 Mar 2020", "", ".libcrypto.so.1.1.hmac", Conditional},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			lib := filepath.Join(dir, "libcrypto.so.1.1")
			buildSharedLib(t, gcc, lib, "libcrypto.so.1.1", "const char version[] = \""+tt.version+"\";\n"+
				"int FIPS_mode_set(int r) { return r == 0; }\n"+
				"int EVP_DigestInit_ex(void) { return version[0]; }\n"+tt.extra)
			if tt.hmac != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.hmac), []byte("0123abcd\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/usr/lib/x86_64-linux-gnu/libcrypto.so.1.1", inspectFile(t, lib))
			if r.Verdict != tt.want {
				t.Errorf("verdict = %s, want %s (%q)", r.Verdict, tt.want, r.Reasons)
			}
			if tt.want == Noncompliant && (len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], "not a FIPS build")) {
				t.Errorf("reasons = %q, want the first to say it is not a FIPS build", r.Reasons)
			}
		})
	}
}

// buildSharedLib compiles code into the shared library dst with soname.
func buildSharedLib(t *testing.T, gcc, dst, soname, code string) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "lib.c")
	if err := os.WriteFile(src, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gcc, "-shared", "-fPIC", "-o", dst, "-Wl,-soname,"+soname, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
}
