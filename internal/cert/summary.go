package cert

import "github.com/kensa-project/kensa/internal/report"

// CheckSummary is the "summary" of a cert check report: its findings by
// severity.
type CheckSummary struct {
	report.SeverityCounts
}

// SummarizeCheck counts the findings of a check.
func SummarizeCheck(findings []report.Finding) CheckSummary {
	return CheckSummary{report.CountSeverities(findings)}
}

// Add adds o's counts to s (merging reports).
func (s *CheckSummary) Add(o CheckSummary) { s.SeverityCounts.Add(o.SeverityCounts) }

// ProbeSummary is the "summary" of a cert probe report.
type ProbeSummary struct {
	Handshakes int `json:"handshakes"`
	OK         int `json:"ok"`
	Failed     int `json:"failed"`
	// Expected and Stale count the handshakes that served the --expect
	// certificate and those that did not.
	Expected int `json:"expected"`
	Stale    int `json:"stale"`
	report.SeverityCounts
	// Baseline names the --baseline record; Rollback is the plan that
	// restores what each changed handshake served then.
	Baseline string         `json:"baseline,omitempty"`
	Rollback []RollbackStep `json:"rollback,omitempty"`
}

// SummarizeProbe counts the handshakes of a probe and its findings.
func SummarizeProbe(results []*ProbeResult, findings []report.Finding) ProbeSummary {
	s := ProbeSummary{Handshakes: len(results), SeverityCounts: report.CountSeverities(findings)}
	for _, r := range results {
		if r.OK {
			s.OK++
		} else {
			s.Failed++
		}
		if r.Expected != nil {
			if *r.Expected {
				s.Expected++
			} else {
				s.Stale++
			}
		}
	}
	return s
}

// Add adds o's counts to s (merging the reports of probes run from
// several places). The baseline is kept when both name the same one.
func (s *ProbeSummary) Add(o ProbeSummary) {
	s.Handshakes += o.Handshakes
	s.OK += o.OK
	s.Failed += o.Failed
	s.Expected += o.Expected
	s.Stale += o.Stale
	s.SeverityCounts.Add(o.SeverityCounts)
	if s.Baseline != o.Baseline {
		s.Baseline = ""
	}
	s.Rollback = append(s.Rollback, o.Rollback...)
}
