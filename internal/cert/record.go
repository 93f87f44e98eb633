package cert

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// RecordSchema is the schema of record files.
const RecordSchema = "kensa/cert-record/v1"

// Record is the contingency plan's memory: what each endpoint served (or
// what the current and new certificates were), with the certificates'
// PEM so the previous one is at hand for a rollback. It holds
// certificates only: a private key is never part of a record.
type Record struct {
	Schema  string `json:"schema"`
	Command string `json:"command"`
	// RecordedAt is when the record was made. The constructors set it to
	// the evaluation time; the caller sets the run's own time.
	RecordedAt time.Time        `json:"recorded_at"`
	Endpoints  []RecordEndpoint `json:"endpoints,omitempty"`
	// Current and New are set by "cert check --record".
	Current *Facts  `json:"current,omitempty"`
	New     *Facts  `json:"new,omitempty"`
	Chain   []Facts `json:"chain,omitempty"`
}

// RecordEndpoint is what one handshake saw.
type RecordEndpoint struct {
	Endpoint   string `json:"endpoint"`
	Address    string `json:"address"`
	Dialed     string `json:"dialed"`
	ServerName string `json:"servername"`
	SNI        bool   `json:"sni"`
	Error      string `json:"error,omitempty"`
	// Chain is what the server sent, the leaf first, each with its PEM.
	Chain []Facts `json:"chain,omitempty"`
}

// NewProbeRecord records probe results.
func NewProbeRecord(results []*ProbeResult, at time.Time) *Record {
	rec := &Record{Schema: RecordSchema, Command: "cert probe", RecordedAt: at.UTC()}
	for _, r := range results {
		e := RecordEndpoint{Endpoint: r.Endpoint, Address: r.Address, Dialed: r.Dialed, ServerName: r.ServerName, SNI: r.SNI, Error: r.Error}
		for _, c := range r.certs {
			e.Chain = append(e.Chain, FactsOf(c, at).WithPEM(c))
		}
		rec.Endpoints = append(rec.Endpoints, e)
	}
	return rec
}

// NewCheckRecord records the certificate in service and its replacement.
func NewCheckRecord(res CheckResult, at time.Time) *Record {
	rec := &Record{Schema: RecordSchema, Command: "cert check", RecordedAt: at.UTC()}
	f := FactsOf(res.LeafCert, at).WithPEM(res.LeafCert)
	rec.New = &f
	if res.CurrentCert != nil {
		c := FactsOf(res.CurrentCert, at).WithPEM(res.CurrentCert)
		rec.Current = &c
	}
	for _, c := range res.Chain.Path[1:] {
		c.Facts.PEM = ""
		rec.Chain = append(rec.Chain, c.Facts)
	}
	return rec
}

// Marshal renders the record as indented JSON.
func (r *Record) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParseRecord reads a record file written by --record.
func ParseRecord(data []byte) (*Record, error) {
	if len(data) > MaxRecordSize {
		return nil, fmt.Errorf("record larger than %d MiB", MaxRecordSize>>20)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("not a kensa record: %w", err)
	}
	if r.Schema != RecordSchema {
		return nil, fmt.Errorf("schema %q is not %s (was it written by kensa cert probe --record?)", r.Schema, RecordSchema)
	}
	return &r, nil
}

// MaxRecordSize is the largest record ParseRecord reads: thousands of
// endpoints with their chains' PEM.
const MaxRecordSize = 64 << 20

// RollbackStep names, for one endpoint whose certificate changed, the
// certificate it served before.
type RollbackStep struct {
	Endpoint   string `json:"endpoint"`
	Address    string `json:"address"`
	Dialed     string `json:"dialed"`
	ServerName string `json:"servername"`
	SNI        bool   `json:"sni"`
	Now        *Facts `json:"now,omitempty"`
	Previous   Facts  `json:"previous"`
	// RecordIndex is the index of the endpoint in the baseline record,
	// where the previous chain's PEM is.
	RecordIndex int `json:"record_index"`
}

// CompareBaseline marks each result with what changed since the baseline
// and returns the rollback plan (one step per endpoint whose certificate
// changed) and findings: an endpoint that still serves the certificate
// other endpoints of the run moved away from is stale-certificate (a
// second load balancer forgotten), unless an expectation (--expect)
// already judges it.
func CompareBaseline(results []*ProbeResult, base *Record, expecting bool) ([]RollbackStep, []report.Finding) {
	type key struct {
		endpoint, address, dialed, servername string
		sni                                   bool
	}
	idx := map[key]int{}
	loose := map[key]int{}
	for i, e := range base.Endpoints {
		idx[key{e.Endpoint, e.Address, e.Dialed, e.ServerName, e.SNI}] = i
		loose[key{e.Endpoint, e.Address, "", e.ServerName, e.SNI}] = i
	}
	var plan []RollbackStep
	var unchanged []*ProbeResult
	changed := 0
	var older []report.Finding
	movedFrom, movedTo := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		i, ok := idx[key{r.Endpoint, r.Address, r.Dialed, r.ServerName, r.SNI}]
		if !ok {
			i, ok = loose[key{r.Endpoint, r.Address, "", r.ServerName, r.SNI}]
		}
		if !ok || len(base.Endpoints[i].Chain) == 0 {
			r.Change = "new"
			continue
		}
		prev := base.Endpoints[i].Chain[0]
		prev.PEM = ""
		r.Previous = &prev
		if r.Leaf != nil && r.Leaf.SHA256 == prev.SHA256 {
			r.Change = "unchanged"
			unchanged = append(unchanged, r)
			continue
		}
		r.Change = "changed"
		if r.Leaf != nil {
			changed++
			movedFrom[prev.SHA256] = true
			movedTo[r.Leaf.SHA256] = true
			// Issued before what was served: an older certificate. (An
			// earlier not after alone is no sign: a 200-day renewal of a
			// 398-day certificate may end sooner.)
			if r.Leaf.NotBefore.Before(prev.NotBefore) {
				older = append(older, report.Finding{ID: "not-newer", Severity: report.Error, Subject: r.Label(),
					Address: r.Dialed, ServerName: r.ServerName,
					Message: fmt.Sprintf("%s now serves %q (SHA-256 %s, issued %s, not after %s), older than the certificate it served at the baseline (%q, issued %s, not after %s): an older or wrong certificate was deployed",
						r.where(), ShortName(r.certs[0]), r.Leaf.SHA256, r.Leaf.NotBefore.Format(time.DateOnly), r.Leaf.NotAfter.Format(time.DateOnly), prev.Subject, prev.NotBefore.Format(time.DateOnly), prev.NotAfter.Format(time.DateOnly)),
					Remediation: "deploy the renewed certificate on this listener (compare serial and SHA-256 with what the CA issued); if this is a deliberate rollback, pass --expect with the certificate you rolled back to",
					Citation:    citeRenewalNewer})
			}
		}
		plan = append(plan, RollbackStep{Endpoint: r.Endpoint, Address: r.Address, Dialed: r.Dialed, ServerName: r.ServerName, SNI: r.SNI,
			Now: r.Leaf, Previous: prev, RecordIndex: i})
	}
	fs := older
	if !expecting && changed > 0 {
		for _, r := range unchanged {
			// Still on a certificate other endpoints moved away from.
			if !movedFrom[r.Leaf.SHA256] || movedTo[r.Leaf.SHA256] {
				continue
			}
			fs = append(fs, report.Finding{ID: "stale-certificate", Severity: report.Warning, Subject: r.Label(),
				Address: r.Dialed, ServerName: r.ServerName,
				Message: fmt.Sprintf("%s still serves the certificate of the baseline (%q, SHA-256 %s, not after %s) while %d other handshakes now get a different one",
					r.where(), ShortName(r.certs[0]), r.Leaf.SHA256, r.Leaf.NotAfter.Format(time.DateOnly), changed),
				Remediation: "deploy the new certificate here too (a second load balancer or listener forgotten?), or pass --expect NEW.crt to state which certificate every endpoint must serve",
				Citation:    citeRenewalServed})
		}
	}
	return plan, fs
}
