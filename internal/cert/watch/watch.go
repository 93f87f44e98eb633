// Package watch is kensa cert watch's Prometheus exporter: a loop that runs
// a [cert.WatchRound] on every interval (with jitter) and a collector that
// publishes the last complete round. A scrape never waits for a probe: it
// reads the round that is already there, and computes the "seconds left"
// gauges at scrape time from the certificates' dates.
//
// The metrics (docs/cert-watch.md lists them with their labels):
// certificate gauges are published for every handshake that returned a
// certificate, whether or not its chain verifies and even after it
// expired (blackbox_exporter and ssl_exporter drop them exactly then,
// prometheus/blackbox_exporter#1119). Verification is its own gauge.
//
// Cardinality: every per-handshake series is labelled endpoint ×
// servername × address (the IP and port dialed), so their number is the
// number of handshakes of a round, capped by Options.MaxHandshakes (the
// rest are counted in kensa_cert_watch_handshakes_dropped, never silently
// lost). Label values that come from a server (subject and issuer common
// names) are truncated to [MaxLabelRunes] and made valid UTF-8. Identity
// series (_info) change value set only when the certificate changes; the
// old set disappears with the round that no longer sees it.
package watch

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kensa-project/kensa/internal/cert"
)

// MaxLabelRunes bounds a label value taken from a certificate.
const MaxLabelRunes = 64

// Options configure an [Exporter].
type Options struct {
	Input cert.WatchInput
	// Interval is the time from the start of one round to the start of
	// the next; Jitter the largest random fraction of it added or taken
	// off (0.1: ±10 %), so that many exporters do not probe in step.
	Interval time.Duration
	Jitter   float64
	// MaxHandshakes caps the per-handshake series of a round.
	MaxHandshakes int
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Exporter runs rounds and serves their metrics.
type Exporter struct {
	o        Options
	last     atomic.Pointer[cert.Round]
	rounds   atomic.Int64
	inRound  atomic.Bool
	started  atomic.Int64 // unix nanoseconds of the current/last round start
	registry *prometheus.Registry
}

// New returns an exporter; call Run to start its rounds.
func New(o Options) *Exporter {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxHandshakes <= 0 {
		o.MaxHandshakes = 5000
	}
	e := &Exporter{o: o, registry: prometheus.NewRegistry()}
	e.registry.MustRegister(e,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return e
}

// Gatherer returns the registry /metrics serves (the exporter's metrics,
// the Go runtime's and the process's).
func (e *Exporter) Gatherer() prometheus.Gatherer { return e.registry }

// Last returns the last complete round, or nil before the first.
func (e *Exporter) Last() *cert.Round { return e.last.Load() }

// Rounds returns how many rounds completed.
func (e *Exporter) Rounds() int64 { return e.rounds.Load() }

// Run runs rounds until ctx ends. Each round's "now" is the clock at its
// start.
func (e *Exporter) Run(ctx context.Context) {
	for {
		start := e.o.Now()
		e.started.Store(start.UnixNano())
		e.inRound.Store(true)
		in := e.o.Input
		in.Probe.At = start
		r := cert.WatchRound(ctx, in)
		e.inRound.Store(false)
		if !r.Complete {
			return // ctx ended mid-round: keep the last complete one
		}
		e.last.Store(r)
		e.rounds.Add(1)
		wait := e.o.Interval - time.Since(start)
		if e.o.Jitter > 0 {
			wait += time.Duration((rand.Float64()*2 - 1) * e.o.Jitter * float64(e.o.Interval))
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Handler serves /metrics, /-/healthy, /-/ready and a short page at /.
func (e *Exporter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, MaxRequestsInFlight: 8, Timeout: 30 * time.Second}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, r *http.Request) {
		// Unhealthy when a round has been running far longer than the
		// handshake timeouts allow: the loop is stuck.
		if e.inRound.Load() {
			limit := 10*e.o.Interval + 10*max(e.o.Input.Probe.Timeout, time.Second) + time.Minute
			if time.Since(time.Unix(0, e.started.Load())) > limit {
				http.Error(w, "a round has been running for more than "+limit.String(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("Healthy\n"))
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, r *http.Request) {
		if e.last.Load() == nil {
			http.Error(w, "the first round has not completed", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("Ready\n"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><head><title>kensa cert watch</title></head><body><h1>kensa cert watch</h1>
<p><a href="/metrics">Metrics</a> · <a href="/-/healthy">Healthy</a> · <a href="/-/ready">Ready</a></p></body></html>
`))
	})
	return mux
}

var (
	hsLabels   = []string{"endpoint", "servername", "address"}
	epLabels   = []string{"endpoint", "servername"}
	fileLabels = []string{"path"}
	certLabels = []string{"path", "index"}
)

func desc(name, help string, labels []string, extra ...string) *prometheus.Desc {
	return prometheus.NewDesc("kensa_cert_"+name, help, append(append([]string{}, labels...), extra...), nil)
}

// descSet is the exporter's metric descriptions, built on first use
// (a scrape or a registration): every other kensa command runs without
// building them at start.
type descSet struct {
	Success       *prometheus.Desc
	Failure       *prometheus.Desc
	Duration      *prometheus.Desc
	LeafNotAfter  *prometheus.Desc
	LeafNotBefore *prometheus.Desc
	LeafLeft      *prometheus.Desc
	ChainNotAfter *prometheus.Desc
	ChainLeft     *prometheus.Desc
	Ratio         *prometheus.Desc
	Verified      *prometheus.Desc
	Expected      *prometheus.Desc
	LeafInfo      *prometheus.Desc
	TLSInfo       *prometheus.Desc
	PQ            *prometheus.Desc
	FIPS          *prometheus.Desc
	EPHandshakes  *prometheus.Desc
	EPExpected    *prometheus.Desc
	FileOK        *prometheus.Desc
	FileVerified  *prometheus.Desc
	FileNotAfter  *prometheus.Desc
	FileLeft      *prometheus.Desc
	FileRatio     *prometheus.Desc
	Rounds        *prometheus.Desc
	RoundDuration *prometheus.Desc
	RoundEnd      *prometheus.Desc
	RoundHS       *prometheus.Desc
	Dropped       *prometheus.Desc
	all           []*prometheus.Desc // in the order above
}

var descs = sync.OnceValue(func() *descSet {
	ds := &descSet{
		Success:       desc("probe_success", "1 when the TLS handshake completed and returned a certificate, else 0.", hsLabels),
		Failure:       desc("probe_failure", "1 for a failed handshake, labelled with its class (dns, refused, timeout, tls_alert, not_tls, bad_certificate, too_large, tls, network, too_many).", hsLabels, "class"),
		Duration:      desc("probe_duration_seconds", "Time from dial to handshake done.", hsLabels),
		LeafNotAfter:  desc("leaf_not_after_timestamp_seconds", "notAfter of the served leaf certificate (unix seconds).", hsLabels),
		LeafNotBefore: desc("leaf_not_before_timestamp_seconds", "notBefore of the served leaf certificate (unix seconds).", hsLabels),
		LeafLeft:      desc("leaf_expiry_seconds", "Seconds from the scrape to the served leaf's notAfter (negative once expired).", hsLabels),
		ChainNotAfter: desc("chain_earliest_not_after_timestamp_seconds", "Earliest notAfter of the leaf's chain (the verified path, or what was served when it does not verify).", hsLabels),
		ChainLeft:     desc("chain_earliest_expiry_seconds", "Seconds from the scrape to the earliest notAfter of the chain.", hsLabels),
		Ratio:         desc("leaf_lifetime_remaining_ratio", "Fraction of the leaf's lifetime (notBefore to notAfter) left at the scrape; negative once expired.", hsLabels),
		Verified:      desc("chain_verified", "1 when the served chain verifies against the configured roots with only the served intermediates (no AIA), else 0. Published for expired and unverifiable certificates too.", hsLabels),
		Expected:      desc("expected", "1 when the served leaf is the expected one, 0 when not; by=expect (targets file or --expect) or by=majority (what most addresses of the endpoint serve). Absent when nothing is expected.", hsLabels, "by"),
		LeafInfo:      desc("leaf_info", "The served leaf's identity (value 1).", hsLabels, "sha256", "serial", "subject_cn", "issuer_cn"),
		TLSInfo:       desc("tls_info", "The negotiated TLS version, cipher suite and key exchange group (value 1; group empty for RSA key exchange).", hsLabels, "version", "cipher", "group"),
		PQ:            desc("tls_group_supported", "With --tls-posture: 1 when the endpoint completes a TLS 1.3 handshake offering only this hybrid post-quantum group.", hsLabels, "group"),
		FIPS:          desc("tls_fips_compatible", "With --tls-posture: 1 when a client limited to Go's FIPS 140-3 TLS policy could connect (versions, groups, suites, EMS for TLS 1.2, certificate key).", hsLabels),
		EPHandshakes:  desc("endpoint_addresses", "Handshakes (addresses × IPs) of an endpoint and server name in the last round.", epLabels),
		EPExpected:    desc("endpoint_addresses_serving_expected", "Handshakes of an endpoint and server name that served the expected certificate (absent when nothing is expected: no expect and no majority).", epLabels),
		FileOK:        desc("file_read_success", "1 when the watched file was read and holds certificates.", fileLabels),
		FileVerified:  desc("file_chain_verified", "1 when the file's leaf verifies with the file's other certificates and the roots (no AIA).", fileLabels),
		FileNotAfter:  desc("file_not_after_timestamp_seconds", "notAfter of each certificate of a watched file (index 0 is the first in the file).", certLabels, "subject_cn", "is_ca"),
		FileLeft:      desc("file_expiry_seconds", "Seconds from the scrape to each certificate's notAfter.", certLabels),
		FileRatio:     desc("file_lifetime_remaining_ratio", "Fraction of each certificate's lifetime left at the scrape.", certLabels),
		Rounds:        prometheus.NewDesc("kensa_cert_watch_rounds_total", "Rounds completed since start.", nil, nil),
		RoundDuration: prometheus.NewDesc("kensa_cert_watch_round_duration_seconds", "Duration of the last complete round.", nil, nil),
		RoundEnd:      prometheus.NewDesc("kensa_cert_watch_last_round_timestamp_seconds", "When the last complete round ended (unix seconds).", nil, nil),
		RoundHS:       prometheus.NewDesc("kensa_cert_watch_handshakes", "Handshakes in the last complete round.", nil, nil),
		Dropped:       prometheus.NewDesc("kensa_cert_watch_handshakes_dropped", "Handshakes of the last round not published (over --max-handshakes).", nil, nil),
	}
	ds.all = []*prometheus.Desc{ds.Success, ds.Failure, ds.Duration, ds.LeafNotAfter, ds.LeafNotBefore, ds.LeafLeft, ds.ChainNotAfter, ds.ChainLeft, ds.Ratio, ds.Verified, ds.Expected, ds.LeafInfo, ds.TLSInfo, ds.PQ, ds.FIPS, ds.EPHandshakes, ds.EPExpected, ds.FileOK, ds.FileVerified, ds.FileNotAfter, ds.FileLeft, ds.FileRatio, ds.Rounds, ds.RoundDuration, ds.RoundEnd, ds.RoundHS, ds.Dropped}
	return ds
})

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs().all {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// labelValue bounds a value taken from a certificate.
func labelValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > MaxLabelRunes {
		r := []rune(s)
		s = string(r[:MaxLabelRunes-1]) + "…"
	}
	return s
}

// commonName returns the CN of a distinguished name string ("CN=a,O=b").
func commonName(dn string) string {
	for _, part := range strings.Split(dn, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return v
		}
	}
	return ""
}

func secs(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// Collect implements prometheus.Collector: the last complete round.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ds := descs()
	r := e.last.Load()
	ch <- prometheus.MustNewConstMetric(ds.Rounds, prometheus.CounterValue, float64(e.rounds.Load()))
	if r == nil {
		return
	}
	now := e.o.Now()
	g := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	g(ds.RoundDuration, r.Duration.Seconds())
	g(ds.RoundEnd, secs(r.Started.Add(r.Duration)))
	g(ds.RoundHS, float64(len(r.Results)))
	results := r.Results
	dropped := max(0, len(results)-e.o.MaxHandshakes)
	results = results[:len(results)-dropped]
	g(ds.Dropped, float64(dropped))
	type epKey struct{ ep, sn string }
	epCount := map[epKey][3]int{} // handshakes, serving the expected, with an expectation
	var epOrder []epKey
	for _, p := range results {
		addr := p.Dialed
		if addr == "" {
			addr = p.Address
		}
		lv := []string{p.Label(), p.ServerName, addr}
		k := epKey{p.Label(), p.ServerName}
		c, seen := epCount[k]
		if !seen {
			epOrder = append(epOrder, k)
		}
		c[0]++
		if p.Expected != nil && *p.Expected {
			c[1]++
		}
		if p.Expected != nil {
			c[2]++
		}
		epCount[k] = c
		g(ds.Success, b2f(p.OK), lv...)
		if !p.OK {
			g(ds.Failure, 1, append(lv, p.FailureClass)...)
			continue
		}
		g(ds.Duration, float64(p.HandshakeMS)/1000, lv...)
		g(ds.TLSInfo, 1, append(lv, p.TLSVersion, p.CipherSuite, p.Group)...)
		if l := p.Leaf; l != nil {
			g(ds.LeafNotAfter, secs(l.NotAfter), lv...)
			g(ds.LeafNotBefore, secs(l.NotBefore), lv...)
			g(ds.LeafLeft, l.NotAfter.Sub(now).Seconds(), lv...)
			if life := l.NotAfter.Sub(l.NotBefore); life > 0 {
				g(ds.Ratio, l.NotAfter.Sub(now).Seconds()/life.Seconds(), lv...)
			}
			g(ds.LeafInfo, 1, append(lv, l.SHA256, l.Serial, labelValue(commonName(l.Subject)), labelValue(commonName(l.Issuer)))...)
			earliest := l.NotAfter
			if p.Chain != nil && p.Chain.Trusted {
				for _, c := range p.Chain.Path {
					if c.NotAfter.Before(earliest) {
						earliest = c.NotAfter
					}
				}
			} else {
				for _, c := range p.Served {
					if c.NotAfter.Before(earliest) {
						earliest = c.NotAfter
					}
				}
			}
			g(ds.ChainNotAfter, secs(earliest), lv...)
			g(ds.ChainLeft, earliest.Sub(now).Seconds(), lv...)
		}
		g(ds.Verified, b2f(p.Chain != nil && p.Chain.Trusted), lv...)
		if p.Expected != nil {
			g(ds.Expected, b2f(*p.Expected), append(lv, p.ExpectedBy)...)
		}
		if pos := p.Posture; pos != nil {
			for _, gs := range pos.PQGroups {
				g(ds.PQ, b2f(gs.Supported), append(lv, gs.Group)...)
			}
			g(ds.FIPS, b2f(pos.FIPS.Compatible), lv...)
		}
	}
	for _, k := range epOrder {
		c := epCount[k]
		g(ds.EPHandshakes, float64(c[0]), k.ep, k.sn)
		if c[2] > 0 {
			g(ds.EPExpected, float64(c[1]), k.ep, k.sn)
		}
	}
	for _, f := range r.Files {
		g(ds.FileOK, b2f(f.OK()), f.Path)
		if !f.OK() {
			continue
		}
		g(ds.FileVerified, b2f(f.Chain != nil && f.Chain.Trusted), f.Path)
		for i, c := range f.Certificates {
			idx := itoa(i)
			g(ds.FileNotAfter, secs(c.NotAfter), f.Path, idx, labelValue(commonName(c.Subject)), boolLabel(c.IsCA))
			g(ds.FileLeft, c.NotAfter.Sub(now).Seconds(), f.Path, idx)
			if life := c.NotAfter.Sub(c.NotBefore); life > 0 {
				g(ds.FileRatio, c.NotAfter.Sub(now).Seconds()/life.Seconds(), f.Path, idx)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
func boolLabel(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
