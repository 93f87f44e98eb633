package reach_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/egress/reach"
	"github.com/kensa-project/kensa/internal/egress/reach/reachtest"
)

func listen(t *testing.T) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, l.Addr().(*net.TCPAddr).Port
}

// TestLoopbackClasses produces every failure class a loopback network
// can (everything but the drops, which need a firewall: see the netns
// test) with real servers and a real DNS server, and checks each is
// named right, layer and class.
func TestLoopbackClasses(t *testing.T) {
	dns := reachtest.NewDNS()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go dns.ServeUDP(pc)
	dl, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	go dns.ServeTCP(dl)

	pki := reachtest.NewPKI("kensa test public root")
	inspect := reachtest.NewPKI("Contoso TLS Inspection CA")
	serve := func(name string, f func(net.Listener)) int {
		l, port := listen(t)
		dns.Add(name, "127.0.0.1")
		go f(l)
		return port
	}
	ok := serve("ok.test", func(l net.Listener) { reachtest.ServeHTTPS(l, pki.Cert("ok.test"), "hello") })
	reset := serve("reset.test", func(l net.Listener) { reachtest.ResetAfterHello(l, true) })
	closed := serve("closed.test", func(l net.Listener) { reachtest.ResetAfterHello(l, false) })
	alert := serve("alert.test", reachtest.Alert)
	intercepted := serve("intercepted.test", (&reachtest.Interceptor{PKI: inspect}).Serve)
	wrongName := serve("wrong-name.test", func(l net.Listener) { reachtest.ServeHTTPS(l, pki.Cert("other.test"), "x") })
	silentTLS := serve("silent-tls.test", func(l net.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	})
	azfw := serve("azfw.test", reachtest.AzureFirewallHTTP)
	squidPage := serve("squid-page.test", func(l net.Listener) {
		reachtest.ServeHTTP(l, 403, http.Header{"X-Squid-Error": {"ERR_ACCESS_DENIED 0"}, "Server": {"squid/5.7"}}, "<html>Access Denied</html>")
	})
	captive := serve("captive.test", func(l net.Listener) { reachtest.ServeHTTP(l, 511, nil, "<html>log in</html>") })
	signIn := serve("signin.test", func(l net.Listener) {
		reachtest.ServeHTTPSRedirect(l, pki.Cert("signin.test"), "https://login.idp.example/oauth2/authorize?client_id=x")
	})
	portal := serve("portal.test", func(l net.Listener) {
		reachtest.ServeHTTP(l, 302, http.Header{"Location": {"http://hotspot.example/login?orig=portal.test"}}, "")
	})
	notFound := serve("notfound.test", func(l net.Listener) { reachtest.ServeHTTP(l, 404, nil, "no such page") })
	lc, closedPort := listen(t)
	lc.Close()
	dns.Add("refused.test", "127.0.0.1")
	dns.Refused["dns-refused.test"] = true
	dns.Silent["dns-silent.test"] = true
	dns.Add("acct.privatelink.blob.test", "127.0.0.1")
	dns.Add("two.test", "127.0.0.2", "127.0.0.1") // nothing listens on 127.0.0.2
	dns.CNAME["acct.blob.test"] = "acct.privatelink.blob.test"

	p := strconv.Itoa
	cases := []struct {
		dest, status, layer, class string
	}{
		{"https://ok.test:" + p(ok), "reachable", "", ""},
		{"https://reset.test:" + p(reset), "blocked", "tls", reach.ClassTLSResetAfterHello},
		{"https://closed.test:" + p(closed), "blocked", "tls", reach.ClassTLSResetAfterHello},
		{"https://alert.test:" + p(alert), "blocked", "tls", reach.ClassTLSAlert},
		{"https://intercepted.test:" + p(intercepted), "blocked", "tls", reach.ClassTLSIntercepted},
		{"https://wrong-name.test:" + p(wrongName), "blocked", "tls", reach.ClassTLSFailed},
		{"https://silent-tls.test:" + p(silentTLS), "blocked", "tls", reach.ClassTLSTimeout},
		{"http://azfw.test:" + p(azfw), "blocked", "http", reach.ClassHTTPDenied},
		{"http://squid-page.test:" + p(squidPage), "blocked", "http", reach.ClassHTTPDenied},
		{"http://captive.test:" + p(captive), "blocked", "http", reach.ClassHTTPDenied},
		{"http://notfound.test:" + p(notFound), "reachable", "", ""},
		{"https://refused.test:" + p(closedPort), "blocked", "tcp", reach.ClassTCPRefused},
		{"tcp://refused.test:" + p(closedPort), "blocked", "tcp", reach.ClassTCPRefused},
		{"tcp://reset.test:" + p(reset), "reachable", "", ""}, // what nc -vz sees
		{"nx.test", "blocked", "dns", reach.ClassDNSNXDomain},
		{"dns-refused.test", "blocked", "dns", reach.ClassDNSFailed},
		{"dns-silent.test", "blocked", "dns", reach.ClassDNSTimeout},
		{"https://signin.test:" + p(signIn), "reachable", "", ""}, // its own sign-in redirect
		{"http://portal.test:" + p(portal), "blocked", "http", reach.ClassHTTPDenied},
		{"tcp://acct.blob.test:" + p(ok), "reachable", "", ""},
		{"tcp://two.test:" + p(ok), "reachable", "", ""},
	}
	var targets []reach.Target
	for _, c := range cases {
		tg, err := reach.ParseDest(c.dest)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, tg)
	}
	pool := pki.Pool()
	to := 3 * time.Second // generous: the machine may be loaded; only the silent cases wait for it
	res := reach.Probe(context.Background(), targets, reach.Options{
		Resolver: pc.LocalAddr().String(), Roots: pool,
		Timeouts: reach.Timeouts{DNS: to, TCP: to, TLS: to, HTTP: to}, Concurrency: 32,
	})
	for i, c := range cases {
		r := res[i]
		if r.Status != c.status || r.Layer != c.layer || r.Class != c.class {
			t.Errorf("%s: got %s/%s/%s (%s), want %s/%s/%s", c.dest, r.Status, r.Layer, r.Class, r.Detail, c.status, c.layer, c.class)
		}
	}
	// The firewall's case: TCP connected, TLS reset, and the finding says
	// a TCP-only check would pass.
	if r := res[1]; r.TCP == nil || !r.TCP.Connected {
		t.Errorf("reset.test: TCP %+v, want connected", r.TCP)
	}
	if r := res[4]; r.TLS == nil || !strings.Contains(r.TLS.Issuer, "CN=Contoso TLS Inspection CA") || r.TLS.Verified {
		t.Errorf("intercepted.test: TLS %+v, want the inspection CA as issuer, unverified", r.TLS)
	}
	if r := res[0]; r.HTTP == nil || r.HTTP.Status != 200 || r.TLS == nil || !r.TLS.Verified || r.TLS.ServerName != "ok.test" {
		t.Errorf("ok.test: %+v %+v", r.TLS, r.HTTP)
	}
	if r := res[7]; r.HTTP == nil || r.HTTP.Answer != reach.AnswerAzureFirewall || r.HTTP.Status != 470 {
		t.Errorf("azfw.test: %+v", r.HTTP)
	}
	if r := res[len(res)-1]; r.TCP == nil || len(r.TCP.Failed) != 1 || !strings.HasPrefix(r.TCP.Failed[0], "127.0.0.2:") || r.TCP.Address != "127.0.0.1:"+p(ok) {
		t.Errorf("two.test: tcp %+v, want 127.0.0.2 refused, then 127.0.0.1", r.TCP)
	}
	if r := res[len(res)-2]; r.DNS == nil || r.DNS.CNAME != "acct.privatelink.blob.test" || !r.DNS.PrivateLink {
		t.Errorf("acct.blob.test: dns %+v, want the privatelink CNAME", r.DNS)
	}
	fs := reach.Findings(res)
	if len(fs) != 15 {
		t.Errorf("%d findings, want 15 (one per blocked destination)", len(fs))
	}
	for _, f := range fs {
		if f.Subject == "reset.test:"+p(reset) && !strings.Contains(f.Message, "nc -vz") {
			t.Errorf("reset finding does not say a TCP-only check passes: %s", f.Message)
		}
	}
	sum := reach.Summarize(res, nil, fs)
	if sum.Blocked != 15 || sum.Reachable != 6 || sum.TCPOnlyWouldPass < 3 {
		t.Errorf("summary %+v", sum)
	}
}

// TestJoinCatalog: a --dest the catalog knows names its service and
// what fails without it; one it does not know has none.
func TestJoinCatalog(t *testing.T) {
	ts := []reach.Target{{Host: "files.pythonhosted.org", Port: 443, Protocol: "https"}, {Host: "unknown.example", Port: 443, Protocol: "https"}}
	reach.JoinCatalog(ts, egress.DefaultCatalog())
	if s := ts[0].Service; s == nil || s.ID != "pypi" || s.Source == "" || s.AsOf == "" {
		t.Errorf("files.pythonhosted.org: service %+v, want pypi with source and date", s)
	}
	if ts[1].Service != nil {
		t.Errorf("unknown.example: service %+v, want none", ts[1].Service)
	}
}
