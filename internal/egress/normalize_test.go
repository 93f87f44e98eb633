package egress

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOneDestinationPerName: DNS names are case-insensitive and "x.com."
// is "x.com", so the spellings of one name count as one destination.
func TestOneDestinationPerName(t *testing.T) {
	in := strings.Join([]string{
		"HTTPS request from 10.0.0.5:1 to Mixed.Example.COM:443. Action: Deny. No rule matched. Proceeding with default action",
		"HTTPS request from 10.0.0.6:1 to mixed.example.com.:443. Action: Deny. No rule matched. Proceeding with default action",
		"HTTPS request from 10.0.0.7:1 to mixed.example.com:443. Action: Deny. No rule matched. Proceeding with default action",
		`{"category":"AZFWApplicationRule","properties":{"Protocol":"HTTPS","SourceIp":"10.0.0.8","DestinationPort":443,"Fqdn":"MIXED.example.com","Action":"Deny","ActionReason":"Default Action"}}`,
		"1757106054.100      0 10.0.0.9 TCP_DENIED/403 3867 CONNECT Mixed.Example.Com.:443 - HIER_NONE/- text/html",
	}, "\n")
	var got []string
	for i, l := range strings.Split(in, "\n") {
		format := []Format{FormatText, FormatText, FormatText, FormatJSON, FormatSquid}[i]
		res := analyze(t, Options{Format: format}, bytesInput("x", []byte(l+"\n")))
		got = append(got, summarize(res)...)
	}
	res := analyze(t, Options{Format: FormatText}, bytesInput("x", []byte(in)))
	want := []string{"deny mixed.example.com:443 HTTPS n=3 src=10.0.0.5,10.0.0.6,10.0.0.7 no-rule-matched -"}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("one file (-want +got):\n%s", diff)
	}
	for _, s := range got {
		if !strings.Contains(s, " mixed.example.com:443 ") {
			t.Errorf("a spelling kept apart: %s", s)
		}
	}
}

// TestHostileTextIsDefused: control characters from a log (ESC, C1 CSI)
// never reach the fields a terminal prints.
func TestHostileTextIsDefused(t *testing.T) {
	in := `{"category":"AZFWApplicationRule","properties":{"Protocol":"HTTPS","SourceIp":"10.0.0.1\u001b]2;x\u0007","DestinationPort":443,"Fqdn":"evil\u001b[31m.example.com\u009b2J","Action":"Deny","Policy":"p\u001b[5m","Rule":"r"}}` + "\n" +
		`{"category":"AZFWApplicationRule","properties":{"Protocol":"HTTPS","SourceIp":"10.0.0.1","DestinationPort":443,"Fqdn":"n.example.com","Action":"Deny","ActionReason":"Failed to resolve\r\u001b[2K"}}` + "\n"
	res := analyze(t, Options{}, bytesInput("x", []byte(in)))
	if len(res.Destinations) != 2 {
		t.Fatalf("destinations: %q", summarize(res))
	}
	for _, d := range res.Destinations {
		for _, s := range append([]string{d.Host, d.Rule, d.Detail}, d.Sources...) {
			if strings.ContainsAny(s, "\x1b\x07\r\u009b") {
				t.Errorf("control characters left in %q", s)
			}
		}
	}
}

// TestUnexpectedJSONTypes: a field of an unexpected type costs that field,
// not the record.
func TestUnexpectedJSONTypes(t *testing.T) {
	in := `{"category":"AZFWApplicationRule","time":1694010826,"properties":{"Protocol":"HTTPS","SourceIp":"10.13.2.4","DestinationPort":443,"Fqdn":"a.example.com","Action":"Deny","ActionReason":"Default Action"}}
{"category":"AZFWNetworkRule","time":"2023-09-06T14:33:46.812+00:00","properties":{"Protocol":"TCP","SourceIp":"10.13.2.4","DestinationIp":"203.0.113.8","DestinationPort":443,"Action":"Deny","ActionReason":"Default Action","Rule":123,"Policy":["x"]}}
{"category":"AZFWNetworkRule","time":"2023-09-06T14:33:46.812+00:00","properties":{"Protocol":"TCP","SourceIp":"10.13.2.4","DestinationIp":"203.0.113.9","DestinationPort":true,"Action":"Deny","ActionReason":"Default Action"}}
[1,2,3]
{"properties":"str","category":"AZFWNetworkRule"}
`
	res := analyze(t, Options{}, bytesInput("x", []byte(in)))
	want := []string{
		"deny 203.0.113.8:443 TCP n=1 src=10.13.2.4 no-rule-matched -",
		"deny 203.0.113.9 TCP n=1 src=10.13.2.4 no-rule-matched -",
		"deny a.example.com:443 HTTPS n=1 src=10.13.2.4 no-rule-matched -",
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if d := res.Destinations[2]; d.First != 1694010826e9 {
		t.Errorf("a numeric time: %d", d.First)
	}
	if u := res.Files[0].Unknown; u != 2 {
		t.Errorf("unknown = %d, want 2", u)
	}
}

func TestHostPort(t *testing.T) {
	for _, tt := range []struct {
		host string
		port int
		want string
	}{
		{"x.example.com", 443, "x.example.com:443"},
		{"2001:db8:1::9", 8443, "[2001:db8:1::9]:8443"},
		{"2001:db8:1::9", -1, "2001:db8:1::9"},
		{"192.0.2.45", -1, "192.0.2.45"},
	} {
		if got := HostPort(tt.host, tt.port); got != tt.want {
			t.Errorf("HostPort(%q, %d) = %q, want %q", tt.host, tt.port, got, tt.want)
		}
	}
}

// TestProjectedColumns: az monitor log-analytics query -o json prints
// every value as a string, and a query that projects columns has no Type:
// the columns name the table.
func TestProjectedColumns(t *testing.T) {
	in := `[
  {"Action": "Deny", "ActionReason": "Default Action", "DestinationPort": "443", "Fqdn": "pypi.org", "Protocol": "HTTPS", "SourceIp": "10.0.3.254", "TableName": "PrimaryResult", "TimeGenerated": "2026-11-20T10:00:00.123Z"},
  {"Action": "Deny", "ActionReason": "Default Action", "DestinationIp": "203.0.113.9", "DestinationPort": "445", "Protocol": "TCP", "SourceIp": "10.0.3.254", "TableName": "PrimaryResult", "TimeGenerated": "2026-11-20T10:00:01Z"},
  {"Action": "Deny", "DestinationIp": "198.51.100.23", "DestinationPort": "443", "Protocol": "TCP", "SourceIp": "10.0.3.254", "ThreatDescription": "Bot Networks", "TableName": "PrimaryResult"},
  {"TableName": "PrimaryResult", "Computer": "x"}
]`
	res := analyze(t, Options{}, bytesInput("az.json", []byte(in)))
	want := []string{
		"deny 203.0.113.9:445 TCP n=1 src=10.0.3.254 no-rule-matched app-service-content-share",
		"deny pypi.org:443 HTTPS n=1 src=10.0.3.254 no-rule-matched pypi",
		"deny 198.51.100.23:443 TCP n=1 src=10.0.3.254 threat-intel -",
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if u := res.Files[0].Unknown; u != 1 {
		t.Errorf("unknown = %d, want 1 (the row of another table)", u)
	}
}

// TestStoredSourcesAreBounded: over all destinations an analysis keeps at
// most maxStoredSources sources per aggregator; past it destinations still
// count, and say their source list is cut.
func TestStoredSourcesAreBounded(t *testing.T) {
	defer func(n int) { maxStoredSources = n }(maxStoredSources)
	maxStoredSources = 1000
	var b strings.Builder
	for port := 1; port <= 50; port++ {
		for src := 1; src <= 100; src++ {
			fmt.Fprintf(&b, "TCP request from 198.51.%d.%d:4000 to 203.0.113.1:%d. Action: Deny\n", src/250, src%250, port)
		}
	}
	res := analyze(t, Options{Workers: 1}, bytesInput("scan", []byte(b.String())))
	kept, cut := 0, 0
	var count int64
	for _, d := range res.Destinations {
		kept += len(d.Sources)
		count += d.Count
		if d.SourcesTruncated {
			cut++
		}
	}
	if kept > 2*maxStoredSources || count != 5000 || cut == 0 {
		t.Errorf("kept %d sources (bound %d), counted %d of 5000 records, %d destinations cut", kept, 2*maxStoredSources, count, cut)
	}
}
