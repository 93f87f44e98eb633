// Package fipstest builds the fixture binaries of the fips tests with the
// real toolchains: Go programs with every FIPS-relevant setting, C
// programs linking OpenSSL dynamically and statically, GnuTLS, shared
// libraries, and fake OpenSSL providers. Nothing is checked in: the
// fixtures are built once and kept in the user's cache directory, keyed
// by a hash of their sources and the toolchain versions, so the suite
// stays fast on a second run.
package fipstest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/testenv"
)

// OldGo is the older toolchain fetched through GOTOOLCHAIN for the
// BoringCrypto fips-20210429 fixture.
const OldGo = "go1.22.12"

const goCrypto = `package main

import (
	"crypto/sha256"
	"fmt"
	"os"
)

func main() { fmt.Printf("%x\n", sha256.Sum256([]byte(os.Args[0]))) }
`

const goFipsOnly = `package main

import (
	"crypto/sha256"
	_ "crypto/tls/fipsonly"
	"fmt"
	"os"
)

func main() { fmt.Printf("%x\n", sha256.Sum256([]byte(os.Args[0]))) }
`

const goNoCrypto = `package main

import "fmt"

func main() { fmt.Println("hello") }
`

const goCgoOpenSSL = `package main

// #cgo LDFLAGS: -lcrypto
// #include <openssl/crypto.h>
import "C"

import (
	"crypto/sha256"
	"fmt"
)

func main() { fmt.Println(C.OpenSSL_version_num(), sha256.Sum256(nil)) }
`

const cOpenSSL = `#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <stdio.h>
int main(void) {
	unsigned char md[32]; unsigned int n;
	EVP_Digest("a", 1, md, &n, EVP_sha256(), NULL);
	printf("%s %02x\n", OpenSSL_version(OPENSSL_VERSION), md[0]);
	return 0;
}
`

const cLibFoo = `#include <openssl/evp.h>
#include <openssl/crypto.h>
int foo_digest(unsigned char *md) {
	unsigned int n;
	return EVP_Digest("a", 1, md, &n, EVP_sha256(), NULL) + (OpenSSL_version(0) != 0);
}
`

const cUsesFoo = `int foo_digest(unsigned char *md);
int main(void) { unsigned char md[64]; return foo_digest(md) == 2 ? 0 : 1; }
`

const cLibBar = `int bar(int x) { return x + 1; }
`

const cGnuTLS = `#include <gnutls/gnutls.h>
#include <stdio.h>
int main(void) { gnutls_global_init(); printf("%s\n", gnutls_check_version(NULL)); return 0; }
`

const cMention = `#include <stdio.h>
static const char opts[] = "built with OpenSSL 3.0.2 15 Mar 2022 support";
int main(void) { puts(opts); return 0; }
`

const cHello = `#include <stdio.h>
int main(void) { puts("hello"); return 0; }
`

const cProvider = `#include <stddef.h>
const char provider_name[] = "OpenSSL FIPS Provider";
const char provider_version[] = "OpenSSL 3.1.2 1 Aug 2023"; // a validated provider release (certificate 4985)
int OSSL_provider_init(const void *h, const void *in, const void **out, void **ctx) {
	(void)h; (void)in; (void)out; (void)ctx; return provider_name[0] != 0;
}
`

const cNotProvider = `const char provider_name[] = "OpenSSL Legacy Provider";
int OSSL_provider_init(const void *h, const void *in, const void **out, void **ctx) {
	(void)h; (void)in; (void)out; (void)ctx; return provider_name[0] != 0;
}
`

type goFixture struct {
	name, src, gomod string
	env, flags       []string
	cgo              bool
}

// goMod is the go.mod of the fixture programs.
func goMod(extra string) string { return "module example.com/fixture\n\ngo 1.24\n" + extra }

var goFixtures = []goFixture{
	{name: "go_std", src: goCrypto, env: []string{"CGO_ENABLED=0"}},
	{name: "go_nocrypto", src: goNoCrypto, env: []string{"CGO_ENABLED=0"}},
	{name: "go_fips_v100", src: goCrypto, env: []string{"CGO_ENABLED=0", "GOFIPS140=v1.0.0"}},
	{name: "go_fips_certified", src: goCrypto, env: []string{"CGO_ENABLED=0", "GOFIPS140=certified"}},
	{name: "go_fips_v100_stripped", src: goCrypto, env: []string{"CGO_ENABLED=0", "GOFIPS140=v1.0.0"}, flags: []string{"-ldflags=-s -w"}},
	{name: "go_fips_inprocess", src: goCrypto, env: []string{"CGO_ENABLED=0", "GOFIPS140=inprocess"}},
	{name: "go_fips_latest", src: goCrypto, env: []string{"CGO_ENABLED=0", "GOFIPS140=latest"}},
	{name: "go_godebug_only", src: goCrypto, gomod: "\ngodebug fips140=on\n", env: []string{"CGO_ENABLED=0"}},
	{name: "go_boring", src: goCrypto, env: []string{"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto"}, cgo: true},
	{name: "go_boring_stripped", src: goCrypto, env: []string{"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto"}, flags: []string{"-ldflags=-s -w"}, cgo: true},
	{name: "go_boring_fipsonly", src: goFipsOnly, env: []string{"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto"}, cgo: true},
	{name: "go_boring_tag", src: goCrypto, env: []string{"CGO_ENABLED=1"}, flags: []string{"-tags=goexperiment.boringcrypto"}, cgo: true},
	{name: "go_cgo_openssl", src: goCgoOpenSSL, env: []string{"CGO_ENABLED=1"}, cgo: true},
	{name: "go_boring_old", src: goCrypto, gomod: "", env: []string{"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto", "GOTOOLCHAIN=" + OldGo}, cgo: true},
}

type cFixture struct {
	name, src string
	args      []string // after the source file
	shared    bool
}

var cFixtures = []cFixture{
	{name: "c_dyn", src: cOpenSSL, args: []string{"-lcrypto"}},
	{name: "c_static", src: cOpenSSL, args: []string{"-Wl,-Bstatic", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-pthread"}},
	{name: "c_static_stripped", src: cOpenSSL, args: []string{"-s", "-Wl,-Bstatic", "-lcrypto", "-Wl,-Bdynamic", "-ldl", "-pthread"}},
	{name: "c_gnutls", src: cGnuTLS, args: []string{"-lgnutls"}},
	{name: "c_mention", src: cMention},
	{name: "c_full_static", src: cHello, args: []string{"-static"}},
	{name: "libfoo.so", src: cLibFoo, args: []string{"-Wl,-Bstatic", "-lcrypto", "-Wl,-Bdynamic"}, shared: true},
	{name: "libbar.so", src: cLibBar, shared: true},
	{name: "fips.so", src: cProvider, shared: true},
	{name: "legacy_as_fips.so", src: cNotProvider, shared: true},
	// Built after libfoo.so: finds it through RUNPATH $ORIGIN.
	{name: "c_uses_libfoo", src: cUsesFoo, args: []string{"-L.", "-lfoo", "-Wl,--enable-new-dtags,-rpath,$ORIGIN"}},
}

// Set is the built fixtures.
type Set struct {
	Dir     string
	missing map[string]string
}

// Path returns the path of fixture name, or skips t (fails it under CI)
// when it could not be built.
func (s *Set) Path(t testing.TB, name string) string {
	t.Helper()
	if why, ok := s.missing[name]; ok {
		testenv.Missing(t, fmt.Sprintf("fixture %s: %s", name, why))
	}
	return filepath.Join(s.Dir, name)
}

// Has reports whether fixture name was built.
func (s *Set) Has(name string) bool {
	_, bad := s.missing[name]
	return !bad
}

// Names lists every fixture name.
func Names() []string {
	var n []string
	for _, f := range goFixtures {
		n = append(n, f.name)
	}
	for _, f := range cFixtures {
		n = append(n, f.name)
	}
	sort.Strings(n)
	return n
}

var (
	once   sync.Once
	theSet *Set
	errSet error
)

// Build builds the fixtures once per process (and once per cache key on
// the machine). A fixture that cannot be built (no gcc, no proxy for the
// old toolchain) is recorded as missing with the reason.
func Build() (*Set, error) {
	once.Do(func() { theSet, errSet = build() })
	return theSet, errSet
}

// partialFresh is how long a partial set (a fixture could not be built)
// is reused by the other test binaries of a run before a build is tried
// again: a missing compiler or a network hiccup must not stick.
const partialFresh = 10 * time.Minute

func build() (*Set, error) {
	key := cacheKey()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "kensa-fipstest", key)
	if data, err := os.ReadFile(filepath.Join(dir, "missing.txt")); err == nil {
		return &Set{Dir: dir, missing: parseMissing(string(data))}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	// One build per machine at a time: go test runs the test binaries of
	// several packages at once, and each would build the same set. The
	// others wait on the lock, then find the set built.
	unlock, err := LockFile(dir + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if data, err := os.ReadFile(filepath.Join(dir, "missing.txt")); err == nil {
		return &Set{Dir: dir, missing: parseMissing(string(data))}, nil
	}
	partial := filepath.Join(filepath.Dir(dir), "partial-"+key)
	if st, err := os.Stat(filepath.Join(partial, "missing.txt")); err == nil && time.Since(st.ModTime()) < partialFresh {
		data, _ := os.ReadFile(filepath.Join(partial, "missing.txt"))
		return &Set{Dir: partial, missing: parseMissing(string(data))}, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return nil, err
	}
	missing := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	_, gccErr := exec.LookPath("gcc")
	for _, f := range goFixtures {
		if f.cgo && gccErr != nil {
			missing[f.name] = "gcc is not installed"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := buildGo(tmp, out, f); err != nil {
				mu.Lock()
				missing[f.name] = err.Error()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, f := range cFixtures {
		if gccErr != nil {
			missing[f.name] = "gcc is not installed"
			continue
		}
		if err := buildC(tmp, out, f); err != nil {
			missing[f.name] = err.Error()
		}
	}
	if lib := HostLibcrypto(); lib != "" {
		if err := CopyFile(filepath.Join(out, "host", "libcrypto.so.3"), lib, 0o644); err != nil {
			return nil, err
		}
	}
	var b strings.Builder
	for _, n := range Names() {
		if why, ok := missing[n]; ok {
			fmt.Fprintf(&b, "%s\t%s\n", n, strings.ReplaceAll(why, "\n", " "))
		}
	}
	if err := os.WriteFile(filepath.Join(out, "missing.txt"), []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		// Do not cache a partial set for good: a missing compiler or a
		// network hiccup must not stick. It is kept beside the cache as
		// partial-KEY, one per key (replacing the last one, so failed
		// builds leave nothing behind in /tmp), reused for partialFresh
		// and removed once a whole set is built.
		os.RemoveAll(partial)
		if err := os.Rename(out, partial); err != nil {
			return nil, err
		}
		return &Set{Dir: partial, missing: missing}, nil
	}
	os.RemoveAll(partial)
	pruneOld(filepath.Dir(dir), filepath.Base(dir))
	if err := os.Rename(out, dir); err != nil {
		// Another process won the race: use its directory.
		if _, statErr := os.Stat(filepath.Join(dir, "missing.txt")); statErr != nil {
			return nil, err
		}
	}
	return &Set{Dir: dir, missing: map[string]string{}}, nil
}

// pruneOld removes fixture sets of other cache keys untouched for a week
// (older toolchains, older fixture sources).
func pruneOld(base, keep string) {
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		if e.Name() == keep || e.Name() == keep+".lock" {
			continue
		}
		age := 7 * 24 * time.Hour
		if strings.HasPrefix(e.Name(), "build-") {
			age = 24 * time.Hour // a build killed part-way; live ones are minutes old
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > age {
			os.RemoveAll(filepath.Join(base, e.Name()))
		}
	}
}

func parseMissing(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if n, why, ok := strings.Cut(line, "\t"); ok {
			m[n] = why
		}
	}
	return m
}

// cacheKey hashes everything the fixtures depend on.
func cacheKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "v4\n%s\n%s\n%s\n", OldGo, goMod(""), toolVersion("go", "version"))
	fmt.Fprintln(h, toolVersion("gcc", "--version"))
	for _, f := range goFixtures {
		fmt.Fprintf(h, "%+v\n", f)
	}
	for _, f := range cFixtures {
		fmt.Fprintf(h, "%+v\n", f)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func toolVersion(cmd string, args ...string) string {
	out, _ := exec.Command(cmd, args...).Output()
	return string(out)
}

func buildGo(tmp, out string, f goFixture) error {
	src := filepath.Join(tmp, "src-"+f.name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	mod := goMod(f.gomod)
	if strings.Contains(strings.Join(f.env, " "), "GOTOOLCHAIN=") {
		mod = "module example.com/fixture\n\ngo 1.22\n"
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(f.src), 0o644); err != nil {
		return err
	}
	args := append([]string{"build", "-trimpath", "-o", filepath.Join(out, f.name)}, f.flags...)
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if !strings.Contains(strings.Join(f.env, " "), "GOTOOLCHAIN=") {
		cmd.Env = append(cmd.Env, "GOTOOLCHAIN=local")
	}
	cmd.Env = append(cmd.Env, f.env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, lastLine(string(msg)))
	}
	return nil
}

func buildC(tmp, out string, f cFixture) error {
	src := filepath.Join(tmp, f.name+".c")
	if err := os.WriteFile(src, []byte(f.src), 0o644); err != nil {
		return err
	}
	args := []string{"-O1", "-o", filepath.Join(out, f.name)}
	if f.shared {
		args = append(args, "-shared", "-fPIC")
	}
	args = append(args, src)
	args = append(args, f.args...)
	cmd := exec.Command("gcc", args...)
	cmd.Dir = out
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v: %s", err, lastLine(string(msg)))
	}
	return nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// CopyFile copies src to dst with mode.
func CopyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	o, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

// LinkOrCopy hard-links src to dst (the fixtures are read-only), or
// copies it across filesystems.
func LinkOrCopy(dst, src string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	return CopyFile(dst, src, st.Mode().Perm())
}

// HostLibcrypto returns the path of the host's libcrypto.so.3 (resolved),
// or "".
func HostLibcrypto() string {
	for _, d := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib"} {
		p, err := filepath.EvalSymlinks(filepath.Join(d, "libcrypto.so.3"))
		if err == nil {
			return p
		}
	}
	return ""
}

// MakeRoot lays out a fake root filesystem at dir for --root tests:
// /etc/ld.so.conf including ld.so.conf.d/*.conf, which names /opt/ssl/lib,
// where a copy of the host's libcrypto.so.3 lives; the c_dyn fixture as
// /usr/bin/c_dyn. provider is "" (no FIPS provider), "fips" (a FIPS
// provider and fipsmodule.cnf) or "fake" (a fips.so that is not a FIPS
// provider) or "unconfigured" (the provider without configuration).
func MakeRoot(s *Set, dir, provider string) error {
	lib := filepath.Join(s.Dir, "host", "libcrypto.so.3")
	if _, err := os.Stat(lib); err != nil {
		return errors.New("no libcrypto.so.3 on this host")
	}
	if !s.Has("c_dyn") || !s.Has("fips.so") || !s.Has("legacy_as_fips.so") {
		return errors.New("the C fixtures were not built")
	}
	files := map[string]string{
		"etc/ld.so.conf":                "# test root\ninclude ld.so.conf.d/*.conf\n",
		"etc/ld.so.conf.d/opt-ssl.conf": "/opt/ssl/lib\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			return err
		}
	}
	if err := LinkOrCopy(filepath.Join(dir, "opt/ssl/lib/libcrypto.so.3"), lib); err != nil {
		return err
	}
	if err := LinkOrCopy(filepath.Join(dir, "usr/bin/c_dyn"), filepath.Join(s.Dir, "c_dyn")); err != nil {
		return err
	}
	mods := filepath.Join(dir, "opt/ssl/lib/ossl-modules")
	switch provider {
	case "fips", "unconfigured":
		if err := LinkOrCopy(filepath.Join(mods, "fips.so"), filepath.Join(s.Dir, "fips.so")); err != nil {
			return err
		}
		if provider == "fips" {
			cnf := filepath.Join(dir, "usr/lib/ssl/fipsmodule.cnf")
			if err := os.MkdirAll(filepath.Dir(cnf), 0o755); err != nil {
				return err
			}
			return os.WriteFile(cnf, []byte("[fips_sect]\nactivate = 1\ninstall-version = 1\n"), 0o644)
		}
	case "fake":
		return LinkOrCopy(filepath.Join(mods, "fips.so"), filepath.Join(s.Dir, "legacy_as_fips.so"))
	}
	return nil
}
