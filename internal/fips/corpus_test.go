package fips

// Tests on real third-party binaries fetched at test time and cached per
// machine (os.UserCacheDir()/kensa/corpus): an old Go release toolchain
// from the Go module proxy (its own binaries are Go 1.15 programs), and
// an npm package that ships a prebuilt Rust program. Nothing fetched is
// ever run. Outside CI a fetch that is not possible skips; under CI it
// fails (.ci/install-deps provides go, npm and binutils).

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// goToolchain returns the directory of the golang.org/toolchain module
// of Go release v for linux/amd64 (downloaded once per machine into the
// module cache; the go command locks it).
func goToolchain(t *testing.T, v string) string {
	t.Helper()
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("the toolchain corpus is linux/amd64")
	}
	goCmd := testenv.NeedCommand(t, "go")
	cmd := exec.Command(goCmd, "mod", "download", "-json", "golang.org/toolchain@v0.0.1-"+v+".linux-amd64")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		testenv.Missing(t, "cannot download the "+v+" toolchain module: "+strings.TrimSpace(info.Error+" "+errString(err)))
	}
	return info.Dir
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return err.Error() + ": " + string(ee.Stderr)
	}
	return err.Error()
}

// npmPackage returns the directory where the npm package spec
// (name@version) is unpacked, fetching it with `npm pack` once per
// machine. The package's scripts are never run.
func npmPackage(t *testing.T, spec string) string {
	t.Helper()
	npm := testenv.NeedCommand(t, "npm")
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "kensa", "corpus", "npm", strings.NewReplacer("/", "_", "@", "_").Replace(spec))
	if _, err := os.Stat(filepath.Join(dir, "package")); err == nil {
		return filepath.Join(dir, "package")
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
	if _, err := os.Stat(filepath.Join(dir, "package")); err == nil {
		return filepath.Join(dir, "package")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "fetch-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(npm, "pack", "--silent", "--ignore-scripts", "--pack-destination", tmp, spec)
	cmd.Dir = tmp
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "cannot fetch the npm package "+spec+": "+errString(err))
	}
	tgz := filepath.Join(tmp, strings.TrimSpace(string(out)))
	if err := untarGz(tgz, filepath.Join(tmp, "x")); err != nil {
		t.Fatalf("unpacking %s: %v", tgz, err)
	}
	// npm packages unpack to "package/" (some to another single
	// directory): name it package/.
	ents, _ := os.ReadDir(filepath.Join(tmp, "x"))
	if len(ents) != 1 {
		t.Fatalf("%s: %d top-level entries", spec, len(ents))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "x", ents[0].Name()), filepath.Join(dir, "package")); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "package")
}

// untarGz unpacks regular files of a .tgz (bounded, no links, no
// absolute or parent paths).
func untarGz(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || filepath.IsAbs(name) || strings.HasPrefix(name, "..") || h.Size > 512<<20 {
			continue
		}
		p := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, io.LimitReader(tr, h.Size))
		out.Close()
		if err != nil {
			return err
		}
	}
}

// classifyAlone classifies the file p in an empty root (no libraries:
// the file's own evidence).
func classifyAlone(t *testing.T, p string) Result {
	t.Helper()
	c := NewClassifier(rootfs.Dir(t.TempDir()), Options{At: now})
	return c.Classify(p, inspectFile(t, p))
}

// copyWith copies src to a temporary file, applying edit to its bytes.
func copyWith(t *testing.T, src string, edit func([]byte) []byte) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.WriteFile(p, edit(data), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// noBuildInfo wipes the Go build information's magic number, as some
// post-link tools and packers do: only the function table is left.
func noBuildInfo(t *testing.T) func([]byte) []byte {
	return func(b []byte) []byte {
		i := bytes.Index(b, []byte("\xff Go buildinf:"))
		if i < 0 {
			t.Fatal("no build information to wipe")
		}
		copy(b[i:], make([]byte, 14))
		return b
	}
}

func hasReason(r Result, sub string) bool {
	return slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, sub) })
}

// TestGo115Toolchain: the Go 1.15.15 release's own binaries (pclntab
// magic 0xfffffffb; their empty module string points into .bss, which
// made them "unreadable" before) are Go, with crypto judged from their
// function names, with and without build information and symbols.
// Checked by hand against `go tool nm` (the go command links crypto/…
// packages, gofmt none).
func TestGo115Toolchain(t *testing.T) {
	dir := goToolchain(t, "go1.15.15")
	goBin, gofmt := filepath.Join(dir, "bin", "go"), filepath.Join(dir, "bin", "gofmt")
	stripped := func() string {
		strip := testenv.NeedCommand(t, "strip")
		p := copyWith(t, goBin, func(b []byte) []byte { return b })
		if out, err := exec.Command(strip, "-o", p+".s", p).CombinedOutput(); err != nil {
			t.Fatalf("strip: %v\n%s", err, out)
		}
		return p + ".s"
	}
	tests := []struct {
		name, path, version string
		crypto              []string
		verdict             Verdict
		reason              string
	}{
		{"go", goBin, "go1.15.15", []string{BackendGoStd}, Noncompliant, "Go standard library crypto"},
		{"gofmt", gofmt, "go1.15.15", []string{}, NotApplicable, "Go binary without crypto packages"},
		{"go without build info", copyWith(t, goBin, noBuildInfo(t)), "go1.15.15", []string{BackendGoStd}, Noncompliant,
			`pclntab magic 0xfffffffb, Go 1.2–1.15) and runtime.buildVersion "go1.15.15"`},
		{"gofmt without build info", copyWith(t, gofmt, noBuildInfo(t)), "go1.15.15", []string{}, NotApplicable, "pclntab magic 0xfffffffb"},
		{"go stripped, without build info", copyWith(t, stripped(), noBuildInfo(t)), "", []string{BackendGoStd}, Noncompliant, "runtime.buildVersion is stripped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := classifyAlone(t, tt.path)
			if r.Kind != KindExecutable || r.Language != "go" || r.GoVersion != tt.version {
				t.Errorf("kind %s, language %q, go_version %q; want executable, go, %q (%q)", r.Kind, r.Language, r.GoVersion, tt.version, r.Reasons)
			}
			if diff := cmp.Diff(tt.crypto, r.Crypto); diff != "" || r.Verdict != tt.verdict {
				t.Errorf("verdict %s, crypto (-want +got):\n%s (want %s)", r.Verdict, diff, tt.verdict)
			}
			if !hasReason(r, tt.reason) {
				t.Errorf("reasons %q, want one containing %q", r.Reasons, tt.reason)
			}
		})
	}
}

// TestGoPclntabOnly: a current Go binary whose build information is gone
// is still Go (pclntab magic 0xfffffff1), as esbuild's npm binaries are.
func TestGoPclntabOnly(t *testing.T) {
	s := fixtures(t)
	for _, tt := range []struct {
		name    string
		crypto  []string
		verdict Verdict
	}{
		{"go_std", []string{BackendGoStd}, Noncompliant},
		{"go_nocrypto", []string{}, NotApplicable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := classifyAlone(t, copyWith(t, s.Path(t, tt.name), noBuildInfo(t)))
			if r.Language != "go" || r.Verdict != tt.verdict || !cmp.Equal(tt.crypto, r.Crypto) {
				t.Errorf("language %q, verdict %s, crypto %v; want go, %s, %v (%q)", r.Language, r.Verdict, r.Crypto, tt.verdict, tt.crypto, r.Reasons)
			}
			if !hasReason(r, "pclntab magic 0xfffffff1, Go 1.20 or later") {
				t.Errorf("reasons %q lack the pclntab evidence", r.Reasons)
			}
		})
	}
}

// TestNpmRust: turbo's npm package ships a Rust program that links
// rustls with the ring provider (`strings` shows the registry paths
// ring-0.17.14 and rustls-0.23.36). It was "no crypto" before.
func TestNpmRust(t *testing.T) {
	dir := npmPackage(t, "turbo-linux-64@2.8.17")
	r := classifyAlone(t, filepath.Join(dir, "bin", "turbo"))
	if r.Language != "rust" || r.Verdict != Noncompliant {
		t.Errorf("language %q, verdict %s; want rust, noncompliant (%q)", r.Language, r.Verdict, r.Reasons)
	}
	if diff := cmp.Diff([]string{BackendRustRing, BackendRustRustls}, r.Crypto); diff != "" {
		t.Errorf("crypto (-want +got):\n%s", diff)
	}
	for _, want := range []string{"ring 0.17.14", "rustls 0.23.36 with the ring crypto provider"} {
		if !hasReason(r, want) {
			t.Errorf("reasons %q, want one containing %q", r.Reasons, want)
		}
	}
}

// TestNpmRustPasswordHash: @node-rs/argon2's Node addon (a .node file
// without an execute bit) is Rust with the independent crate argon2-rust
// 1.1.0 (Argon2 and BLAKE2b of its own; `strings` shows its registry
// paths, and no RustCrypto crate). It was "no crypto" before the crate
// list named it.
func TestNpmRustPasswordHash(t *testing.T) {
	dir := npmPackage(t, "@node-rs/argon2-linux-x64-gnu@2.2.1")
	r := classifyAlone(t, filepath.Join(dir, "argon2.linux-x64-gnu.node"))
	if r.Language != "rust" || r.Verdict != Noncompliant {
		t.Errorf("language %q, verdict %s; want rust, noncompliant (%q)", r.Language, r.Verdict, r.Reasons)
	}
	if diff := cmp.Diff([]string{BackendRustCrypto}, r.Crypto); diff != "" {
		t.Errorf("crypto (-want +got):\n%s", diff)
	}
	if !hasReason(r, "argon2-rust 1.1.0") {
		t.Errorf("reasons %q, want the crate and its version", r.Reasons)
	}
}

// TestMentionIsNoCopy: a program with OpenSSL 3 linked in statically and
// Node.js's "openssl_is_boringssl" text is openssl-static with its
// version, never boringssl; a program with AWS-LC's FIPS version string,
// source paths and entry point is aws-lc, placed by the module table.
func TestMentionIsNoCopy(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	testenv.NeedFile(t, "/usr/include/openssl/evp.h", "libssl-dev")
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
	node := build(t, `#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <stdio.h>
const char *features = "process.features.openssl_is_boringssl openSSLIsBoringSSL";
int main(void) { unsigned char md[32]; unsigned int n;
	EVP_Digest("a", 1, md, &n, EVP_sha256(), NULL);
	printf("%s %s %02x\n", features, OpenSSL_version(OPENSSL_VERSION), md[0]); return 0; }
`, "-Wl,-Bstatic", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-pthread")
	r := classifyAlone(t, node)
	if diff := cmp.Diff([]string{BackendOpenSSLStatic}, r.Crypto); diff != "" {
		t.Errorf("crypto (-want +got):\n%s\nreasons %q", diff, r.Reasons)
	}
	if len(r.Modules) == 0 || r.Modules[0].Version == "" || !hasReason(r, "can load a FIPS provider") {
		t.Errorf("modules %+v, reasons %q: want the OpenSSL version and whether it can load a FIPS provider", r.Modules, r.Reasons)
	}

	awslc := func(version string) string {
		return build(t, `#include <stdio.h>
const char *v = "`+version+`";
const char *src = "/build/aws-lc/crypto/fipsmodule/bcm.c";
const char *awslc_version_string(void) { return v; }
int main(void) { printf("%s %s\n", awslc_version_string(), src); return 0; }
`)
	}
	// OpenSSL vendored beside AWS-LC in one binary: both are reported.
	both := build(t, `#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <stdio.h>
const char *v = "AWS-LC 1.34.2";
const char *awslc_version_string(void) { return v; }
int main(void) { unsigned char md[32]; unsigned int n;
	EVP_Digest("a", 1, md, &n, EVP_sha256(), NULL);
	printf("%s %s %02x\n", awslc_version_string(), OpenSSL_version(OPENSSL_VERSION), md[0]); return 0; }
`, "-Wl,-Bstatic", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-pthread")
	if r := classifyAlone(t, both); !cmp.Equal([]string{BackendAWSLC, BackendOpenSSLStatic}, r.Crypto) {
		t.Errorf("OpenSSL beside AWS-LC: crypto %v (%q)", r.Crypto, r.Reasons)
	}

	for _, tt := range []struct {
		version string
		verdict Verdict
		reason  string
	}{
		{"AWS-LC FIPS 2.0.13", Compliant, "embeds AWS-LC FIPS 2.0.13, AWS-LC Cryptographic Module (static) 2.0.13 (FIPS 140-3 certificate #4816): validated"},
		{"AWS-LC 1.34.2", Noncompliant, "not a FIPS build of AWS-LC"},
	} {
		r := classifyAlone(t, awslc(tt.version))
		if r.Verdict != tt.verdict || !cmp.Equal([]string{BackendAWSLC}, r.Crypto) || !hasReason(r, tt.reason) {
			t.Errorf("%s: verdict %s, crypto %v, reasons %q; want %s, [aws-lc], a reason containing %q", tt.version, r.Verdict, r.Crypto, r.Reasons, tt.verdict, tt.reason)
		}
	}
}

// TestK5Crypto: Debian's libk5crypto (MIT Kerberos) uses its own builtin
// crypto: it has a family now, so curl and ssh, which reach it through
// GSSAPI, count it.
func TestK5Crypto(t *testing.T) {
	lib := "/usr/lib/x86_64-linux-gnu/libk5crypto.so.3"
	testenv.NeedFile(t, lib, "libk5crypto3")
	c := NewClassifier(rootfs.Dir("/"), Options{At: now})
	r := c.Classify(lib, inspectFile(t, lib))
	if !slices.Contains(r.Crypto, BackendK5Crypto) || r.Verdict != Noncompliant {
		t.Errorf("crypto %v, verdict %s, want k5crypto noncompliant (%q)", r.Crypto, r.Verdict, r.Reasons)
	}
	if !hasReason(r, "builtin crypto") && !hasReason(r, "takes its crypto from OpenSSL") {
		t.Errorf("reasons %q do not say where its crypto comes from", r.Reasons)
	}
}

// TestEmbeddedCStacks: a BoringSSL built by Bazel (bzlmod's
// external/boringssl+/ paths) and a stripped, prefixed Mbed TLS copy
// with its version string are found.
func TestEmbeddedCStacks(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
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
	boring := build(t, `#include <stdio.h>
const char *p = "external/boringssl+/crypto/fipsmodule/bcm.c";
int BORINGSSL_self_test(void) { return 1; }
int main(void) { printf("%s %d\n", p, BORINGSSL_self_test()); return 0; }
`)
	if r := classifyAlone(t, boring); !slices.Equal(r.Crypto, []string{BackendBoringSSL}) {
		t.Errorf("Bazel BoringSSL: crypto %v (%q)", r.Crypto, r.Reasons)
	}
	mbed := build(t, `#include <stdio.h>
const char *v = "Mbed TLS 3.6.2";
int myproj_mbedtls_md_init(void) { return 1; }
int main(void) { printf("%s %d\n", v, myproj_mbedtls_md_init()); return 0; }
`, "-s")
	if r := classifyAlone(t, mbed); !slices.Equal(r.Crypto, []string{BackendMbedTLS}) || !hasReason(r, "Mbed TLS 3.6.2") {
		t.Errorf("Mbed TLS: crypto %v (%q)", r.Crypto, r.Reasons)
	}
	if r := classifyAlone(t, build(t, `#include <stdio.h>
int main(void) { puts("see https://boringssl.googlesource.com/boringssl/ and Mbed TLS docs"); return 0; }
`)); len(r.Crypto) != 0 {
		t.Errorf("mentions only: crypto %v (%q)", r.Crypto, r.Reasons)
	}
}
