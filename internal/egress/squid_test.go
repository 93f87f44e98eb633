package egress

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRealSquid starts Debian's Squid on loopback with an allowlist (only
// the local test server), sends it allowed and denied requests, and
// analyses the access.log it wrote. No traffic leaves 127.0.0.1: the
// denied names are refused by the ACL before any lookup.
func TestRealSquid(t *testing.T) {
	lab := newSquidLab(t)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from the allowed origin")
	}))
	defer origin.Close()
	accessLog := filepath.Join(lab.dir, "access.log")
	port, stop, out := lab.start(accessLog, `acl allowed dstdomain 127.0.0.1
acl CONNECT method CONNECT
http_access allow allowed
http_access deny all
`)
	defer stop()
	get := func(u string) int { return proxyGet(port, u) }
	for i := 0; i < 2; i++ {
		if code := get(origin.URL + "/ok"); code != 200 {
			t.Fatalf("allowed request: status %d\n%s", code, out)
		}
	}
	for _, u := range []string{"http://blocked.invalid/pkg", "http://blocked.invalid/other", "https://denied-tls.invalid/"} {
		if code := get(u); code == 200 {
			t.Fatalf("%s was allowed", u)
		}
	}
	// A client that closes before its request is whole: Squid logs a
	// NONE tag (NONE_NONE/000 … error:transaction-end-before-headers),
	// which is neither allowed nor denied.
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		c.Write([]byte("GET http://half.invalid/ HT"))
		time.Sleep(200 * time.Millisecond)
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	stop() // flushes and closes the log

	f, err := os.Open(accessLog)
	if err != nil {
		t.Fatalf("squid wrote no access.log: %v\n%s", err, out)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.Close()
	t.Logf("access.log:\n%s", strings.Join(lines, "\n"))
	res := analyze(t, Options{All: true}, fileInput(accessLog))
	if res.Files[0].Format != FormatSquid || res.Files[0].Unknown != 0 {
		t.Errorf("file stats %+v", res.Files[0])
	}
	originPort := origin.Listener.Addr().(*net.TCPAddr).Port
	var got []string
	for _, d := range res.Destinations {
		got = append(got, fmt.Sprintf("%s %s %s n=%d src=%s %s", d.Action, HostPort(d.Host, d.Port), d.Proto, d.Count, strings.Join(d.Sources, ","), d.Reason))
	}
	want := []string{
		"deny blocked.invalid:80 HTTP n=2 src=127.0.0.1 denied-by-proxy",
		"deny denied-tls.invalid:443 HTTPS n=1 src=127.0.0.1 denied-by-proxy",
		fmt.Sprintf("allow 127.0.0.1:%d HTTP n=2 src=127.0.0.1 allowed", originPort),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("destinations from squid's access.log (-want +got):\n%s", diff)
	}
	// The same log, counted by hand: TCP_DENIED/403 lines.
	denied := 0
	for _, l := range lines {
		if strings.Contains(l, "TCP_DENIED/403") {
			denied++
		}
	}
	if int64(denied) != res.Files[0].Denied || denied != 3 {
		t.Errorf("grep TCP_DENIED/403 = %d, kensa denied = %d", denied, res.Files[0].Denied)
	}
	// And the NONE lines: counted apart, none of them allowed.
	none := 0
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 3 && (strings.HasPrefix(f[3], "NONE") || strings.HasPrefix(f[3], "TAG_NONE")) {
			none++
		}
	}
	// (waitPort's probe connections are such lines too.)
	if f := res.Files[0]; none < 1 || f.NoRequest != int64(none) || f.Allowed != 2 {
		t.Errorf("NONE lines = %d, kensa no_request = %d, allowed = %d; want no_request = NONE lines >= 1, allowed 2", none, f.NoRequest, f.Allowed)
	}
}

// TestSquidStatuses: any *_DENIED* but 407 is the proxy's deny (SslBump
// logs a bumped, denied CONNECT as TCP_DENIED/200; deny_info pages may
// carry other statuses); 407 asks for credentials; the rest passed.
func TestSquidStatuses(t *testing.T) {
	tests := []struct {
		line       string
		kind       Kind
		action     Action
		host, port string
	}{
		{"1757106048.542      1 10.0.0.1 TCP_DENIED/403 3867 CONNECT a.example.com:443 - HIER_NONE/- text/html", KindTraffic, ActionDeny, "a.example.com", "443"},
		{"1757106052.100      0 10.0.0.1 TCP_DENIED/200 0 CONNECT bumped.example.com:443 - HIER_NONE/- -", KindTraffic, ActionDeny, "bumped.example.com", "443"},
		{"1757106052.100      0 10.0.0.1 TCP_DENIED/302 0 GET http://redirected.example.com/x - HIER_NONE/- -", KindTraffic, ActionDeny, "redirected.example.com", "80"},
		{"1349087120.614      1 10.0.0.1 TCP_DENIED/407 1702 CONNECT auth.example.com:443 - NONE/- text/html", KindAuth, ActionUnknown, "auth.example.com", "443"},
		{"1349087074.302   4871 10.0.0.1 TCP_TUNNEL/200 20418 CONNECT ok.example.com:443 jdoe HIER_DIRECT/198.51.100.140 -", KindTraffic, ActionAllow, "ok.example.com", "443"},
		{"1349087074.302     -1 10.0.0.1 TCP_MISS/403 20418 GET http://origin403.example.com:8080/ - HIER_DIRECT/198.51.100.140 -", KindTraffic, ActionAllow, "origin403.example.com", "8080"},
		{"1757106050.100      3 2001:db8::7 TCP_DENIED/403 3867 GET http://[2001:db8::9]:8080/x - HIER_NONE/- text/html", KindTraffic, ActionDeny, "2001:db8::9", "8080"},
		// NONE tags: no handling path, so no verdict, whatever the line
		// names (Squid 5+, 3.2-4, 2-3.1; with _ABORTED/_TIMEDOUT).
		{"1757106053.100      0 10.0.0.1 NONE_NONE/000 0 CONNECT 198.51.100.9:443 - HIER_NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1757106053.100      0 10.0.0.1 NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1757106053.100  60000 10.0.0.1 NONE_NONE_TIMEDOUT/000 0 CONNECT slow.example.com:443 - HIER_NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1349087074.302      0 10.0.0.1 TAG_NONE/000 0 CONNECT aborted.example.com:443 - HIER_NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1349087074.302      0 10.0.0.1 TAG_NONE/503 0 CONNECT unreachable.example.com:443 - HIER_NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1249087074.302      0 10.0.0.1 NONE/000 0 GET http://old.example.com/ - NONE/- -", KindNoRequest, ActionUnknown, "", "-1"},
		{"1249087074.302      0 10.0.0.1 NONE/400 3867 NONE error:invalid-request - NONE/- text/html", KindNoRequest, ActionUnknown, "", "-1"},
		// A request that was forwarded, then aborted, was allowed.
		{"1757106053.100     12 10.0.0.1 TCP_MISS_ABORTED/000 0 GET http://aborted.example.com/ - HIER_DIRECT/203.0.113.5 -", KindTraffic, ActionAllow, "aborted.example.com", "80"},
	}
	for _, tt := range tests {
		var ev Event
		ev.reset()
		if !parseSquid([]byte(tt.line), &ev) {
			t.Errorf("parseSquid(%q) = false", tt.line)
			continue
		}
		if ev.Kind != tt.kind || ev.Action != tt.action || string(ev.Host) != tt.host || fmt.Sprint(ev.Port) != tt.port {
			t.Errorf("parseSquid(%q) = %s", tt.line, evString(&ev))
		}
	}
}
