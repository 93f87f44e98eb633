package egress

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/testenv"
)

// TestSquidEmitRoundTrip: Debian's Squid, on loopback with an allowlist
// that lets nothing through, denies requests to two names; kensa analyses
// its access.log and writes --emit squid rules; Squid, restarted with
// those lines included before "http_access deny all", loads them and
// then serves what it denied before. The names resolve through a hosts
// file of the test's own to the local origin server: no traffic leaves
// 127.0.0.1.
func TestSquidEmitRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts squid")
	}
	squid := testenv.NeedCommand(t, "squid")
	dir := t.TempDir()
	effective := ""
	if os.Geteuid() == 0 {
		effective = "proxy"
		if _, err := user.Lookup("proxy"); err != nil {
			effective = "nobody"
		}
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o777)
		}
	} else if u, err := user.Current(); err == nil {
		effective = u.Username
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from", r.Host)
	}))
	defer origin.Close()
	originPort := origin.Listener.Addr().(*net.TCPAddr).Port
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 pkgs.kensa.test files.kensa.test other.kensa.test\n"), 0o644)
	rules := filepath.Join(dir, "kensa-egress.conf")
	os.WriteFile(rules, []byte("# nothing yet\n"), 0o644)

	start := func(accessLog string) (port int, stop func(), out *strings.Builder) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		conf := fmt.Sprintf(`http_port 127.0.0.1:%d
visible_hostname kensa-test
cache_effective_user %s
pid_filename %s/squid.pid
cache_log %s/cache.log
access_log stdio:%s
coredump_dir %s
cache deny all
shutdown_lifetime 1 seconds
pinger_enable off
netdb_filename none
dns_nameservers 127.0.0.1
hosts_file %s
acl Safe_ports port 1-65535
include %s
http_access deny all
`, port, effective, dir, dir, accessLog, dir, hosts, rules)
		confPath := filepath.Join(dir, "squid.conf")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		// squid -k parse: the configuration (with the included rules)
		// must load without an error.
		if b, err := exec.Command(squid, "-k", "parse", "-f", confPath).CombinedOutput(); err != nil {
			t.Fatalf("squid -k parse: %v\n%s\n%s", err, b, conf)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, squid, "-N", "-f", confPath)
		cmd.Dir = dir
		out = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		stopped := false
		stop = func() {
			if stopped {
				return
			}
			stopped = true
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			cancel()
		}
		if !waitPort(port, 20*time.Second) {
			stop()
			cl, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
			t.Fatalf("squid did not listen on %d:\n%s\n%s", port, out, cl)
		}
		return port, stop, out
	}
	get := func(port int, u string) int {
		proxy, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
		client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
		resp, err := client.Get(u)
		if err != nil {
			return -1
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wanted := []string{fmt.Sprintf("http://pkgs.kensa.test:%d/simple/", originPort), fmt.Sprintf("http://files.kensa.test:%d/f.whl", originPort)}
	other := fmt.Sprintf("http://other.kensa.test:%d/", originPort)

	// 1. Everything is denied.
	log1 := filepath.Join(dir, "access1.log")
	port, stop, out := start(log1)
	for _, u := range wanted {
		if code := get(port, u); code != 403 {
			stop()
			t.Fatalf("before the rules, %s: status %d, want 403\n%s", u, code, out)
		}
	}
	time.Sleep(300 * time.Millisecond)
	stop()

	// 2. kensa reads the log and writes the rules.
	res := analyze(t, Options{}, fileInput(log1))
	if len(res.Destinations) != 2 {
		t.Fatalf("destinations: %+v", res.Destinations)
	}
	var buf bytes.Buffer
	plan := MakePlan(res.Destinations, PlanOptions{})
	if plan.Foreign = ForeignRules("squid", res.Families()); plan.Foreign != "" {
		t.Errorf("squid rules for a squid log: %s", plan.Foreign)
	}
	if err := WriteRules(&buf, "squid", plan); err != nil {
		t.Fatal(err)
	}
	t.Logf("emitted:\n%s", buf.String())
	if err := os.WriteFile(rules, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// 3. Squid loads them and allows what it denied; the rest is still denied.
	port, stop, out = start(filepath.Join(dir, "access2.log"))
	defer stop()
	for _, u := range wanted {
		if code := get(port, u); code != 200 {
			t.Errorf("after the rules, %s: status %d, want 200\n%s", u, code, out)
		}
	}
	if code := get(port, other); code != 403 {
		t.Errorf("after the rules, %s (never denied, never allowed): status %d, want 403", other, code)
	}
}
