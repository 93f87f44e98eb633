package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/report"
)

// The text views of the cert commands read like the summary an operator
// checks by eye before and after a change: the certificate's facts first,
// then the findings, each with what to do.

func (t *textWriter) facts(title, from string, f cert.Facts, at time.Time) {
	t.printf("%s  %s\n", title, from)
	t.printf("  Subject      %s\n", f.Subject)
	sans := cert.DisplayNames(f.SANs)
	if sans == "" {
		sans = "(none)"
	}
	t.printf("  SANs         %s\n", sans)
	t.printf("  Issuer       %s\n", f.Issuer)
	t.printf("  Serial       %s\n", f.Serial)
	t.printf("  Not before   %s\n", f.NotBefore.Format("2006-01-02 15:04:05 MST"))
	t.printf("  Not after    %s  (%s)\n", f.NotAfter.Format("2006-01-02 15:04:05 MST"), daysLeft(f, at))
	t.printf("  SHA-256      %s\n", f.SHA256)
	t.printf("  Key          %s, signed with %s\n", f.KeyType, f.SignatureAlgorithm)
}

func daysLeft(f cert.Facts, at time.Time) string {
	switch {
	case at.After(f.NotAfter):
		return fmt.Sprintf("EXPIRED %s ago, lifetime %s", report.Count(-f.DaysLeft, "day", "days"), report.Count(f.ValidityDays, "day", "days"))
	case at.Before(f.NotBefore):
		return "NOT YET VALID, lifetime " + report.Count(f.ValidityDays, "day", "days")
	}
	return fmt.Sprintf("%s left of %d", report.Count(f.DaysLeft, "day", "days"), f.ValidityDays)
}

func writeCheckText(t *textWriter, res cert.CheckResult, rep *report.Report) {
	at := rep.At
	t.facts("New certificate", res.File, res.Leaf, at)
	switch {
	case res.KeyMatches == nil:
		t.printf("  Private key  not checked (give it with --key)\n")
	case *res.KeyMatches:
		t.printf("  Private key  %s: matches (%s)\n", res.KeyFrom, res.KeyType)
	default:
		t.printf("  Private key  %s: DOES NOT MATCH (%s)\n", res.KeyFrom, res.KeyType)
	}
	t.printf("  Chain        ")
	for i, c := range res.Chain.Path {
		if i > 0 {
			t.printf("\n               ← ")
		}
		t.printf("%s [%s, %s]", short(c.Subject), c.Role, c.From)
	}
	if res.Chain.Trusted {
		t.printf("\n               trusted (roots: %s)\n", res.Roots)
	} else {
		t.printf("\n               NOT TRUSTED with the supplied certificates (roots: %s)\n", res.Roots)
	}
	if res.Current != nil && res.Comparison != nil {
		t.printf("\n")
		t.facts("Certificate in service", res.Comparison.CurrentFrom, *res.Current, at)
		c := res.Comparison
		t.printf("\nCompared with the certificate in service\n")
		t.printf("  Names dropped  %s\n", listOrNone(c.SANsDropped))
		t.printf("  Names added    %s\n", listOrNone(c.SANsAdded))
		t.printf("  Expires later  %s\n", yesNo(c.Newer))
		t.printf("  Same key       %s\n", yesNo(c.KeyReused))
		if c.SubjectChanged {
			t.printf("  Subject        changed: %s → %s\n", res.Current.Subject, res.Leaf.Subject)
		}
		if c.IssuerChanged {
			t.printf("  Issuer         changed: %s → %s\n", res.Current.Issuer, res.Leaf.Issuer)
		}
	}
	t.printf("\n")
	writeFindings(t, rep.Findings, false)
}

func short(subject string) string {
	if i := strings.Index(subject, "CN="); i >= 0 {
		s := subject[i+3:]
		if j := strings.Index(s, ","); j >= 0 {
			s = s[:j]
		}
		return s
	}
	return subject
}

// listOrNone lists DNS names for people (see cert.DisplayName).
func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return cert.DisplayNames(s)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeFindings lists findings, most serious first, each with its
// remediation.
func writeFindings(t *textWriter, fs []report.Finding, endpoints bool) {
	if len(fs) == 0 {
		t.printf("No findings.\n")
		return
	}
	c := report.CountSeverities(fs)
	t.printf("Findings: %s, %s, %d info\n", report.Count(c.Errors, "error", "errors"), report.Count(c.Warnings, "warning", "warnings"), c.Info)
	for _, f := range fs {
		where := f.Subject
		if endpoints && f.Address != "" {
			if f.Address != f.Subject {
				where = fmt.Sprintf("%s %s", f.Subject, f.Address)
			}
			if f.ServerName != "" {
				where += " " + f.ServerName
			} else {
				where += " (no SNI)"
			}
		}
		t.printf("  %-7s  %s  %s\n", strings.ToUpper(string(f.Severity)), f.ID, where)
		t.para("           ", "           ", f.Message, 0)
		if f.Remediation != "" {
			t.para("           → ", "             ", f.Remediation, 0)
		}
	}
}

func writeProbeText(t *textWriter, results []*cert.ProbeResult, rep *report.Report, sum cert.ProbeSummary) {
	tb := report.NewTable("ENDPOINT", "ADDRESS", "SERVERNAME", "STATUS", "SUBJECT", "SHA-256", "NOT AFTER", "DAYS")
	tb.MaxWidth = 40
	tb.Fit(0, report.FitMiddle, 16) // endpoint
	tb.Fit(4, report.FitEnd, 12)    // subject
	tb.Fit(5, report.FitEnd, 12)    // SHA-256
	tb.Optional(5, 4, 7, 1)         // SHA-256, subject, days, address
	// A handshake that completed is "ok" only when nothing is wrong with
	// what it served: the status says what its findings say.
	type hs struct{ addr, name string }
	misnamed := map[hs]bool{}
	for _, f := range rep.Findings {
		if f.ID == "hostname-mismatch" && f.Severity == report.Error {
			misnamed[hs{f.Address, f.ServerName}] = true
		}
	}
	for _, r := range results {
		sn := r.ServerName
		if !r.SNI {
			sn = "(no SNI)"
		}
		addr := r.Dialed
		if addr == "" {
			addr = r.Address
		}
		if !r.OK {
			tb.Row(r.Label(), addr, sn, "FAILED", "", "", "", "")
			continue
		}
		var st []string
		switch {
		case r.Expected != nil && !*r.Expected:
			st = append(st, "STALE")
		case r.Expected != nil:
			st = append(st, "expected")
		}
		if r.Chain != nil && !r.Chain.Trusted {
			st = append(st, "untrusted chain")
		}
		if r.SNI && misnamed[hs{r.Dialed, r.ServerName}] {
			st = append(st, "name not covered")
		}
		if len(st) == 0 {
			st = append(st, "ok")
		}
		if r.Change != "" {
			st = append(st, r.Change)
		}
		status := strings.Join(st, ", ")
		tb.Row(r.Label(), addr, sn, status, short(r.Leaf.Subject), r.Leaf.SHA256[:23]+"…",
			r.Leaf.NotAfter.Format(time.DateOnly), fmt.Sprint(r.Leaf.DaysLeft))
	}
	t.table(tb)
	writePostureText(t, results)
	t.printf("\n%s: %d completed, %d failed", report.Count(sum.Handshakes, "handshake", "handshakes"), sum.OK, sum.Failed)
	if sum.Expected+sum.Stale > 0 {
		t.printf("; %d served the expected certificate, %d did not", sum.Expected, sum.Stale)
	}
	t.printf("\n")
	if sum.Baseline != "" {
		t.printf("\nChanged since %s: %s\n", sum.Baseline, report.Count(len(sum.Rollback), "handshake", "handshakes"))
		if len(sum.Rollback) > 0 {
			t.printf("Rollback plan (restore the previous certificate on each endpoint; its PEM is in %s, endpoints[N].chain):\n", sum.Baseline)
			for _, s := range sum.Rollback {
				sn := s.ServerName
				if !s.SNI {
					sn = "(no SNI)"
				}
				t.printf("  %s %s %s [N=%d]\n", s.Endpoint, s.Dialed, sn, s.RecordIndex)
				t.printf("      restore %s  serial %s  not after %s\n", short(s.Previous.Subject), s.Previous.Serial, s.Previous.NotAfter.Format(time.DateOnly))
				t.printf("      SHA-256 %s\n", s.Previous.SHA256)
			}
			t.printf("  The PEM of a previous chain: jq -r '.endpoints[N].chain[].pem' %s\n", sum.Baseline)
		}
	}
	t.printf("\n")
	writeFindings(t, rep.Findings, true)
}

// writePostureText adds the --tls-posture table when there is one.
func writePostureText(t *textWriter, results []*cert.ProbeResult) {
	tb := report.NewTable("ADDRESS", "SERVERNAME", "VERSION", "SUITE", "GROUP", "PQ", "CNSA 2.0", "FIPS")
	tb.MaxWidth = 40
	n := 0
	for _, r := range results {
		p := r.Posture
		if p == nil {
			continue
		}
		n++
		sn := r.ServerName
		if !r.SNI {
			sn = "(no SNI)"
		}
		fips := "ok"
		if !p.FIPS.Compatible {
			fips = "REFUSED"
		}
		group := p.Group
		if group == "" {
			group = "(RSA kx)"
		}
		if p.HelloRetryRequest {
			group += " (HRR)"
		}
		tb.Row(r.Dialed, sn, strings.TrimPrefix(p.Version, "TLS "), strings.TrimPrefix(p.CipherSuite, "TLS_"), group,
			yesNo(p.Supports("X25519MLKEM768")), yesNo(p.Supports("SecP384r1MLKEM1024")), fips)
	}
	if n == 0 {
		return
	}
	t.printf("\nTLS posture (PQ: X25519MLKEM768 offered alone; CNSA 2.0: SecP384r1MLKEM1024 offered\nalone; FIPS: a client limited to Go's FIPS 140-3 policy could connect)\n")
	t.table(tb)
}

// writeWatchText is cert watch --once's text view: the probe table, the
// watched files, and the findings.
func writeWatchText(t *textWriter, r *cert.Round, rep *report.Report, sum cert.WatchSummary) {
	if len(r.Files) > 0 {
		tb := report.NewTable("FILE", "STATUS", "SUBJECT", "NOT AFTER", "DAYS", "CHAIN")
		tb.MaxWidth = 50
		for _, f := range r.Files {
			if !f.OK() {
				tb.Row(f.Path, "UNREADABLE", "", "", "", "")
				continue
			}
			for i, c := range f.Certificates {
				status, chain := "", ""
				if i == 0 {
					status = f.Format
					chain = "verified"
					if f.Chain == nil || !f.Chain.Trusted {
						chain = "NOT VERIFIED"
					}
				}
				tb.Row(f.Path, status, short(c.Subject), c.NotAfter.Format(time.DateOnly), fmt.Sprint(c.DaysLeft), chain)
			}
		}
		t.table(tb)
		t.printf("%s, %d unreadable\n\n", report.Count(sum.Files, "file", "files"), sum.FilesUnreadable)
	}
	writeProbeText(t, r.Results, rep, sum.ProbeSummary)
}
