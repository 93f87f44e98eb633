package watch_test

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/cert/watch"
)

// fleet serves an expired certificate, one without its intermediate, and
// a healthy one, on loopback.
func fleet(t *testing.T, now time.Time) ([]cert.Endpoint, *cert.Roots) {
	root := certtest.NewRoot("Exporter Root", certtest.P256)
	inter := root.Intermediate("Exporter CA", certtest.P256)
	var eps []cert.Endpoint
	for _, c := range []struct {
		name    string
		nb      time.Time
		noChain bool
	}{{"expired", now.AddDate(0, 0, -100), false}, {"nochain", now.AddDate(0, 0, -10), true}, {"fine", now.AddDate(0, 0, -10), false}} {
		leaf, key := inter.Issue(certtest.Leaf{DNS: []string{c.name + ".example"}, KeyType: certtest.P256, NotBefore: c.nb, Days: 90})
		chain := []*x509.Certificate{leaf, inter.Cert}
		if c.noChain {
			chain = chain[:1]
		}
		addr, stop := certtest.Serve(certtest.Served{Chain: chain, Key: key}, nil)
		t.Cleanup(stop)
		eps = append(eps, cert.Endpoint{Name: c.name, Addresses: []string{addr}, ServerNames: []string{c.name + ".example"}})
	}
	closed, stop := certtest.Stall()
	stop()
	eps = append(eps, cert.Endpoint{Name: "down", Addresses: []string{closed}, ServerNames: []string{"down.example"}})
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	return eps, &cert.Roots{Pool: pool, Source: "test"}
}

func startExporter(t *testing.T, o watch.Options) (*watch.Exporter, *httptest.Server) {
	e := watch.New(o)
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, srv
}

func get(t *testing.T, url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitRound(t *testing.T, e *watch.Exporter, n int64) {
	deadline := time.Now().Add(30 * time.Second)
	for e.Rounds() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d rounds after 30s, want %d", e.Rounds(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExporter: the certificate metrics of an expired and of an
// unverifiable endpoint are published; an unreachable one has its failure
// class; the metrics pass promlint; /-/ready turns 200 after a round.
func TestExporter(t *testing.T) {
	now := time.Now()
	eps, roots := fleet(t, now)
	e, srv := startExporter(t, watch.Options{Input: cert.WatchInput{Endpoints: eps,
		Probe: cert.ProbeOptions{Roots: roots, Timeout: 5 * time.Second, Concurrency: 4}}, Interval: time.Hour})
	waitRound(t, e, 1)
	if code, _ := get(t, srv.URL+"/-/ready"); code != 200 {
		t.Errorf("/-/ready = %d after a round", code)
	}
	if code, _ := get(t, srv.URL+"/-/healthy"); code != 200 {
		t.Errorf("/-/healthy = %d", code)
	}
	_, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`kensa_cert_chain_verified{address="` + eps[0].Addresses[0] + `",endpoint="expired",servername="expired.example"} 1`,
		`kensa_cert_chain_verified{address="` + eps[1].Addresses[0] + `",endpoint="nochain",servername="nochain.example"} 0`,
		`kensa_cert_probe_failure{address="` + eps[3].Addresses[0] + `",class="refused",endpoint="down",servername="down.example"} 1`,
		`kensa_cert_probe_success{address="` + eps[2].Addresses[0] + `",endpoint="fine",servername="fine.example"} 1`,
		`kensa_cert_watch_handshakes 4`,
		`kensa_cert_watch_rounds_total 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The expired endpoint's expiry is negative and still there.
	if !strings.Contains(body, `kensa_cert_leaf_expiry_seconds{address="`+eps[0].Addresses[0]+`",endpoint="expired",servername="expired.example"} -`) {
		t.Errorf("no negative expiry for the expired endpoint")
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestExporterReadyAndNeverBlocks: before the first round /-/ready is 503
// and /metrics answers at once, although the round is stuck on a server
// that never completes the handshake.
func TestExporterReadyAndNeverBlocks(t *testing.T) {
	stall, stop := certtest.Stall()
	defer stop()
	_, srv := startExporter(t, watch.Options{Input: cert.WatchInput{
		Endpoints: []cert.Endpoint{{Name: "stall", Addresses: []string{stall}, ServerNames: []string{"x.example"}}},
		Probe:     cert.ProbeOptions{Roots: &cert.Roots{Pool: x509.NewCertPool()}, Timeout: 20 * time.Second, Concurrency: 1}},
		Interval: time.Hour})
	time.Sleep(100 * time.Millisecond)
	if code, _ := get(t, srv.URL+"/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready = %d before the first round, want 503", code)
	}
	start := time.Now()
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 || time.Since(start) > 5*time.Second || !strings.Contains(body, "kensa_cert_watch_rounds_total 0") {
		t.Errorf("/metrics during the first round: %d after %s", code, time.Since(start))
	}
}

// TestExporterMaxHandshakes: series beyond --max-handshakes are counted,
// not published; the rounds repeat on the interval.
func TestExporterMaxHandshakes(t *testing.T) {
	eps, roots := fleet(t, time.Now())
	e, srv := startExporter(t, watch.Options{Input: cert.WatchInput{Endpoints: eps,
		Probe: cert.ProbeOptions{Roots: roots, Timeout: 5 * time.Second, Concurrency: 4}},
		Interval: 200 * time.Millisecond, Jitter: 0.1, MaxHandshakes: 2})
	waitRound(t, e, 3)
	_, body := get(t, srv.URL+"/metrics")
	if !strings.Contains(body, "kensa_cert_watch_handshakes_dropped 2") {
		t.Errorf("no dropped count")
	}
	if n := strings.Count(body, "\nkensa_cert_probe_success{"); n != 2 {
		t.Errorf("%d probe_success series, want 2", n)
	}
}
