package clustertest

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestControlPlane starts the control plane and checks what the cluster
// tests rely on: a parseable /version (the build's ldflags), objects that
// are stored and read back, and RBAC that refuses a user nobody bound.
func TestControlPlane(t *testing.T) {
	cp := Start(t, Options{Tokens: map[string]string{"nobody-token": "nobody"}})

	out, err := cp.Kubectl(t, "", "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Server struct{ GitVersion, Major, Minor string } `json:"serverVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(v.Server.GitVersion, "v1.") || v.Server.Major != "1" || v.Server.Minor == "" {
		t.Errorf("server version %+v, want v1.x with major and minor set", v.Server)
	}

	node := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"kubernetes.azure.com/fips_enabled":"true"}}}`
	if _, err := cp.Kubectl(t, node, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	out, err = cp.Kubectl(t, "", "get", "node", "n1", "-o", "jsonpath={.metadata.labels.kubernetes\\.azure\\.com/fips_enabled}")
	if err != nil || string(out) != "true" {
		t.Errorf("node n1 label = %q, %v; want true", out, err)
	}

	kc := cp.WriteKubeconfig(t, "nobody", "nobody-token")
	cp2 := *cp
	cp2.Kubeconfig = kc
	if out, err := cp2.Kubectl(t, "", "get", "nodes"); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("unbound user listed nodes: %s, %v", out, err)
	}
}

// TestFailingChecks: a failed readiness wait names the checks still
// failing, not the hundred that pass.
func TestFailingChecks(t *testing.T) {
	body := "[+]ping ok\n[+]etcd ok\n[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\n[+]shutdown ok\nreadyz check failed\n"
	want := "[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\nreadyz check failed"
	if got := failingChecks(body); got != want {
		t.Errorf("failingChecks = %q, want %q", got, want)
	}
}
