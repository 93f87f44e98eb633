package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/report"
)

func egressWhatifUsage() string {
	var b strings.Builder
	for _, p := range egress.Profiles() {
		// The title after the name, wrapped to 80 columns.
		title := strings.TrimPrefix(wrap(p.Title, strings.Repeat(" ", 31), 49), strings.Repeat(" ", 31))
		fmt.Fprintf(&b, "    %-26s %s", p.Name, title)
	}
	return `Usage: kensa egress whatif --policy FILE... [--dest D] [--profile P]
                           [--from-log LOG] [flags]

Predicts, before a deploy, what an Azure Firewall policy does with the
destinations the deploy needs: allow, deny or unknown, and the rule that
decides, in the words the firewall's own log would use. Evaluation follows
Microsoft's rule processing: threat intelligence, then DNAT, network and
application rules (a base policy's rule collection groups before the
child's, then by priority), application rules only for HTTP, HTTPS and
MSSQL by SNI or Host, then the default deny. Where kensa cannot know whether
a rule matches (a web category, a service tag or IP group whose addresses
were not given, a value a Terraform plan leaves unknown) the answer is
unknown, never a guessed allow.

Policy inputs (--policy, repeat; the shape is detected per file):
    az network firewall policy rule-collection-group list -o json (or show)
    az network firewall policy show -o json, and the ARM/REST JSON of
        firewallPolicies and ruleCollectionGroups ({"value":[…]} too)
    an ARM template (deploymentTemplate) holding those resources
    az network firewall show -o json (classic rule collections)
    terraform show -json of a plan or a state (azurerm_firewall_policy,
        azurerm_firewall_policy_rule_collection_group, azurerm_ip_group)
    IP groups (az network ip-group list -o json) and service tags
        (az network list-service-tags --location REGION -o json)
  Give a child policy's base policy too: its rules come first.

Destinations (at least one of):
    --dest D            pypi.org:443, https://x, http://x:8080,
                        tcp://10.1.2.3:5432, udp://ntp.ubuntu.com:123,
                        mssql://db (repeat or comma-separate; a bare name
                        is HTTPS 443, host:PORT takes the protocol from the
                        port; tcp:// and udp:// need the port)
    --profile P         the destinations a workload needs (repeat):
` + b.String() + `    --from-log LOG      every destination a firewall log shows denied (the
                        logs egress analyze reads; repeat)

Flags:
    --source CIDR       the workload's subnet (repeat or comma-separate);
                        needed for --dest and --profile, optional with
                        --from-log (which has the sources seen)
    --app NAME          your App Service / Functions app: its SCM site
                        NAME.scm.azurewebsites.net is a profile destination
    --storage-account NAME  the Functions app's storage account
    --aks-api-server FQDN   the AKS cluster's API server name
    --address HOST=IP   what HOST resolves to, for network rules that match
                        addresses (repeat); without it a name is assumed
                        public and rules to private ranges do not match it
    --emit az|bicep|terraform
                        write the allow rules for every destination the
                        default deny would stop, instead of the report
    --format, --output, --fail-on (default error), --at: see "kensa --help"

Exit codes: 0 nothing would be denied (unknowns are warnings: --fail-on
warning makes them fail), 1 a destination would be denied, 2 kensa could
not evaluate (unreadable policy, no destination, a base policy missing).
With --emit the rules are the product: exit 0 once they are written, as
egress analyze --emit (2 still when kensa could not evaluate; an explicit
--fail-on is honoured), so "… --emit terraform > allow.tf" does not stop
a set -e script.

Examples:
    az network firewall policy rule-collection-group list -g rg \
        --policy-name fwpol -o json > rcg.json
    kensa egress whatif --policy rcg.json --profile appservice-linux-python \
        --app contoso-api --source 10.0.3.0/24
    kensa egress whatif --policy plan.json --dest pypi.org:443 \
        --dest files.pythonhosted.org:443 --source 10.0.3.0/24
    kensa egress whatif --policy rcg.json --from-log PT1H.json
    kensa egress whatif --policy rcg.json --profile functions-deploy \
        --app fn-orders --source 10.0.2.0/24 --emit terraform > allow.tf
`
}

func runEgressWhatif(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("egress whatif")
	common := addCommon(fs, "error")
	var policies, logs stringList
	var dests, profiles, sources, addrs []string
	fs.Var(&policies, "policy", "")
	fs.Func("dest", "", listFlag(&dests))
	fs.Func("profile", "", listFlag(&profiles))
	fs.Var(&logs, "from-log", "")
	fs.Func("source", "", listFlag(&sources))
	fs.Func("address", "", listFlag(&addrs))
	app := fs.String("app", "", "")
	storage := fs.String("storage-account", "", "")
	aks := fs.String("aks-api-server", "", "")
	emitLang := fs.String("emit", "", "")
	usage := egressWhatifUsage() + findingsHelp("docs/egress-whatif.md", policy.Checks)
	pos, err := parseCommand(env, fs, common, usage, args)
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("egress whatif takes no arguments (got %q)", pos[0]).
			withHint("name the policy with --policy FILE and destinations with --dest, --profile or --from-log")
	}
	if len(policies) == 0 {
		return usageErrorf("egress whatif needs the firewall policy (--policy FILE)").
			withHint("export it: az network firewall policy rule-collection-group list -g RG --policy-name POLICY -o json > rcg.json")
	}
	if len(dests)+len(profiles)+len(logs) == 0 {
		return usageErrorf("egress whatif needs destinations: --dest, --profile or --from-log").
			withHint("kensa egress whatif --policy rcg.json --profile appservice-linux-python --app NAME --source 10.0.3.0/24")
	}
	if *emitLang != "" && !slices.Contains([]string{"az", "bicep", "terraform"}, *emitLang) {
		return usageErrorf("--emit %q: egress whatif writes Azure Firewall rules (az, bicep, terraform)", *emitLang).
			withHint("use --emit az, --emit bicep or --emit terraform")
	}
	if *emitLang != "" && common.format != "text" {
		return usageErrorf("--emit writes rules, not a %s report", common.format).
			withHint("run once with --emit and once with --format %s", common.format)
	}
	stdin := 0
	for _, in := range []struct {
		flag  string
		paths []string
	}{{"--policy", policies}, {"--from-log", logs}} {
		for _, p := range in.paths {
			if p == "-" {
				stdin++
			} else if err := checkInput(in.flag, p, "check the path"); err != nil {
				return err
			}
		}
	}
	if stdin > 1 {
		return usageErrorf("standard input (-) named twice").withHint("give one of the policy files or logs as - and the others as files")
	}
	srcs, err := parseSources(sources)
	if err != nil {
		return err
	}
	addresses := map[string][]netip.Addr{}
	for _, a := range addrs {
		h, ip, ok := strings.Cut(a, "=")
		addr, err := netip.ParseAddr(strings.TrimSpace(ip))
		if !ok || err != nil || strings.TrimSpace(h) == "" {
			return usageErrorf("--address %q is not HOST=IP", a).withHint("write --address stfunc.file.core.windows.net=10.0.6.5")
		}
		h = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(h), "."))
		addresses[h] = append(addresses[h], addr.Unmap())
	}
	var targets []policy.Target
	for _, d := range dests {
		t, err := policy.ParseDest(d)
		if err != nil {
			return usageErrorf("--dest %v", err).withHint("write a destination as pypi.org:443, https://pypi.org, tcp://10.1.2.3:5432 or udp://ntp.ubuntu.com:123")
		}
		targets = append(targets, t)
	}
	names := map[string]string{"app": *app, "storage-account": *storage, "aks-api-server": *aks}
	for name, v := range names {
		if v != "" && !validName(strings.TrimSuffix(v, ".")) {
			return usageErrorf("--%s %q is not a DNS name", name, v)
		}
	}
	for _, name := range profiles {
		p, err := egress.LookupProfile(name)
		if err != nil {
			return usageErrorf("--profile: %v", err).withHint(`"kensa egress whatif --help" lists the profiles`)
		}
		targets = append(targets, policy.ProfileTargets(p.Bind(names))...)
	}
	if len(srcs) == 0 && len(dests)+len(profiles) > 0 {
		return usageErrorf("--dest and --profile need the workload's source subnet (--source)").
			withHint("name the subnet the deploy runs in, e.g. the App Service integration subnet: --source 10.0.3.0/24")
	}
	ev, err := readPolicies(env, policies)
	if err != nil {
		return err
	}
	// Destinations from logs.
	for _, l := range logs {
		in, err := logInput(env, l)
		if err != nil {
			return err
		}
		res, err := egress.Analyze(ctx, []egress.Input{in}, egress.Options{})
		if err != nil {
			return usageErrorf("reading %s: %v", l, err)
		}
		if why := res.Files[0].Unreadable(); why != "" {
			return usageErrorf("%s could not be analysed: %s", l, why).
				withHint("--from-log reads the logs egress analyze reads (kensa egress analyze --help)")
		}
		if fam := res.Families(); len(fam) > 0 && !slices.Contains(fam, egress.FamilyAzure) {
			fmt.Fprintf(env.Stderr, "kensa: warning: %s came from %s: its denied destinations are evaluated against the Azure Firewall policy given\n", report.Printable(l), fam[0])
		}
		targets = append(targets, policy.LogTargets(res, "log "+l)...)
	}
	results, findings := policy.Run(ev, targets, policy.Options{Sources: srcs, Addresses: addresses})
	lint := policy.Lint(ev)
	findings = append(findings, lint...)
	rep := newReport(env, "egress whatif", common.at)
	sum := policy.Summarize(ev, results, findings)
	rep.Results, rep.Findings, rep.Summary = results, findings, sum
	o := outcome{rep: rep, text: func(t *textWriter) { writeWhatifText(t, ev, results, lint, sum) }}
	if *emitLang != "" {
		plan := policy.Plan(results, egress.PlanOptions{Sources: sources})
		o.product = func(w io.Writer) error { return egress.WriteRules(w, *emitLang, plan) }
		o.emitted = true
	}
	return finish(env, common, o)
}

// readPolicies reads the exported firewall policies named by --policy
// (one of them may be "-") and returns their evaluator: the same inputs
// for egress whatif, explain and check. A file that is not a policy, or a
// child policy whose base is missing, is a usage error.
func readPolicies(env *Env, paths []string) (*policy.Evaluator, error) {
	var ins []policy.Input
	for _, p := range paths {
		f, err := openInput(env, p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ins = append(ins, policy.Input{Name: p, R: f})
	}
	set, err := policy.Read(ins)
	if err != nil {
		e := usageErrorf("%v", err)
		if errors.Is(err, policy.ErrNotPolicy) {
			e.withHint("kensa reads az -o json, ARM/REST JSON, ARM templates and terraform show -json (kensa egress whatif --help)")
		}
		return nil, e
	}
	ev, err := policy.NewEvaluator(set)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return ev, nil
}

// parseSources parses --source values: addresses or CIDR prefixes.
func parseSources(sources []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range sources {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, usageErrorf("--source %q is not an IP address or CIDR", s).withHint("write a source as 10.0.3.0/24 or 10.0.3.4")
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validName accepts a DNS name in any case (egress.ValidHostName).
func validName(s string) bool { return egress.ValidHostName(strings.ToLower(s)) }

// openInput opens a named input file ("-" is standard input).
func openInput(env *Env, p string) (io.ReadCloser, error) {
	if p == "-" {
		return io.NopCloser(env.Stdin), nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, usageErrorf("reading %s: %v", p, unwrapPath(err)).withHint("check the path")
	}
	if st.IsDir() {
		return nil, usageErrorf("%s is a directory", p)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, usageErrorf("reading %s: %v", p, unwrapPath(err))
	}
	return f, nil
}

func logInput(env *Env, p string) (egress.Input, error) {
	if p == "-" {
		in := env.Stdin
		return egress.Input{Name: "(stdin)", Open: func() (io.ReadCloser, error) { return io.NopCloser(in), nil }}, nil
	}
	st, err := os.Stat(p)
	if err != nil {
		return egress.Input{}, usageErrorf("reading %s: %v", p, unwrapPath(err)).withHint("check the path")
	}
	if st.IsDir() {
		return egress.Input{}, usageErrorf("%s is a directory", p)
	}
	return egress.Input{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }}, nil
}

func writeWhatifText(t *textWriter, ev *policy.Evaluator, results []policy.Result, lint []report.Finding, sum policy.Summary) {
	var chain []string
	for _, p := range ev.Chain() {
		chain = append(chain, p.Name)
	}
	ti := sum.ThreatIntelMode
	if ti == "" {
		ti = "not in the inputs"
	}
	dns := "not in the inputs"
	if sum.DNSProxy != nil {
		dns = map[bool]string{true: "on", false: "off"}[*sum.DNSProxy]
	}
	name := chain[len(chain)-1]
	if len(chain) > 1 {
		name += " (base policies, processed first: " + strings.Join(chain[:len(chain)-1], ", ") + ")"
	}
	t.fitLines(fmt.Sprintf("Policy %s; threat intelligence: %s; DNS proxy: %s\n", name, ti, dns))
	for _, f := range sum.Files {
		t.fitLines(fmt.Sprintf("  %s: %s, %s, %s, %s\n", f.Name, f.Shape, report.Count(f.Policies, "policy", "policies"), report.Count(f.Groups, "rule collection group", "rule collection groups"), report.Count(f.Rules, "rule", "rules")))
		for _, wn := range f.Warnings {
			t.fitLines(fmt.Sprintf("    note: %s\n", wn))
		}
	}
	if sum.ServiceTags != "" {
		t.printf("  service tags: change number %s\n", sum.ServiceTags)
	}
	t.printf("\n%s: %d allow, %d deny, %d unknown\n\n", report.Count(sum.Destinations, "destination", "destinations"), sum.Allow, sum.Deny, sum.Unknown)
	tb := report.NewTable("VERDICT", "DESTINATION", "PROTO", "SOURCE", "DECIDED BY", "SERVICE")
	tb.MaxWidth = 60
	tb.Uncut = []int{1, 4}        // the destination and the deciding rule are what a person acts on
	tb.Fit(4, report.FitWrap, 20) // on a narrow terminal the rule wraps, whole
	tb.Fit(5, report.FitEnd, 10)
	tb.Optional(2, 3) // then the protocol and the source go (JSON has them)
	for _, r := range results {
		dest := r.Destination
		if r.Pattern != "" && r.Decision != "needs-name" {
			dest += " (" + r.Pattern + ")"
		}
		by := "no rule matched, default deny"
		switch {
		case r.Decision == "needs-name":
			by = "not evaluated: needs " + flagFor(r)
		case r.Decision == "threat-intel":
			by = "threat intelligence (Deny mode)"
		case r.Action == "unknown":
			by = "may match: " + r.Maybe[0].Rule.Path()
		case r.Rule != nil:
			by = r.Rule.Path()
		}
		svc := "-"
		if r.Service != nil {
			svc = r.Service.Name
		}
		src := r.Source
		if src == "" {
			src = "-"
		}
		tb.Row(r.Action, dest, r.Protocol, src, by, svc)
	}
	t.table(tb)
	var logs, unknowns, needs, notes []string
	for _, r := range results {
		if r.Log != "" && r.Action == "deny" {
			logs = append(logs, "  "+r.Log+"\n")
		}
		if r.Action == "unknown" && r.Decision != "needs-name" {
			var b strings.Builder
			fmt.Fprintf(&b, "  %s from %s:\n", r.Destination, orDash(r.Source))
			for _, m := range r.Maybe {
				fmt.Fprintf(&b, "    %s may match (%s): %s\n", m.Rule.Path(), m.Code, m.Detail)
			}
			for _, n := range r.Notes {
				fmt.Fprintf(&b, "    %s\n", n)
			}
			unknowns = append(unknowns, b.String())
		}
		if r.Action != "unknown" {
			for _, n := range r.Notes {
				notes = append(notes, fmt.Sprintf("  %s from %s: %s\n", r.Destination, orDash(r.Source), n))
			}
		}
		if r.Action == "deny" && r.Why != "" {
			svc := ""
			if r.Service != nil {
				svc = " (" + r.Service.Name + ")"
			}
			if r.WhySource != "" {
				svc += "\n    source: " + r.WhySource + ", as of " + r.WhyAsOf
			}
			needs = append(needs, fmt.Sprintf("  %s%s\n%s", r.Destination, svc, wrap(r.Why, "    ", t.textWidth(96)-4)))
		}
	}
	var about []string
	for _, f := range lint {
		about = append(about, "  "+f.Subject+": "+f.Message+"\n")
	}
	t.section("The firewall would log:", logs)
	t.section("What fails without them:", needs)
	t.section("Why kensa cannot tell:", unknowns)
	t.section("Notes:", notes)
	t.section("About the policy itself:", about)
	plan := policy.Plan(results, egress.PlanOptions{})
	if len(plan.Collections) > 0 {
		t.fitLines("\nRules that would allow what the default deny stops (--emit az|bicep|terraform writes them):\n")
		for _, c := range plan.Collections {
			t.fitLines("  " + ruleLine(c) + "\n")
		}
	}
	if ev.ThreatIntelMode() == "Deny" {
		t.fitLines("\nThreat intelligence is in Deny mode: a destination on Microsoft's feed is denied before any rule (kensa has no feed; it knows only what a log shows).\n")
	}
	if len(chain) == 1 && ev.Chain()[0].From == "" && !ev.Chain()[0].Classic {
		t.fitLines("\nOnly rule collection groups were given: if the policy has a base policy, its rules come first; give it too (az network firewall policy show -o json names it).\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// flagFor names the flag a profile destination needs ("--app NAME").
func flagFor(r policy.Result) string {
	for _, f := range []string{"--app", "--storage-account", "--aks-api-server"} {
		for _, n := range r.Notes {
			if strings.Contains(n, f) {
				return f + " NAME"
			}
		}
	}
	return "a name"
}

func init() {
	registerDomain("egress whatif", domainInfo{checks: policy.Checks, doc: "docs/egress-whatif.md", summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[policy.Result](raw)
		if err != nil {
			return nil, err
		}
		// The policies and files evaluated are not results: they are
		// gathered from the inputs; the counts are made again.
		in, err := addSummaries(sums, (*policy.Summary).Add)
		if err != nil {
			return nil, err
		}
		s := policy.Summarize(nil, rs, fs)
		s.Policies, s.Files = in.Policies, in.Files
		return s, nil
	}})
}
