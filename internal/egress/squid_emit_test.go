package egress

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSquidEmitRoundTrip: Debian's Squid, on loopback with an allowlist
// that lets nothing through, denies requests to two names; kensa analyses
// its access.log and writes --emit squid rules; Squid, restarted with
// those lines included before "http_access deny all", loads them and
// then serves what it denied before. The names resolve through a hosts
// file of the test's own to the local origin server: no traffic leaves
// 127.0.0.1.
func TestSquidEmitRoundTrip(t *testing.T) {
	lab := newSquidLab(t)
	dir := lab.dir
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from", r.Host)
	}))
	defer origin.Close()
	originPort := origin.Listener.Addr().(*net.TCPAddr).Port
	hosts := filepath.Join(dir, "hosts")
	os.WriteFile(hosts, []byte("127.0.0.1 pkgs.kensa.test files.kensa.test other.kensa.test\n"), 0o644)
	rules := filepath.Join(dir, "kensa-egress.conf")
	os.WriteFile(rules, []byte("# nothing yet\n"), 0o644)
	access := fmt.Sprintf("hosts_file %s\nacl Safe_ports port 1-65535\ninclude %s\nhttp_access deny all\n", hosts, rules)
	start := func(accessLog string) (int, func(), *strings.Builder) { return lab.start(accessLog, access) }
	wanted := []string{fmt.Sprintf("http://pkgs.kensa.test:%d/simple/", originPort), fmt.Sprintf("http://files.kensa.test:%d/f.whl", originPort)}
	other := fmt.Sprintf("http://other.kensa.test:%d/", originPort)

	// 1. Everything is denied.
	log1 := filepath.Join(dir, "access1.log")
	port, stop, out := start(log1)
	for _, u := range wanted {
		if code := proxyGet(port, u); code != 403 {
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
		if code := proxyGet(port, u); code != 200 {
			t.Errorf("after the rules, %s: status %d, want 200\n%s", u, code, out)
		}
	}
	if code := proxyGet(port, other); code != 403 {
		t.Errorf("after the rules, %s (never denied, never allowed): status %d, want 403", other, code)
	}
}
