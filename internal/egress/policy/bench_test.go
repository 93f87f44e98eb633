package policy

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// BenchmarkEvaluate: a policy of 50 groups × 10 collections × 20 rules
// (10,000 rules, the service limit per policy), every rule with 5 target
// FQDNs; one destination that no rule matches walks all of them.
func BenchmarkEvaluate(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for g := range 50 {
		if g > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"id":"/subscriptions/x/resourceGroups/r/providers/Microsoft.Network/firewallPolicies/p/ruleCollectionGroups/g%d","name":"g%d","priority":%d,"ruleCollections":[`, g, g, 100+g)
		for c := range 10 {
			if c > 0 {
				sb.WriteString(",")
			}
			app := c%3 != 0
			fmt.Fprintf(&sb, `{"name":"c%d","priority":%d,"action":{"type":"Allow"},"ruleCollectionType":"FirewallPolicyFilterRuleCollection","rules":[`, c, 100+c)
			for r := range 20 {
				if r > 0 {
					sb.WriteString(",")
				}
				n := g*1000 + c*20 + r
				rule := fmt.Sprintf(`"ruleType":"ApplicationRule","protocols":[{"protocolType":"Https","port":443}],"targetFqdns":["a%[1]d.example","b%[1]d.example","*.c%[1]d.example","d%[1]d.example","e%[1]d.example"]`, n)
				if !app {
					rule = fmt.Sprintf(`"ruleType":"NetworkRule","ipProtocols":["TCP"],"destinationAddresses":["198.51.100.%d"],"destinationPorts":["443"]`, r)
				}
				fmt.Fprintf(&sb, `{"name":"r%d","sourceAddresses":["10.%d.0.0/16"],%s}`, r, r, rule)
			}
			sb.WriteString("]}")
		}
		sb.WriteString("]}")
	}
	sb.WriteString("]")
	s, err := Read([]Input{{Name: "big.json", R: strings.NewReader(sb.String())}})
	if err != nil {
		b.Fatal(err)
	}
	if s.Files[0].Rules != 10000 {
		b.Fatalf("%d rules", s.Files[0].Rules)
	}
	e, err := NewEvaluator(s)
	if err != nil {
		b.Fatal(err)
	}
	d := Dest{Host: "pypi.org", Port: 443, Protocol: "https", Source: netip.MustParsePrefix("10.5.3.0/24"),
		Addresses: []netip.Addr{netip.MustParseAddr("203.0.113.7")}}
	b.ResetTimer()
	for range b.N {
		if v := e.Evaluate(d); v.Action != "deny" {
			b.Fatalf("%+v", v)
		}
	}
}
