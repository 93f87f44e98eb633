package cert

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/limitio"
	"github.com/kensa-project/kensa/internal/report"
)

// A watch round is what `kensa cert watch` does on every interval and what
// `--once` reports: every endpoint probed with [ProbeAll], the expected
// certificate decided per endpoint (its expect, or the certificate most of
// its addresses serve), and every watched certificate file read again
// (a bundle waiting for deployment expires too).

// MaxWatchedFiles bounds the files one round reads under --dir.
const MaxWatchedFiles = 10_000

// watchedExt are the extensions read under a --dir (a --file is read
// whatever its name).
var watchedExt = []string{".pem", ".crt", ".cer", ".cert", ".der", ".p12", ".pfx"}

// FileResult is one watched certificate file.
type FileResult struct {
	Path   string `json:"path"`
	Format string `json:"format,omitempty"`
	Error  string `json:"error,omitempty"`
	// Certificates are the file's certificates in order.
	Certificates []Facts `json:"certificates,omitempty"`
	// Chain is the leaf's chain built with the file's other certificates
	// and the roots (no AIA).
	Chain *ChainResult `json:"chain,omitempty"`

	findings []report.Finding
}

// OK reports whether the file was read.
func (f *FileResult) OK() bool { return f.Error == "" }

// WatchInput is what a round watches.
type WatchInput struct {
	Endpoints []Endpoint
	// Files are certificate files; Dirs directories whose certificate
	// files (by extension, recursively) are read.
	Files, Dirs []string
	// Password opens the watched PKCS#12 files that have one (all of
	// them: one password for the bundles of a deployment).
	Password []byte
	Probe    ProbeOptions
}

// Items returns the round as report results: one per handshake (cert
// probe's result type), then one per watched file.
func (r *Round) Items() []any {
	out := make([]any, 0, len(r.Results)+len(r.Files))
	for _, x := range r.Results {
		out = append(out, x)
	}
	for _, f := range r.Files {
		out = append(out, f)
	}
	return out
}

// Round is the outcome of one watch round.
type Round struct {
	Started  time.Time        `json:"started"`
	Duration time.Duration    `json:"-"`
	Results  []*ProbeResult   `json:"endpoints"`
	Files    []*FileResult    `json:"files,omitempty"`
	Findings []report.Finding `json:"-"`
	// Complete is false when the round was cut short (the context ended).
	Complete bool `json:"complete"`
}

// WatchRound runs one round. It never fails as a whole: an endpoint or a
// file that cannot be read is a result with its error and a finding.
func WatchRound(ctx context.Context, in WatchInput) *Round {
	r := &Round{Started: time.Now()}
	if len(in.Endpoints) > 0 {
		r.Results, r.Findings = ProbeAll(ctx, in.Endpoints, in.Probe)
		// A round judges the addresses of an endpoint × name against an
		// expectation where it has one (the targets' expect, or what a
		// strict majority of its addresses serve): there
		// stale-certificate or stale-on-some-addresses says which address
		// differs, and probe's certificates-differ would only repeat it.
		// Where nothing decides (a tie: two addresses, two certificates)
		// certificates-differ stays, so a split is never silent.
		stale := DecideMajority(r.Results)
		r.Findings = slices.DeleteFunc(r.Findings, func(f report.Finding) bool {
			return f.ID == "certificates-differ" && slices.ContainsFunc(r.Results, func(p *ProbeResult) bool {
				return p.ExpectedBy != "" && p.Label() == f.Subject && p.ServerName == f.ServerName
			})
		})
		r.Findings = append(r.Findings, stale...)
	}
	var ffs []report.Finding
	r.Files, ffs = CheckFiles(in.Files, in.Dirs, in.Password, in.Probe.Roots, in.Probe.At, in.Probe.Remaining)
	r.Findings = append(r.Findings, ffs...)
	r.Duration = time.Since(r.Started)
	r.Complete = ctx.Err() == nil
	return r
}

// DecideMajority sets the expectation of the handshakes of every endpoint
// × server name that has no expect of its own: the certificate most of
// its addresses serve (a strict plurality; on a tie nothing is decided).
// The handshakes that serve another one get stale-on-some-addresses.
func DecideMajority(results []*ProbeResult) []report.Finding {
	type key struct {
		label, name string
		sni         bool
	}
	groups := map[key][]*ProbeResult{}
	var order []key
	for _, r := range results {
		k := key{r.Label(), r.ServerName, r.SNI}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var fs []report.Finding
	for _, k := range order {
		g := groups[k]
		if slices.ContainsFunc(g, func(r *ProbeResult) bool { return r.Expected != nil }) {
			for _, r := range g {
				if r.Expected != nil {
					r.ExpectedBy = "expect"
				}
			}
			continue
		}
		count := map[string]int{}
		ok := 0
		for _, r := range g {
			if r.OK && r.Leaf != nil {
				count[r.Leaf.SHA256]++
				ok++
			}
		}
		if ok < 2 || len(count) < 1 {
			continue
		}
		best, n, tie := "", 0, false
		for fp, c := range count {
			switch {
			case c > n:
				best, n, tie = fp, c, false
			case c == n:
				tie = true
			}
		}
		if tie {
			continue
		}
		for _, r := range g {
			if !r.OK || r.Leaf == nil {
				continue
			}
			match := r.Leaf.SHA256 == best
			r.Expected, r.ExpectedBy = &match, "majority"
			if !match {
				fs = append(fs, report.Finding{ID: "stale-on-some-addresses", Severity: report.Error, Subject: r.Label(),
					Address: r.Dialed, ServerName: r.ServerName,
					Message: fmt.Sprintf("%s serves %q (SHA-256 %s, not after %s) while %d of the %d addresses that answered serve SHA-256 %s",
						r.where(), r.Leaf.Subject, r.Leaf.SHA256, r.Leaf.NotAfter.Format(time.DateOnly), n, ok, best),
					Remediation: "install the certificate the other addresses serve on this one too (or give the endpoint an expect: in the targets file if the majority is the old one)",
					Citation:    citeRenewalServed})
			}
		}
	}
	return fs
}

// CheckFiles reads every file and every certificate file under the
// directories, and checks each: read, validity, chain (with the file's
// own certificates and the roots, no AIA). One unreadable file is a
// result with its error and a finding; the others are still read.
func CheckFiles(files, dirs []string, password []byte, roots *Roots, at time.Time, t Threshold) ([]*FileResult, []report.Finding) {
	paths := slices.Clone(files)
	var out []*FileResult
	var found []report.Finding
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				out = append(out, &FileResult{Path: p, Error: err.Error()})
				return nil
			}
			if de.IsDir() || !de.Type().IsRegular() {
				return nil
			}
			if !slices.Contains(watchedExt, strings.ToLower(filepath.Ext(p))) {
				return nil
			}
			if len(paths) >= MaxWatchedFiles {
				return errTooManyFiles
			}
			paths = append(paths, p)
			return nil
		})
		if errors.Is(err, errTooManyFiles) {
			out = append(out, &FileResult{Path: d, Error: fmt.Sprintf("more than %d certificate files: the rest were not read", MaxWatchedFiles)})
		}
	}
	slices.Sort(paths[len(files):])
	for _, p := range paths {
		out = append(out, checkFile(p, password, roots, at, t))
	}
	for _, f := range out {
		if f.Error != "" {
			found = append(found, report.Finding{ID: "cert-file-unreadable", Severity: report.Error, Subject: f.Path,
				Message:     fmt.Sprintf("%s could not be read: %s", f.Path, f.Error),
				Remediation: "check that the file exists, is readable by kensa and holds certificates (PEM, DER, or PKCS#12: give its password with --password-file or --password-env)",
				Citation:    citeUnchecked})
			continue
		}
		found = append(found, f.findings...)
	}
	return out, found
}

var errTooManyFiles = errors.New("too many files")

func checkFile(p string, password []byte, roots *Roots, at time.Time, t Threshold) *FileResult {
	f := &FileResult{Path: p}
	data, err := limitio.ReadFile(p, MaxFileSize, "a certificate file")
	if err != nil {
		f.Error = err.Error()
		return f
	}
	b, err := ParseBundle(data, password)
	if err != nil {
		f.Error = err.Error()
		return f
	}
	if len(b.Certs) == 0 {
		f.Error = "no certificate in the file"
		return f
	}
	f.Format = b.Format
	for _, c := range b.Certs {
		f.Certificates = append(f.Certificates, FactsOf(c, at))
	}
	li := slices.IndexFunc(b.Certs, func(c *x509.Certificate) bool { return !c.IsCA })
	if li < 0 {
		li = 0
	}
	leaf := b.Certs[li]
	var supplied []Supplied
	for i, c := range b.Certs {
		if i != li {
			supplied = append(supplied, Supplied{Cert: c, From: fmt.Sprintf("%s #%d", p, i+1)})
		}
	}
	ch := AnalyzeChain(ChainInput{Leaf: leaf, LeafFrom: fmt.Sprintf("%s #%d", p, li+1), LeafFirst: li == 0, LeafAt: li,
		Supplied: supplied, Roots: roots, At: at, Subject: p})
	f.Chain = &ch
	f.findings = append(f.findings, ch.Findings...)
	f.findings = append(f.findings, ValidityFindings(leaf, at, t, p, "certificate")...)
	return f
}
