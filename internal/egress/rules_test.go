package egress

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/testenv"
)

func goldenPlan(t *testing.T) *Plan {
	t.Helper()
	var ins []Input
	for _, f := range []string{"azfw.log", "blob.jsonl", "structured.jsonl", "access.log", "la-export.json", "aws-nfw.jsonl"} {
		ins = append(ins, fileInput(filepath.Join("testdata", f)))
	}
	return MakePlan(analyze(t, Options{}, ins...).Destinations, PlanOptions{})
}

// TestRuleWritersGolden compares the three renderings with the files in
// testdata/golden (go test -run Golden -update rewrites them; read the
// diff line by line against the Azure documentation before committing).
func TestRuleWritersGolden(t *testing.T) {
	p := goldenPlan(t)
	for _, lang := range []struct{ lang, file string }{{"az", "rules.sh"}, {"bicep", "rules.bicep"}, {"terraform", "rules.tf"}} {
		t.Run(lang.lang, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteRules(&b, lang.lang, p); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", lang.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("%s differs from %s (-want +got):\n%s", lang.lang, path, diff)
			}
		})
	}
}

func TestPlanShape(t *testing.T) {
	p := goldenPlan(t)
	byName := map[string]Rule{}
	for _, c := range p.Collections {
		byName[c.Rule.Name] = c.Rule
		if !regexp.MustCompile(`^[A-Za-z0-9][\w.-]{0,79}$`).MatchString(c.Name) || strings.HasSuffix(c.Name, "-") {
			t.Errorf("collection name %q is not a valid Azure name", c.Name)
		}
	}
	// SMB 445 to an IP: a network rule, not an application rule.
	if r := byName["app-service-content-share-tcp-445"]; r.Type != NetRule || !slices.Equal(r.Addresses, []string{"192.0.2.46", "203.0.113.100"}) {
		t.Errorf("SMB rule = %+v", r)
	}
	// The MCR wildcard comes with its apex, and the companions.
	mcr := byName["mcr-https"]
	for _, h := range []string{"*.data.mcr.microsoft.com", "data.mcr.microsoft.com", "mcr.microsoft.com", "mcr-0001.mcr-msedge.net"} {
		if !slices.Contains(mcr.FQDNs, h) {
			t.Errorf("mcr rule lacks %s: %v", h, mcr.FQDNs)
		}
	}
	// Kudu: the exact host and its site, never the wildcard.
	if k := byName["kudu-https"]; !slices.Equal(k.FQDNs, []string{"contoso-build.azurewebsites.net", "contoso-build.scm.azurewebsites.net"}) {
		t.Errorf("kudu = %v", k.FQDNs)
	}
	// Threat intelligence, IDPS, explicit denies, DNS failures: never allowed.
	for _, s := range []string{"ocsp.badca.example.net", "telemetry.example.org", "198.51.100.77", "agent.westeurope.build.example.net", "db.internal.example"} {
		if !slices.ContainsFunc(p.Skipped, func(x Skipped) bool { return x.Host == s }) {
			t.Errorf("%s should be skipped", s)
		}
		for _, c := range p.Collections {
			if slices.Contains(c.Rule.FQDNs, s) || slices.Contains(c.Rule.Addresses, s) {
				t.Errorf("%s was allowed by %s", s, c.Name)
			}
		}
	}
}

// TestHostileNamesNeverReachRules feeds names that would break out of a
// shell, Bicep or HCL string.
func TestHostileNamesNeverReachRules(t *testing.T) {
	log := strings.Join([]string{
		`HTTPS request from 10.0.0.1:1 to a'$(touch /tmp/x)'.example.com:443. Action: Deny. No rule matched. Proceeding with default action`,
		`HTTPS request from 10.0.0.1:1 to ${file("/etc/passwd")}.example.com:443. Action: Deny. No rule matched. Proceeding with default action`,
		`HTTPS request from 10.0.0.1:1 to x"y.example.com:443. Action: Deny. No rule matched. Proceeding with default action`,
		`HTTPS request from 10.0.0.1';id;':1 to ok.example.com:443. Action: Deny. No rule matched. Proceeding with default action`,
	}, "\n")
	js := `{"category":"AZFWApplicationRule","properties":{"Action":"Deny","ActionReason":"Default Action","DestinationPort":443,"Fqdn":"evil\nrm -rf /\n.example.com","Protocol":"HTTPS","SourceIp":"10.0.0.1"}}`
	res := analyze(t, Options{}, bytesInput("hostile", []byte(log)), bytesInput("hostile.json", []byte(js)))
	p := MakePlan(res.Destinations, PlanOptions{})
	if len(p.Collections) != 1 || !slices.Equal(p.Collections[0].Rule.FQDNs, []string{"ok.example.com"}) ||
		!slices.Equal(p.Collections[0].Rule.Sources, []string{"*"}) {
		t.Errorf("plan = %+v", p.Collections)
	}
	// The first line has a space in its "name": it is no msg at all.
	if len(p.Skipped) != 3 || res.Files[0].Unknown != 1 {
		t.Errorf("skipped = %+v", p.Skipped)
	}
	for _, lang := range EmitFormats {
		var b bytes.Buffer
		WriteRules(&b, lang, p)
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, "rm -rf") {
				t.Errorf("%s: a log value broke out of a comment:\n%s", lang, b.String())
			}
		}
	}
}

func TestAzScriptIsValidShell(t *testing.T) {
	sh := testenv.NeedCommand(t, "sh")
	path := filepath.Join(t.TempDir(), "rules.sh")
	var b bytes.Buffer
	WriteAz(&b, goldenPlan(t))
	os.WriteFile(path, b.Bytes(), 0o755)
	if out, err := exec.Command(sh, "-n", path).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
}

// TestTerraformFmt runs terraform fmt -check where terraform is installed
// (it is not in Debian, so CI does not require it).
func TestTerraformFmt(t *testing.T) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed")
	}
	for _, p := range []*Plan{goldenPlan(t), {}} {
		dir := t.TempDir()
		var b bytes.Buffer
		WriteTerraform(&b, p)
		os.WriteFile(filepath.Join(dir, "main.tf"), b.Bytes(), 0o644)
		cmd := exec.Command(tf, "fmt", "-check", "-diff", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("terraform fmt -check: %v\n%s", err, out)
		}
	}
}

// TestBicepStructure checks what a Bicep parser would: balanced brackets
// outside strings, every string closed, one property or item per line,
// and the properties the resource type requires.
func TestBicepStructure(t *testing.T) {
	var b bytes.Buffer
	WriteBicep(&b, goldenPlan(t))
	src := b.String()
	var stack []rune
	pairs := map[rune]rune{'}': '{', ']': '['}
	for n, line := range strings.Split(src, "\n") {
		code := line
		if i := strings.Index(code, "//"); i >= 0 && strings.Count(code[:i], "'")%2 == 0 {
			code = code[:i]
		}
		inStr := false
		for i := 0; i < len(code); i++ {
			c := code[i]
			switch {
			case inStr && c == '\\':
				i++
			case c == '\'':
				inStr = !inStr
			case inStr:
			case c == '{' || c == '[':
				stack = append(stack, rune(c))
			case c == '}' || c == ']':
				if len(stack) == 0 || stack[len(stack)-1] != pairs[rune(c)] {
					t.Fatalf("line %d: unbalanced %c: %s", n+1, c, line)
				}
				stack = stack[:len(stack)-1]
			}
		}
		if inStr {
			t.Fatalf("line %d: unclosed string: %s", n+1, line)
		}
		if c := strings.TrimSpace(code); strings.Contains(c, ",") {
			// Bicep items are separated by new lines, not commas.
			if strings.Count(c, "'")%2 == 0 && strings.ContainsAny(strings.Split(c, "'")[0], ",") {
				t.Errorf("line %d: comma outside a string: %s", n+1, line)
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed %q at the end", string(stack))
	}
	for _, want := range []string{"ruleCollectionType: 'FirewallPolicyFilterRuleCollection'", "ruleType: 'ApplicationRule'",
		"ruleType: 'NetworkRule'", "protocolType: 'Https'", "targetFqdns: [", "destinationPorts: [", "ipProtocols: [",
		"parent: firewallPolicy", "'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2023-11-01'"} {
		if !strings.Contains(src, want) {
			t.Errorf("bicep lacks %q", want)
		}
	}
}

// TestAppRulePortLimit: Azure takes application rule ports up to 64000
// only, and rejects the whole rule collection group otherwise; HTTP(S) on
// a higher port needs a network rule.
func TestAppRulePortLimit(t *testing.T) {
	log := "HTTPS request from 10.0.0.5:1 to big.example.com:65001. Action: Deny. No rule matched. Proceeding with default action\n" +
		"HTTP request from 10.0.0.5:1 to edge.example.com:64000. Action: Deny. No rule matched. Proceeding with default action\n"
	p := MakePlan(analyze(t, Options{}, bytesInput("x", []byte(log))).Destinations, PlanOptions{})
	var got []string
	for _, c := range p.Collections {
		r := c.Rule
		for _, pp := range r.Protocols {
			if pp.Port > maxAppRulePort {
				t.Errorf("application rule %s on port %d", r.Name, pp.Port)
			}
		}
		got = append(got, fmt.Sprintf("%s %s %v %v %v", r.Type, r.Name, r.Protocols, r.Ports, r.FQDNs))
	}
	want := []string{
		"ApplicationRule other-http-64000 [{Http 64000}] [] [edge.example.com]",
		"NetworkRule other-tcp-65001 [] [65001] [big.example.com]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if !p.NeedsDNSProxy {
		t.Error("a network rule naming an FQDN needs DNS proxy")
	}
}

// TestProxyAndIPv6ClientsAreEgress: a forward proxy's clients are inside
// by definition, and inside networks use global IPv6 addresses, so
// neither is taken for inbound traffic; a dual-stack proxy's IPv4-mapped
// client becomes the IPv4 address a rule names.
func TestProxyAndIPv6ClientsAreEgress(t *testing.T) {
	squid := "1757106049.100      0 2001:db8::77 TCP_DENIED/403 3867 CONNECT pypi.org:443 - HIER_NONE/- text/html\n" +
		"1757106049.200      0 203.0.113.7 TCP_DENIED/403 3867 CONNECT registry.npmjs.org:443 - HIER_NONE/- text/html\n" +
		"1757106049.300      0 ::ffff:10.1.2.3 TCP_DENIED/403 3867 CONNECT api.nuget.org:443 - HIER_NONE/- text/html\n" +
		"1757106049.400      0 10.1.2.3 TCP_DENIED/403 3867 CONNECT api.nuget.org:443 - HIER_NONE/- text/html\n"
	fw := "TCP request from [2001:db8::5]:50412 to [2001:db8:1::9]:8443. Action: Deny. \n" +
		"TCP request from 198.18.7.21:12518 to 10.20.0.4:2323. Action: Deny\n"
	res := analyze(t, Options{}, bytesInput("access.log", []byte(squid)), bytesInput("fw.log", []byte(fw)))
	p := MakePlan(res.Destinations, PlanOptions{})
	var skipped []string
	for _, s := range p.Skipped {
		why, _, _ := strings.Cut(s.Reason, ":")
		skipped = append(skipped, s.Host+": "+why)
	}
	// The IPv6 ones are skipped for being IPv6 (TestIPv6IsNeverWritten),
	// never taken for inbound.
	want := []string{"10.20.0.4: every source is a public address", "2001:db8:1::9: an IPv6 destination", "pypi.org: every source is an IPv6 address"}
	if diff := cmp.Diff(want, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	for _, c := range p.Collections {
		if slices.Contains(c.Rule.FQDNs, "api.nuget.org") && !slices.Equal(c.Rule.Sources, []string{"10.1.2.3"}) {
			t.Errorf("nuget sources = %v, want [10.1.2.3]", c.Rule.Sources)
		}
	}
}

// TestIPv6IsNeverWritten: Azure Firewall takes IPv6 only in network rules
// of a dual-stack firewall, in preview (no application rules, IP Groups,
// Classic or Virtual hub firewalls): an IPv6 destination is listed with
// the reason, IPv6 sources are left out of a rule that has IPv4 ones and
// said to be, and a destination reached only from IPv6 gets no rule (never
// a rule from "*"). An IPv4-mapped address is IPv4.
func TestIPv6IsNeverWritten(t *testing.T) {
	squid := "1757106049.100      0 2001:db8::77 TCP_DENIED/403 3867 CONNECT pypi.org:443 - HIER_NONE/- text/html\n" +
		"1757106049.200      0 10.1.2.4 TCP_DENIED/403 3867 CONNECT pypi.org:443 - HIER_NONE/- text/html\n" +
		"1757106049.300      0 2001:db8::78 TCP_DENIED/403 3867 CONNECT only6.example.com:443 - HIER_NONE/- text/html\n" +
		"1757106049.400      0 10.1.2.5 TCP_DENIED/403 3867 GET http://[2001:db8::9]:8080/x - HIER_NONE/- text/html\n"
	fw := "TCP request from 10.1.2.6:50412 to [2001:db8:1::9]:8443. Action: Deny. \n" +
		"TCP request from 10.1.2.6:50412 to [::ffff:192.0.2.9]:8443. Action: Deny. \n" +
		"TCP request from [2001:db8::5]:50412 to [2001:db8:1::10]:22. Action: Deny. \n"
	res := analyze(t, Options{}, bytesInput("access.log", []byte(squid)), bytesInput("fw.log", []byte(fw)))
	p := MakePlan(res.Destinations, PlanOptions{NoCompanions: true})
	var skipped []string
	for _, s := range p.Skipped {
		why, _, _ := strings.Cut(s.Reason, ":")
		skipped = append(skipped, HostPort(s.Host, s.Port)+": "+why)
	}
	slices.Sort(skipped)
	wantSkipped := []string{
		"[2001:db8:1::10]:22: an IPv6 destination",
		"[2001:db8:1::9]:8443: an IPv6 destination",
		"[2001:db8::9]:8080: an IPv6 destination",
		"only6.example.com:443: every source is an IPv6 address",
	}
	if diff := cmp.Diff(wantSkipped, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	var rules []string
	for _, c := range p.Collections {
		rules = append(rules, fmt.Sprintf("%s %v %v %v", c.Rule.Type, c.Rule.Sources, c.Rule.FQDNs, c.Rule.Addresses))
	}
	wantRules := []string{
		"ApplicationRule [10.1.2.4] [pypi.org] []",
		"NetworkRule [10.1.2.6] [] [192.0.2.9]",
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if !slices.Equal(p.IPv6Sources, []string{"2001:db8::77"}) || p.IPv6SourcesLeftOut != 1 {
		t.Errorf("IPv6Sources = %v (%d), want [2001:db8::77]", p.IPv6Sources, p.IPv6SourcesLeftOut)
	}
	for _, lang := range EmitFormats {
		var out bytes.Buffer
		if err := WriteRules(&out, lang, p); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			comment := strings.HasPrefix(line, "#") || strings.HasPrefix(line, "//")
			if strings.Contains(line, "2001:db8") && !comment {
				t.Errorf("%s writes an IPv6 address outside a comment: %q", lang, line)
			}
		}
		if !strings.Contains(out.String(), "IPv6 sources left out of the rules") {
			t.Errorf("%s does not say the IPv6 sources were left out", lang)
		}
	}
}

// TestCutSourceListIsSaid: past maxSources distinct sources a rule would
// silently miss the rest; the plan says so, and --source settles it.
func TestCutSourceListIsSaid(t *testing.T) {
	var b strings.Builder
	for i := range maxSources + 10 {
		fmt.Fprintf(&b, "HTTPS request from 10.1.%d.%d:1 to pypi.org:443. Action: Deny. No rule matched. Proceeding with default action\n", i/250, i%250+1)
	}
	ds := analyze(t, Options{}, bytesInput("x", []byte(b.String()))).Destinations
	p := MakePlan(ds, PlanOptions{})
	if !p.SourcesCut {
		t.Fatal("SourcesCut not set")
	}
	var out bytes.Buffer
	WriteTerraform(&out, p)
	if !strings.Contains(out.String(), "WARNING: a destination had more than 256 distinct sources") {
		t.Errorf("terraform output does not say the sources are cut:\n%s", out.String()[:400])
	}
	if MakePlan(ds, PlanOptions{Sources: []string{"10.1.0.0/16"}}).SourcesCut {
		t.Error("SourcesCut with --source")
	}
}

// TestNetworkRulesNameNoWildcard: a network rule's FQDNs are resolved by
// DNS proxy, which cannot resolve a wildcard; the name seen is allowed,
// while an application rule keeps the catalog's pattern (and its apex).
func TestNetworkRulesNameNoWildcard(t *testing.T) {
	log := "TCP request from 10.0.0.5:1 to westeurope.data.mcr.microsoft.com:8443. Action: Deny. \n" +
		"HTTPS request from 10.0.0.5:1 to westeurope.data.mcr.microsoft.com:443. Action: Deny. No rule matched. Proceeding with default action\n"
	p := MakePlan(analyze(t, Options{}, bytesInput("x", []byte(log))).Destinations, PlanOptions{NoCompanions: true})
	var got []string
	for _, c := range p.Collections {
		got = append(got, fmt.Sprintf("%s %v", c.Rule.Type, c.Rule.FQDNs))
	}
	want := []string{
		"ApplicationRule [*.data.mcr.microsoft.com data.mcr.microsoft.com]",
		"NetworkRule [westeurope.data.mcr.microsoft.com]",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestCollectionNamesUnique: names are cut at Azure's 80 characters; two
// rules whose names share those 80 must not make two collections of one
// name (Azure rejects the whole group).
func TestCollectionNamesUnique(t *testing.T) {
	var b strings.Builder
	for port := 8001; port <= 8012; port++ {
		fmt.Fprintf(&b, "HTTPS request from 10.0.0.5:1 to a.example.com:%d. Action: Deny. No rule matched. Proceeding with default action\n", port)
		fmt.Fprintf(&b, "HTTPS request from 10.0.0.5:1 to b.example.com:%d. Action: Deny. No rule matched. Proceeding with default action\n", port)
	}
	b.WriteString("HTTPS request from 10.0.0.5:1 to a.example.com:9999. Action: Deny. No rule matched. Proceeding with default action\n")
	p := MakePlan(analyze(t, Options{}, bytesInput("x", []byte(b.String()))).Destinations, PlanOptions{})
	if len(p.Collections) != 2 {
		t.Fatalf("%d collections, want 2", len(p.Collections))
	}
	seen := map[string]bool{}
	for _, c := range p.Collections {
		if seen[c.Name] || len(c.Name) > 80 {
			t.Errorf("collection name %q repeated or too long", c.Name)
		}
		seen[c.Name] = true
	}
}

// TestAzScriptNeverReplacesAGroup runs the script against a stand-in az
// that records its calls: "rule-collection-group create" is a PUT that
// would replace an existing group's collections (the user's own rules),
// so the script stops when the group exists, and creates it otherwise.
func TestAzScriptNeverReplacesAGroup(t *testing.T) {
	sh := testenv.NeedCommand(t, "sh")
	dir := t.TempDir()
	var b bytes.Buffer
	WriteAz(&b, goldenPlan(t))
	script := filepath.Join(dir, "rules.sh")
	os.WriteFile(script, b.Bytes(), 0o755)
	calls := filepath.Join(dir, "calls")
	fake := "#!/bin/sh\necho \"$*\" >> " + calls + "\ncase \"$*\" in *' show '*) exit $SHOW_EXIT;; esac\nexit 0\n"
	os.WriteFile(filepath.Join(dir, "az"), []byte(fake), 0o755)
	for _, tt := range []struct {
		showExit   string
		wantErr    bool
		wantCreate bool
	}{{"0", true, false}, {"3", false, true}} {
		os.Remove(calls)
		cmd := exec.Command(sh, script)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "RG=rg", "POLICY=pol", "SHOW_EXIT="+tt.showExit)
		out, err := cmd.CombinedOutput()
		got, _ := os.ReadFile(calls)
		created := strings.Contains(string(got), "rule-collection-group create")
		if (err != nil) != tt.wantErr || created != tt.wantCreate {
			t.Errorf("show exits %s: err %v, created %v\noutput: %s\ncalls:\n%s", tt.showExit, err, created, out, got)
		}
	}
}
