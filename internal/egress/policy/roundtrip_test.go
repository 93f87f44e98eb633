package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/egress"
)

// The round trip: the rules egress analyze --emit writes for a log's
// denies, added to the policy that denied them, make whatif allow every
// destination they were written for (and the companion hosts they add).
// The az script, the Bicep file and the Terraform file are each turned
// back into the JSON a deployment of them shows (az rule-collection-group
// list, the ARM resource, terraform show -json of the state), by a small
// reader of each language here that knows only what the az CLI's
// documented flags, Bicep's object syntax and HCL's block syntax mean —
// never the evaluator.

const seedLog = `HTTPS request from 10.0.2.254:50347 to fn-orders.scm.azurewebsites.net:443. Action: Deny. No rule matched. Proceeding with default action
HTTPS request from 10.0.3.254:34500 to oryx-cdn.microsoft.io:443. Action: Deny. No rule matched. Proceeding with default action
HTTPS request from 10.0.3.254:34511 to pypi.org:443. Action: Deny. No rule matched. Proceeding with default action
HTTPS request from 10.0.3.254:34512 to westeurope.data.mcr.microsoft.com:443. Action: Deny. No rule matched. Proceeding with default action
HTTP  request from 10.0.3.254:34513 to ocsp.digicert.com:80. Url: ocsp.digicert.com/MFE=. Action: Deny. No rule matched. Proceeding with default action
UDP request from 10.0.3.254:41000 to 203.0.113.50:5432. Action: Deny
UDP request from 10.0.3.254:41001 to ntp.ubuntu.com:123. Action: Deny
TCP request from 10.0.3.254:41002 to 203.0.113.51:8530. Action: Deny. 
`

func TestRoundTrip(t *testing.T) {
	res, err := egress.Analyze(context.Background(), []egress.Input{{Name: "seed.log", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(seedLog)), nil
	}}}, egress.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := egress.MakePlan(res.Destinations, egress.PlanOptions{})
	if len(plan.Collections) < 5 {
		t.Fatalf("plan has %d collections", len(plan.Collections))
	}
	base := []string{"az-rcg-list.json", "az-policy.json"}
	// What the rules were written for: every denied destination, from
	// each of its sources, and every host a rule names.
	type want struct {
		host, proto string
		port        int
		src         string
	}
	var wants []want
	for _, d := range res.Destinations {
		for _, s := range d.Sources {
			wants = append(wants, want{d.Host, strings.ToLower(d.Proto), d.Port, s})
		}
	}
	for _, c := range plan.Collections {
		if c.Rule.Type != egress.AppRule {
			continue
		}
		for _, f := range c.Rule.FQDNs {
			for _, p := range c.Rule.Protocols {
				for _, s := range c.Rule.Sources {
					host := f
					if strings.HasPrefix(f, "*.") {
						host = "example" + f[1:]
					}
					wants = append(wants, want{host, strings.ToLower(p.Protocol), p.Port, s})
				}
			}
		}
	}
	before := evaluator(t, readFiles(t, base...))
	for _, w := range wants {
		v := before.Evaluate(Dest{Host: w.host, Port: w.port, Protocol: w.proto, Source: netip.MustParsePrefix(w.src + "/32")})
		if v.Action != "deny" {
			t.Fatalf("before the rules, %s %s:%d from %s is %s", w.proto, w.host, w.port, w.src, v.Action)
		}
	}
	for _, lang := range []string{"az", "bicep", "terraform"} {
		var buf bytes.Buffer
		if err := egress.WriteRules(&buf, lang, plan); err != nil {
			t.Fatal(err)
		}
		var doc []byte
		switch lang {
		case "az":
			doc, err = azScriptToJSON(buf.String(), map[string]string{"RG": "rg-seed", "POLICY": "fwpol-appsvc"})
		case "bicep":
			doc, err = bicepToJSON(buf.String(), "fwpol-appsvc")
		case "terraform":
			doc, err = terraformToState(buf.String(), "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-seed/providers/Microsoft.Network/firewallPolicies/fwpol-appsvc")
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", lang, err, buf.String())
		}
		dir := t.TempDir()
		added := filepath.Join(dir, "added-"+lang+".json")
		os.WriteFile(added, doc, 0o644)
		var ins []Input
		for _, n := range base {
			f, _ := os.Open(filepath.Join("testdata", n))
			defer f.Close()
			ins = append(ins, Input{Name: n, R: f})
		}
		ins = append(ins, Input{Name: added, R: bytes.NewReader(doc)})
		set, err := Read(ins)
		if err != nil {
			t.Fatalf("%s: %v\n%s", lang, err, doc)
		}
		e := evaluator(t, set)
		for _, w := range wants {
			v := e.Evaluate(Dest{Host: w.host, Port: w.port, Protocol: w.proto, Source: netip.MustParsePrefix(w.src + "/32")})
			if v.Action != "allow" || v.Rule == nil || v.Rule.Group != "kensa-egress" {
				t.Errorf("%s: %s %s:%d from %s: %s by %+v %v (%s)", lang, w.proto, w.host, w.port, w.src, v.Action, v.Rule, v.Maybe, v.Log)
			}
		}
	}
}

// azScriptToJSON runs the az commands of a script on paper: every
// "rule-collection-group create" and "collection add-filter-collection"
// becomes the group the az CLI would create, in the shape "az network
// firewall policy rule-collection-group list -o json" prints (flattened).
// Flag to property, per the azure-firewall extension's help: --name,
// --collection-priority, --action, --rule-name, --rule-type,
// --source-addresses, --protocols Type=Port, --target-fqdns,
// --ip-protocols, --destination-ports, --destination-addresses,
// --destination-fqdns.
func azScriptToJSON(script string, env map[string]string) ([]byte, error) {
	vars := map[string]string{}
	for k, v := range env {
		vars[k] = v
	}
	script = strings.ReplaceAll(script, "\\\n", " ")
	def := regexp.MustCompile(`^(\w+)="\$\{\w+:[-?]([^}]*)\}"$`)
	type group struct {
		ID          string           `json:"id"`
		Name        string           `json:"name"`
		Priority    int              `json:"priority"`
		Collections []map[string]any `json:"ruleCollections"`
	}
	var groups []*group
	for _, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if m := def.FindStringSubmatch(line); m != nil {
			if _, ok := vars[m[1]]; !ok {
				vars[m[1]] = m[2]
			}
			continue
		}
		if !strings.HasPrefix(line, "az network firewall policy rule-collection-group ") {
			continue
		}
		words, err := shellWords(line, vars)
		if err != nil {
			return nil, err
		}
		flags := map[string][]string{}
		var cur string
		var sub []string
		for _, w := range words[5:] {
			if strings.HasPrefix(w, "--") {
				cur = w
				flags[cur] = flags[cur]
				continue
			}
			if cur == "" {
				sub = append(sub, w)
				continue
			}
			flags[cur] = append(flags[cur], w)
		}
		one := func(k string) string {
			if len(flags[k]) > 0 {
				return flags[k][0]
			}
			return ""
		}
		switch strings.Join(sub, " ") {
		case "show":
		case "create":
			p, _ := strconv.Atoi(one("--priority"))
			groups = append(groups, &group{Name: one("--name"), Priority: p,
				ID: fmt.Sprintf("/subscriptions/x/resourceGroups/%s/providers/Microsoft.Network/firewallPolicies/%s/ruleCollectionGroups/%s", one("--resource-group"), one("--policy-name"), one("--name"))})
		case "collection add-filter-collection":
			var g *group
			for _, x := range groups {
				if x.Name == one("--rule-collection-group-name") {
					g = x
				}
			}
			if g == nil {
				return nil, fmt.Errorf("collection added to group %q before it was created", one("--rule-collection-group-name"))
			}
			prio, _ := strconv.Atoi(one("--collection-priority"))
			rule := map[string]any{"name": one("--rule-name"), "ruleType": one("--rule-type"), "sourceAddresses": flags["--source-addresses"]}
			if one("--rule-type") == "ApplicationRule" {
				var ps []map[string]any
				for _, p := range flags["--protocols"] {
					typ, port, _ := strings.Cut(p, "=")
					n, _ := strconv.Atoi(port)
					ps = append(ps, map[string]any{"protocolType": typ, "port": n})
				}
				rule["protocols"] = ps
				rule["targetFqdns"] = flags["--target-fqdns"]
			} else {
				rule["ipProtocols"] = flags["--ip-protocols"]
				rule["destinationPorts"] = flags["--destination-ports"]
				rule["destinationAddresses"] = flags["--destination-addresses"]
				rule["destinationFqdns"] = flags["--destination-fqdns"]
			}
			g.Collections = append(g.Collections, map[string]any{"name": one("--name"), "priority": prio,
				"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "action": map[string]any{"type": one("--action")},
				"rules": []any{rule}})
		default:
			return nil, fmt.Errorf("unexpected az command %q", sub)
		}
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("no rule collection group created")
	}
	return json.Marshal(groups)
}

// shellWords splits a POSIX shell line: '…' literal, "…" with $VAR and
// ${VAR…} expanded from vars, words separated by blanks. It stops at a
// shell operator (>, ;, &&, |).
func shellWords(line string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{?(\w+)[^}"]*\}?`).ReplaceAllStringFunc(s, func(m string) string {
			name := regexp.MustCompile(`\w+`).FindString(m)
			return vars[name]
		})
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unclosed \" in %q", line)
			}
			cur.WriteString(expand(line[i+1 : i+1+j]))
			i += j + 1
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '>' || c == ';' || c == '|' || c == '&':
			if in {
				words = append(words, cur.String())
			}
			return words, nil
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// bicepToJSON turns the emitted Bicep file into the ARM resource it
// deploys: the ruleCollectionGroups resource named "policy/group", its
// properties object converted from Bicep's syntax (single-quoted
// strings, no commas, newline-separated items) with the parameters'
// defaults substituted.
func bicepToJSON(src, policyName string) ([]byte, error) {
	params := map[string]string{}
	pdef := regexp.MustCompile(`(?m)^param (\w+) \w+ = (.+)$`)
	for _, m := range pdef.FindAllStringSubmatch(src, -1) {
		params[m[1]] = m[2]
	}
	params["firewallPolicy"] = "'" + policyName + "'" // the parent resource's symbol
	i := strings.Index(src, "resource egressRules")
	if i < 0 {
		return nil, fmt.Errorf("no egressRules resource")
	}
	body := src[strings.Index(src[i:], "{")+i:]
	toks, err := bicepTokens(body)
	if err != nil {
		return nil, err
	}
	pos := 0
	v, err := bicepValue(toks, &pos, params)
	if err != nil {
		return nil, err
	}
	res := v.(map[string]any)
	name := res["name"].(string)
	out := map[string]any{"type": "Microsoft.Network/firewallPolicies/ruleCollectionGroups", "name": policyName + "/" + name, "properties": res["properties"]}
	return json.Marshal(map[string]any{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#", "resources": []any{out}})
}

func bicepTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/' && i+1 < len(s) && s[i+1] == '/':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			toks = append(toks, "\n")
		case c == '\n':
			toks = append(toks, "\n")
		case c == ' ' || c == '\t' || c == '\r':
		case strings.ContainsRune("{}[]:", rune(c)):
			toks = append(toks, string(c))
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unclosed string")
			}
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n{}[]:'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j - 1
		}
	}
	return toks, nil
}

func bicepValue(toks []string, pos *int, params map[string]string) (any, error) {
	for *pos < len(toks) && toks[*pos] == "\n" {
		*pos++
	}
	if *pos >= len(toks) {
		return nil, fmt.Errorf("unexpected end")
	}
	t := toks[*pos]
	*pos++
	switch {
	case t == "{":
		m := map[string]any{}
		for {
			for *pos < len(toks) && toks[*pos] == "\n" {
				*pos++
			}
			if toks[*pos] == "}" {
				*pos++
				return m, nil
			}
			key := toks[*pos]
			if toks[*pos+1] != ":" {
				return nil, fmt.Errorf("expected : after %q", key)
			}
			*pos += 2
			v, err := bicepValue(toks, pos, params)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
	case t == "[":
		var l []any
		for {
			for *pos < len(toks) && toks[*pos] == "\n" {
				*pos++
			}
			if toks[*pos] == "]" {
				*pos++
				return l, nil
			}
			v, err := bicepValue(toks, pos, params)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
	case strings.HasPrefix(t, "'"):
		return t[1:], nil
	}
	if n, err := strconv.Atoi(t); err == nil {
		return n, nil
	}
	if p, ok := params[t]; ok {
		toks2, _ := bicepTokens(p)
		q := 0
		return bicepValue(toks2, &q, nil)
	}
	return nil, fmt.Errorf("unknown identifier %q", t)
}

// terraformToState turns the emitted Terraform file into the state
// terraform show -json would print after applying it: HCL blocks become
// lists of objects, attributes keep their values, var.X takes the
// variable's default (firewall_policy_id is given).
func terraformToState(src, policyID string) ([]byte, error) {
	defaults := map[string]any{"firewall_policy_id": policyID}
	vdef := regexp.MustCompile(`(?s)variable "(\w+)" \{(.*?)\n\}`)
	for _, m := range vdef.FindAllStringSubmatch(src, -1) {
		if d := regexp.MustCompile(`default\s*=\s*(.+)`).FindStringSubmatch(m[2]); d != nil {
			v, err := hclScalar(strings.TrimSpace(d[1]), nil)
			if err != nil {
				return nil, err
			}
			defaults[m[1]] = v
		}
	}
	i := strings.Index(src, `resource "azurerm_firewall_policy_rule_collection_group"`)
	if i < 0 {
		return nil, fmt.Errorf("no rule collection group resource")
	}
	lines := strings.Split(src[i:], "\n")
	pos := 1
	values, err := hclBlock(lines, &pos, defaults)
	if err != nil {
		return nil, err
	}
	state := map[string]any{"format_version": "1.0", "values": map[string]any{"root_module": map[string]any{"resources": []any{
		map[string]any{"address": "azurerm_firewall_policy_rule_collection_group.kensa_egress", "mode": "managed",
			"type": "azurerm_firewall_policy_rule_collection_group", "name": "kensa_egress", "values": values}}}}}
	return json.Marshal(state)
}

func hclBlock(lines []string, pos *int, vars map[string]any) (map[string]any, error) {
	m := map[string]any{}
	for *pos < len(lines) {
		l := strings.TrimSpace(lines[*pos])
		*pos++
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case l == "}":
			return m, nil
		case strings.HasSuffix(l, "{"):
			name := strings.TrimSpace(strings.TrimSuffix(l, "{"))
			b, err := hclBlock(lines, pos, vars)
			if err != nil {
				return nil, err
			}
			list, _ := m[name].([]any)
			m[name] = append(list, b)
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				return nil, fmt.Errorf("line %q", l)
			}
			val, err := hclScalar(strings.TrimSpace(v), vars)
			if err != nil {
				return nil, err
			}
			m[strings.TrimSpace(k)] = val
		}
	}
	return nil, fmt.Errorf("unclosed block")
}

func hclScalar(s string, vars map[string]any) (any, error) {
	switch {
	case strings.HasPrefix(s, "["):
		var l []any
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return nil, fmt.Errorf("list %s: %v", s, err)
		}
		return l, nil
	case strings.HasPrefix(s, `"`):
		var str string
		err := json.Unmarshal([]byte(s), &str)
		return str, err
	case strings.HasPrefix(s, "var."):
		v, ok := vars[s[4:]]
		if !ok {
			return nil, fmt.Errorf("no default for %s", s)
		}
		return v, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	return nil, fmt.Errorf("value %q", s)
}

// TestWhatifRoundTrip: seed 003's deploys (App Service Linux Python build,
// a Functions deploy) behind a policy that allows only the app's own
// traffic. whatif predicts every missing destination; the rules whatif
// --emit writes for them, added to the policy, make every one allowed.
func TestWhatifRoundTrip(t *testing.T) {
	base := []string{"az-rcg-list.json", "az-policy.json"}
	names := map[string]string{"app": "orders-api", "storage-account": "stordersapi"}
	var targets []Target
	for _, n := range []string{"appservice-linux-python", "functions-deploy"} {
		p, err := egress.LookupProfile(n)
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, ProfileTargets(p.Bind(names))...)
	}
	opts := Options{Sources: []netip.Prefix{netip.MustParsePrefix("10.0.3.0/24")}}
	results, _ := Run(evaluator(t, readFiles(t, base...)), targets, opts)
	denied := 0
	for _, r := range results {
		if r.Action != "deny" || r.Decision != "default-deny" {
			t.Errorf("before: %s %s %s", r.Destination, r.Action, r.Decision)
		}
		denied++
	}
	if denied != 8 {
		t.Errorf("%d destinations denied, want 8 (SCM site, Oryx, pypi.org, files.pythonhosted.org, site, blob, file 443, file 445)", denied)
	}
	plan := Plan(results, egress.PlanOptions{Sources: []string{"10.0.3.0/24"}})
	for _, lang := range []string{"az", "bicep", "terraform"} {
		var buf bytes.Buffer
		if err := egress.WriteRules(&buf, lang, plan); err != nil {
			t.Fatal(err)
		}
		var doc []byte
		var err error
		switch lang {
		case "az":
			doc, err = azScriptToJSON(buf.String(), map[string]string{"RG": "rg-seed", "POLICY": "fwpol-appsvc"})
		case "bicep":
			doc, err = bicepToJSON(buf.String(), "fwpol-appsvc")
		case "terraform":
			doc, err = terraformToState(buf.String(), "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/rg-seed/providers/Microsoft.Network/firewallPolicies/fwpol-appsvc")
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", lang, err, buf.String())
		}
		var ins []Input
		for _, n := range base {
			b, _ := os.ReadFile(filepath.Join("testdata", n))
			ins = append(ins, Input{Name: n, R: bytes.NewReader(b)})
		}
		ins = append(ins, Input{Name: "added." + lang, R: bytes.NewReader(doc)})
		set, err := Read(ins)
		if err != nil {
			t.Fatal(err)
		}
		after, findings := Run(evaluator(t, set), targets, opts)
		for _, r := range after {
			if r.Action != "allow" {
				t.Errorf("%s: after the rules, %s %s is %s (%v)", lang, r.Protocol, r.Destination, r.Action, r.Maybe)
			}
		}
		if len(findings) != 0 {
			t.Errorf("%s: findings after the rules: %v", lang, findings)
		}
	}
}
