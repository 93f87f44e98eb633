package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/egress/reach"
	"github.com/kensa-project/kensa/internal/report"
)

const egressCheckUsage = `Usage: kensa egress check [flags]

Probes, from where it runs, every destination a workload needs, the way
the workload's own client would reach it, and says where each one stops:
DNS, the proxy, TCP, TLS (with the destination's name as SNI, the served
certificate verified against the system's roots and --ca) and one HTTP
request whose answer is classified. A TCP connect alone proves nothing
behind Azure Firewall: it answers TCP on 80/443 itself and resets the
connection after the TLS ClientHello of a name no rule allows, so
"nc -vz" says reachable where kensa says tls-reset-after-hello.
Run it in the subnet, pod or Job the workload runs in.

Destinations (combine freely; repeated ones are probed once):
    --dest DEST             host (HTTPS on 443), host:port (443 https, 80 http,
                            other ports TCP only), https://host[:port],
                            http://host[:port], tls://host:port,
                            tcp://host:port; repeat or comma-separate
    --profile NAME          the destinations a workload needs, from kensa's
                            catalog (--list-profiles shows them); repeat
    --app NAME              the App Service / Functions app the profile's
                            <app>.scm.azurewebsites.net and
                            <app>.azurewebsites.net stand for
    --storage-account NAME  the storage account of a profile's *.blob/file host
    --aks-api-server FQDN   the AKS API server of the aks profile
    --from-log FILE         re-test the destinations a firewall or proxy log
                            denied (any log egress analyze reads); repeat
    --list-profiles         list the profiles and exit

How to reach them:
    --proxy URL             send everything through this explicit proxy
                            (http://host:3128, https://…, user:password@ for
                            Basic auth); the CONNECT answer is kept. Without
                            it HTTPS_PROXY, HTTP_PROXY and NO_PROXY are used
                            as the workload would; --proxy direct ignores them
    --resolver IP[:PORT]    ask this DNS server instead of the system's
                            (resolv.conf): a firewall's DNS proxy, a custom DNS
    --ca FILE               also trust these CA certificates (PEM): a
                            TLS-inspection CA the workload trusts
    --timeout D             each layer's timeout: DNS, TCP, TLS, HTTP
                            (default 5s); or per layer:
                            dns=2s,tcp=3s,tls=5s,http=10s
    --parallel N            destinations probed at once (default 32)
    --format, --output, --fail-on (default error), --at: see "kensa --help"

Each destination is reachable, or blocked with the failure class of the
layer where it stopped (the finding ids below); the JSON result keeps every
layer: addresses, the certificate's names and issuer, the proxy's and the
server's answers.

Exit codes: 0 every destination reachable, 1 a destination is blocked
(or a finding at or above --fail-on), 2 bad flags or unreadable input.

Examples:
    kensa egress check --profile appservice-linux-python --app contoso-api
    kensa egress check --dest pypi.org --dest registry.npmjs.org:443
    kensa egress check --proxy http://10.0.0.4:3128 --profile aks-required
    kensa egress check --from-log PT1H.json
    kensa egress check --profile aks-required --format json -o reach.json

As a one-shot pod in the workload's namespace:
    kubectl run kensa-egress --rm -i --restart=Never \
      --image=ghcr.io/kensa-project/kensa:latest -- \
      egress check --profile aks-required
`

func runEgressCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("egress check")
	common := addCommon(fs, "error")
	var dests, profiles []string
	var logs, policies stringList
	fs.Func("dest", "", listFlag(&dests))
	fs.Func("profile", "", listFlag(&profiles))
	fs.Var(&logs, "from-log", "")
	fs.Var(&policies, "policy", "")
	sourceFlag := fs.String("source", "", "")
	app := fs.String("app", "", "")
	storage := fs.String("storage-account", "", "")
	apiServer := fs.String("aks-api-server", "", "")
	listProfiles := fs.Bool("list-profiles", false, "")
	proxyFlag := fs.String("proxy", "", "")
	resolver := fs.String("resolver", "", "")
	caFile := fs.String("ca", "", "")
	timeout := fs.String("timeout", "5s", "")
	parallel := fs.Int("parallel", 32, "")
	pos, err := parseCommand(env, fs, common, egressCheckUsage+findingsHelp("docs/egress-check.md", reach.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("egress check takes no arguments (got %q)", pos[0]).
			withHint("name destinations with --dest %s", pos[0])
	}
	timeouts, err := parseTimeouts(*timeout)
	if err != nil {
		return usageErrorf("--timeout %q: %v", *timeout, err).withHint("write one duration for every layer (5s, 1500ms) or some layers' own: dns=2s,tcp=3s,tls=5s,http=10s")
	}
	if *parallel < 1 || *parallel > 1024 {
		return usageErrorf("--parallel %d is not from 1 to 1024", *parallel)
	}
	opts := reach.Options{Timeouts: timeouts, Concurrency: *parallel}
	if *resolver != "" {
		host := *resolver
		if h, p, err := net.SplitHostPort(host); err == nil {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				return usageErrorf("--resolver %q: %q is not a port", *resolver, p)
			}
			host = h
		}
		if net.ParseIP(host) == nil {
			return usageErrorf("--resolver %q is not an IP address", *resolver).withHint("write it as 10.0.0.4 or 10.0.0.4:53")
		}
		opts.Resolver = *resolver
	} else {
		opts.SystemResolvers = reach.SystemResolvers("/etc/resolv.conf")
	}
	proxyDesc := ""
	switch *proxyFlag {
	case "":
		opts.Proxy = reach.ProxyFromEnv(env.Getenv)
		if opts.Proxy != nil {
			proxyDesc = reach.DescribeEnvProxy(env.Getenv)
		}
	case "direct", "none":
	default:
		u, err := reach.ParseProxy(*proxyFlag)
		if err != nil {
			return usageErrorf("--proxy %q: %v", *proxyFlag, err).withHint("write it as http://10.0.0.4:3128")
		}
		opts.Proxy = reach.FixedProxy(u)
		proxyDesc = (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()
	}
	roots, err := cert.DefaultRoots(env.Getenv)
	if err != nil {
		return usageErrorf("reading the system's roots: %v", err).withHint("set SSL_CERT_FILE to a PEM bundle")
	}
	pool := roots.Pool
	if *caFile != "" {
		extra, err := cert.LoadRoots(*caFile)
		if err != nil {
			return usageErrorf("--ca: %v", err).withHint("give a PEM file of CA certificates")
		}
		pool = pool.Clone()
		for _, c := range extra.Certs {
			pool.AddCert(c)
		}
	}
	opts.Roots = pool

	var ev *policy.Evaluator
	var source netip.Prefix
	if *sourceFlag != "" {
		if len(policies) == 0 {
			return usageErrorf("--source is the source of a --policy prediction").withHint("add --policy FILE, or drop --source")
		}
		p, err := netip.ParsePrefix(*sourceFlag)
		if err != nil {
			a, aerr := netip.ParseAddr(*sourceFlag)
			if aerr != nil {
				return usageErrorf("--source %q is not an IP address or CIDR", *sourceFlag).withHint("write it as 10.0.2.0/24 or 10.0.2.4")
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		source = p
	}
	if len(policies) > 0 {
		for _, p := range policies {
			if err := checkInput("--policy", p, "name an exported policy: az network firewall policy show -o json > policy.json"); err != nil {
				return err
			}
		}
		var err error
		if ev, err = readPolicies(env, policies); err != nil {
			return err
		}
	}
	if *listProfiles {
		// After every flag was checked: a manifest's args can be
		// validated with --list-profiles added.
		for _, name := range profiles {
			if _, err := egress.LookupProfile(name); err != nil {
				return usageErrorf("--profile: %v", err)
			}
		}
		return writeProfileList(env.Stdout)
	}
	if len(dests) == 0 && len(profiles) == 0 && len(logs) == 0 {
		return usageErrorf("egress check needs destinations").
			withHint("name them with --dest HOST[:PORT], --profile NAME (--list-profiles) or --from-log FILE")
	}
	var targets []reach.Target
	for _, s := range dests {
		t, err := reach.ParseDest(s)
		if err != nil {
			return usageErrorf("--dest %v", err).withHint("write a destination as pypi.org, pypi.org:443, https://pypi.org or tcp://10.0.0.5:5432")
		}
		targets = append(targets, t)
	}
	names := map[string]string{"app": *app, "storage-account": *storage, "aks-api-server": *apiServer}
	var unprobed []reach.Unprobed
	for _, name := range profiles {
		p, err := egress.LookupProfile(name)
		if err != nil {
			return usageErrorf("--profile: %v", err).withHint("kensa egress check --list-profiles shows each with its destinations")
		}
		ts, unbound, _ := reach.FromProfile(p.Bind(names))
		targets = append(targets, ts...)
		for _, u := range unbound {
			flag := map[string]string{"app": "--app NAME", "storage-account": "--storage-account NAME", "aks-api-server": "--aks-api-server FQDN"}[u.Fill]
			unprobed = append(unprobed, reach.Unprobed{Host: u.Host, Port: u.Port, Profile: p.Name, Needs: flag,
				Service: &reach.Service{ID: u.Service, Name: u.ServiceName, Why: u.Why, Source: u.Source, AsOf: u.AsOf}})
		}
	}
	if len(logs) > 0 {
		var inputs []egress.Input
		for _, p := range logs {
			st, err := os.Stat(p)
			if err != nil {
				return usageErrorf("--from-log %s: %v", p, unwrapPath(err)).withHint("check the path")
			}
			if st.IsDir() {
				return usageErrorf("--from-log %s is a directory", p).withHint("name the log files in it")
			}
			inputs = append(inputs, egress.Input{Name: p, Open: func() (io.ReadCloser, error) { return os.Open(p) }})
		}
		res, err := egress.Analyze(ctx, inputs, egress.Options{})
		if err != nil {
			return err
		}
		if err := unreadableInputs(res.Files); err != nil {
			return err
		}
		ts, _ := reach.FromLog(res, strings.Join(logs, ", "))
		if len(ts) == 0 && len(dests) == 0 && len(profiles) == 0 {
			return usageErrorf("the logs deny no destination kensa can probe (TCP with a host and port)").
				withHint("kensa egress analyze %s shows what they hold", strings.Join(logs, " "))
		}
		targets = append(targets, ts...)
	}
	if len(targets) == 0 && len(unprobed) > 0 {
		return usageErrorf("no destination of the profile can be probed without %s", unprobed[0].Needs).
			withHint("the profile names %s by pattern: give the name it stands for", unprobed[0].Host)
	}
	targets = reach.Dedupe(targets)
	reach.JoinCatalog(targets, egress.DefaultCatalog())

	prog := newProgress(env)
	opts.Progress = func(done, total int) { prog.update("kensa: probing: %d of %d destinations", done, total) }
	results := reach.Probe(ctx, targets, opts)
	prog.done()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("egress check interrupted: %w", err)
	}

	rep := newReport(env, "egress check", common.at)
	rep.Results = results
	rep.Findings = append(reach.Findings(results), reach.UnprobedFindings(unprobed)...)
	if ev != nil {
		rep.Findings = append(rep.Findings, reach.Predict(results, ev, source)...)
	}
	sum := reach.Summarize(results, unprobed, rep.Findings)
	if sum.Vantage == nil {
		sum.Vantage = &reach.Vantage{}
	}
	sum.Vantage.Hostname, _ = os.Hostname()
	sum.Vantage.Resolver = "system"
	if opts.Resolver != "" {
		sum.Vantage.Resolver = opts.Resolver
	} else if len(opts.SystemResolvers) > 0 {
		sum.Vantage.Resolver = "system (" + strings.Join(opts.SystemResolvers, ", ") + ")"
	}
	sum.Vantage.Proxy = proxyDesc
	rep.Summary = sum
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeEgressCheckText(t, results, rep.Findings, sum) }})
}

// parseTimeouts reads --timeout: one duration for every layer, or
// layer=duration pairs (the others keep their default).
func parseTimeouts(s string) (reach.Timeouts, error) {
	t := reach.DefaultTimeouts
	check := func(v string) (time.Duration, error) {
		d, err := parseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Minute {
			return 0, fmt.Errorf("%q is not a duration from 1ms to 10m", v)
		}
		return d, nil
	}
	if !strings.Contains(s, "=") {
		d, err := check(s)
		if err != nil {
			return t, err
		}
		return reach.Timeouts{DNS: d, TCP: d, TLS: d, HTTP: d}, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		d, err := check(v)
		if err != nil {
			return t, err
		}
		switch strings.ToLower(k) {
		case "dns":
			t.DNS = d
		case "tcp":
			t.TCP = d
		case "tls":
			t.TLS = d
		case "http":
			t.HTTP = d
		default:
			return t, fmt.Errorf("%q is not a layer (dns, tcp, tls, http)", k)
		}
	}
	return t, nil
}

func writeProfileList(w io.Writer) error {
	tb := report.NewTable("PROFILE", "DESTINATIONS", "TITLE")
	tb.MaxWidth = 70
	for _, p := range egress.Profiles() {
		tb.Row(p.Name, strconv.Itoa(len(p.Destinations)), p.Title)
	}
	return tb.Write(w)
}

// writeEgressCheckText is the text view: one line per destination, then
// what each blocked one means and how to fix it.
func writeEgressCheckText(t *textWriter, results []reach.Result, findings []report.Finding, sum reach.Summary) {
	v := sum.Vantage
	var head strings.Builder // fitted to the terminal
	fmt.Fprintf(&head, "%s from %s: %d reachable, %d blocked", report.Count(sum.Destinations, "destination", "destinations"),
		v.Hostname, sum.Reachable, sum.Blocked)
	if sum.TCPOnlyWouldPass > 0 {
		fmt.Fprintf(&head, " (%d of them pass a TCP-only check like nc -vz)", sum.TCPOnlyWouldPass)
	}
	if sum.NotProbed > 0 {
		fmt.Fprintf(&head, ", %d not probed", sum.NotProbed)
	}
	if sum.Predicted > 0 {
		fmt.Fprintf(&head, "; policy: %d of %d predictions match", sum.Predicted-sum.Mismatches, sum.Predicted)
	}
	fmt.Fprintf(&head, "\nresolver %s", v.Resolver)
	if v.Proxy != "" {
		fmt.Fprintf(&head, ", proxy %s", v.Proxy)
	}
	if len(v.SourceAddresses) > 0 {
		fmt.Fprintf(&head, ", source %s", strings.Join(v.SourceAddresses, ", "))
	}
	head.WriteString("\n")
	t.fitLines(head.String())
	if len(results) > 0 {
		t.printf("\n")
		// STATUS is folded into RESULT (reachable, or the failure class)
		// so that a row fits a terminal.
		header := []string{"DESTINATION", "SERVICE", "DNS", "TCP", "TLS", "HTTP", "RESULT"}
		if sum.Predicted > 0 {
			header = append(header, "POLICY")
		}
		tb := report.NewTable(header...)
		tb.MaxWidth = 22
		tb.Uncut = []int{0, 6}
		tb.Fit(1, report.FitEnd, 8) // the service gives way, then goes (JSON has it)
		tb.Optional(1)
		for i := range results {
			r := &results[i]
			svc := "-"
			if r.Service != nil {
				svc = r.Service.Name
			}
			result := r.Status
			if r.Class != "" {
				result = r.Class
			}
			pred := "-"
			if p := r.Prediction; p != nil {
				pred = p.Action
				if p.Match != nil && !*p.Match {
					pred += " (MISMATCH)"
				}
			}
			tb.Row(r.Address(), svc, layerCell(r, reach.LayerDNS), layerCell(r, reach.LayerTCP),
				layerCell(r, reach.LayerTLS), layerCell(r, reach.LayerHTTP), result, pred)
		}
		t.table(tb)
	}
	if len(findings) > 0 {
		t.printf("\n")
		for _, f := range findings {
			t.printf("%s  %s\n", f.ID, f.Subject)
			t.lines(wrap(report.Printable(f.Message), "    ", t.textWidth(96)-4))
			t.lines(wrap(report.Printable("fix: "+f.Remediation), "    ", t.textWidth(96)-4))
		}
	}
	t.printf("\n(--format json keeps every layer: addresses, certificate names and issuer, the answers)\n")
}

// layerCell says how one layer went: "ok", "-" (not reached or not
// applicable), or "FAIL".
func layerCell(r *reach.Result, layer string) string {
	if r.Layer == layer || (layer == reach.LayerTCP && r.Layer == reach.LayerProxy) {
		return "FAIL"
	}
	switch layer {
	case reach.LayerDNS:
		if r.DNS != nil {
			return "ok"
		}
		if r.Proxy != nil {
			return "proxy"
		}
	case reach.LayerTCP:
		if r.TCP != nil && r.TCP.Connected {
			return "ok"
		}
	case reach.LayerTLS:
		if r.TLS != nil && r.TLS.Verified {
			return "ok"
		}
	case reach.LayerHTTP:
		if r.HTTP != nil && r.HTTP.Status != 0 {
			return strconv.Itoa(r.HTTP.Status)
		}
	}
	return "-"
}

func init() {
	registerDomain("egress check", domainInfo{checks: reach.Checks, doc: "docs/egress-check.md", summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[reach.Result](raw)
		if err != nil {
			return nil, err
		}
		// Destinations not probed are not results: they are added up;
		// the rest is counted again.
		in, err := addSummaries(sums, (*reach.Summary).Add)
		if err != nil {
			return nil, err
		}
		s := reach.Summarize(rs, nil, fs)
		s.NotProbed = in.NotProbed
		return s, nil
	}})
}
