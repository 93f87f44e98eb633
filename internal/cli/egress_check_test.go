package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/egress/reach"
)

// TestEgressCheck runs egress check in-process against loopback servers
// (a DNS server, an HTTPS origin, a firewall resetting after the
// ClientHello) in every format, with destinations from --dest and from a
// firewall log, and checks the report against the catalog (run does).
func TestEgressCheck(t *testing.T) {
	r, ok, reset := reachNet(t) // schemas_test.go
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, r.ca, 0o644)
	log := filepath.Join(dir, "fw.log")
	os.WriteFile(log, []byte("HTTPS request from 10.0.2.4:50347 to reset.test:"+reset+". Action: Deny. No rule matched. Proceeding with default action\n"), 0o644)

	base := []string{"egress", "check", "--resolver", r.addr, "--ca", ca}
	code, stdout, stderr := run(t, append(base, "--format", "json", "--dest", "https://ok.test:"+ok, "--from-log", log)...)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	var rep struct {
		Results []reach.Result
		Summary reach.Summary
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Status != "reachable" || rep.Results[1].Class != reach.ClassTLSResetAfterHello ||
		rep.Results[1].Origin != "log "+log {
		t.Errorf("results %+v", rep.Results)
	}
	if rep.Summary.Blocked != 1 || rep.Summary.Errors != 1 || rep.Summary.TCPOnlyWouldPass != 1 {
		t.Errorf("summary %+v", rep.Summary)
	}

	code, stdout, _ = run(t, append(base, "--format", "sarif", "--dest", "https://reset.test:"+reset)...)
	if code != ExitFindings || !strings.Contains(stdout, `"ruleId": "tls-reset-after-hello"`) {
		t.Errorf("sarif: exit %d\n%.400s", code, stdout)
	}
	code, stdout, _ = run(t, append(base, "--timeout", "dns=3s,tcp=4s", "--dest", "https://ok.test:"+ok)...)
	if code != ExitOK || !strings.Contains(stdout, "1 destination from") || !strings.Contains(stdout, "1 reachable, 0 blocked") {
		t.Errorf("text: exit %d\n%s", code, stdout)
	}
	// Bad flags: exit 2 before any probe, nothing on stdout.
	for _, args := range [][]string{
		{"--dest", "x.test", "--parallel", "0"},
		{"--dest", "x.test", "--timeout", "dns=2s,smtp=1s"},
		{"--dest", "x.test", "--timeout", "tcp=0s"},
		{"--dest", "x.test", "--policy", filepath.Join(dir, "none.json")},
		{"--dest", "x.test", "--policy", log},
		{"--from-log", dir},
		{"--dest", "x.test", "-o", filepath.Join(dir, "no", "such", "dir.json")},
		{"stray"},
	} {
		code, stdout, stderr := run(t, append([]string{"egress", "check"}, args...)...)
		if code != ExitError || stdout != "" || !strings.Contains(stderr, "kensa: error:") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, an error", args, code, stdout, stderr)
		}
	}
}

func TestParseTimeouts(t *testing.T) {
	got, err := parseTimeouts("dns=2s, tls=7s")
	if err != nil || got.DNS.String() != "2s" || got.TLS.String() != "7s" || got.TCP != reach.DefaultTimeouts.TCP || got.HTTP != reach.DefaultTimeouts.HTTP {
		t.Errorf("parseTimeouts(dns=2s, tls=7s) = %+v, %v", got, err)
	}
	got, err = parseTimeouts("1500ms")
	if err != nil || got.DNS.String() != "1.5s" || got.HTTP.String() != "1.5s" {
		t.Errorf("parseTimeouts(1500ms) = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "0", "-1s", "11m", "dns", "dns=", "udp=1s", "dns=1s,,"} {
		if _, err := parseTimeouts(bad); err == nil {
			t.Errorf("parseTimeouts(%q) accepted", bad)
		}
	}
}
