package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/kensa-project/kensa/internal/report"
)

const reportMergeUsage = `Usage: kensa report merge [flags] FILE...

Joins JSON reports of one command into one report of that command: the
per-node reports of a DaemonSet, the shards of a fips scan run as several
Jobs. Every result and finding keeps where it came from in "source" (the
FILE as given here), "sources" lists the reports joined, and the summary is
counted again from the merged results and findings (never copied from one
input). Reports of different commands, or of another schema than kensa/v1,
are refused. The merged report can be merged again or be a --baseline of
kensa report diff. A FILE of "-" is standard input.

Flags:
    --format text|json|sarif|cyclonedx
                               (default text: the findings and the counts;
                               json is the merged report; cyclonedx the CBOM
                               of merged fips scan reports)
    --output FILE, -o FILE     write to FILE instead of standard output
    --fail-on error|warning|info|never
                               exit 1 when a merged finding is at or above
                               this severity (default error)

Examples:
    kensa report merge --format json -o cluster.json node-*.json
    kensa report merge --format sarif -o fips.sarif shard-1.json shard-2.json
    kubectl logs -l app=kensa --prefix=false | kensa report merge -

Exit codes: 0 no merged finding at or above --fail-on, 1 findings at or
above it, 2 a FILE could not be read, is not a kensa/v1 report, or is of
another command than the first. See docs/report.md.
`

const reportDiffUsage = `Usage: kensa report diff --baseline OLD.json [flags] NEW.json

Compares the findings of NEW.json with those of a baseline report of the
same command, and sorts them into new, fixed and unchanged. Findings are
matched by their fingerprint: the finding id and its subject (path,
endpoint, destination, image), never the message, so "expires in 12
days" and "expires in 11 days" are the same finding. CI adopting a scan
on a fleet with known findings gates on the new ones only.

Flags:
    --baseline FILE            the earlier report (required)
    --all                      text view: list the unchanged findings too
                               (they are counted either way)
    --format text|json|sarif   json: every finding with its status and
                               fingerprint; sarif: the new findings only
    --output FILE, -o FILE     write to FILE instead of standard output
    --fail-on error|warning|info|never
                               exit 1 when a NEW finding is at or above this
                               severity (default error); fixed and unchanged
                               findings never fail the run

Examples:
    kensa fips scan --format json -o today.json /usr
    kensa report diff --baseline adopted.json today.json
    kensa report diff --baseline main.json --fail-on warning \
        --format sarif -o new.sarif pr.json

Exit codes: 0 no new finding at or above --fail-on, 1 new findings at or
above it, 2 a report could not be read or the two are of different
commands. See docs/report.md.
`

// domainInfo is what kensa report merge and the SARIF writer need of a
// command's domain: its catalog of checks and how its summary is counted
// again for a merged report. Each command's cli file registers its own
// (registerDomain in an init function).
type domainInfo struct {
	checks []report.Check
	// doc is the page that explains the checks (docs/fips.md): SARIF
	// rules link to it.
	doc       string
	summarize report.Summarizer
	// cyclonedx is the CBOM of the command's reports, for commands that
	// inventory crypto (a merged report too).
	cyclonedx func(*report.Report) *cdx.BOM
}

// docsBase is where the docs of the checks are published.
const docsBase = "https://github.com/kensa-project/kensa/blob/main/"

var domains = map[string]domainInfo{}

func registerDomain(command string, d domainInfo) { domains[command] = d }

func runReportMerge(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("report merge")
	common := addCommon(fs, "error")
	// Offered here, checked against the reports' command once read.
	common.cyclonedx = func(rep *report.Report) *cdx.BOM { return domains[rep.Command].cyclonedx(rep) }
	files, err := parseCommand(env, fs, common, reportMergeUsage, args)
	if err != nil || files == nil {
		return err
	}
	if common.atFlag != "" {
		return usageErrorf("--at does nothing in report merge: each report was evaluated when it was written").
			withHint("run the scans with --at, then merge their reports")
	}
	if len(files) == 0 {
		return usageErrorf("report merge needs the reports to join").
			withHint("kensa report merge --format json -o merged.json node-a.json node-b.json")
	}
	docs, err := readReports(env, files)
	if err != nil {
		return err
	}
	command := docs[0].Command
	d, ok := domains[command]
	if !ok || d.summarize == nil {
		return usageErrorf("%s is a %q report, which kensa report merge does not join", docs[0].Name, command).
			withHint("merge reports of: %s", strings.Join(mergeable(), ", "))
	}
	if common.format == "cyclonedx" && d.cyclonedx == nil {
		return usageErrorf("--format cyclonedx: %s reports inventory no crypto", command).
			withHint("merge them as text, json or sarif; a CBOM is made of fips scan reports")
	}
	rep, err := report.Merge(docs, report.MergeOptions{Version: version(), GeneratedAt: generatedAt(env), Summarize: d.summarize})
	if err != nil {
		return reportInputError(err)
	}
	// The merged report is of the inputs' command: finish takes its rules.
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeMergeText(t, rep) }})
}

func runReportDiff(_ context.Context, env *Env, args []string) error {
	fs := newFlagSet("report diff")
	common := addCommon(fs, "error")
	baseline := fs.String("baseline", "", "")
	all := fs.Bool("all", false, "")
	files, err := parseCommand(env, fs, common, reportDiffUsage, args)
	if err != nil || files == nil {
		return err
	}
	if common.atFlag != "" {
		return usageErrorf("--at does nothing in report diff: each report was evaluated when it was written").
			withHint("run the scans with --at, then compare their reports")
	}
	switch {
	case *baseline == "":
		return usageErrorf("report diff needs --baseline, the earlier report").
			withHint("kensa report diff --baseline adopted.json today.json")
	case len(files) != 1:
		return usageErrorf("report diff compares one report with the baseline, %d given", len(files)).
			withHint("kensa report diff --baseline adopted.json today.json (merge shards first: kensa report merge)")
	case *baseline == "-" && files[0] == "-":
		return usageErrorf("only one of the reports can be standard input")
	}
	docs, err := readReports(env, []string{*baseline, files[0]})
	if err != nil {
		return err
	}
	rep, entries, err := report.Diff(docs[0], docs[1], version(), generatedAt(env))
	if err != nil {
		return reportInputError(err)
	}
	common.sarif.Checks = domains[docs[1].Command].checks
	if doc := domains[docs[1].Command].doc; doc != "" {
		common.sarif.DocsURI = docsBase + doc
	}
	sum := rep.Summary.(report.DiffSummary)
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeDiffText(t, entries, sum, *all) }})
}

// readReports reads every file before anything is merged, so that a bad
// input stops the run before any output.
func readReports(env *Env, files []string) ([]*report.Document, error) {
	var docs []*report.Document
	stdin := false
	for _, name := range files {
		var d *report.Document
		var err error
		if name == "-" {
			if stdin {
				return nil, usageErrorf("standard input (-) can be read once only")
			}
			stdin = true
			d, err = report.Read(env.Stdin, "-", 0)
		} else {
			var f *os.File
			f, err = os.Open(name)
			if err != nil {
				return nil, usageErrorf("cannot read %s: %v", name, unwrapPath(err)).
					withHint("give the JSON reports kensa wrote with --format json (kensa fips scan --format json -o node-a.json …)")
			}
			if st, serr := f.Stat(); serr == nil && st.IsDir() {
				f.Close()
				return nil, usageErrorf("%s is a directory", name).
					withHint("name the report files: kensa report merge %s/*.json", strings.TrimSuffix(name, "/"))
			}
			d, err = report.Read(f, name, 0)
			f.Close()
		}
		if err != nil {
			return nil, reportInputError(err)
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// reportInputError turns the domain's refusals into exit-2 errors with
// the hint that helps.
func reportInputError(err error) error {
	if mixed, ok := errors.AsType[*report.MixedError](err); ok {
		return usageErrorf("%v", err).withHint("join or compare the reports of one command at a time (%s: %s)", mixed.First, mixed.Want)
	}
	if errors.Is(err, report.ErrNotReport) {
		hint := "kensa reads back the JSON reports it writes (--format json); text and SARIF cannot be read back"
		if strings.Contains(err.Error(), "schema is") {
			hint = "this kensa reads kensa/v1 reports; read the others with the kensa release that wrote them"
		}
		return usageErrorf("%v", err).withHint("%s", hint)
	}
	return usageErrorf("%v", err)
}

func mergeable() []string {
	var out []string
	for name, d := range domains {
		if d.summarize != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// decodeResults decodes merged results into the command's result type.
func decodeResults[T any](raw []json.RawMessage) ([]T, error) {
	out := make([]T, 0, len(raw))
	for i, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return nil, fmt.Errorf("result %d: %w", i+1, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// resultsOf gives a report's results as T: as the run made them, or
// decoded from a report read back by report merge (which decoded them
// once already, so they decode).
func resultsOf[T any](rep *report.Report) []T {
	switch r := rep.Results.(type) {
	case []T:
		return r
	case []json.RawMessage:
		rs, _ := decodeResults[T](r)
		return rs
	}
	return nil
}

// addSummaries decodes the inputs' summaries into the command's summary
// type and adds them up with its Add method.
func addSummaries[S any](raw []json.RawMessage, add func(*S, S)) (S, error) {
	var total S
	for i, r := range raw {
		var s S
		if err := json.Unmarshal(r, &s); err != nil {
			return total, fmt.Errorf("summary %d: %w", i+1, err)
		}
		if i == 0 {
			total = s
			continue
		}
		add(&total, s)
	}
	return total, nil
}

func writeMergeText(t *textWriter, rep *report.Report) {
	var names []string
	for _, s := range rep.Sources {
		names = append(names, s.File)
	}
	results := 0
	if rs, ok := rep.Results.([]json.RawMessage); ok {
		results = len(rs)
	}
	t.printf("Merged %s of %s: %s\n", report.Count(len(rep.Sources), "report", "reports"), rep.Command, shortList(names, 6))
	if len(rep.Findings) > 0 {
		t.printf("\n")
		tb := report.NewTable("SEVERITY", "ID", "SUBJECT", "SOURCE", "MESSAGE")
		tb.MaxWidth = 60
		for _, f := range rep.Findings {
			tb.Row(strings.ToUpper(string(f.Severity)), f.ID, f.Subject, f.Source, f.Message)
		}
		t.table(tb)
		t.printf("\n")
	}
	c := report.CountSeverities(rep.Findings)
	t.printf("%s, %s (%s, %s, %d info)\n", report.Count(results, "result", "results"),
		report.Count(len(rep.Findings), "finding", "findings"),
		report.Count(c.Errors, "error", "errors"), report.Count(c.Warnings, "warning", "warnings"), c.Info)
	t.printf("(--format json -o FILE writes the merged report, with the re-counted summary)\n")
}

func writeDiffText(t *textWriter, entries []report.DiffEntry, sum report.DiffSummary, all bool) {
	t.printf("%s: %s (%s) against the baseline %s (%s)\n", sum.Command,
		sum.Current.File, sum.Current.GeneratedAt.Format("2006-01-02 15:04"),
		sum.Baseline.File, sum.Baseline.GeneratedAt.Format("2006-01-02 15:04"))
	// Merged reports: say which node or shard each finding is from.
	sources := slices.ContainsFunc(entries, func(e report.DiffEntry) bool { return e.Finding.Source != "" })
	head := []string{"STATUS", "SEVERITY", "ID", "SUBJECT", "MESSAGE"}
	if sources {
		head = slices.Insert(head, 4, "SOURCE")
	}
	tb := report.NewTable(head...)
	tb.MaxWidth = 60
	for _, e := range entries {
		if e.Status == report.StatusUnchanged && !all {
			continue
		}
		row := []string{strings.ToUpper(e.Status), strings.ToUpper(string(e.Finding.Severity)), e.Finding.ID, e.Finding.Subject, e.Finding.Message}
		if sources {
			row = slices.Insert(row, 4, e.Finding.Source)
		}
		tb.Row(row...)
	}
	if tb.Len() > 0 {
		t.printf("\n")
		t.table(tb)
	}
	t.printf("\n")
	var sev []string
	for _, w := range [][3]string{{"error", "error", "errors"}, {"warning", "warning", "warnings"}, {"info", "info", "info"}} {
		if n := sum.NewBySeverity[w[0]]; n > 0 {
			sev = append(sev, report.Count(n, w[1], w[2]))
		}
	}
	line := fmt.Sprintf("%d new", sum.New)
	if len(sev) > 0 {
		line += " (" + strings.Join(sev, ", ") + ")"
	}
	line += fmt.Sprintf(", %d fixed, %d unchanged", sum.Fixed, sum.Unchanged)
	if !all && sum.Unchanged > 0 {
		line += " (--all lists them)"
	}
	t.println(line)
}

// shortList joins names, eliding the middle of a long list.
func shortList(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:max-1], ", ") + fmt.Sprintf(", … (%d more)", len(names)-max+1)
}
