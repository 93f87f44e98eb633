package egress

import (
	"context"
	"fmt"
	"net"
	"net/http"
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

// squidLab runs Debian's Squid on loopback for the tests that need a
// real proxy: no cache, no DNS (a hosts file of the test's own, or names
// refused by the ACL before any lookup), a log the test names.
type squidLab struct {
	t     *testing.T
	squid string
	dir   string
	// user is cache_effective_user: Squid started as root drops to it.
	user string
}

// newSquidLab skips the test in -short mode or without squid.
func newSquidLab(t *testing.T) *squidLab {
	t.Helper()
	if testing.Short() {
		t.Skip("starts squid")
	}
	l := &squidLab{t: t, squid: testenv.NeedCommand(t, "squid"), dir: t.TempDir()}
	// Squid started as root drops to cache_effective_user, which must be
	// able to reach the log directory: open the temporary directories up
	// (they hold nothing secret). As another user it runs as that user.
	if os.Geteuid() == 0 {
		l.user = "proxy"
		if _, err := user.Lookup("proxy"); err != nil {
			l.user = "nobody"
		}
		for d := l.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			os.Chmod(d, 0o777)
		}
	} else if u, err := user.Current(); err == nil {
		l.user = u.Username
	}
	return l
}

// start writes a squid.conf whose access rules are rules, checks it with
// squid -k parse, starts Squid in the foreground logging to accessLog and
// waits until it listens. stop (safe to call twice) stops it and flushes
// the log; out collects Squid's own output.
func (l *squidLab) start(accessLog, rules string) (port int, stop func(), out *strings.Builder) {
	t := l.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
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
`, port, l.user, l.dir, l.dir, accessLog, l.dir) + rules
	confPath := filepath.Join(l.dir, "squid.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// squid -k parse: the configuration (with anything it includes) must
	// load without an error.
	if b, err := exec.Command(l.squid, "-k", "parse", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("squid -k parse: %v\n%s\n%s", err, b, conf)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, l.squid, "-N", "-f", confPath)
	cmd.Dir = l.dir
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
		cl, _ := os.ReadFile(filepath.Join(l.dir, "cache.log"))
		t.Fatalf("squid did not listen on %d:\n%s\n%s", port, out, cl)
	}
	return port, stop, out
}

// proxyGet fetches u through the proxy on port and returns the status,
// or -1 when the request failed (a CONNECT refused by the proxy is an
// error for the client).
func proxyGet(port int, u string) int {
	proxy, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", port))
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitPort(port int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}
