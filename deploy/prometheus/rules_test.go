// Package prometheus holds kensa cert watch's alert rules, as a Prometheus
// rules file and as a PrometheusRule; its test runs the real promtool on
// them.
package prometheus

import (
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/kensa-project/kensa/internal/testenv"
)

// TestPromtool checks the rules file and runs its unit tests
// (rules_test.yaml) with promtool from Debian's prometheus package.
func TestPromtool(t *testing.T) {
	promtool := testenv.NeedCommand(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "kensa-cert-watch.rules.yml"},
		{"test", "rules", "rules_test.yaml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %v: %v\n%s", args, err, out)
		}
	}
}

// TestPrometheusRuleMatches: the PrometheusRule holds exactly the groups
// of the rules file.
func TestPrometheusRuleMatches(t *testing.T) {
	read := func(name string) map[string]any {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return v
	}
	rules := read("kensa-cert-watch.rules.yml")
	pr := read("prometheusrule.yaml")
	if pr["kind"] != "PrometheusRule" || pr["apiVersion"] != "monitoring.coreos.com/v1" {
		t.Fatalf("prometheusrule.yaml is %v %v", pr["apiVersion"], pr["kind"])
	}
	spec, _ := pr["spec"].(map[string]any)
	if d := cmp.Diff(rules["groups"], spec["groups"]); d != "" {
		t.Errorf("prometheusrule.yaml's groups differ from kensa-cert-watch.rules.yml (-rules +PrometheusRule):\n%s", d)
	}
}
