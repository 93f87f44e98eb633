package report

import (
	"cmp"
	"encoding/json"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// This file writes SARIF 2.1.0 as the OASIS schema requires it and as
// GitHub code scanning reads it:
//   - one run; its rules are the command's catalog of checks (every check,
//     so a dashboard knows the rules a clean run passed), each with its
//     title, help text and markdown, and default level;
//   - one result per finding, with partialFingerprints (the finding's
//     Fingerprint, so alerts survive reworded messages), the remediation
//     and citation in the message, and exactly one location;
//   - every location has a physicalLocation, which code scanning needs to
//     accept a result: a file is its path (relative to %SRCROOT% when the
//     command scanned a directory); an endpoint, a destination or a file
//     inside a container image also gets a logicalLocation naming it, and
//     a physical URI made from its name, as image scanners do.
//   - no "fixes": SARIF fixes must carry artifactChanges (byte replacements
//     in a file), which kensa's remediations are not.

const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// SrcRootID is the uriBaseId of file locations under the scanned directory.
const SrcRootID = "%SRCROOT%"

// SARIFOptions says what a SARIF log needs beyond the report.
type SARIFOptions struct {
	// Checks is the command's catalog: it becomes the run's rules. A
	// finding whose ID is not in it still gets a rule, made from the
	// finding.
	Checks []Check
	// SrcRoot is the directory the command scanned, when it scanned one
	// directory: file locations under it are written relative to it
	// (uriBaseId %SRCROOT%), as code scanning expects of a checkout.
	SrcRoot string
	// DocsURI is where the rules' documentation lives (helpUri); empty
	// for none.
	DocsURI string
}

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                    `json:"tool"`
	AutomationDetails  *sarifAutomation             `json:"automationDetails,omitempty"`
	OriginalURIBaseIDs map[string]sarifArtifact     `json:"originalUriBaseIds,omitempty"`
	Results            []sarifResult                `json:"results"`
	Properties         map[string]map[string]string `json:"properties,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
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
	Name                 string       `json:"name,omitempty"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	FullDescription      sarifMessage `json:"fullDescription,omitzero"`
	Help                 sarifMessage `json:"help,omitzero"`
	HelpURI              string       `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
	Properties           *sarifProps  `json:"properties,omitempty"`
}

type sarifProps struct {
	Tags []string `json:"tags,omitempty"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text     string `json:"text,omitempty"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifLogical struct {
	Name               string `json:"name,omitempty"`
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
func WriteSARIF(w io.Writer, r *Report, o SARIFOptions) error {
	SortFindings(r.Findings)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           cmp.Or(r.Tool.Name, "kensa"),
			Version:        r.Tool.Version,
			InformationURI: "https://github.com/kensa-project/kensa",
		}},
		// One category per command, so the SARIF of several commands
		// can be uploaded for the same commit.
		AutomationDetails: &sarifAutomation{ID: "kensa/" + strings.ReplaceAll(r.Command, " ", "-") + "/"},
		Results:           []sarifResult{},
		Properties: map[string]map[string]string{"kensa": {
			"schema": r.Schema, "command": r.Command, "at": r.At.Format("2006-01-02T15:04:05Z07:00"),
		}},
	}
	srcRoot := ""
	if o.SrcRoot != "" {
		if abs, err := filepath.Abs(o.SrcRoot); err == nil {
			srcRoot = abs
			u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
			if !strings.HasSuffix(u.Path, "/") {
				u.Path += "/"
			}
			run.OriginalURIBaseIDs = map[string]sarifArtifact{SrcRootID: {URI: u.String()}}
		}
	}
	rules, index := sarifRules(o, r.Findings)
	run.Tool.Driver.Rules = rules
	for _, f := range r.Findings {
		run.Results = append(run.Results, sarifResult{
			RuleID:              f.ID,
			RuleIndex:           index[f.ID],
			Level:               sarifLevel(f.Severity),
			Message:             sarifResultMessage(f),
			Locations:           []sarifLocation{sarifLocationOf(f, srcRoot)},
			PartialFingerprints: map[string]string{SARIFFingerprintKey: f.Fingerprint()},
		})
	}
	log := sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(log)
}

// sarifRules returns the rules, sorted by ID, and the index of each: the
// catalog's checks, plus a rule for any finding ID the catalog lacks.
func sarifRules(o SARIFOptions, fs []Finding) ([]sarifRule, map[string]int) {
	byID := map[string]sarifRule{}
	for _, c := range o.Checks {
		byID[c.ID] = checkRule(c, o.DocsURI)
	}
	for _, f := range fs {
		if _, ok := byID[f.ID]; !ok {
			byID[f.ID] = checkRule(Check{ID: f.ID, Severity: f.Severity, Title: strings.ReplaceAll(f.ID, "-", " "), Citation: f.Citation}, o.DocsURI)
		}
	}
	rules := slices.SortedFunc(func(yield func(sarifRule) bool) {
		for _, r := range byID {
			if !yield(r) {
				return
			}
		}
	}, func(a, b sarifRule) int { return strings.Compare(a.ID, b.ID) })
	if rules == nil {
		rules = []sarifRule{} // the schema wants an array, even empty
	}
	index := map[string]int{}
	for i, r := range rules {
		index[r.ID] = i
	}
	return rules, index
}

// checkRule is the SARIF rule of a catalog entry.
func checkRule(c Check, docs string) sarifRule {
	title := cmp.Or(c.Title, c.ID)
	help := cmp.Or(c.Help, title)
	text, md := help, help
	if c.Citation != "" {
		text += "\nReference: " + c.Citation
		md += "\n\n**Reference:** " + markdownEscape(c.Citation)
	}
	r := sarifRule{
		ID:                   c.ID,
		Name:                 ruleName(c.ID),
		ShortDescription:     sarifMessage{Text: title},
		FullDescription:      sarifMessage{Text: help},
		Help:                 sarifMessage{Text: text, Markdown: md},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(c.Severity)},
		Properties:           &sarifProps{Tags: []string{"security"}},
	}
	if docs != "" {
		r.HelpURI = docs
	}
	return r
}

// ruleName turns "chain-incomplete" into "ChainIncomplete", the form
// SARIF viewers show as a rule's name.
func ruleName(id string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(id, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// markdownEscape keeps text from turning into markup (a citation may hold
// "*" or "_").
func markdownEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// sarifResultMessage is the finding's message with its remediation and
// citation: code scanning shows the message, not kensa's other fields.
func sarifResultMessage(f Finding) sarifMessage {
	text := cmp.Or(f.Message, f.ID)
	md := markdownEscape(text)
	if f.Remediation != "" {
		text += "\nRemediation: " + f.Remediation
		md += "\n\n**Remediation:** " + markdownEscape(f.Remediation)
	}
	if f.Citation != "" {
		text += "\nReference: " + f.Citation
		md += "\n\n**Reference:** " + markdownEscape(f.Citation)
	}
	return sarifMessage{Text: text, Markdown: md}
}

// sarifLocationOf is the one location of a finding.
//   - A file (Path, or a Subject that is an absolute path) is a file URI:
//     relative to %SRCROOT% when it lies under srcRoot, relative as given
//     when it is relative, file:///… when absolute.
//   - A file inside an image: the path inside the image (relative, as an
//     image scanner writes it) and a logical location naming the image.
//   - Anything else (an endpoint, a destination, a certificate): a logical
//     location naming it, and its name, escaped, as the physical URI.
func sarifLocationOf(f Finding, srcRoot string) sarifLocation {
	p := f.Path
	if p == "" && f.Address == "" && f.Image == "" && filepath.IsAbs(f.Subject) && !strings.ContainsAny(f.Subject, "\n") {
		p = f.Subject
	}
	switch {
	case f.Image != "":
		inImage := strings.TrimPrefix(cmp.Or(p, f.Subject), "/")
		return sarifLocation{
			PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: escapeRelative(inImage)}},
			LogicalLocations: []sarifLogical{{Name: f.Image, FullyQualifiedName: f.Image + " " + cmp.Or(p, f.Subject), Kind: "module"}},
		}
	case p != "":
		return sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: fileArtifact(p, srcRoot)}}
	}
	name := cmp.Or(f.Subject, f.Address, f.ID)
	fq := name
	if f.Address != "" && !strings.Contains(name, f.Address) {
		fq = name + " (" + f.Address + ")"
	}
	if f.ServerName != "" && !strings.Contains(fq, f.ServerName) {
		fq += " for " + f.ServerName
	}
	return sarifLocation{
		PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: escapeRelative(name)}},
		LogicalLocations: []sarifLogical{{Name: name, FullyQualifiedName: fq, Kind: "resource"}},
	}
}

// fileArtifact is the artifact location of a file path.
func fileArtifact(p, srcRoot string) sarifArtifact {
	if srcRoot != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			if rel, err := filepath.Rel(srcRoot, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return sarifArtifact{URI: escapeRelative(filepath.ToSlash(rel)), URIBaseID: SrcRootID}
			}
		}
	}
	if filepath.IsAbs(p) {
		return sarifArtifact{URI: (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()}
	}
	return sarifArtifact{URI: escapeRelative(filepath.ToSlash(filepath.Clean(p)))}
}

// escapeRelative makes s a relative URI reference: each segment escaped,
// and a colon escaped too, so "host:443" is not read as a scheme.
func escapeRelative(s string) string {
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(seg), ":", "%3A")
	}
	return strings.Join(segs, "/")
}
