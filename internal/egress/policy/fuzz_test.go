package policy

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: every policy reader (detected by shape) takes any bytes
// without a panic, and what it reads evaluates without one.
func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`[{"ruleCollections":[{"rules":[{"ruleType":"NetworkRule","destinationPorts":["1-"],"sourceAddresses":["10.0.0.1-10.0.0.0"]}]}]}]`))
	f.Add([]byte(`{"format_version":"1.0","resource_changes":[{"type":"azurerm_firewall_policy_rule_collection_group","change":{"after":{"priority":"x"},"after_unknown":{"application_rule_collection":[{"rule":true}]}}}]}`))
	dests := []Dest{
		{Host: "pypi.org", Port: 443, Protocol: "https", Source: netip.MustParsePrefix("10.0.3.0/24")},
		{Host: "10.0.5.4", Port: 1433, Protocol: "mssql", Source: netip.MustParsePrefix("10.0.3.4/32")},
		{Host: "ntp.ubuntu.com", Port: 123, Protocol: "udp"},
		{Host: "bad.example", Port: 80, Protocol: "http", ThreatIntel: "x", Source: netip.MustParsePrefix("::1/128")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Read([]Input{{Name: "a.json", R: bytes.NewReader(data)}})
		if err != nil {
			return
		}
		e, err := NewEvaluator(s)
		if err != nil {
			return
		}
		for _, d := range dests {
			v := e.Evaluate(d)
			switch v.Action {
			case "allow", "deny", "unknown":
			default:
				t.Fatalf("action %q", v.Action)
			}
			if v.Action == "unknown" && len(v.Maybe) == 0 {
				t.Fatalf("unknown without a reason: %+v", v)
			}
		}
	})
}

// FuzzParseDest: destinations as users type them.
func FuzzParseDest(f *testing.F) {
	for _, s := range []string{"pypi.org:443", "udp://x:1", "[::1]:22", "http://a/b", "x:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s)
		if err == nil && (d.Port < 0 || d.Port > 65535 || d.Host == "") {
			t.Fatalf("%q → %+v", s, d)
		}
	})
}
