package watch_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/watch"
)

// BenchmarkScrape measures one /metrics gather of a round of 5,000
// handshakes (the default --max-handshakes), each with a leaf, a verified
// chain of two and an expectation: the cost a scrape pays, never a probe.
func BenchmarkScrape(b *testing.B) {
	now := time.Now()
	leaf := cert.Facts{Subject: "CN=shop.example", Issuer: "CN=Bench CA", SHA256: "AB:CD", Serial: "01",
		NotBefore: now.AddDate(0, 0, -10), NotAfter: now.AddDate(0, 0, 80)}
	r := &cert.Round{Started: now, Duration: time.Second, Complete: true}
	for i := range 5000 {
		ok := i%50 != 0
		expected := i%7 != 0
		p := &cert.ProbeResult{Endpoint: fmt.Sprintf("ep-%d", i/3), Dialed: fmt.Sprintf("10.0.%d.%d:443", i/250, i%250), ServerName: "shop.example",
			SNI: true, OK: ok, TLSVersion: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", Group: "X25519MLKEM768"}
		if ok {
			l := leaf
			p.Leaf = &l
			p.Served = []cert.Facts{leaf, leaf}
			p.Chain = &cert.ChainResult{Trusted: true, Path: []cert.ChainCert{{Role: "leaf", Facts: leaf}, {Role: "intermediate", Facts: leaf}}}
			p.Expected, p.ExpectedBy = &expected, "majority"
		} else {
			p.FailureClass = "timeout"
		}
		r.Results = append(r.Results, p)
	}
	e := watch.New(watch.Options{Interval: time.Minute})
	e.SetLast(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Gatherer().Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
