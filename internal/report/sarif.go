package report

import (
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// This file writes the subset of SARIF 2.1.0 that code-scanning dashboards
// read: one run, one rule per finding ID (with its citation as help), one
// result per finding. A finding's subject becomes the result's location:
// an artifact URI when the subject is a path, a logical location
// otherwise (an endpoint, a destination).

const sarifSchema = "https://json.schemastore.org/sarif-2.1.0.json"

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	Help                 sarifMessage `json:"help,omitzero"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text,omitempty"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
	Fixes     []sarifFix      `json:"fixes,omitempty"`
}

type sarifFix struct {
	Description sarifMessage `json:"description"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind,omitempty"`
}

// sarifLevel maps a severity to a SARIF level.
func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the findings of r as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, r *Report) error {
	SortFindings(r.Findings)
	log := sarifLog{Version: "2.1.0", Schema: sarifSchema}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           r.Tool.Name,
			Version:        r.Tool.Version,
			InformationURI: "https://github.com/kensa-project/kensa",
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
	}
	index := map[string]int{}
	for _, f := range r.Findings {
		i, ok := index[f.ID]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			index[f.ID] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
				ID:                   f.ID,
				ShortDescription:     sarifMessage{Text: strings.ReplaceAll(f.ID, "-", " ")},
				Help:                 sarifMessage{Text: f.Citation},
				DefaultConfiguration: sarifConfig{Level: sarifLevel(f.Severity)},
			})
		}
		res := sarifResult{
			RuleID:    f.ID,
			RuleIndex: i,
			Level:     sarifLevel(f.Severity),
			Message:   sarifMessage{Text: f.Message},
		}
		if f.Subject != "" {
			res.Locations = []sarifLocation{subjectLocation(f)}
		}
		if f.Remediation != "" {
			res.Fixes = []sarifFix{{Description: sarifMessage{Text: f.Remediation}}}
		}
		run.Results = append(run.Results, res)
	}
	// Rules in ID order make the output stable; fix the indexes after.
	order := slices.Clone(run.Tool.Driver.Rules)
	slices.SortFunc(order, func(a, b sarifRule) int { return strings.Compare(a.ID, b.ID) })
	for i, rule := range order {
		index[rule.ID] = i
	}
	run.Tool.Driver.Rules = order
	for i := range run.Results {
		run.Results[i].RuleIndex = index[run.Results[i].RuleID]
	}
	log.Runs = []sarifRun{run}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// subjectLocation makes a path subject an artifact location and anything
// else (an endpoint, a host name) a logical one.
func subjectLocation(f Finding) sarifLocation {
	s := f.Subject
	if f.Address == "" && (strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || filepath.IsAbs(s)) {
		u := url.URL{Path: filepath.ToSlash(s)}
		return sarifLocation{PhysicalLocation: &sarifPhysical{ArtifactLocation: sarifArtifact{URI: u.EscapedPath()}}}
	}
	return sarifLocation{LogicalLocations: []sarifLogical{{FullyQualifiedName: s, Kind: "resource"}}}
}
