package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestWhatifJSON runs whatif and explain in-process on the policy
// package's fixtures: every finding id is in its catalog (run checks it),
// every result has a verdict, and the exit code follows the worst one.
func TestWhatifJSON(t *testing.T) {
	td := filepath.Join("..", "egress", "policy", "testdata")
	code, out, errOut := run(t, "egress", "whatif", "--format", "json",
		"--policy", filepath.Join(td, "arm-policies.json"), "--policy", filepath.Join(td, "arm-rcg-hub.json"), "--policy", filepath.Join(td, "arm-rcg-app.json"),
		"--profile", "appservice-linux-python", "--app", "orders-api", "--dest", "api.contoso.example", "--dest", "paste.example.org",
		"--dest", "tcp://stordersapi.file.core.windows.net:445", "--source", "10.0.3.0/24")
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rep struct {
		Results []struct {
			Destination, Action, Decision string
			Rule                          *struct{ Policy, Rule string }
		}
		Summary  struct{ Allow, Deny, Unknown int }
		Findings []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Results {
		got[r.Destination] = r.Action + " " + r.Decision
	}
	for dest, want := range map[string]string{
		"orders-api.scm.azurewebsites.net:443":  "deny default-deny",
		"pypi.org:443":                          "deny default-deny",
		"api.contoso.example:443":               "allow rule",
		"paste.example.org:443":                 "deny rule",
		"stordersapi.file.core.windows.net:445": "unknown may-match",
	} {
		if got[dest] != want {
			t.Errorf("%s: %q, want %q", dest, got[dest], want)
		}
	}
	if rep.Summary.Allow != 1 || rep.Summary.Unknown != 1 || rep.Summary.Deny != 5 {
		t.Errorf("summary %+v", rep.Summary)
	}
	// explain, on the explain package's fixtures.
	etd := filepath.Join("..", "egress", "explain", "testdata")
	code, out, _ = run(t, "egress", "explain", "--format", "json", "--app", "orders-api",
		"--policy", filepath.Join(td, "az-rcg-list.json"), "--source", "10.0.2.0/24", filepath.Join(etd, "func-publish.txt"))
	if code != 1 || !strings.Contains(out, `"egress-explain-denied"`) {
		t.Errorf("explain: exit %d\n%s", code, out)
	}
	code, _, errOut = run(t, "egress", "explain", filepath.Join(etd, "unrecognised.log"))
	if code != 2 || !strings.Contains(errOut, "no failure kensa recognises") {
		t.Errorf("unrecognised: exit %d, %q", code, errOut)
	}
}
