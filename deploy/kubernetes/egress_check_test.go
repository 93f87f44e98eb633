package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/cli"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestEgressCheckJob checks egress-check.yaml with kubectl apply
// --dry-run=client against the discovery-only server (as TestJobManifest
// does), then that the Job is not retried, runs unprivileged, and that
// its arguments are ones kensa itself accepts: the container's args are
// run through kensa's own command line with --list-profiles added (which
// parses and checks every flag, then only lists), and the profile named
// must be one of kensa's.
func TestEgressCheckJob(t *testing.T) {
	testenv.NeedCommand(t, "kubectl")
	s := discovery(t)
	out, err := kubectl(t, s.URL, "apply", "--dry-run=client", "--validate=false", "-o", "json", "-f", "egress-check.yaml")
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=client: %v\n%s", err, out)
	}
	var job struct {
		Kind string `json:"kind"`
		Spec struct {
			BackoffLimit *int `json:"backoffLimit"`
			Template     struct {
				Spec struct {
					RestartPolicy                string `json:"restartPolicy"`
					AutomountServiceAccountToken *bool  `json:"automountServiceAccountToken"`
					SecurityContext              struct {
						RunAsNonRoot *bool `json:"runAsNonRoot"`
					} `json:"securityContext"`
					Containers []struct {
						Args            []string `json:"args"`
						SecurityContext struct {
							ReadOnlyRootFilesystem *bool `json:"readOnlyRootFilesystem"`
						} `json:"securityContext"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(out, &job); err != nil {
		t.Fatalf("kubectl output: %v\n%s", err, out)
	}
	ps := job.Spec.Template.Spec
	if job.Kind != "Job" || len(ps.Containers) != 1 {
		t.Fatalf("kind %q with %d containers, want one Job container", job.Kind, len(ps.Containers))
	}
	if ps.RestartPolicy != "Never" || job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
		t.Errorf("retries: restartPolicy %q backoffLimit %v, want Never and 0 (a blocked destination must fail once, visibly)", ps.RestartPolicy, job.Spec.BackoffLimit)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("the probe needs no API token and no root: automount %v runAsNonRoot %v", ps.AutomountServiceAccountToken, ps.SecurityContext.RunAsNonRoot)
	}
	args := ps.Containers[0].Args
	if len(args) < 3 || args[0] != "egress" || args[1] != "check" || !hasPrefix(args, "--format=json") || !hasPrefix(args, "--profile=") {
		t.Fatalf("args %q: want egress check --profile=… --format=json", args)
	}
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), append(append([]string{}, args...), "--list-profiles"), cli.Env{Stdout: &stdout, Stderr: &stderr})
	if code != 0 {
		t.Fatalf("kensa refuses the Job's args %q: exit %d\n%s", args, code, stderr.String())
	}
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "--profile="); ok && !strings.Contains(stdout.String(), p+" ") {
			t.Errorf("profile %q is not one of kensa's:\n%s", p, stdout.String())
		}
	}
}

func hasPrefix(args []string, p string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, p) {
			return true
		}
	}
	return false
}
