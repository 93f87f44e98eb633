package egress

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func otherPlan() *Plan {
	return &Plan{Collections: []Collection{
		{Name: "kensa-mcr-https", Rule: Rule{Type: AppRule, Protocols: []ProtoPort{{"Https", 443}}, Sources: []string{"10.0.3.7"},
			FQDNs: []string{"*.data.mcr.microsoft.com", "data.mcr.microsoft.com", "mcr.microsoft.com"}}},
		{Name: "kensa-ocsp-http", Rule: Rule{Type: AppRule, Protocols: []ProtoPort{{"Http", 80}}, Sources: []string{"10.0.3.0/24"},
			FQDNs: []string{"ocsp.digicert.com"}}},
		{Name: "kensa-other-udp-5432", Rule: Rule{Type: NetRule, IPProtocols: []string{"UDP"}, Ports: []string{"5432"}, Sources: []string{"10.0.3.7"},
			Addresses: []string{"203.0.113.50"}}},
	}}
}

// TestAWSNFW: the domain list takes names only (".x.com" covers x.com),
// HOME_NET is the sources, an address is listed as not covered.
func TestAWSNFW(t *testing.T) {
	targets, sources, notCovered := awsTargets(otherPlan())
	if got := strings.Join(targets, " "); got != ".data.mcr.microsoft.com mcr.microsoft.com ocsp.digicert.com" {
		t.Errorf("targets %q", got)
	}
	if got := strings.Join(sources, " "); got != "10.0.3.0/24 10.0.3.7/32" {
		t.Errorf("sources %q", got)
	}
	if len(notCovered) != 1 || !strings.HasPrefix(notCovered[0], "203.0.113.50 UDP/5432") {
		t.Errorf("not covered %q", notCovered)
	}
	var buf bytes.Buffer
	if err := WriteAWSNFWCloudFormation(&buf, otherPlan()); err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Type      string
				RuleGroup struct {
					RulesSource struct {
						RulesSourceList struct {
							Targets, TargetTypes []string
							GeneratedRulesType   string
						}
					}
				}
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &tpl); err != nil {
		t.Fatalf("CloudFormation template is not JSON: %v\n%s", err, buf.String())
	}
	rg := tpl.Resources["KensaEgressRuleGroup"]
	if rg.Type != "AWS::NetworkFirewall::RuleGroup" || rg.Properties.Type != "STATEFUL" ||
		rg.Properties.RuleGroup.RulesSource.RulesSourceList.GeneratedRulesType != "ALLOWLIST" ||
		len(rg.Properties.RuleGroup.RulesSource.RulesSourceList.Targets) != 3 {
		t.Errorf("template %+v", tpl)
	}
	buf.Reset()
	WriteAWSNFW(&buf, otherPlan())
	script := buf.String()
	i := strings.Index(script, "--rule-group '")
	if i < 0 {
		t.Fatalf("no --rule-group in\n%s", script)
	}
	js := strings.TrimSuffix(strings.TrimSpace(script[i+len("--rule-group '"):]), "'")
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Errorf("--rule-group is not JSON: %v: %s", err, js)
	}
	buf.Reset()
	WriteSuricata(&buf, otherPlan())
	for _, want := range []string{
		`pass tls $HOME_NET any -> $EXTERNAL_NET 443 (tls.sni; dotprefix; content:".data.mcr.microsoft.com"; nocase; endswith;`,
		`pass http $HOME_NET any -> $EXTERNAL_NET 80 (http.host; content:"ocsp.digicert.com"; nocase; startswith; endswith;`,
		`pass udp $HOME_NET any -> 203.0.113.50 5432 (`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("suricata rules lack %q:\n%s", want, buf.String())
		}
	}
}

func TestForeignRules(t *testing.T) {
	for _, tt := range []struct {
		lang string
		logs []Family
		want string
	}{
		{"az", []Family{FamilyAzure}, ""},
		{"az", []Family{FamilySquid}, "these are Azure Firewall rules, but the logs came from Squid: --emit squid writes rules for the firewall the logs came from"},
		{"terraform", []Family{FamilyAWS}, "these are Azure Firewall rules, but the logs came from AWS Network Firewall: --emit aws-nfw, aws-nfw-cloudformation, aws-nfw-terraform or suricata writes rules for the firewall the logs came from"},
		{"squid", []Family{FamilyAzure, FamilySquid}, ""},
		{"aws-nfw", nil, ""},
	} {
		if got := ForeignRules(tt.lang, tt.logs); got != tt.want {
			t.Errorf("ForeignRules(%s, %v) = %q, want %q", tt.lang, tt.logs, got, tt.want)
		}
	}
}
