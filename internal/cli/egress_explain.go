package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kensa-project/kensa/internal/egress/explain"
	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/report"
)

const egressExplainUsage = `Usage: kensa egress explain [flags] LOG...

Reads the log of a failed deploy and names the destinations the failing
step needed, with the service that needs each: Kudu's deployment log (the
CSV the SCM site shows, with Oryx's stack trace), az webapp deploy and
func azure functionapp publish output, pip, npm, dotnet restore (NuGet),
Maven and docker pull errors. With --policy it says which of them the
firewall policy denies, and by which rule.

A log in which kensa recognises no failure is not a clean bill of health:
it exits 2 and says so (kensa knows only the errors listed under --help's
signatures; paste the firewall's deny lines into kensa egress analyze).

LOG is a file or - for standard input; several logs are explained each
in turn (exit 2 if any of them shows no failure kensa recognises).

Flags:
    --app NAME          your App Service / Functions app, when the log does
                        not name its NAME.scm.azurewebsites.net
    --policy FILE       an exported firewall policy (the inputs of
                        kensa egress whatif; repeat for a base policy)
    --source CIDR       the subnet the deploy ran in, for --policy (repeat)
    --format, --output, --fail-on (default error), --at: see "kensa --help"

Exit codes: 0 nothing kensa recognised is blocked (only with --policy, when
the policy allows everything the log names), 1 a step was blocked, 2 the log
shows no failure kensa recognises, or an input could not be read.

Examples:
    kensa egress explain deploy.log
    az webapp deploy -g rg -n orders-api --src-path app.zip 2>&1 |
        kensa egress explain -
    kensa egress explain --policy rcg.json --source 10.0.3.0/24 kudu-log.csv

Signatures:
`

func egressExplainHelp() string {
	var b strings.Builder
	b.WriteString(egressExplainUsage)
	for _, s := range explain.Signatures {
		fmt.Fprintf(&b, "    %-20s %s\n", s.ID, s.Tool)
	}
	b.WriteString("    (each with its source in docs/egress-explain.md)\n")
	return b.String() + findingsHelp("docs/egress-explain.md", explain.Checks)
}

func runEgressExplain(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("egress explain")
	common := addCommon(fs, "error")
	var policies stringList
	var sources []string
	fs.Var(&policies, "policy", "")
	fs.Func("source", "", listFlag(&sources))
	app := fs.String("app", "", "")
	paths, err := parseCommand(env, fs, common, egressExplainHelp(), args)
	if err != nil || paths == nil {
		return err
	}
	if len(paths) == 0 {
		return usageErrorf("egress explain needs a log").
			withHint("kensa egress explain deploy.log, or - for standard input")
	}
	stdin := 0
	for _, p := range paths {
		if p == "-" {
			stdin++
		} else if st, err := os.Stat(p); err != nil {
			return usageErrorf("reading %s: %v", p, unwrapPath(err)).withHint("check the path")
		} else if st.IsDir() {
			return usageErrorf("%s is a directory", p).withHint("name the log of the failed deploy")
		}
	}
	if stdin > 1 {
		return usageErrorf("standard input (-) named twice")
	}
	if *app != "" && !validName(*app) {
		return usageErrorf("--app %q is not an app name", *app).withHint("give the name in NAME.azurewebsites.net")
	}
	srcs, err := parseSources(sources)
	if err != nil {
		return err
	}
	if len(srcs) > 0 && len(policies) == 0 {
		return usageErrorf("--source is used with --policy").withHint("add the exported policy: --policy rcg.json")
	}
	for _, p := range policies {
		if err := checkInput("--policy", p, "export it: az network firewall policy rule-collection-group list -g RG --policy-name POLICY -o json"); err != nil {
			return err
		}
	}
	var ev *policy.Evaluator
	if len(policies) > 0 {
		if len(srcs) == 0 {
			return usageErrorf("--policy needs the subnet the deploy ran in (--source)").
				withHint("the App Service integration subnet, e.g. --source 10.0.3.0/24")
		}
		if ev, err = readPolicies(env, policies); err != nil {
			return err
		}
	}
	var all []*explain.Result
	items := []explain.Item{}
	findings := []report.Finding{}
	var sum explain.Summary
	var unrecognised []string
	lines := 0
	for _, p := range paths {
		f, err := openInput(env, p)
		if err != nil {
			return err
		}
		name := p
		if p == "-" {
			name = "(stdin)"
		}
		res, err := explain.Explain(name, f, *app)
		f.Close()
		if err != nil {
			return usageErrorf("%v", err)
		}
		its, fs := explain.Assess(res, ev, srcs)
		items, findings = append(items, its...), append(findings, fs...)
		sum.Add(explain.Summarize(res, its, fs))
		all = append(all, res)
		if len(res.Matches) == 0 {
			unrecognised = append(unrecognised, name)
			lines += res.Lines
		}
	}
	rep := newReport(env, "egress explain", common.at)
	rep.Results, rep.Findings, rep.Summary = items, findings, sum
	o := outcome{rep: rep, text: func(t *textWriter) {
		for i, res := range all {
			if i > 0 {
				t.printf("\n")
			}
			writeExplainText(t, res, items, ev != nil)
		}
	}}
	if len(unrecognised) > 0 {
		what := unrecognised[0] + " shows"
		if len(unrecognised) > 1 {
			what = strings.Join(unrecognised, ", ") + " show"
		}
		o.after = usageErrorf("%s no failure kensa recognises (%s read): that is not a sign that nothing is blocked", what, report.Count(lines, "line", "lines")).
			withHint("kensa recognises Kudu, Oryx, pip, npm, NuGet, Maven and docker pull errors (kensa egress explain --help lists them)").
			withHint("if you have the firewall's logs, kensa egress analyze names every denied destination")
	}
	return finish(env, common, o)
}

func writeExplainText(t *textWriter, res *explain.Result, items []explain.Item, withPolicy bool) {
	if len(res.Matches) == 0 {
		t.printf("%s: %s, no failure kensa recognises.\n", res.Name, report.Count(res.Lines, "line", "lines"))
		t.println("That is not a sign that nothing is blocked: kensa knows only the signatures listed in --help.")
		return
	}
	t.printf("%s: %s, %s\n", res.Name, report.Count(res.Lines, "line", "lines"), report.Count(len(res.Matches), "failure recognised", "failures recognised"))
	for _, m := range res.Matches {
		t.printf("\n%s (line %d", m.Tool, m.Line)
		if m.Count > 1 {
			t.printf(", %s", report.Count(m.Count, "line matches", "lines match"))
		}
		t.printf("): %s\n", m.Signature)
		t.fitLines(fmt.Sprintf("  %s\n", m.Evidence))
		t.lines(wrap(m.Meaning, "  ", t.textWidth(94)-2))
		if m.Note != "" {
			t.lines(wrap("Note: "+m.Note, "  ", t.textWidth(94)-2))
		}
		t.fitLines(fmt.Sprintf("  signature from: %s\n", m.Source))
		t.println("  needed:")
		for _, it := range items {
			if it.Signature != m.Signature || it.File != res.Name {
				continue
			}
			svc := "no service in kensa's catalog"
			if it.Service != nil {
				svc = it.Service.Name + " (catalog: " + it.Service.Source + ", as of " + it.Service.AsOf + ")"
			}
			t.fitLines(fmt.Sprintf("    %s  %s\n", it.Destination, svc))
			if it.Placeholder {
				t.println("      the log does not name the app: give --app NAME")
			}
			for _, v := range it.Verdicts {
				switch {
				case v.Action == "unknown":
					why := ""
					if len(v.Maybe) > 0 {
						why = ": " + v.Maybe[0].Rule.Path() + " may match (" + v.Maybe[0].Detail + ")"
					}
					t.fitLines(fmt.Sprintf("      policy, from %s: unknown%s\n", orDash(v.Source), why))
				case v.Rule != nil:
					t.fitLines(fmt.Sprintf("      policy, from %s: %s by %s\n", orDash(v.Source), v.Action, v.Rule.Path()))
				default:
					t.fitLines(fmt.Sprintf("      policy, from %s: %s (no rule matched, default deny)\n", orDash(v.Source), v.Action))
				}
			}
		}
	}
	if !withPolicy {
		t.printf("\n%s\n", "With --policy FILE --source CIDR kensa says which of them the firewall policy denies;")
		t.println("kensa egress whatif --dest HOST --emit az|bicep|terraform writes the rules.")
	}
}

func init() {
	registerDomain("egress explain", domainInfo{checks: explain.Checks, doc: "docs/egress-explain.md", summarize: func(_ []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		// Lines and signatures read are not results: the inputs' counts
		// are added up, the findings counted again.
		s, err := addSummaries(sums, (*explain.Summary).Add)
		if err != nil {
			return nil, err
		}
		s.Findings = report.SeverityTally(fs)
		return s, nil
	}})
}
