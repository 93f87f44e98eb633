package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func egressFixture(name string) string {
	return filepath.Join("..", "egress", "testdata", name)
}

func TestEgressAnalyzeExitCodes(t *testing.T) {
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.log")
	os.WriteFile(clean, []byte("HTTPS request from 10.1.0.5:55640 to ok.example.com:443. Action: Allow. Rule Collection: c. Rule: r\n"), 0o644)
	alertOnly := filepath.Join(dir, "alert.log")
	os.WriteFile(alertOnly, []byte("HTTP request from 10.0.0.5:54074 to bad.example.com:80. Action: Alert. ThreatIntel: Bot Networks\n"), 0o644)
	empty := filepath.Join(dir, "empty.log")
	os.WriteFile(empty, nil, 0o644)
	vpcFlow := filepath.Join(dir, "vpc.log")
	os.WriteFile(vpcFlow, []byte("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK\n"), 0o644)
	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte("{\n \"records\": [\n  {\"properties\": {\"msg\": \"x\"}},\n  {oops\n"), 0o644)
	emptyArray := filepath.Join(dir, "none.json")
	os.WriteFile(emptyArray, []byte("[]\n"), 0o644)
	tiDeny := filepath.Join(dir, "ti.log")
	os.WriteFile(tiDeny, []byte("HTTP request from 10.0.0.5:54074 to bad.example.com:80. Action: Deny. ThreatIntel: Bot Networks\n"), 0o644)
	tests := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{"denies found", []string{"egress", "analyze", egressFixture("azfw.log")}, ExitFindings, ""},
		{"nothing denied", []string{"egress", "analyze", clean}, ExitOK, ""},
		{"only an alert", []string{"egress", "analyze", alertOnly}, ExitOK, ""},
		{"threat intel deny", []string{"egress", "analyze", tiDeny}, ExitFindings, ""},
		{"fail-on never", []string{"egress", "analyze", "--fail-on", "never", egressFixture("azfw.log")}, ExitOK, ""},
		// With --emit the rules are the product: written, they are success
		// (a set -e script goes on); an explicit --fail-on still gates.
		{"emit exits 0", []string{"egress", "analyze", "--emit", "terraform", egressFixture("azfw.log")}, ExitOK, ""},
		{"emit with fail-on", []string{"egress", "analyze", "--emit", "terraform", "--fail-on", "error", egressFixture("azfw.log")}, ExitFindings, ""},
		{"emit of an empty input", []string{"egress", "analyze", "--emit", "terraform", empty}, ExitError, "the input is empty"},
		{"source without emit", []string{"egress", "analyze", "--source", "10.0.0.0/24", clean}, ExitError, "--source shapes the rules --emit writes"},
		{"no-companions without emit", []string{"egress", "analyze", "--no-companions", clean}, ExitError, "kensa: hint: add --emit az"},
		{"emit in capitals", []string{"egress", "analyze", "--emit", "Terraform", "--input-format", "AZFW-TEXT", clean}, ExitOK, ""},
		{"help", []string{"egress", "analyze", "--help"}, ExitOK, ""},
		{"no logs", []string{"egress", "analyze"}, ExitError, "needs at least one log"},
		{"missing file", []string{"egress", "analyze", filepath.Join(dir, "nope.log")}, ExitError, "kensa: hint: check the path"},
		{"directory", []string{"egress", "analyze", dir}, ExitError, "is a directory"},
		{"bad input format", []string{"egress", "analyze", "--input-format", "xml", clean}, ExitError, "kensa: hint: use one of"},
		{"bad emit", []string{"egress", "analyze", "--emit", "pulumi", clean}, ExitError, "--emit az"},
		{"emit with json", []string{"egress", "analyze", "--emit", "az", "--format", "json", clean}, ExitError, "not a json report"},
		{"bad since", []string{"egress", "analyze", "--since", "yesterday", clean}, ExitError, "neither a duration nor a time"},
		{"since after until", []string{"egress", "analyze", "--since", "2026-11-24", "--until", "2026-11-01", clean}, ExitError, "swap them"},
		{"unquoted time", []string{"egress", "analyze", "--since", "2026-11-22", "08:00", clean}, ExitError, `kensa: hint: quote a time with a space: --since "2026-11-22 08:00"`},
		{"bad source", []string{"egress", "analyze", "--emit", "az", "--source", "10.0.0.0/99", clean}, ExitError, "not an IP address or CIDR"},
		{"IPv6 source", []string{"egress", "analyze", "--emit", "az", "--source", "2001:db8::/64", clean}, ExitError, "kensa: hint: name the IPv4 subnet"},
		{"IPv4-mapped source", []string{"egress", "analyze", "--emit", "az", "--source", "::ffff:10.0.0.1", clean}, ExitOK, ""},
		{"stdin twice", []string{"egress", "analyze", "-", "-"}, ExitError, "named twice"},
		// An input that could not be analysed never passes for a clean log,
		// whatever --fail-on says.
		{"empty input", []string{"egress", "analyze", empty}, ExitError, "the input is empty"},
		{"empty standard input", []string{"egress", "analyze", "--fail-on", "never", "-"}, ExitError, "command that produced it failed"},
		{"no line understood", []string{"egress", "analyze", "--fail-on", "never", vpcFlow}, ExitError, "of no format kensa reads"},
		{"broken JSON", []string{"egress", "analyze", "--fail-on", "error", broken}, ExitError, "could not be analysed"},
		{"one bad of two", []string{"egress", "analyze", clean, empty}, ExitError, "1 of 2 inputs could not be analysed"},
		{"empty query result", []string{"egress", "analyze", emptyArray}, ExitOK, ""},
		{"no time to filter on", []string{"egress", "analyze", "--since", "2h", egressFixture("azfw.log")}, ExitError, "carry no time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.want {
				t.Errorf("Main(%q) = %d, want %d (stderr %q)", tt.args, code, tt.want, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestEgressAnalyzeJSONFromStdin(t *testing.T) {
	data, err := os.ReadFile(egressFixture("structured.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"egress", "analyze", "--format", "json", "-"},
		Env{Stdin: bytes.NewReader(data), Stdout: &out, Stderr: &errOut})
	if code != ExitFindings {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	var rep struct {
		Command string `json:"command"`
		Results []struct {
			Host      string   `json:"host"`
			Port      *int     `json:"port"`
			Protocol  string   `json:"protocol"`
			Count     int      `json:"count"`
			Sources   []string `json:"sources"`
			FirstSeen *string  `json:"first_seen"`
			LastSeen  *string  `json:"last_seen"`
			Reason    string   `json:"reason"`
			Service   *struct {
				ID     string `json:"id"`
				Source string `json:"source"`
				AsOf   string `json:"as_of"`
			} `json:"service"`
		} `json:"results"`
		Findings []struct {
			ID string `json:"id"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if rep.Command != "egress analyze" || r.Host != "203.0.113.90" || *r.Port != 1194 || r.Protocol != "UDP" || r.Count != 1 ||
		r.Sources[0] != "10.50.3.4" || *r.FirstSeen != "2026-11-22T08:24:05Z" || r.Reason != "no-rule-matched" ||
		r.Service.ID != "aks" || r.Service.AsOf == "" || r.Service.Source == "" {
		t.Errorf("first result = %+v", r)
	}
	ids := map[string]int{}
	for _, f := range rep.Findings {
		ids[f.ID]++
	}
	for id, n := range map[string]int{"egress-denied": 3, "egress-name-unresolved": 1, "egress-denied-by-rule": 1,
		"egress-threat-intel": 1, "egress-threat-intel-alert": 1, "egress-idps": 1, "egress-sni-missing": 1} {
		if ids[id] != n {
			t.Errorf("findings %s = %d, want %d (all: %v)", id, ids[id], n, ids)
		}
	}
}

// TestEgressCitationsByReason: a finding cites what it enforces; a deny by
// the user's own rule or a name the firewall could not resolve is not the
// default action.
func TestEgressCitationsByReason(t *testing.T) {
	log := "HTTPS request from 10.0.0.1:1 to telemetry.example.org:443. Action: Deny. Policy: p. Rule Collection Group: g. Rule Collection: c. Rule: block\n" +
		"HTTPS request from 10.0.0.1:1 to agent.example.net:443. Action: Deny. Failed to resolve address agent.example.net:443: lookup agent.example.net on 10.0.0.10:53: no such host\n" +
		"HTTPS request from 10.0.0.1:1 to plain.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n"
	var out, errOut bytes.Buffer
	Main(context.Background(), []string{"egress", "analyze", "--format", "json", "-"},
		Env{Stdin: strings.NewReader(log), Stdout: &out, Stderr: &errOut})
	var rep struct {
		Findings []struct{ ID, Subject, Citation string } `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err, errOut.String())
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.ID] = f.Citation
	}
	for id, want := range map[string]string{"egress-denied": "default action", "egress-denied-by-rule": "deny rule",
		"egress-name-unresolved": "resolves the names"} {
		if !strings.Contains(got[id], want) {
			t.Errorf("%s cites %q, want it to mention %q", id, got[id], want)
		}
	}
}

// TestEgressTextKeepsTheDestinationWhole: the destination is what a person
// allows; a long App Service name must not lose its port to the column cap.
func TestEgressTextKeepsTheDestinationWhole(t *testing.T) {
	log := "HTTPS request from 10.0.2.254:50347 to contoso-functions-java11-westeurope-prod.scm.azurewebsites.net:443. Action: Deny. No rule matched. Proceeding with default action\n"
	var out bytes.Buffer
	Main(context.Background(), []string{"egress", "analyze", "-"}, Env{Stdin: strings.NewReader(log), Stdout: &out, Stderr: &out})
	if !strings.Contains(out.String(), "deny    contoso-functions-java11-westeurope-prod.scm.azurewebsites.net:443  HTTPS") {
		t.Errorf("the destination was cut:\n%s", out.String())
	}
	// Times in the table carry no zone of their own: the header names it,
	// as cert's text view names it after each time.
	if !strings.Contains(out.String(), "FIRST SEEN (UTC)") {
		t.Errorf("the table does not say its times are UTC:\n%s", out.String())
	}
}

// TestEgressSquidNoRequest: Squid's NONE/000 lines (a client that closed
// before its request, a TLS error first) are neither allowed nor denied:
// counted apart, never listed by --all as allowed traffic.
func TestEgressSquidNoRequest(t *testing.T) {
	log := filepath.Join(t.TempDir(), "access.log")
	os.WriteFile(log, []byte(strings.Join([]string{
		"1757106053.100      0 10.0.0.1 NONE_NONE/000 0 CONNECT 198.51.100.9:443 - HIER_NONE/- -",
		"1757106053.200      0 10.0.0.1 NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -",
		"1349087074.302      0 10.0.0.1 TAG_NONE/000 0 CONNECT aborted.example.com:443 - HIER_NONE/- -",
		"1249087074.302      0 10.0.0.1 NONE/000 0 GET http://old.example.com/ - NONE/- -",
		"1757106048.542      1 10.0.0.2 TCP_TUNNEL/200 3867 CONNECT ok.example.com:443 - HIER_DIRECT/203.0.113.4 -",
	}, "\n")+"\n"), 0o644)
	code, out, stderr := run(t, "egress", "analyze", "--all", "--format", "json", log)
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var rep struct {
		Results []struct{ Host, Action string }
		Summary struct {
			Files []struct {
				Allowed   int64 `json:"allowed"`
				NoRequest int64 `json:"no_request"`
			} `json:"files"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Host != "ok.example.com" {
		t.Errorf("results = %+v, want only ok.example.com", rep.Results)
	}
	if f := rep.Summary.Files[0]; f.Allowed != 1 || f.NoRequest != 4 {
		t.Errorf("allowed, no_request = %d, %d; want 1, 4", f.Allowed, f.NoRequest)
	}
	_, text, _ := run(t, "egress", "analyze", "--all", log)
	if !strings.Contains(text, "4 connections with no request") || !strings.Contains(text, "(0 denied, 1 allowed)") {
		t.Errorf("text summary does not count them apart:\n%s", text)
	}
}

// TestEgressWording runs every fixture (and inputs made to count one of
// everything) through the text report and the findings, and looks for
// singular/plural slips: "1 records", "1 DNS queries", "input(s)".
func TestEgressWording(t *testing.T) {
	dir := t.TempDir()
	one := filepath.Join(dir, "one.log")
	os.WriteFile(one, []byte(strings.Join([]string{
		"1757106048.542      1 10.0.0.2 TCP_DENIED/403 3867 CONNECT denied.example.com:443 - HIER_NONE/- text/html",
		"1757106053.100      0 10.0.0.1 NONE_NONE/000 0 CONNECT 198.51.100.9:443 - HIER_NONE/- -",
		"1757106049.614      1 10.0.0.1 TCP_DENIED/407 1702 CONNECT auth.example.com:443 - NONE/- text/html",
		"not squid",
	}, "\n")+"\n"), 0o644)
	sni := filepath.Join(dir, "sni.log")
	os.WriteFile(sni, []byte("2026-11-24T01:00:00Z HTTPS request from 10.0.0.7:1000 to 203.0.113.7:443. Action: Deny. Reason: SNI TLS extension was missing.\n"), 0o644)
	inputs := []string{one, sni}
	fixtures, _ := filepath.Glob(egressFixture("*"))
	for _, f := range fixtures {
		if st, err := os.Stat(f); err == nil && !st.IsDir() && !strings.HasSuffix(f, ".md") {
			inputs = append(inputs, f)
		}
	}
	slip := regexp.MustCompile(`\b1 ([a-z]+s|DNS queries|lines or records)\b|\(s\)|\b1 of 1 lines`)
	for _, in := range inputs {
		_, text, stderr := run(t, "egress", "analyze", "--all", "--at", "2026-11-25T00:00:00Z", in)
		_, js, _ := run(t, "egress", "analyze", "--all", "--format", "json", in)
		var rep struct{ Findings []struct{ Message string } }
		json.Unmarshal([]byte(js), &rep)
		all := text + stderr
		for _, f := range rep.Findings {
			all += f.Message + "\n"
		}
		for _, line := range strings.Split(all, "\n") {
			if m := slip.FindString(line); m != "" {
				t.Errorf("%s: %q in %q", filepath.Base(in), m, line)
			}
		}
	}
	// One connection, no time, and a time filter: the input could not be
	// analysed, said of one connection.
	untimed := filepath.Join(dir, "untimed.log")
	os.WriteFile(untimed, []byte("HTTPS request from 10.0.0.5:1000 to a.example.com:443. Action: Deny. Reason: No rule matched. Proceeding with default action\n"), 0o644)
	_, _, stderr := run(t, "egress", "analyze", "--since", "2h", untimed)
	if !strings.Contains(stderr, "its one connection has no time") {
		t.Errorf("stderr = %q, want it to speak of one connection", stderr)
	}
}

// TestEgressIPv6Finding: kensa writes no rule for an IPv6 destination, so
// its finding must not point at --emit.
func TestEgressIPv6Finding(t *testing.T) {
	log := filepath.Join(t.TempDir(), "fw.log")
	os.WriteFile(log, []byte("TCP request from 10.1.2.6:50412 to [2001:db8:1::9]:8443. Action: Deny. \n"), 0o644)
	_, out, _ := run(t, "egress", "analyze", "--format", "json", log)
	var rep struct {
		Findings []struct{ ID, Remediation string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) != 1 {
		t.Fatalf("report %v: %s", err, out)
	}
	if r := rep.Findings[0].Remediation; !strings.Contains(r, "writes no rule for an IPv6 destination") {
		t.Errorf("remediation = %q", r)
	}
}
