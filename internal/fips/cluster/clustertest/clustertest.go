// Package clustertest starts a real Kubernetes control plane for tests:
// etcd and kube-apiserver on loopback, built from the tools/kube module by
// .ci/kube-binaries (once per machine, cached under os.UserCacheDir()), the
// way controller-runtime's envtest does. There is no kubelet, scheduler or
// controller-manager: a test creates nodes, binds pods and patches their
// status itself, as a kubelet would.
//
// The API server runs with RBAC, a static token file (an admin token in
// system:masters, and any tokens the test adds) and service-account keys
// generated for the run; its serving certificate is self-signed in a
// temporary directory and trusted by the kubeconfig the package writes.
// --endpoint-reconciler-type=none keeps it from publishing an endpoint for
// the kubernetes service (nothing listens there).
//
// Outside CI a machine without the built binaries skips the test with a
// hint; under CI (CI=true) it fails, since .ci/run builds them first.
package clustertest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/testenv"
)

// ControlPlane is a running etcd + kube-apiserver pair.
type ControlPlane struct {
	// URL is the API server's https URL on 127.0.0.1.
	URL string
	// Kubeconfig is a kubeconfig file whose current context ("test")
	// authenticates as AdminToken.
	Kubeconfig string
	// AdminToken is a bearer token in group system:masters.
	AdminToken string
	// CAFile holds the API server's self-signed serving certificate.
	CAFile string
	// Bin is the directory holding kube-apiserver, etcd and kubectl.
	Bin string
}

// Options adjust the control plane.
type Options struct {
	// Tokens are extra static tokens: token → user name (no groups). A
	// test gives a user only the RBAC it binds itself.
	Tokens map[string]string
	// AdmissionPlugins are enabled beyond the API server's defaults
	// (OwnerReferencesPermissionEnforcement, as OpenShift runs).
	AdmissionPlugins []string
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// Binaries returns the directory of the built control-plane binaries, or
// skips (fails under CI) t when they are not built. Outside CI it never
// starts the several-minute build; run .ci/kube-binaries once.
func Binaries(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		root, err := repoRoot()
		if err != nil {
			binErr = err
			return
		}
		script := filepath.Join(root, ".ci", "kube-binaries")
		args := []string{"--cached"}
		if testenv.InCI() {
			args = nil // build it if .ci/run has not already
		}
		out, err := exec.Command(script, args...).Output()
		if err != nil {
			binErr = fmt.Errorf("the test control plane is not built (run %s; it takes several minutes once): %v", script, err)
			return
		}
		binDir = strings.TrimSpace(string(out))
	})
	if binErr != nil {
		testenv.Missing(t, binErr.Error())
	}
	return binDir
}

// repoRoot walks up from the working directory to the directory holding
// tools/kube/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "kube", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no tools/kube/go.mod above the working directory")
		}
		dir = parent
	}
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start starts etcd and kube-apiserver and waits until /readyz answers;
// both stop when t ends.
func Start(t testing.TB, opt Options) *ControlPlane {
	t.Helper()
	bin := Binaries(t)
	dir := t.TempDir()

	// etcd, on loopback ports of its own, without fsync (test data).
	clientPort, peerPort := freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	etcd := startProcess(t, dir, "etcd", filepath.Join(bin, "etcd"),
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=test="+peerURL, "--unsafe-no-fsync=true",
		"--listen-metrics-urls=http://127.0.0.1:"+fmt.Sprint(freePort(t)))

	// Service-account signing keys for this run only.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	saPub := filepath.Join(dir, "sa.pub")
	writeFile(t, saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	writeFile(t, saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))

	admin := randomToken(t)
	var tokens strings.Builder
	fmt.Fprintf(&tokens, "%s,admin,admin,\"system:masters\"\n", admin)
	for tok, user := range opt.Tokens {
		fmt.Fprintf(&tokens, "%s,%s,%s\n", tok, user, user)
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokenFile, []byte(tokens.String()))

	certDir := filepath.Join(dir, "certs")
	port := freePort(t)
	var extra []string
	if len(opt.AdmissionPlugins) > 0 {
		extra = append(extra, "--enable-admission-plugins="+strings.Join(opt.AdmissionPlugins, ","))
	}
	apiserver := startProcess(t, dir, "kube-apiserver", filepath.Join(bin, "kube-apiserver"), append([]string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port), "--cert-dir=" + certDir,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--endpoint-reconciler-type=none",
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + saPub,
		"--service-account-signing-key-file=" + saKey,
		"--allow-privileged=true",
		// No controller-manager creates the default service account.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
	}, extra...)...)

	cp := &ControlPlane{
		URL:        fmt.Sprintf("https://127.0.0.1:%d", port),
		AdminToken: admin,
		CAFile:     filepath.Join(certDir, "apiserver.crt"),
		Bin:        bin,
	}
	waitReady(t, cp, etcd, apiserver)
	cp.Kubeconfig = cp.WriteKubeconfig(t, "test", admin)
	return cp
}

// WriteKubeconfig writes a kubeconfig whose context named context
// authenticates with token, and returns its path.
func (cp *ControlPlane) WriteKubeconfig(t testing.TB, context, token string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %q
    certificate-authority: %q
users:
- name: %s
  user:
    token: %q
contexts:
- name: %s
  context:
    cluster: test
    user: %s
current-context: %s
`, cp.URL, cp.CAFile, context, token, context, context, context)
	writeFile(t, p, []byte(conf))
	return p
}

// Kubectl runs the built kubectl against the control plane as admin, with
// stdin as its input (may be empty).
func (cp *ControlPlane) Kubectl(t testing.TB, stdin string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(cp.Bin, "kubectl"),
		append([]string{"--kubeconfig", cp.Kubeconfig, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cp.Kubeconfig)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// process is a started control-plane binary: exited is closed when it
// ends, err says how.
type process struct {
	name    string
	logPath string
	exited  chan struct{}
	err     error
}

// startProcess runs a control-plane binary with its output in dir/name.log
// and stops it when t ends; the log's tail is shown if the test fails.
func startProcess(t testing.TB, dir, name, path string, args ...string) *process {
	t.Helper()
	p := &process{name: name, logPath: filepath.Join(dir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-p.exited
		}
		logf.Close()
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", name, p.tail())
		}
	})
	return p
}

// tail is the last 8 KiB of the process's log.
func (p *process) tail() []byte {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 8<<10 {
		b = b[len(b)-8<<10:]
	}
	return b
}

// readyTimeout is how long the control plane may take to become ready:
// about 4 s on an idle machine, far more on a loaded 2-core one (a 90 s
// limit failed once at load 14). CI gets longer still; KENSA_KUBE_READY
// (a Go duration) overrides both.
func readyTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("KENSA_KUBE_READY")); err == nil && d > 0 {
		return d
	}
	if testenv.InCI() {
		return 5 * time.Minute
	}
	return 3 * time.Minute
}

// waitReady polls /readyz, backing off from 100 ms to 2 s, until it
// answers 200 and the serving certificate is written. It fails at once
// when etcd or kube-apiserver exits (a port taken, a bad flag: waiting
// would only hide it), and on timeout with the last answer, whose body
// names the checks still failing; the processes' log tails follow
// (startProcess).
func waitReady(t testing.TB, cp *ControlPlane, procs ...*process) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The certificate appears only once the server has started;
		// readiness is all this checks, so it is not verified here. The
		// kubeconfig written afterwards trusts it properly.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	limit := readyTimeout()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var last string
	delay := 100 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", cp.URL+"/readyz?verbose", nil)
		req.Header.Set("Authorization", "Bearer "+cp.AdminToken)
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if _, err := os.Stat(cp.CAFile); err == nil {
					return
				}
			}
			last = resp.Status + "\n" + failingChecks(string(body))
		} else {
			last = err.Error()
		}
		for _, p := range procs {
			select {
			case <-p.exited:
				t.Fatalf("%s exited before the control plane was ready (%v, after %s); last /readyz: %s",
					p.name, p.err, time.Since(start).Round(time.Millisecond), last)
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("kube-apiserver at %s not ready after %s (KENSA_KUBE_READY sets the limit): last /readyz: %s",
				cp.URL, limit, last)
		case <-time.After(delay):
		}
		delay = min(delay*2, 2*time.Second)
	}
}

// failingChecks keeps the lines of a verbose /readyz answer that are not
// "[+]… ok": the checks still failing.
func failingChecks(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if l != "" && !strings.HasPrefix(l, "[+]") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
