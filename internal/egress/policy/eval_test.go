package policy

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

func readFiles(t *testing.T, names ...string) *Set {
	t.Helper()
	var ins []Input
	for _, n := range names {
		f, err := os.Open(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ins = append(ins, Input{Name: n, R: f})
	}
	s, err := Read(ins)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func evaluator(t *testing.T, s *Set) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestParentChild evaluates the ARM/REST fixtures (hub parent, app
// child): the parent's groups first whatever the priority, DNAT, network
// then application passes, FQDN tags, web categories, service tags and
// network-rule FQDNs with the parent's DNS proxy.
func TestParentChild(t *testing.T) {
	e := evaluator(t, readFiles(t, "arm-policies.json", "arm-rcg-hub.json", "arm-rcg-app.json"))
	if got := e.Chain(); len(got) != 2 || got[0].Name != "fwpol-hub" || got[1].Name != "fwpol-app" {
		t.Fatalf("chain = %v", got)
	}
	app := netip.MustParsePrefix("10.0.3.0/24")
	tests := []struct {
		dest, src, action, rule, log string
		ti                           string
		addrs                        []string
	}{
		{dest: "pypi.org:443", action: "deny",
			log: "HTTPS request from 10.0.3.0/24 to pypi.org:443. Action: Deny. No rule matched. Proceeding with default action"},
		{dest: "api.contoso.example:443", action: "allow", rule: "fwpol-app / app-rules / app-allow-own / own-api",
			log: "HTTPS request from 10.0.3.0/24 to api.contoso.example:443. Action: Allow. Policy: fwpol-app. Rule Collection Group: app-rules. Rule Collection: app-allow-own. Rule: own-api"},
		// The child allows it in a group of priority 100; the parent's deny
		// (priority 300) still comes first.
		{dest: "paste.example.org:443", action: "deny", rule: "fwpol-hub / hub-platform / hub-deny-paste / block-paste-sites"},
		// *.paste.example.org does not match the apex, and the apex rule
		// does not match a sub-domain.
		{dest: "www.paste.example.org:443", action: "deny", rule: "fwpol-hub / hub-platform / hub-deny-paste / block-paste-sites"},
		{dest: "http://paste.example.org", action: "deny", rule: "fwpol-hub / hub-platform / hub-deny-paste / block-paste-sites"},
		{dest: "10.0.5.4:1433", action: "allow", rule: "fwpol-app / app-rules / app-net / sql",
			log: "TCP request from 10.0.3.0/24 to 10.0.5.4:1433. Action: Allow. Policy: fwpol-app. Rule Collection Group: app-rules. Rule Collection: app-net. Rule: sql"},
		{dest: "10.0.5.4:1434", action: "deny", log: "TCP request from 10.0.3.0/24 to 10.0.5.4:1434. Action: Deny"},
		// Documented member of the AzureKubernetesService tag.
		{dest: "mcr.microsoft.com:443", action: "allow", rule: "fwpol-hub / hub-platform / hub-allow-platform / aks-required"},
		{dest: "westeurope.data.mcr.microsoft.com:443", action: "allow", rule: "fwpol-hub / hub-platform / hub-allow-platform / aks-required"},
		// Network rule FQDN, DNS proxy on in the parent and inherited.
		{dest: "udp://ntp.ubuntu.com:123", action: "allow", rule: "fwpol-app / app-rules / app-net / ntp"},
		{dest: "168.63.129.16:53", src: "10.0.3.4/32", action: "allow", rule: "fwpol-hub / hub-platform / hub-net-dns / azure-dns"},
		{dest: "168.63.129.16:53", src: "192.168.1.0/24", action: "deny"},
		{dest: "udp://168.63.129.16:53", src: "10.0.3.4/32", action: "allow", rule: "fwpol-hub / hub-platform / hub-net-dns / azure-dns",
			log: "UDP request from 10.0.3.4 to 168.63.129.16:53. Action: Allow. Policy: fwpol-hub. Rule Collection Group: hub-platform. Rule Collection: hub-net-dns. Rule: azure-dns"},
		// Service tag without its ranges: unknown, never an allow.
		{dest: "tcp://stfuncdemo.file.core.windows.net:445", action: "unknown"},
		// Web category from the other subnet: unknown.
		{dest: "pypi.org:443", src: "10.0.9.0/24", action: "unknown"},
		// Threat intelligence in Deny mode, flagged in a log.
		{dest: "bad.example.net:443", ti: "Bot Networks", action: "deny",
			log: "HTTPS request from 10.0.3.0/24 to bad.example.net:443. Action: Deny. ThreatIntel: Bot Networks"},
		{dest: "allowed-but-flagged.example.net:443", ti: "Bot Networks", action: "deny",
			log: "HTTPS request from 10.0.3.0/24 to allowed-but-flagged.example.net:443. Action: Deny. No rule matched. Proceeding with default action"},
		// DNAT: traffic to the firewall's public address.
		{dest: "tcp://203.0.113.10:8443", src: "198.51.100.7/32", action: "allow", rule: "fwpol-app / app-rules / app-dnat / https-in",
			log: "TCP request from 198.51.100.7 to 203.0.113.10:8443 was DNAT'ed to 10.0.3.10:443. Policy: fwpol-app. Rule Collection Group: app-rules. Rule Collection: app-dnat. Rule: https-in"},
	}
	for _, tt := range tests {
		tg, err := ParseDest(tt.dest)
		if err != nil {
			t.Fatal(err)
		}
		src := app
		if tt.src != "" {
			src = netip.MustParsePrefix(tt.src)
		}
		v := e.Evaluate(Dest{Host: tg.Host, Port: tg.Port, Protocol: tg.Protocol, Source: src, ThreatIntel: tt.ti})
		if v.Action != tt.action {
			t.Errorf("%s from %s: action %s, want %s (%+v)", tt.dest, src, v.Action, tt.action, v)
			continue
		}
		got := ""
		if v.Rule != nil {
			got = v.Rule.Path()
		}
		if got != tt.rule && tt.action != "unknown" {
			t.Errorf("%s: rule %q, want %q", tt.dest, got, tt.rule)
		}
		if tt.log != "" && v.Log != tt.log {
			t.Errorf("%s: log\n %q\nwant\n %q", tt.dest, v.Log, tt.log)
		}
		if tt.action == "unknown" && (len(v.Maybe) == 0 || v.Log != "") {
			t.Errorf("%s: unknown without a reason, or with a log line: %+v", tt.dest, v)
		}
	}
}

// TestServiceTagsFile: with the tag's ranges and the name's address the
// SMB rule decides.
func TestServiceTagsFile(t *testing.T) {
	e := evaluator(t, readFiles(t, "arm-policies.json", "arm-rcg-hub.json", "arm-rcg-app.json", "servicetags-westeurope.json"))
	src := netip.MustParsePrefix("10.0.3.0/24")
	d := Dest{Host: "stfuncdemo.file.core.windows.net", Port: 445, Protocol: "tcp", Source: src}
	if v := e.Evaluate(d); v.Action != "unknown" || v.Maybe[0].Code != "address-unknown" {
		t.Errorf("without the address: %+v", v)
	}
	d.Addresses = []netip.Addr{netip.MustParseAddr("198.51.100.20")}
	if v := e.Evaluate(d); v.Action != "allow" || v.Rule.Rule != "content-share-smb" {
		t.Errorf("in the tag: %+v", v)
	}
	d.Addresses = []netip.Addr{netip.MustParseAddr("198.51.100.200")}
	if v := e.Evaluate(d); v.Action != "deny" {
		t.Errorf("outside the tag: %+v", v)
	}
}

func TestMatchFQDN(t *testing.T) {
	for _, tt := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.contoso.com", "any.contoso.com", true},
		{"*.contoso.com", "sub1.any.contoso.com", true},
		{"*.contoso.com", "contoso.com", false},
		{"*contoso.com", "contoso.com", true},
		{"*contoso.com", "example.anycontoso.com", true},
		{"*contoso.com", "th3re4lcontoso.com", true},
		{"www.contoso.*", "www.contoso.com", false},
		{"*.contoso.*", "a.contoso.com", false},
		{"*", "anything.example", true},
		{"WWW.Contoso.com.", "www.contoso.com", true},
		{"contoso.com", "www.contoso.com", false},
	} {
		if got := matchFQDN(tt.pattern, tt.host); got != tt.want {
			t.Errorf("matchFQDN(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
		}
	}
}

func TestParseDest(t *testing.T) {
	for in, want := range map[string]string{
		"pypi.org":                 "https pypi.org 443",
		"pypi.org:443":             "https pypi.org 443",
		"pypi.org:80":              "http pypi.org 80",
		"http://x.example:8080/a":  "http x.example 8080",
		"udp://ntp.ubuntu.com:123": "udp ntp.ubuntu.com 123",
		"db.example:1433":          "mssql db.example 1433",
		"[2001:db8::1]:22":         "tcp 2001:db8::1 22",
		"10.0.0.1:5432":            "tcp 10.0.0.1 5432",
		"Files.PythonHosted.org.":  "https files.pythonhosted.org 443",
		"mssql://db.example":       "mssql db.example 1433",
		"icmp://10.0.0.1":          "icmp 10.0.0.1 0",
		"pypi.org/simple/":         "https pypi.org 443",
		"2001:db8::1":              "https 2001:db8::1 443",
	} {
		tg, err := ParseDest(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := tg.Protocol + " " + tg.Host + " " + strconv.Itoa(tg.Port); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "x:0", "x:70000", "a b", "x:y", "[::1", "[::1]x", "tcp://x", "udp://x", "[fe80::1%eth0]:443", "-x.example"} {
		if _, err := ParseDest(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
