package egress

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func fileInput(path string) Input {
	return Input{Name: filepath.Base(path), Open: func() (io.ReadCloser, error) { return os.Open(path) }}
}

func bytesInput(name string, b []byte) Input {
	return Input{Name: name, Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }}
}

func analyze(t *testing.T, opts Options, ins ...Input) *Result {
	t.Helper()
	res, err := Analyze(context.Background(), ins, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// summarize renders destinations one per line, for comparison.
func summarize(res *Result) []string {
	var out []string
	for _, d := range res.Destinations {
		svc := "-"
		if d.Service != nil {
			svc = d.Service.Service.ID
		}
		out = append(out, fmt.Sprintf("%s %s %s n=%d src=%s %s %s", d.Action, HostPort(d.Host, d.Port), d.Proto, d.Count,
			strings.Join(d.Sources, ","), d.Reason, svc))
	}
	return out
}

func counts(f FileStats) string {
	return fmt.Sprintf("records=%d traffic=%d denied=%d allowed=%d alerts=%d dns=%d nat=%d other=%d auth=%d unknown=%d",
		f.Records, f.Traffic, f.Denied, f.Allowed, f.Alerts, f.DNS, f.NAT, f.Other, f.Auth, f.Unknown)
}

// TestFixtures reads every fixture and checks the counts and the
// destinations. The counts were checked by hand against grep:
//
//	azfw.log:      grep -c . = 34 lines; grep -c 'Action: Deny' = 16, plus
//	               one 'Action: drop' = 17 denied (2 of them SNI-missing);
//	               grep -c "DNAT'ed" = 2; grep -c 'DNS Request\| Error:' = 3;
//	               grep -ci 'Action: alert' = 3; grep -c 'Action: Allow' = 9.
//	blob.jsonl:    grep -c 'Action: Deny' = 5 (one inside a "records"
//	               envelope); 1 DNS, 1 DNAT, 1 allow.
//	access.log:    grep -c 'TCP_DENIED/403' = 3, grep -c '/407' = 1, 2
//	               allowed (TCP_TUNNEL/200, TCP_MISS/200), 1 junk line.
//	malformed.log: 11 lines, 1 blank (not counted), 5 understood (4 deny
//	               to good.example.com, grep -c good.example.com = 4).
func TestFixtures(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		counts string
		dests  []string
	}{
		{"azfw.log", FormatText,
			"records=34 traffic=29 denied=17 allowed=9 alerts=3 dns=3 nat=2 other=0 auth=0 unknown=0",
			[]string{
				"deny 192.0.2.46:445 TCP n=2 src=10.20.5.7 denied app-service-content-share",
				"deny contoso-build.scm.azurewebsites.net:443 HTTPS n=2 src=10.20.2.254 no-rule-matched kudu",
				"deny 10.20.0.4:2323 TCP n=1 src=198.18.7.21 denied -",
				"deny 192.0.2.45 ICMP n=1 src=10.20.5.7 denied -",
				"deny 192.0.2.49 ICMP n=1 src=10.20.5.9 denied -",
				"deny dl.delivery.windowsupdate.com:80 HTTP n=1 src=10.20.4.9 no-rule-matched windows-update",
				"deny ocsp.digicert.com:80 HTTP n=1 src=10.20.3.17 no-rule-matched revocation",
				"deny oryx-cdn.microsoft.io:443 HTTPS n=1 src=10.20.3.17 no-rule-matched oryx",
				"deny pypi.org:443 HTTPS n=1 src=10.20.3.17 no-rule-matched pypi",
				"deny agent.westeurope.build.example.net:443 HTTPS n=1 src=10.20.4.9 name-unresolved -",
				"deny telemetry.example.org:443 HTTPS n=1 src=10.20.4.9 denied-by-rule -",
				"deny 198.51.100.77:443 TCP n=1 src=10.20.5.11 idps -",
				"deny ocsp.badca.example.net:80 HTTP n=1 src=10.20.5.10 threat-intel -",
				"alert 198.51.100.77 ICMP n=1 src=10.20.5.11 idps -",
				"alert 198.51.100.77:1433 TCP n=1 src=10.20.5.11 idps -",
				"alert badsite.example.com:80 HTTP n=1 src=10.20.5.10 threat-intel -",
			}},
		{"blob.jsonl", FormatJSON,
			"records=8 traffic=6 denied=5 allowed=1 alerts=0 dns=1 nat=1 other=0 auth=0 unknown=0",
			[]string{
				"deny registry-1.docker.io:443 HTTPS n=2 src=10.30.4.5,10.30.4.6 no-rule-matched docker-hub",
				"deny 203.0.113.60 ICMP n=1 src=10.30.4.7 denied -",
				"deny auth.docker.io:443 HTTPS n=1 src=10.30.4.8 no-rule-matched docker-hub",
				"deny md-q7w2e9r4t1y3.z11.blob.storage.azure.net:443 HTTPS n=1 src=10.30.4.5 no-rule-matched azure-storage",
			}},
		{"eventhub.json", FormatJSON,
			"records=4 traffic=3 denied=3 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=1",
			[]string{
				"deny registry.npmjs.org:443 HTTPS n=2 src=10.40.1.4,10.40.1.5 no-rule-matched npm",
				"deny mcr.microsoft.com:443 HTTPS n=1 src=10.40.1.4 no-rule-matched mcr",
			}},
		{"structured.jsonl", FormatJSON,
			"records=12 traffic=10 denied=8 allowed=1 alerts=1 dns=1 nat=1 other=0 auth=0 unknown=0",
			[]string{
				"deny 203.0.113.90:1194 UDP n=1 src=10.50.3.4 no-rule-matched aks",
				"deny eastus.data.mcr.microsoft.com:443 HTTPS n=1 src=10.50.2.8 no-rule-matched mcr",
				"deny proxy.golang.org:443 HTTPS n=1 src=10.50.2.9 no-rule-matched go-modules",
				"deny db.internal.example  n=1 src= name-unresolved -",
				"deny 203.0.113.91 TCP n=1 src=10.50.3.4 denied-by-rule -",
				"deny 198.51.100.23:443 TCP n=1 src=10.50.2.10 threat-intel -",
				"deny 203.0.113.135:80 TCP n=1 src=10.50.2.12 idps -",
				"alert testmaliciousdomain.eastus.cloudapp.azure.com:80 HTTP n=1 src=10.50.2.11 threat-intel -",
			}},
		{"la-export.json", FormatJSON,
			"records=2 traffic=2 denied=2 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=0",
			[]string{
				"deny 203.0.113.100:445 TCP n=1 src=10.60.1.4 no-rule-matched app-service-content-share",
				"deny api.nuget.org:443 HTTPS n=1 src=10.60.1.4 no-rule-matched nuget",
			}},
		{"la-tables.json", FormatJSON,
			"records=2 traffic=2 denied=2 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=0",
			[]string{"deny repo1.maven.org:443 HTTPS n=2 src=10.60.2.4,10.60.2.5 no-rule-matched maven"}},
		{"la-export.csv", FormatCSV,
			"records=3 traffic=3 denied=3 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=0",
			[]string{
				"deny ghcr.io:443 HTTPS n=2 src=10.60.3.4 no-rule-matched ghcr",
				"deny 203.0.113.123:123 UDP n=1 src=10.60.3.5 denied ntp",
			}},
		{"access.log", FormatSquid,
			"records=7 traffic=5 denied=3 allowed=2 alerts=0 dns=0 nat=0 other=0 auth=1 unknown=1",
			[]string{
				"deny watson.telemetry.example.com:443 HTTPS n=2 src=10.70.1.20,10.70.1.23 denied-by-proxy -",
				"deny deb.example.org:80 HTTP n=1 src=10.70.1.20 denied-by-proxy -",
			}},
		{"aws-nfw.jsonl", FormatJSON,
			"records=4 traffic=3 denied=2 allowed=1 alerts=0 dns=0 nat=0 other=1 auth=0 unknown=0",
			[]string{
				"deny files.pythonhosted.org:443 HTTPS n=1 src=10.80.2.182 no-rule-matched pypi",
				"deny 203.0.113.80:8080 HTTP n=1 src=10.80.2.77 denied-by-rule -",
			}},
		{"malformed.log", FormatText,
			"records=10 traffic=5 denied=5 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=5",
			[]string{
				"deny good.example.com:443 HTTPS n=4 src=10.90.0.1,10.90.0.3 no-rule-matched -",
				"deny 192.0.2.200 TCP n=1 src=10.90.0.2 denied -",
			}},
		{"truncated.jsonl", FormatJSON,
			"records=6 traffic=3 denied=3 allowed=0 alerts=0 dns=0 nat=0 other=0 auth=0 unknown=3",
			[]string{
				"deny ok.example.com:443 HTTPS n=2 src=10.91.0.1 no-rule-matched -",
				"deny weird.example.com HTTPS n=1 src=10.91.0.2 denied -",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := Detect(data); got != tt.format {
				t.Errorf("Detect(%s) = %s, want %s", tt.file, got, tt.format)
			}
			// Plain, gzip, forced format, one worker: the same answer.
			var gz bytes.Buffer
			zw := gzip.NewWriter(&gz)
			zw.Write(data)
			zw.Close()
			for _, v := range []struct {
				name string
				in   Input
				opts Options
			}{
				{"plain", fileInput(path), Options{}},
				{"gzip", bytesInput(tt.file+".gz", gz.Bytes()), Options{}},
				{"forced", fileInput(path), Options{Format: tt.format}},
				{"one worker", fileInput(path), Options{Workers: 1}},
			} {
				res := analyze(t, v.opts, v.in)
				if res.Files[0].Err != "" {
					t.Errorf("%s: read error %s", v.name, res.Files[0].Err)
				}
				if got := counts(res.Files[0]); got != tt.counts {
					t.Errorf("%s: counts\n got %s\nwant %s", v.name, got, tt.counts)
				}
				if diff := cmp.Diff(tt.dests, summarize(res)); diff != "" {
					t.Errorf("%s: destinations (-want +got):\n%s", v.name, diff)
				}
			}
		})
	}
}

func TestUnknownLinesShownWithLineNumbers(t *testing.T) {
	res := analyze(t, Options{}, fileInput("testdata/malformed.log"))
	var got []string
	for _, u := range res.Unknown {
		got = append(got, fmt.Sprintf("%s:%d", u.File, u.Line))
	}
	want := []string{"malformed.log:2", "malformed.log:3", "malformed.log:4", "malformed.log:5", "malformed.log:9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown lines (-want +got):\n%s", diff)
	}
	// In a pretty-printed document, the record's own line.
	res = analyze(t, Options{}, fileInput("testdata/eventhub.json"))
	if len(res.Unknown) != 1 || res.Unknown[0].Line != 41 {
		t.Errorf("eventhub.json unknown = %+v, want one at line 41 (its opening brace)", res.Unknown)
	}
}

func TestTruncatedDocumentIsAReadErrorNotACrash(t *testing.T) {
	res := analyze(t, Options{}, fileInput("testdata/truncated-pretty.json"), fileInput("testdata/azfw.log"))
	if res.Files[0].Err == "" {
		t.Errorf("truncated-pretty.json: no read error")
	}
	if res.Files[1].Denied != 17 {
		t.Errorf("the next file was not read whole: %+v", res.Files[1])
	}
}

func TestTimeFilterAndAll(t *testing.T) {
	since, _ := parseTime([]byte("2026-11-20T07:00:00Z"))
	until, _ := parseTime([]byte("2026-11-20T09:15:30Z"))
	res := analyze(t, Options{Since: since, Until: until, All: true}, fileInput("testdata/blob.jsonl"))
	want := []string{
		"deny 203.0.113.60 ICMP n=1 src=10.30.4.7 denied -",
		"deny registry-1.docker.io:443 HTTPS n=1 src=10.30.4.5 no-rule-matched docker-hub",
		"allow www.example.org:443 HTTPS n=1 src=10.30.4.5 allowed -",
	}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if f := res.Files[0]; f.OutOfRange != 3 {
		t.Errorf("out of range = %d, want 3 (06:18, 06:19 and 09:16)", f.OutOfRange)
	}
	// Text lines without a time are left out, and counted, by a filter.
	res = analyze(t, Options{Since: since}, fileInput("testdata/azfw.log"))
	if len(res.Destinations) != 0 || res.Files[0].Untimed != 29 {
		t.Errorf("untimed = %d, destinations = %d; want 29, 0", res.Files[0].Untimed, len(res.Destinations))
	}
}

func TestStdinStyleInputsAndManyFiles(t *testing.T) {
	a, _ := os.ReadFile("testdata/azfw.log")
	b, _ := os.ReadFile("testdata/access.log")
	res := analyze(t, Options{}, bytesInput("a", a), bytesInput("b", b))
	if got := res.Total().Denied; got != 17+3 {
		t.Errorf("denied = %d, want 20", got)
	}
	if res.Files[0].Format != FormatText || res.Files[1].Format != FormatSquid {
		t.Errorf("formats = %s, %s", res.Files[0].Format, res.Files[1].Format)
	}
}

func TestLongLineIsUnknownNotFatal(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("HTTPS request from 10.0.0.1:1 to a.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n")
	b.WriteString(strings.Repeat("x", 3*chunkSize))
	b.WriteString("\nHTTPS request from 10.0.0.1:2 to a.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n")
	res := analyze(t, Options{Format: FormatText}, bytesInput("long", b.Bytes()))
	if res.Files[0].Denied != 2 || res.Files[0].Unknown != 1 || res.Unknown[0].Line != 2 {
		t.Errorf("got %+v, unknown %+v", res.Files[0], res.Unknown)
	}
	if res.Destinations[0].Count != 2 {
		t.Errorf("count = %d", res.Destinations[0].Count)
	}
}

// TestChunkBoundaries checks that records are counted once whatever the
// chunk size cuts: many lines, several workers.
func TestChunkBoundaries(t *testing.T) {
	var b bytes.Buffer
	n := 0
	for b.Len() < 3*chunkSize+12345 {
		fmt.Fprintf(&b, "2026-11-24T00:00:%02dZ HTTPS request from 10.0.%d.%d:%d to host%d.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n",
			n%60, n%7, n%200, 1000+n%5000, n%13)
		n++
	}
	res := analyze(t, Options{Workers: 4}, bytesInput("big", b.Bytes()))
	if got := res.Files[0].Denied; got != int64(n) {
		t.Errorf("denied = %d, want %d", got, n)
	}
	var sum int64
	for _, d := range res.Destinations {
		sum += d.Count
	}
	if sum != int64(n) || len(res.Destinations) != 13 {
		t.Errorf("sum = %d over %d destinations, want %d over 13", sum, len(res.Destinations), n)
	}
}

// TestLineModeEnvelopes: envelopes one per line (JSON Lines of Event Hub
// bodies, REST API answers) read like their streamed forms.
func TestLineModeEnvelopes(t *testing.T) {
	in := `{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated"},{"name":"msg_s"}],"rows":[["2026-11-23T02:00:00Z","HTTPS request from 10.6.2.4:40011 to repo1.maven.org:443. Action: Deny. No rule matched. Proceeding with default action"],["2026-11-23T02:00:01Z","junk"]]}]}
{"records":[]}
{"records":[{"category":"AzureFirewallApplicationRule","properties":{"msg":"HTTPS request from 10.6.2.5:1 to repo1.maven.org:443. Action: Deny. No rule matched. Proceeding with default action"}},{"nothing":1}]}
`
	res := analyze(t, Options{}, bytesInput("lines.json", []byte(in)))
	want := []string{"deny repo1.maven.org:443 HTTPS n=2 src=10.6.2.4,10.6.2.5 no-rule-matched maven"}
	if diff := cmp.Diff(want, summarize(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if f := res.Files[0]; f.Unknown != 2 || f.Denied != 2 {
		t.Errorf("stats %+v", f)
	}
}

// TestEventsNeverAliasTheInput: a DNS proxy line once left the event's
// source pointing into the read buffer, so the next record's source was
// written over the lines that followed (found by the benchmark).
func TestEventsNeverAliasTheInput(t *testing.T) {
	// More chunks than buffers, so buffers are reused while a stale
	// alias would still point into them.
	var b bytes.Buffer
	n := 0
	for ; b.Len() < 12*chunkSize; n++ {
		fmt.Fprintf(&b, "DNS Request: 1.2.3.%d:5 - 1 A IN x.example. udp 1 false 512 NOERROR - 0 0.1s\n", n%10)
		fmt.Fprintf(&b, "HTTPS request from 10.200.%d.200:1 to a%d.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n", n%200, n%3)
	}
	res := analyze(t, Options{Workers: 2}, bytesInput("mixed", b.Bytes()))
	if f := res.Files[0]; f.Unknown != 0 || f.Denied != int64(n) || f.DNS != int64(n) || len(res.Destinations) != 3 {
		t.Errorf("stats %+v, %d destinations; unknown: %+v", f, len(res.Destinations), res.Unknown)
	}
}
