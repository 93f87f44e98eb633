package kubernetes

import (
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
)

// TestPullSecretRBAC: the shipped ClusterRole lets the service account
// kensa read what the workload half reads (pods, ReplicaSets, Jobs) but
// no secret; the optional pull-secrets-rbac.yaml (not in the
// kustomization) adds get on secrets, and nothing else: no list, no
// watch, no write.
func TestPullSecretRBAC(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{Tokens: map[string]string{
		"sa-token": "system:serviceaccount:kensa:kensa",
	}})
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", f); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	sa := *cp
	sa.Kubeconfig = cp.WriteKubeconfig(t, "sa", "sa-token")
	canI := func(want string, args ...string) {
		t.Helper()
		out, _ := sa.Kubectl(t, "", append([]string{"auth", "can-i"}, args...)...)
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("service account kensa: can-i %s = %q, want %q", strings.Join(args, " "), got, want)
		}
	}
	canI("yes", "list", "pods", "--all-namespaces")
	canI("yes", "get", "replicasets.apps", "-n", "payments")
	canI("yes", "get", "jobs.batch", "-n", "payments")
	canI("no", "get", "secrets", "-n", "payments")

	if out, err := cp.Kubectl(t, "", "apply", "--dry-run=server", "-f", "pull-secrets-rbac.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", "pull-secrets-rbac.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	canI("yes", "get", "secrets", "-n", "payments")
	canI("no", "list", "secrets", "-n", "payments")
	canI("no", "watch", "secrets", "--all-namespaces")
	canI("no", "create", "secrets", "-n", "payments")
}
