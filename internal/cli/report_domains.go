package cli

import (
	"encoding/json"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
)

// TEMPORARY (until the PIPELINE-SHAPE merge): each command's domain
// summary with Add moves into its domain package; these registrations
// then move into each command's cli file.
func init() {
	registerDomain("fips scan", domainInfo{summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[fips.Result](raw)
		if err != nil {
			return nil, err
		}
		ins, err := decodeSummaries[fipsSummary](sums)
		if err != nil {
			return nil, err
		}
		s := fipsSummary{Results: len(rs), Verdicts: map[string]int{}, Backends: map[string]int{}}
		for _, in := range ins {
			s.Files += in.Files
			s.Images += in.Images
		}
		for _, r := range rs {
			s.Verdicts[string(r.Verdict)]++
			for _, b := range r.Crypto {
				s.Backends[b]++
			}
		}
		for _, f := range fs {
			switch f.ID {
			case fips.FindingUnreadable:
				s.Unreadable++
			case findingImageUnreadable:
				s.ImagesFailed++
			}
		}
		return s, nil
	}})
	registerDomain("egress analyze", domainInfo{summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[egressResult](raw)
		if err != nil {
			return nil, err
		}
		ins, err := decodeSummaries[egressSummary](sums)
		if err != nil {
			return nil, err
		}
		s := egressSummary{Findings: map[string]int{}}
		for _, in := range ins {
			s.Files = append(s.Files, in.Files...)
			s.Records += in.Records
			s.Denied += in.Denied
			s.Overflow += in.Overflow
			s.Rules += in.Rules
			s.Unknown = append(s.Unknown, in.Unknown...)
			if in.SNIMissing != nil {
				if s.SNIMissing == nil {
					s.SNIMissing = &egressSNI{}
				}
				s.SNIMissing.Count += in.SNIMissing.Count
				s.SNIMissing.Sources = append(s.SNIMissing.Sources, in.SNIMissing.Sources...)
			}
		}
		type dest struct {
			host, proto string
			port        int
		}
		seen := map[dest]bool{}
		for _, r := range rs {
			d := dest{host: r.Host, proto: r.Protocol}
			if r.Port != nil {
				d.port = *r.Port
			}
			seen[d] = true
		}
		s.Destinations = len(seen)
		for sev, n := range report.CountBySeverity(fs) {
			s.Findings[string(sev)] = n
		}
		return s, nil
	}})
	registerDomain("cert check", domainInfo{summarize: func(_ []json.RawMessage, fs []report.Finding, _ []json.RawMessage) (any, error) {
		return severitySummary(fs), nil
	}})
	registerDomain("cert probe", domainInfo{summarize: func(raw []json.RawMessage, fs []report.Finding, _ []json.RawMessage) (any, error) {
		rs, err := decodeResults[*cert.ProbeResult](raw)
		if err != nil {
			return nil, err
		}
		return probeSummary(rs, fs), nil
	}})
}
