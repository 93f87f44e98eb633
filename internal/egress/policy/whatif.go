package policy

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/report"
)

// Checks is the catalog of finding ids egress whatif emits.
var Checks = []report.Check{
	{ID: "egress-whatif-denied", Severity: report.Error,
		Title:    "the policy would deny a destination: no rule matches it",
		Citation: "Azure Firewall rule processing: \"Azure Firewall denies all traffic by default\" (articles/firewall/rule-processing.md)",
		Help:     "No rule of the policy (or its base policy) matches the destination, so the firewall's default action denies it. Add an allow rule before the deploy: kensa egress whatif --emit az|bicep|terraform writes the rules for every such destination."},
	{ID: "egress-whatif-denied-by-rule", Severity: report.Error,
		Title:    "the policy would deny a destination with a deny rule of its own",
		Citation: "Azure Firewall rule processing: rules are terminating (articles/firewall/rule-processing.md)",
		Help:     "A deny rule matches first. An allow rule added after it does not help: change the deny rule, or give the allow rule a collection (or, in a base policy, a rule collection group) that is processed earlier."},
	{ID: "egress-whatif-threat-intel", Severity: report.Warning,
		Title:    "threat intelligence would deny a destination before any rule",
		Citation: "Azure Firewall threat intelligence-based filtering (articles/firewall/threat-intel.md)",
		Help:     "The firewall's log shows Microsoft's threat intelligence flagged the destination, and the policy's mode is Deny. Investigate it; an allow rule does not change threat intelligence (its allowlist does)."},
	{ID: "egress-whatif-unknown", Severity: report.Warning,
		Title:    "kensa cannot tell whether the policy allows a destination",
		Citation: "kensa egress whatif: a rule whose match depends on data not in the inputs",
		Help:     "A rule before the decision may match: a web category, a service tag or IP group whose addresses were not given, a value a Terraform plan leaves unknown, a name whose addresses were not given. Give the missing data (service tags file, IP groups, --address) or test from inside the network with kensa egress check."},
	{ID: "egress-whatif-network-shadows-app", Severity: report.Info,
		Title:    "a network rule allows all HTTPS: application rules after it are never reached",
		Citation: "Azure Firewall rule processing, example 1 (articles/firewall/rule-processing.md)",
		Help:     "Network rules are processed before application rules; a network rule that allows TCP 443 from and to anywhere decides every HTTPS connection, so FQDN filtering by application rules does nothing."},
	{ID: "egress-whatif-network-wildcard", Severity: report.Info,
		Title:    "a network rule names a wildcard FQDN, which matches nothing",
		Citation: "Azure Firewall FQDN filtering in network rules (articles/firewall/fqdn-filtering-network-rules.md)",
		Help:     "Network rules resolve FQDNs through DNS proxy and take no wildcards; use an application rule for wildcards over HTTP/HTTPS."},
	{ID: "egress-whatif-fqdn-tag-protocol", Severity: report.Info,
		Title:    "an FQDN tag on a protocol other than https",
		Citation: "Azure Firewall FQDN tags (articles/firewall/fqdn-tags.md)",
		Help:     "\"When you select FQDN Tag in an application rule, set the protocol:port field to https.\""},
	{ID: "egress-whatif-needs-name", Severity: report.Warning,
		Title:    "a profile destination needs the name of your app, storage account or cluster",
		Citation: "kensa egress profiles (profiles.json)",
		Help:     "The destination is one specific name (the app's own SCM site, its storage account, the cluster's API server) that kensa cannot guess: name it with --app, --storage-account or --aks-api-server."},
}

// Target is a destination to evaluate and where it came from.
type Target struct {
	Host string
	// Pattern is the profile's wildcard when Host is its example.
	Pattern  string
	Port     int
	Protocol string
	// Sources are the sending addresses; empty means the run's --source.
	Sources []netip.Prefix
	// From names the inputs that asked for it: "--dest", "profile pip",
	// "log fw.json".
	From []string
	Why  string
	// WhySource and WhyAsOf cite the document Why comes from.
	WhySource, WhyAsOf string
	// Service is the catalog service id ("" when the catalog has none).
	Service string
	// ThreatIntel is set from a log that shows threat intelligence flagged it.
	ThreatIntel string
	// Fill is set for a profile destination that needs a name the user
	// did not give ("app"); it is not evaluated.
	Fill string
}

// destSyntax is what --dest of egress whatif takes: the protocols Azure
// Firewall rules match (application rules for HTTP, HTTPS and MSSQL;
// network rules for TCP, UDP and ICMP).
var destSyntax = egress.DestSyntax{
	Schemes: []egress.Scheme{{Name: "https", Port: 443}, {Name: "http", Port: 80}, {Name: "mssql", Port: 1433},
		{Name: "tcp", NeedsPort: true}, {Name: "udp", NeedsPort: true}, {Name: "icmp"}},
	ByPort: map[int]string{443: "https", 80: "http", 1433: "mssql"},
}

// ParseDest reads a destination as a user writes it (egress.DestSyntax):
// "pypi.org:443", "pypi.org" (HTTPS 443), "https://pypi.org",
// "http://x:8080", "tcp://10.1.2.3:5432", "udp://ntp.ubuntu.com:123",
// "mssql://db" (1433), "db:1433" (MSSQL), "[2001:db8::1]:443".
func ParseDest(s string) (Target, error) {
	d, err := destSyntax.ParseDest(s)
	if err != nil {
		return Target{}, err
	}
	return Target{Host: d.Host, Port: d.Port, Protocol: d.Protocol, From: []string{"--dest"}}, nil
}

// ProfileTargets turns a profile's destinations into targets; a wildcard
// is evaluated as its example host, and one that needs a name the profile
// was not bound to is kept unevaluated.
func ProfileTargets(p egress.Profile) []Target {
	var out []Target
	for _, d := range p.Destinations {
		t := Target{Host: d.Host, Port: d.Port, Protocol: d.Protocol, From: []string{"profile " + p.Name}, Why: d.Why, Service: d.Service,
			WhySource: d.Source, WhyAsOf: d.AsOf}
		if strings.Contains(d.Host, "*") {
			t.Pattern = d.Host
			t.Host = d.Example
			if d.Example == "" {
				t.Host, t.Fill = d.Host, d.Fill
			}
		}
		out = append(out, t)
	}
	return out
}

// LogTargets turns the denied destinations of a log analysis into
// targets, with the sources that sent them.
func LogTargets(res *egress.Result, from string) []Target {
	var out []Target
	for _, d := range res.Destinations {
		if d.Action != egress.ActionDeny || d.Port < 0 && !strings.EqualFold(d.Proto, "ICMP") {
			continue
		}
		t := Target{Host: d.Host, Port: d.Port, Protocol: strings.ToLower(d.Proto), From: []string{from}}
		switch t.Protocol {
		case "https", "http", "mssql", "tcp", "udp", "icmp":
		default:
			t.Protocol = "tcp"
		}
		if d.Reason == egress.ReasonThreatIntel {
			t.ThreatIntel = strings.TrimPrefix(d.Rule, "ThreatIntel: ")
			if t.ThreatIntel == "" {
				t.ThreatIntel = "flagged"
			}
		}
		for _, s := range d.Sources {
			if a, err := netip.ParseAddr(s); err == nil {
				t.Sources = append(t.Sources, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			}
		}
		out = append(out, t)
	}
	return out
}

// Result is the prediction for one destination from one source.
type Result struct {
	// Destination is "host:port" (the pattern's example for a wildcard).
	Destination string `json:"destination"`
	Host        string `json:"host"`
	Pattern     string `json:"pattern,omitempty"`
	Port        int    `json:"port"`
	Protocol    string `json:"protocol"`
	Source      string `json:"source"`
	// From names what asked for the destination.
	From    []string    `json:"from"`
	Service *ServiceRef `json:"service"`
	Why     string      `json:"why,omitempty"`
	// WhySource and WhyAsOf cite the document Why comes from.
	WhySource string `json:"why_source,omitempty"`
	WhyAsOf   string `json:"why_as_of,omitempty"`
	Verdict
	fillFlag string
}

// ServiceRef is a catalog service, as egress analyze reports it.
type ServiceRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
}

// Options steer a run.
type Options struct {
	// Sources are the default sources (--source) for targets without any.
	Sources []netip.Prefix
	// Addresses are the known addresses of names (--address).
	Addresses map[string][]netip.Addr
	// Catalog classifies destinations (egress.DefaultCatalog when nil).
	Catalog *egress.Catalog
}

// Run evaluates every target from each of its sources. Targets for the
// same host, port and protocol are merged (their From lists joined).
func Run(e *Evaluator, targets []Target, opts Options) ([]Result, []report.Finding) {
	cat := opts.Catalog
	if cat == nil {
		cat = egress.DefaultCatalog()
	}
	// Merge targets.
	type key struct {
		host, proto string
		port        int
	}
	var order []key
	merged := map[key]*Target{}
	for _, t := range targets {
		k := key{t.Host, t.Protocol, t.Port}
		if m := merged[k]; m != nil {
			for _, f := range t.From {
				if !contains(m.From, f) {
					m.From = append(m.From, f)
				}
			}
			m.Sources = append(m.Sources, t.Sources...)
			if m.Why == "" {
				m.Why, m.WhySource, m.WhyAsOf = t.Why, t.WhySource, t.WhyAsOf
			}
			if m.ThreatIntel == "" {
				m.ThreatIntel = t.ThreatIntel
			}
			continue
		}
		c := t
		c.From = append([]string(nil), t.From...)
		merged[k] = &c
		order = append(order, k)
	}
	var results []Result
	var findings []report.Finding
	for _, k := range order {
		t := merged[k]
		srcs := dedupePrefixes(t.Sources)
		if len(srcs) == 0 {
			srcs = opts.Sources
		}
		if len(srcs) == 0 {
			srcs = []netip.Prefix{{}}
		}
		var svc *ServiceRef
		lookupHost := t.Host
		if t.Pattern != "" {
			lookupHost = t.Pattern
		}
		if m := cat.Match(strings.ReplaceAll(lookupHost, "*", "x"), t.Port, t.Protocol); m != nil {
			svc = &ServiceRef{ID: m.Service.ID, Name: m.Service.Name, Source: m.Service.Source, AsOf: m.Service.AsOf}
		}
		for _, src := range srcs {
			r := Result{Host: t.Host, Pattern: t.Pattern, Port: t.Port, Protocol: t.Protocol, From: t.From, Service: svc, Why: t.Why,
				WhySource: t.WhySource, WhyAsOf: t.WhyAsOf,
				Destination: egress.HostPort(t.Host, t.Port)}
			if src.IsValid() {
				r.Source = src.String()
				if src.IsSingleIP() {
					r.Source = src.Addr().String()
				}
			}
			if t.Fill != "" {
				flag := map[string]string{"app": "--app", "storage-account": "--storage-account", "aks-api-server": "--aks-api-server"}[t.Fill]
				r.fillFlag = flag
				r.Verdict = Verdict{Action: "unknown", Decision: "needs-name",
					Notes: []string{fmt.Sprintf("%s stands for your %s: name it with %s to evaluate it", t.Host, t.Fill, flag)}}
			} else {
				r.Verdict = e.Evaluate(Dest{Host: t.Host, Port: t.Port, Protocol: t.Protocol, Source: src,
					Addresses: opts.Addresses[t.Host], ThreatIntel: t.ThreatIntel})
			}
			results = append(results, r)
			if f, ok := findingFor(r); ok {
				findings = append(findings, f)
			}
		}
	}
	return results, findings
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func dedupePrefixes(ps []netip.Prefix) []netip.Prefix {
	seen := map[netip.Prefix]bool{}
	var out []netip.Prefix
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out
}

func findingFor(r Result) (report.Finding, bool) {
	subject := strings.ToUpper(r.Protocol) + " " + r.Destination
	if r.Pattern != "" && r.Decision != "needs-name" {
		subject += " (" + r.Pattern + ")"
	}
	if r.Source != "" {
		subject += " from " + r.Source
	}
	svc := ""
	if r.Service != nil {
		svc = " (needed by " + r.Service.Name + ")"
	}
	f := report.Finding{Subject: subject}
	switch {
	case r.Decision == "needs-name":
		f.ID, f.Severity = "egress-whatif-needs-name", report.Warning
		f.Message = r.Notes[0] + svc
		f.Remediation = "name it: " + r.fillFlag + " NAME"
		f.Citation = "kensa egress profiles: " + strings.Join(r.From, ", ")
	case r.Action == "deny" && r.Decision == "threat-intel":
		f.ID, f.Severity = "egress-whatif-threat-intel", report.Warning
		f.Message = "threat intelligence would deny it before any rule: " + r.Log
		f.Remediation = "investigate the destination; do not allow it with a rule"
		f.Citation = checkCitation("egress-whatif-threat-intel")
	case r.Action == "deny" && r.Rule != nil:
		f.ID, f.Severity = "egress-whatif-denied-by-rule", report.Error
		f.Message = fmt.Sprintf("would be denied by %s%s: %s", r.Rule.Path(), svc, r.Log)
		f.Remediation = "a deny rule of the policy matches first: change it, or allow the destination in a collection processed before it"
		f.Citation = checkCitation("egress-whatif-denied-by-rule")
	case r.Action == "deny":
		f.ID, f.Severity = "egress-whatif-denied", report.Error
		f.Message = "would be denied: no rule matched, default deny" + svc
		f.Remediation = "allow it before the deploy: kensa egress whatif --emit az|bicep|terraform writes the rule"
		f.Citation = checkCitation("egress-whatif-denied")
		if r.Service != nil {
			f.Citation = "kensa egress catalog: " + r.Service.ID + " (" + r.Service.Source + ", as of " + r.Service.AsOf + ")"
		}
	case r.Action == "unknown":
		f.ID, f.Severity = "egress-whatif-unknown", report.Warning
		var whys []string
		for _, m := range r.Maybe {
			whys = append(whys, m.Rule.Path()+": "+m.Detail)
		}
		f.Message = "cannot tell" + svc + ": " + strings.Join(whys, "; ")
		f.Remediation = "give the missing data (service tags, IP groups, --address), or probe from inside the network (kensa egress check)"
		f.Citation = checkCitation("egress-whatif-unknown")
	default:
		return f, false
	}
	return f, true
}

func checkCitation(id string) string {
	for _, c := range Checks {
		if c.ID == id {
			return c.Citation
		}
	}
	return ""
}

// Summary counts a whatif run.
type Summary struct {
	Destinations int `json:"destinations"`
	Allow        int `json:"allow"`
	Deny         int `json:"deny"`
	Unknown      int `json:"unknown"`
	// Policies are the policies evaluated, base first.
	Policies        []string       `json:"policies"`
	ThreatIntelMode string         `json:"threat_intel_mode"`
	DNSProxy        *bool          `json:"dns_proxy"`
	ServiceTags     string         `json:"service_tags_change,omitempty"`
	Files           []FileInfo     `json:"files"`
	Findings        map[string]int `json:"findings"`
}

// Summarize counts results and findings.
func Summarize(e *Evaluator, results []Result, findings []report.Finding) Summary {
	s := Summary{Findings: map[string]int{}}
	for _, r := range results {
		s.Destinations++
		switch r.Action {
		case "allow":
			s.Allow++
		case "deny":
			s.Deny++
		default:
			s.Unknown++
		}
	}
	for sev, n := range report.CountBySeverity(findings) {
		s.Findings[string(sev)] = n
	}
	if e != nil {
		for _, p := range e.Chain() {
			s.Policies = append(s.Policies, p.Name)
		}
		s.ThreatIntelMode = e.ThreatIntelMode()
		s.DNSProxy = e.DNSProxy()
		s.Files = e.set.Files
		if st := e.set.ServiceTags; st != nil {
			s.ServiceTags = st.ChangeNumber
		}
	}
	return s
}

// Add folds o into s (a merged report re-counts).
func (s *Summary) Add(o Summary) {
	s.Destinations += o.Destinations
	s.Allow += o.Allow
	s.Deny += o.Deny
	s.Unknown += o.Unknown
	s.Files = append(s.Files, o.Files...)
	s.Findings = report.AddCounts(s.Findings, o.Findings)
	for _, p := range o.Policies {
		if !contains(s.Policies, p) {
			s.Policies = append(s.Policies, p)
		}
	}
}

// Plan turns the destinations the policy would deny by default into the
// rules that allow them (egress.MakePlan), so that whatif --emit writes
// what closes the gaps it predicted. Denies by a rule or threat
// intelligence, and unknowns, get no rule.
func Plan(results []Result, opts egress.PlanOptions) *egress.Plan {
	var ds []*egress.Destination
	byKey := map[string]*egress.Destination{}
	var skipped []egress.Skipped
	seen := map[string]bool{}
	for _, r := range results {
		why := ""
		switch {
		case r.Action == "deny" && r.Decision == "threat-intel":
			why = "denied by threat intelligence before any rule: investigate, do not allow"
		case r.Action == "deny" && r.Rule != nil:
			why = "denied by " + r.Rule.Path() + ": an allow rule after it does not help; change that rule"
		case r.Action == "unknown" && r.Decision == "needs-name":
			why = "not evaluated: " + r.Notes[0]
		case r.Action == "unknown":
			why = "kensa cannot tell whether the policy allows it"
			if len(r.Maybe) > 0 {
				why += " (" + r.Maybe[0].Code + ": " + r.Maybe[0].Rule.Path() + ")"
			}
		}
		if why != "" {
			if k := r.Destination + why; !seen[k] {
				seen[k] = true
				skipped = append(skipped, egress.Skipped{Host: r.Host, Port: r.Port, Reason: why})
			}
			continue
		}
		if r.Action != "deny" || r.Decision != "default-deny" {
			continue
		}
		k := r.Host + "|" + strconv.Itoa(r.Port) + "|" + r.Protocol
		d := byKey[k]
		if d == nil {
			d = &egress.Destination{Host: r.Host, Port: r.Port, Proto: strings.ToUpper(r.Protocol), Action: egress.ActionDeny, Reason: egress.ReasonNoRule}
			d.Service = egress.DefaultCatalog().Match(r.Host, r.Port, d.Proto)
			byKey[k] = d
			ds = append(ds, d)
		}
		if r.Source != "" {
			d.Sources = append(d.Sources, r.Source)
		}
	}
	p := egress.MakePlan(ds, opts)
	p.Skipped = append(p.Skipped, skipped...)
	p.Origin = "Azure Firewall Policy rules that allow the destinations kensa egress whatif\n" +
		"predicted the policy's default deny would stop. Review them before applying.\n" +
		"Give the group a priority that comes before any deny rule that should not win."
	return p
}
