//go:build linux

package host_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/schematest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// The live fixtures: programs that do some crypto, print "ready" and
// wait for their standard input to close. Built once per machine and
// toolchain under os.UserCacheDir()/kensa/fips-host-<key>, with a lock.

const goLive = `package main

import (
	"crypto/sha256"
	"fmt"
	"os"
)

func main() {
	fmt.Printf("%x\n", sha256.Sum256([]byte("kensa")))
	fmt.Println("ready")
	b := make([]byte, 1)
	os.Stdin.Read(b)
}
`

const cLinked = `#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
	unsigned char md[32]; unsigned int n;
	EVP_MD *sha = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha == NULL || !EVP_Digest("kensa", 5, md, &n, sha, NULL)) { puts("digest failed"); return 1; }
	printf("ready\n"); fflush(stdout);
	char c; read(0, &c, 1);
	return 0;
}
`

// cDlopen loads libcrypto at run time, as golang-fips and Microsoft Go do:
// no DT_NEEDED entry, only the maps show it.
const cDlopen = `#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
	void *h = dlopen("libcrypto.so.3", RTLD_NOW);
	if (!h) { puts(dlerror()); return 1; }
	int (*init)(unsigned long long, const void *) = dlsym(h, "OPENSSL_init_crypto");
	void *(*fetch)(void *, const char *, const char *) = dlsym(h, "EVP_MD_fetch");
	if (!init || !fetch) { puts("dlsym failed"); return 1; }
	init(0x40LL /* OPENSSL_INIT_LOAD_CONFIG */, NULL);
	if (!fetch(NULL, "SHA256", NULL)) { puts("fetch failed"); return 1; }
	printf("ready\n"); fflush(stdout);
	char c; read(0, &c, 1);
	return 0;
}
`

type liveSet struct{ dir string }

func (s liveSet) path(n string) string { return filepath.Join(s.dir, n) }

func buildLive(t *testing.T) liveSet {
	t.Helper()
	goBin := testenv.NeedCommand(t, "go")
	gcc := testenv.NeedCommand(t, "gcc")
	testenv.NeedFile(t, "/usr/include/openssl/evp.h", "libssl-dev")
	ver, _ := exec.Command(goBin, "env", "GOVERSION").Output()
	sum := sha256.Sum256([]byte(goLive + cLinked + cDlopen + strings.TrimSpace(string(ver)) + runtime.GOARCH))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "kensa", "fips-host-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return liveSet{dir}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "fips-host-build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "main.go"), []byte(goLive), 0o644)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module example.com/live\n\ngo 1.24\n"), 0o644)
	out := filepath.Join(tmp, "out")
	os.MkdirAll(out, 0o755)
	for _, b := range []struct {
		name string
		env  []string
	}{
		{"go_std", []string{"CGO_ENABLED=0"}},
		{"go_fips_v100", []string{"CGO_ENABLED=0", "GOFIPS140=v1.0.0"}},
		{"go_boring", []string{"CGO_ENABLED=1", "GOEXPERIMENT=boringcrypto"}},
	} {
		cmd := exec.Command(goBin, "build", "-trimpath", "-o", filepath.Join(out, b.name), ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), b.env...)
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", b.name, err, o)
		}
	}
	for _, c := range []struct {
		name, src string
		args      []string
	}{
		{"c_linked", cLinked, []string{"-lcrypto"}},
		{"c_dlopen", cDlopen, []string{"-ldl"}},
	} {
		f := filepath.Join(tmp, c.name+".c")
		os.WriteFile(f, []byte(c.src), 0o644)
		args := append([]string{"-O1", "-o", filepath.Join(out, c.name), f}, c.args...)
		if o, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", c.name, err, o)
		}
	}
	os.WriteFile(filepath.Join(out, "done"), nil, 0o644)
	os.RemoveAll(dir)
	if err := os.Rename(out, dir); err != nil {
		t.Fatal(err)
	}
	return liveSet{dir}
}

// fipsProvider builds (or reuses) the real OpenSSL FIPS provider with
// .ci/build-openssl-fips and returns its directory.
func fipsProvider(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		testenv.Missing(t, "apt-get is needed to fetch OpenSSL's source")
	}
	script, _ := filepath.Abs("../../../.ci/build-openssl-fips")
	cmd := exec.Command(script)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tail := stderr.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		testenv.Missing(t, fmt.Sprintf("building the OpenSSL FIPS provider failed: %v\n%s", err, tail))
	}
	return strings.TrimSpace(string(out))
}

// start runs a fixture and waits for its "ready" line; the process ends
// when the test does.
func start(t *testing.T, env []string, name string, args ...string) int {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(outp)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				return
			}
		}
		ready <- fmt.Errorf("%s exited before it was ready", name)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30s", name)
	}
	return cmd.Process.Pid
}

func scanPIDs(t *testing.T, pids ...int) map[int]host.Result {
	t.Helper()
	s, err := host.Run(context.Background(), host.Options{Root: "/", Proc: "/proc", PIDs: pids})
	if err != nil {
		t.Fatal(err)
	}
	m := map[int]host.Result{}
	for _, r := range s.Results {
		if r.Kind == host.KindProcess {
			m[r.PID] = r
		}
	}
	return m
}

func hasMapped(r host.Result, role string) bool {
	return slices.ContainsFunc(r.Mapped, func(m host.Mapped) bool { return m.Role == role })
}

func TestLiveProcesses(t *testing.T) {
	set := buildLive(t)
	type tc struct {
		name    string
		bin     string
		env     []string
		verdict host.Verdict
		crypto  string // a backend that must be listed
		reason  string // text the first reason must contain
		mapped  []string
	}
	cases := []tc{
		{"go std", "go_std", nil, host.Noncompliant, "go-std", "Go's standard crypto", nil},
		{"go GOFIPS140=v1.0.0", "go_fips_v100", nil, host.Compliant, "go-fips140", "Go FIPS 140-3 mode on", nil},
		{"go GOFIPS140=v1.0.0 GODEBUG=fips140=on", "go_fips_v100", []string{"GODEBUG=fips140=on"}, host.Compliant, "go-fips140", "GODEBUG=fips140=on in its start environment", nil},
		{"go GOFIPS140=v1.0.0 GODEBUG=fips140=off", "go_fips_v100", []string{"GODEBUG=x=1,fips140=off"}, host.Noncompliant, "go-fips140", "GODEBUG=fips140=off", nil},
		{"go std GODEBUG=fips140=on", "go_std", []string{"GODEBUG=fips140=on"}, host.Noncompliant, "go-std", "not a validated module", nil},
		{"go boringcrypto", "go_boring", nil, "", "go-boringcrypto", "", nil},
		{"c linked, default provider", "c_linked", nil, host.Noncompliant, "openssl", "no FIPS provider is, nor would be", []string{"libcrypto"}},
		{"c dlopen, default provider", "c_dlopen", nil, host.Noncompliant, "openssl", "no FIPS provider is, nor would be", []string{"libcrypto"}},
	}
	pids := map[string]int{}
	for _, c := range cases {
		pids[c.name] = start(t, c.env, set.path(c.bin))
	}
	var all []int
	for _, p := range pids {
		all = append(all, p)
	}
	got := scanPIDs(t, all...)
	t.Run("cbom", func(t *testing.T) {
		// The CBOM of real processes validates, and the Go program
		// depends on the Go standard library's crypto as an asset.
		var rs []host.Result
		for _, p := range all {
			rs = append(rs, got[p])
		}
		data, doc := encodeHostCBOM(t, rs)
		schematest.Validate(t, schematest.Official(t, schematest.CycloneDX), "live CBOM", data)
		var deps []string
		for _, d := range doc.Dependencies {
			if strings.HasSuffix(d.Ref, fmt.Sprintf(":pid:%d", pids["go std"])) {
				deps = d.DependsOn
			}
		}
		if !slices.ContainsFunc(deps, func(s string) bool { return strings.HasPrefix(s, "crypto:") && strings.Contains(s, ":go-std/") }) {
			t.Errorf("the go std process depends on %q: no go-std asset", deps)
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := got[pids[c.name]]
			if !ok {
				t.Fatalf("pid %d not in the results", pids[c.name])
			}
			if c.verdict != "" && r.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s; reasons %q", r.Verdict, c.verdict, r.Reasons)
			}
			if c.verdict == "" && r.Verdict != host.Compliant && r.Verdict != host.Noncompliant {
				t.Errorf("verdict %s, want a definite one; reasons %q", r.Verdict, r.Reasons)
			}
			if !slices.Contains(r.Crypto, c.crypto) {
				t.Errorf("crypto %v lacks %s", r.Crypto, c.crypto)
			}
			if c.reason != "" && (len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], c.reason)) {
				t.Errorf("first reason %q, want it to contain %q", r.Reasons, c.reason)
			}
			for _, m := range c.mapped {
				if !hasMapped(r, m) {
					t.Errorf("mapped %v lacks %s", r.Mapped, m)
				}
			}
			if r.Exe != set.path(c.bin) {
				t.Errorf("exe %q, want %q", r.Exe, set.path(c.bin))
			}
			t.Logf("%s: %s %v: %q", c.name, r.Verdict, r.Crypto, r.Reasons)
		})
	}
}

// TestLiveFIPSProvider: a process that loads a real OpenSSL FIPS
// provider (built from Debian's OpenSSL source) through OPENSSL_CONF and
// OPENSSL_MODULES, as the system OpenSSL 3.0 does.
func TestLiveFIPSProvider(t *testing.T) {
	set := buildLive(t)
	prov := fipsProvider(t)
	env := []string{"OPENSSL_CONF=" + filepath.Join(prov, "openssl.cnf"), "OPENSSL_MODULES=" + prov}
	linked := start(t, env, set.path("c_linked"))
	dl := start(t, env, set.path("c_dlopen"))
	got := scanPIDs(t, linked, dl)
	for _, pid := range []int{linked, dl} {
		r := got[pid]
		if !hasMapped(r, "fips-provider") {
			t.Errorf("pid %d: mapped %v lacks the FIPS provider", pid, r.Mapped)
		}
		// The verdict follows the module table's status of the provider
		// loaded: a provider built from a release without a certificate
		// (3.0.22 here) is noncompliant, one the table cannot place is
		// taken by its name (as fips scan's conditional).
		status := ""
		for _, m := range r.Modules {
			if strings.HasSuffix(m.Path, "/fips.so") {
				status = m.Status
			}
		}
		want, reason := host.Compliant, "the FIPS provider is loaded: OpenSSL FIPS Provider"
		if status == "not-validated" || status == "historical" {
			want, reason = host.Noncompliant, "the FIPS provider loaded (OpenSSL FIPS Provider"
		}
		if status == "" || r.Verdict != want {
			t.Errorf("pid %d (%s): verdict %s with provider status %q, want %s; reasons %q", pid, r.Exe, r.Verdict, status, want, r.Reasons)
		}
		if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], reason) {
			t.Errorf("pid %d: reasons %q, want %q first", pid, r.Reasons, reason)
		}
		if r.Env["OPENSSL_CONF"] == "" || r.Env["OPENSSL_MODULES"] != prov {
			t.Errorf("pid %d: env %v", pid, r.Env)
		}
		t.Logf("%s: %s %q", r.Exe, r.Verdict, r.Reasons)
	}
}

// TestLiveMountNamespace: a process in its own mount namespace whose
// binary exists only there (a tmpfs mounted in that namespace). kensa
// classifies it through /proc/PID/exe and resolves its files through
// /proc/PID/root.
func TestLiveMountNamespace(t *testing.T) {
	testenv.NeedRoot(t)
	unshare := testenv.NeedCommand(t, "unshare")
	set := buildLive(t)
	mnt := t.TempDir()
	script := fmt.Sprintf("mount -t tmpfs kensa %s && cp %s %s/app && exec %s/app", mnt, set.path("go_fips_v100"), mnt, mnt)
	pid := start(t, nil, unshare, "--mount", "--propagation", "private", "--fork", "sh", "-c", script)
	// unshare --fork: the program is unshare's child.
	var child int
	for range 50 {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
		if f := strings.Fields(string(data)); len(f) > 0 {
			fmt.Sscan(f[0], &child)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("no child of unshare")
	}
	if _, err := os.Stat(filepath.Join(mnt, "app")); err == nil {
		t.Fatal("the binary is visible outside the namespace: the test proves nothing")
	}
	r := scanPIDs(t, child)[child]
	if r.Exe != filepath.Join(mnt, "app") || r.Verdict != host.Compliant || !slices.Contains(r.Crypto, "go-fips140") {
		t.Errorf("exe %q verdict %s crypto %v reasons %q; want %s/app compliant go-fips140", r.Exe, r.Verdict, r.Crypto, r.Reasons, mnt)
	}
}

// TestLiveUnprivileged: as nobody, root's processes are unreadable (a
// finding), never a pass.
func TestLiveUnreadable(t *testing.T) {
	testenv.NeedRoot(t)
	set := buildLive(t)
	pid := start(t, nil, set.path("go_std"))
	// The test binary lives in a root-only directory: copy it where
	// nobody can run it.
	src, _ := os.Executable()
	dir, err := os.MkdirTemp("", "kensa-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	self := filepath.Join(dir, "host.test")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(self, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperScanAsNobody$", "-test.v")
	cmd.Env = append(os.Environ(), fmt.Sprintf("KENSA_HELPER_PID=%d", pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "verdict=unreadable") {
		t.Errorf("as nobody, root's process was not unreadable:\n%s", out)
	}
}

func TestHelperScanAsNobody(t *testing.T) {
	var pid int
	if _, err := fmt.Sscan(os.Getenv("KENSA_HELPER_PID"), &pid); err != nil {
		t.Skip("helper of TestLiveUnreadable")
	}
	s, err := host.Run(context.Background(), host.Options{Root: "/", Proc: "/proc", PIDs: []int{pid}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Results {
		if r.Kind == host.KindProcess {
			fmt.Printf("pid=%d verdict=%s\n", r.PID, r.Verdict)
		}
	}
	found := false
	for _, f := range s.Findings {
		found = found || f.ID == host.IDProcUnreadable
	}
	if !found {
		t.Error("no process-unreadable finding")
	}
}

// TestPostureFIPSModuleCnf: a root with Debian's real libcrypto, the real
// FIPS provider and the fipsmodule.cnf `openssl fipsinstall` wrote for it:
// the module-mac matches; one changed byte in the provider breaks it.
func TestPostureFIPSModuleCnf(t *testing.T) {
	prov := fipsProvider(t)
	lib := "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
	testenv.NeedFile(t, lib, "libssl3")
	root := t.TempDir()
	copyFile := func(dst, src string) {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(root, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(root, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write := func(dst, s string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, dst)), 0o755)
		if err := os.WriteFile(filepath.Join(root, dst), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(lib, lib)
	copyFile("/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so", filepath.Join(prov, "fips.so"))
	copyFile("/usr/lib/ssl/fipsmodule.cnf", filepath.Join(prov, "fipsmodule.cnf"))
	write("/usr/lib/ssl/openssl.cnf", "openssl_conf = openssl_init\n.include /usr/lib/ssl/fipsmodule.cnf\n[openssl_init]\nproviders = provider_sect\nalg_section = algs\n[algs]\ndefault_properties = fips=yes\n[provider_sect]\nfips = fips_sect\nbase = base_sect\n[base_sect]\nactivate = 1\n")
	write("/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
	write("/proc/sys/crypto/fips_enabled", "1\n")
	run := func() (map[string]host.Result, []string) {
		s, err := host.Run(context.Background(), host.Options{Root: root, Proc: filepath.Join(root, "proc"), NoProcesses: true})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]host.Result{}
		for _, r := range s.Results {
			m[r.Check] = r
		}
		var ids []string
		for _, f := range s.Findings {
			ids = append(ids, f.ID)
		}
		return m, ids
	}
	m, ids := run()
	for _, c := range []string{host.CheckOpenSSLConfig, host.CheckFIPSModuleCnf} {
		if m[c].Status != host.StatusPass {
			t.Errorf("%s: %s %q", c, m[c].Status, m[c].Value)
		}
	}
	// The provider check follows the module table (a 3.0.22 build has no
	// certificate): pass, or fail with fips-provider-noncompliant.
	switch p := m[host.CheckOpenSSLProv]; {
	case p.Status == host.StatusPass && len(ids) == 0:
	case p.Status == host.StatusFail && strings.Contains(p.Value, "not-validated") && slices.Equal(ids, []string{host.IDProviderNoncompliant}):
	default:
		t.Errorf("provider: %s %q, findings %v", p.Status, p.Value, ids)
	}
	if !strings.Contains(m[host.CheckOpenSSLProv].Value, "OpenSSL FIPS Provider") {
		t.Errorf("provider value %q does not name the provider", m[host.CheckOpenSSLProv].Value)
	}
	// Change one byte of the provider.
	p := filepath.Join(root, "usr/lib/x86_64-linux-gnu/ossl-modules/fips.so")
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	os.WriteFile(p, data, 0o644)
	m, ids = run()
	if m[host.CheckFIPSModuleCnf].Status != host.StatusFail || !slices.Contains(ids, host.IDModuleCnfMismatch) {
		t.Errorf("tampered provider: %s %q, findings %v", m[host.CheckFIPSModuleCnf].Status, m[host.CheckFIPSModuleCnf].Value, ids)
	}
}
