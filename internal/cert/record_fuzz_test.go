package cert_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
)

// FuzzParseRecord feeds arbitrary --baseline files to ParseRecord and
// what it accepts to CompareBaseline (the rollback plan): no panic, a
// record that parses also re-marshals and parses again, and the plan has
// at most one step per handshake.
func FuzzParseRecord(f *testing.F) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	leaf := cert.Facts{Subject: "CN=example.com", SHA256: strings.Repeat("AB:", 31) + "AB", Serial: "1", NotAfter: at.AddDate(0, 3, 0)}
	rec := &cert.Record{Schema: cert.RecordSchema, Command: "cert probe", RecordedAt: at,
		Endpoints: []cert.RecordEndpoint{{Endpoint: "alb-1", Address: "lb:443", Dialed: "10.0.0.5:443", ServerName: "example.com", SNI: true, Chain: []cert.Facts{leaf}},
			{Endpoint: "alb-2", Address: "lb2:443", Dialed: "10.0.0.6:443", ServerName: "example.com", SNI: true, Error: "refused"}}}
	seed, err := rec.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"schema":"kensa/cert-record/v1","endpoints":[{"chain":[]},{"chain":[{}]}]}`))
	f.Add([]byte(`{"schema":"kensa/cert-record/v1","endpoints":null,"current":{},"new":{}}`))
	other := leaf
	other.SHA256 = strings.Repeat("CD:", 31) + "CD"
	results := func() []*cert.ProbeResult {
		return []*cert.ProbeResult{
			{Endpoint: "alb-1", Address: "lb:443", Dialed: "10.0.0.5:443", ServerName: "example.com", SNI: true, OK: true, Leaf: &other},
			{Endpoint: "alb-2", Address: "lb2:443", Dialed: "10.0.0.6:443", ServerName: "example.com", SNI: true, OK: true, Leaf: &leaf},
			{Endpoint: "alb-3", Address: "lb3:443", ServerName: "example.com", SNI: true, Error: "no TLS handshake within 5s"},
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := cert.ParseRecord(data)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("a parsed record does not marshal: %v", err)
		}
		if _, err := cert.ParseRecord(again); err != nil {
			t.Fatalf("a re-marshalled record does not parse: %v\n%s", err, again)
		}
		for _, expecting := range []bool{false, true} {
			rs := results()
			plan, _ := cert.CompareBaseline(rs, r, expecting)
			if len(plan) > len(rs) {
				t.Fatalf("%d rollback steps for %d handshakes", len(plan), len(rs))
			}
		}
	})
}
