package policy

import (
	"net/netip"
	"strings"
	"testing"
)

// TestShapes evaluates one fixture per input shape (testdata/README.md
// names the document each follows).
func TestShapes(t *testing.T) {
	tests := []struct {
		files              []string
		shape              string
		dest, src          string
		action, rule, code string
	}{
		// az rule-collection-group list: flattened, one policy named by the IDs.
		{[]string{"az-rcg-list.json"}, "az", "api.contoso.example", "10.0.3.0/24", "allow", "fwpol-appsvc / DefaultApplicationRuleCollectionGroup / app-own-traffic / backend-api", ""},
		{[]string{"az-rcg-list.json"}, "az", "files.contoso.example", "10.0.3.0/24", "allow", "fwpol-appsvc / DefaultApplicationRuleCollectionGroup / app-own-traffic / backend-api", ""},
		{[]string{"az-rcg-list.json"}, "az", "contoso.example", "10.0.3.0/24", "deny", "", ""},
		{[]string{"az-rcg-list.json"}, "az", "oryx-cdn.microsoft.io", "10.0.3.0/24", "deny", "", ""},
		{[]string{"az-rcg-list.json"}, "az", "10.0.5.4:1433", "10.0.2.0/24", "allow", "fwpol-appsvc / DefaultNetworkRuleCollectionGroup / app-to-sql / sql", ""},
		// The policy's settings were not given: DNS proxy unknown.
		// Classic azureFirewalls: DNAT, network, application by collection priority.
		{[]string{"classic-azurefirewall.json"}, "classic", "oryx-cdn.microsoft.io", "10.0.0.0/24", "allow", "allow-build / oryx-and-pip", ""},
		{[]string{"classic-azurefirewall.json"}, "classic", "www.test.com", "10.0.0.0/24", "deny", "apprulecoll / rule1", ""},
		// The network deny (443-444 from the range) comes before every
		// application rule.
		{[]string{"classic-azurefirewall.json"}, "classic", "pypi.org", "192.168.1.5/32", "deny", "netrulecoll / L4-traffic", ""},
		{[]string{"classic-azurefirewall.json"}, "classic", "pypi.org", "192.168.1.0/24", "unknown", "", "source-partly-covered"},
		{[]string{"classic-azurefirewall.json"}, "classic", "udp://ntp.ubuntu.com:123", "10.0.0.0/24", "deny", "netrulecoll / ntp-fqdn", ""},
		// ARM template: base policy's allow-all network rule shadows the
		// child's application deny (network before application).
		{[]string{"arm-template.json"}, "arm-template", "paste.example.org", "10.1.2.0/24", "allow", "tpl-base / base-net / allow-all-https-out / any-443", ""},
		{[]string{"arm-template.json"}, "arm-template", "paste.example.org", "10.2.0.0/24", "deny", "tpl-child / child-app / deny-paste / paste", ""},
		// DNS proxy off in the base, not overridden: the FQDN is ignored.
		{[]string{"arm-template.json"}, "arm-template", "udp://ntp.ubuntu.com:123", "10.2.0.0/24", "deny", "", ""},
		// terraform plan: new policies linked through the configuration.
		{[]string{"terraform-plan.json"}, "terraform-plan", "files.pythonhosted.org", "10.20.3.0/24", "allow", "tf-child / tf-app-rules / allow-registries / pip", ""},
		{[]string{"terraform-plan.json"}, "terraform-plan", "registry.npmjs.org", "10.20.3.0/24", "unknown", "", "value-unknown"},
		{[]string{"terraform-plan.json"}, "terraform-plan", "udp://ntp.ubuntu.com:123", "10.20.3.0/24", "allow", "tf-child / tf-app-rules / net / ntp", ""},
		// terraform state in a module, with a final deny-all collection.
		{[]string{"terraform-state.json"}, "terraform-state", "oryx-cdn.microsoft.io", "10.30.0.0/24", "allow", "state-policy / build / oryx / oryx-cdn", ""},
		{[]string{"terraform-state.json"}, "terraform-state", "pypi.org", "10.30.0.0/24", "deny", "state-policy / build / deny-all-web / everything", ""},
	}
	for _, tt := range tests {
		s := readFiles(t, tt.files...)
		if s.Files[0].Shape != tt.shape {
			t.Errorf("%v: shape %q, want %q", tt.files, s.Files[0].Shape, tt.shape)
		}
		e := evaluator(t, s)
		tg, err := ParseDest(tt.dest)
		if err != nil {
			t.Fatal(err)
		}
		v := e.Evaluate(Dest{Host: tg.Host, Port: tg.Port, Protocol: tg.Protocol, Source: netip.MustParsePrefix(tt.src)})
		rule := ""
		if v.Rule != nil {
			rule = v.Rule.Path()
		}
		if v.Action != tt.action || (tt.action != "unknown" && rule != tt.rule) {
			t.Errorf("%v %s from %s: %s %q, want %s %q (%+v)", tt.files, tt.dest, tt.src, v.Action, rule, tt.action, tt.rule, v)
		}
		if tt.code != "" && (len(v.Maybe) == 0 || v.Maybe[0].Code != tt.code) {
			t.Errorf("%v %s: maybe %+v, want code %s", tt.files, tt.dest, v.Maybe, tt.code)
		}
	}
}

// TestReadErrors: inputs that are no policy fail with the file's name,
// never as an empty policy.
func TestReadErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     "HTTPS request from 10.0.2.254:50347 to app.scm.azurewebsites.net:443. Action: Deny.",
		"empty object": "{}",
		"empty list":   "[]",
		"a log":        `{"records":[{"category":"AzureFirewallApplicationRule","properties":{"msg":"x"}}]}`,
		"two values":   `{"value":[]} {"value":[]}`,
		"scalar":       `42`,
	} {
		_, err := Read([]Input{{Name: "in.json", R: strings.NewReader(in)}})
		if err == nil || !strings.Contains(err.Error(), "in.json") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// TestChainErrors: unrelated policies, a missing base policy.
func TestChainErrors(t *testing.T) {
	s := readFiles(t, "az-rcg-list.json", "arm-rcg-hub.json")
	if _, err := NewEvaluator(s); err == nil || !strings.Contains(err.Error(), "unrelated") {
		t.Errorf("two unrelated policies: %v", err)
	}
	s = readFiles(t, "arm-policies.json", "arm-rcg-app.json")
	e, err := NewEvaluator(s)
	if err != nil || len(e.Chain()) != 2 {
		t.Errorf("base policy resource without its groups: %v", err)
	}
	s = readFiles(t, "arm-rcg-app.json")
	if _, err := NewEvaluator(s); err != nil {
		t.Errorf("child groups alone: %v", err)
	}
}

// TestPriorities: within one policy, groups by priority then collections
// by priority, whatever their order in the file; rules in a collection
// top down.
func TestPriorities(t *testing.T) {
	const pol = `[
 {"id": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p/ruleCollectionGroups/late", "name": "late", "priority": 500,
  "ruleCollections": [{"name": "allow-all", "priority": 100, "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
   "rules": [{"name": "everything", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"], "targetFqdns": ["*"]}]}]},
 {"id": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p/ruleCollectionGroups/early", "name": "early", "priority": 200,
  "ruleCollections": [
   {"name": "c-allow-300", "priority": 300, "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
    "rules": [{"name": "allow-x", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"], "targetFqdns": ["x.example.com", "y.example.com"]}]},
   {"name": "c-deny-250", "priority": 250, "action": {"type": "Deny"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
    "rules": [{"name": "deny-y", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"], "targetFqdns": ["y.example.com"]},
              {"name": "deny-y-again", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Https", "port": 443}], "sourceAddresses": ["*"], "targetFqdns": ["y.example.com", "z.example.com"]}]}]}
]`
	s, err := Read([]Input{{Name: "p.json", R: strings.NewReader(pol)}})
	if err != nil {
		t.Fatal(err)
	}
	e := evaluator(t, s)
	src := netip.MustParsePrefix("10.0.0.0/24")
	for host, want := range map[string]string{
		"x.example.com": "allow p / early / c-allow-300 / allow-x",
		"y.example.com": "deny p / early / c-deny-250 / deny-y",
		"z.example.com": "deny p / early / c-deny-250 / deny-y-again",
		"w.example.com": "allow p / late / allow-all / everything",
	} {
		v := e.Evaluate(Dest{Host: host, Port: 443, Protocol: "https", Source: src})
		got := v.Action
		if v.Rule != nil {
			got += " " + v.Rule.Path()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", host, got, want)
		}
	}
}

// TestIPGroups: a rule naming an IP group may match until the group's
// members are given (az network ip-group list -o json).
func TestIPGroups(t *testing.T) {
	const rcg = `{"name": "g", "id": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p/ruleCollectionGroups/g",
 "properties": {"priority": 100, "ruleCollections": [{"name": "c", "priority": 100, "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
  "rules": [{"name": "from-build-agents", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Https", "port": 443}],
   "sourceIpGroups": ["/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/ipGroups/build-agents"], "targetFqdns": ["pypi.org"]}]}]}}`
	const groups = `[{"name": "build-agents", "id": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/ipGroups/build-agents",
  "type": "Microsoft.Network/ipGroups", "ipAddresses": ["10.8.0.0/24", "10.9.0.5"]}]`
	d := Dest{Host: "pypi.org", Port: 443, Protocol: "https", Source: netip.MustParsePrefix("10.8.0.0/25")}
	s, err := Read([]Input{{Name: "rcg.json", R: strings.NewReader(rcg)}})
	if err != nil {
		t.Fatal(err)
	}
	if v := evaluator(t, s).Evaluate(d); v.Action != "unknown" || v.Maybe[0].Code != "ip-group-data-missing" {
		t.Errorf("without the group: %+v", v)
	}
	s, err = Read([]Input{{Name: "rcg.json", R: strings.NewReader(rcg)}, {Name: "groups.json", R: strings.NewReader(groups)}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Files[1].Shape != "ip-groups" {
		t.Errorf("shape %q", s.Files[1].Shape)
	}
	e := evaluator(t, s)
	if v := e.Evaluate(d); v.Action != "allow" {
		t.Errorf("in the group: %+v", v)
	}
	d.Source = netip.MustParsePrefix("10.7.0.0/24")
	if v := e.Evaluate(d); v.Action != "deny" {
		t.Errorf("outside the group: %+v", v)
	}
}

// TestTagData: every FQDN tag row has a source and an as-of date, every
// documented member is a host pattern; service tag names are known.
func TestTagData(t *testing.T) {
	tags := FQDNTags()
	if len(tags) < 10 {
		t.Fatalf("%d FQDN tags", len(tags))
	}
	for _, tg := range tags {
		if tg.Name == "" || tg.Source == "" || len(tg.AsOf) != 10 {
			t.Errorf("tag %+v lacks a name, source or as_of", tg)
		}
		for _, h := range tg.Documented {
			if strings.ContainsAny(h, " /:") || h == "" {
				t.Errorf("tag %s: %q is not a host pattern", tg.Name, h)
			}
		}
	}
	for _, n := range []string{"Storage", "Storage.westeurope", "AzureCloud.japaneast", "AzureMonitor"} {
		if !isServiceTag(n) {
			t.Errorf("%s is not a known service tag", n)
		}
	}
	if isServiceTag("NotATag") {
		t.Error("NotATag is a service tag")
	}
	if ok, _ := tagMember("AzureKubernetesService", "packages.aks.azure.com"); !ok {
		t.Error("packages.aks.azure.com is not a documented member of AzureKubernetesService")
	}
}

// TestPortalExport: a template exported from the portal names resources
// with parameters() and concat(); kensa evaluates them (the defaults), and
// reads nested child resources.
func TestPortalExport(t *testing.T) {
	s := readFiles(t, "arm-portal-export.json")
	var names []string
	for _, p := range s.Policies {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, " "); got != "fwpol-export-base fwpol-export fwpol-export-base-nested" {
		t.Fatalf("policies %q", got)
	}
	if len(s.Files[0].Warnings) != 0 {
		t.Errorf("warnings %v", s.Files[0].Warnings)
	}
	if g := s.Policies[2].Groups; len(g) != 1 || g[0].Name != "NestedGroup" {
		t.Errorf("nested group %+v", g)
	}
	// Three policies, two unrelated roots: kensa asks for one firewall's.
	if _, err := NewEvaluator(s); err == nil || !strings.Contains(err.Error(), "unrelated") {
		t.Errorf("err = %v", err)
	}
	s.Policies = s.Policies[:2]
	e := evaluator(t, s)
	v := e.Evaluate(Dest{Host: "oryx-cdn.microsoft.io", Port: 443, Protocol: "https", Source: netip.MustParsePrefix("10.0.3.0/24")})
	if v.Action != "allow" || v.Rule.Path() != "fwpol-export / DefaultApplicationRuleCollectionGroup / app-build / oryx" || len(e.Chain()) != 2 {
		t.Errorf("%+v", v)
	}
}

func TestARMExpressions(t *testing.T) {
	r := newARMResolver(map[string]any{"parameters": map[string]any{"p": map[string]any{"defaultValue": "pol"}},
		"variables": map[string]any{"v": "[concat(parameters('p'), '-x')]"}})
	for in, want := range map[string]string{
		"[parameters('p')]":                 "pol",
		"[concat(parameters('p'), '/rcg')]": "pol/rcg",
		"[variables('v')]":                  "pol-x",
		"[resourceId('Microsoft.Network/firewallPolicies', parameters('p'))]":               "/providers/Microsoft.Network/firewallPolicies/pol",
		"[resourceId('Microsoft.Network/firewallPolicies/ruleCollectionGroups', 'a', 'b')]": "/providers/Microsoft.Network/firewallPolicies/a/ruleCollectionGroups/b",
		"[concat('it''s', '')]": "it's",
	} {
		got, ok := r.eval(in)
		if !ok || got != want {
			t.Errorf("eval(%s) = %v, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"[[literal]", "[unknownFn('a')]", "[parameters('missing')]", "[concat(", "plain", "[concat('a') extra]"} {
		if v, ok := r.eval(bad); ok && v != nil {
			t.Errorf("eval(%s) = %v", bad, v)
		}
	}
}

// TestTerraformClassic: azurerm_firewall_*_rule_collection resources make
// the classic rules of their firewall.
func TestTerraformClassic(t *testing.T) {
	e := evaluator(t, readFiles(t, "terraform-classic-state.json"))
	src := netip.MustParsePrefix("10.40.1.0/24")
	for dest, want := range map[string]string{
		"registry.npmjs.org":                  "allow build-deps / npm",
		"tcp://stx.file.core.windows.net:445": "deny smb-out / no-smb-internet",
		"pypi.org":                            "deny ",
	} {
		tg, _ := ParseDest(dest)
		v := e.Evaluate(Dest{Host: tg.Host, Port: tg.Port, Protocol: tg.Protocol, Source: src})
		got := v.Action + " "
		if v.Rule != nil {
			got += v.Rule.Path()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", dest, got, want)
		}
	}
}

func TestLint(t *testing.T) {
	const pol = `[{"id": "/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p/ruleCollectionGroups/g", "name": "g", "priority": 100,
  "ruleCollections": [
   {"name": "net", "priority": 100, "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
    "rules": [{"name": "any-https", "ruleType": "NetworkRule", "ipProtocols": ["TCP"], "sourceAddresses": ["*"], "destinationAddresses": ["*"], "destinationPorts": ["443"]},
              {"name": "wild", "ruleType": "NetworkRule", "ipProtocols": ["UDP"], "sourceAddresses": ["10.0.0.0/8"], "destinationFqdns": ["*.ubuntu.com"], "destinationPorts": ["123"]}]},
   {"name": "app", "priority": 200, "action": {"type": "Allow"}, "ruleCollectionType": "FirewallPolicyFilterRuleCollection",
    "rules": [{"name": "wu", "ruleType": "ApplicationRule", "protocols": [{"protocolType": "Http", "port": 80}], "sourceAddresses": ["*"], "fqdnTags": ["WindowsUpdate"]}]}]}]`
	s, err := Read([]Input{{Name: "p.json", R: strings.NewReader(pol)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range Lint(evaluator(t, s)) {
		got = append(got, f.ID+" "+f.Subject)
	}
	want := "egress-whatif-network-shadows-app p / g / net / any-https, egress-whatif-network-wildcard p / g / net / wild, egress-whatif-fqdn-tag-protocol p / g / app / wu"
	if strings.Join(got, ", ") != want {
		t.Errorf("lint = %q, want %q", strings.Join(got, ", "), want)
	}
	if f := Lint(evaluator(t, readFiles(t, "az-rcg-list.json"))); len(f) != 0 {
		t.Errorf("a clean policy: %v", f)
	}
}
