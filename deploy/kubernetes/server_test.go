package kubernetes

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
)

// overlay writes a kustomization of the user's own over this directory
// that sets the kensa image by digest, as the README tells users to.
func overlay(t *testing.T) string {
	t.Helper()
	base, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [" + rel + "]\n" +
		"images:\n- {name: kensa, newName: registry.test/kensa, digest: \"sha256:" + strings.Repeat("ab", 32) + "\"}\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestManifestsOnAPIServer applies deploy/kubernetes through kustomize
// with the built kubectl against a real kube-apiserver: first
// --dry-run=server (full schema validation and admission), then for real
// (server-side apply). It then reads the objects back: every kensa
// container has the image the overlay set (no unpublished reference left),
// the DaemonSet has the least-privilege shape the reference asks for, and
// the ClusterRole lets the service account kensa read what `kensa fips
// cluster` reads and nothing more.
func TestManifestsOnAPIServer(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{Tokens: map[string]string{
		"sa-token":   "system:serviceaccount:kensa:kensa",
		"host-token": "system:serviceaccount:kensa:kensa-fips-host",
	}})
	dir := overlay(t)

	// The namespace must exist for the namespaced objects' dry run.
	if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", "namespace.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := cp.Kubectl(t, "", "apply", "--dry-run=server", "-k", dir); err != nil {
		t.Fatalf("kubectl apply --dry-run=server -k: %v\n%s", err, out)
	}
	if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-k", dir); err != nil {
		t.Fatalf("kubectl apply --server-side -k: %v\n%s", err, out)
	}

	want := "registry.test/kensa@sha256:" + strings.Repeat("ab", 32)
	out, err := cp.Kubectl(t, "", "get", "-n", "kensa", "daemonset/kensa-fips-host", "job/kensa-fips-scan-images", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	type container struct {
		Name            string   `json:"name"`
		Image           string   `json:"image"`
		Args            []string `json:"args"`
		SecurityContext struct {
			Privileged               *bool `json:"privileged"`
			AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
			Capabilities             struct {
				Add  []string `json:"add"`
				Drop []string `json:"drop"`
			} `json:"capabilities"`
		} `json:"securityContext"`
		VolumeMounts []struct {
			Name      string `json:"name"`
			MountPath string `json:"mountPath"`
			ReadOnly  bool   `json:"readOnly"`
		} `json:"volumeMounts"`
	}
	var list struct {
		Items []struct {
			Kind string `json:"kind"`
			Spec struct {
				Template struct {
					Spec struct {
						HostPID                      bool              `json:"hostPID"`
						HostNetwork                  bool              `json:"hostNetwork"`
						AutomountServiceAccountToken *bool             `json:"automountServiceAccountToken"`
						NodeSelector                 map[string]string `json:"nodeSelector"`
						Tolerations                  []struct {
							Operator string `json:"operator"`
						} `json:"tolerations"`
						InitContainers []container `json:"initContainers"`
						Containers     []container `json:"containers"`
						Volumes        []struct {
							Name     string `json:"name"`
							HostPath *struct {
								Path string `json:"path"`
							} `json:"hostPath"`
						} `json:"volumes"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("got %d objects, want the DaemonSet and the Job", len(list.Items))
	}
	for _, it := range list.Items {
		ps := it.Spec.Template.Spec
		for _, c := range append(ps.InitContainers, ps.Containers...) {
			if c.Image != want {
				t.Errorf("%s container %s image %q, want %q", it.Kind, c.Name, c.Image, want)
			}
		}
		if it.Kind != "DaemonSet" {
			continue
		}
		// The token is mounted: it publishes the report (the RBAC below
		// shows it can do nothing else).
		if !ps.HostPID || ps.HostNetwork || ps.AutomountServiceAccountToken == nil || !*ps.AutomountServiceAccountToken {
			t.Errorf("DaemonSet: hostPID %v hostNetwork %v automount %v, want true/false/true", ps.HostPID, ps.HostNetwork, ps.AutomountServiceAccountToken)
		}
		if ps.NodeSelector["kubernetes.io/os"] != "linux" || len(ps.Tolerations) != 1 || ps.Tolerations[0].Operator != "Exists" {
			t.Errorf("DaemonSet placement: nodeSelector %v tolerations %v", ps.NodeSelector, ps.Tolerations)
		}
		if len(ps.InitContainers) != 0 || len(ps.Containers) != 1 {
			t.Fatalf("DaemonSet: %d init containers and %d containers, want the scan alone", len(ps.InitContainers), len(ps.Containers))
		}
		scan := ps.Containers[0]
		for _, a := range []string{"fips", "host", "--root=/host", "--proc=/host/proc", "--format=json", "--publish=configmap", "--node=$(NODE_NAME)", "--namespace=kensa"} {
			if !slices.Contains(scan.Args, a) {
				t.Errorf("scan args %q lack %q", scan.Args, a)
			}
		}
		sc := scan.SecurityContext
		if sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("scan securityContext %+v, want unprivileged, no escalation, read-only root", sc)
		}
		if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || !slices.Equal(sc.Capabilities.Add, []string{"SYS_PTRACE", "DAC_READ_SEARCH"}) {
			t.Errorf("scan capabilities %+v, want drop ALL, add SYS_PTRACE DAC_READ_SEARCH", sc.Capabilities)
		}
		hostVol := ""
		for _, v := range ps.Volumes {
			if v.HostPath != nil {
				hostVol = v.Name
			}
		}
		for _, m := range scan.VolumeMounts {
			if m.Name == hostVol && (m.MountPath != "/host" || !m.ReadOnly) {
				t.Errorf("host mount %+v, want /host read-only", m)
			}
		}
	}

	// The MachineConfig kind exists only on OpenShift; served here so
	// that the ClusterRole's rule for it can be checked.
	crd := `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"machineconfigs.machineconfiguration.openshift.io"},
"spec":{"group":"machineconfiguration.openshift.io","scope":"Cluster","names":{"plural":"machineconfigs","kind":"MachineConfig"},
"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}`
	if out, err := cp.Kubectl(t, crd, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := cp.Kubectl(t, "", "wait", "--for=condition=Established", "crd/machineconfigs.machineconfiguration.openshift.io", "--timeout=60s"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	// RBAC as the service account kensa (a token-file user with its name:
	// RBAC matches service-account subjects by that name).
	sa := *cp
	sa.Kubeconfig = cp.WriteKubeconfig(t, "sa", "sa-token")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list", "nodes"}, "yes"},
		{[]string{"list", "pods", "--all-namespaces"}, "yes"},
		{[]string{"list", "configmaps", "-n", "kensa"}, "yes"},
		{[]string{"get", "configmap/kensa-fips-host-node-a", "-n", "kensa"}, "yes"},
		{[]string{"list", "configmaps", "-n", "default"}, "no"},
		{[]string{"create", "configmaps", "-n", "kensa"}, "no"},
		{[]string{"get", "pods", "--subresource=log", "-n", "kensa"}, "no"},
		{[]string{"list", "replicasets.apps", "--all-namespaces"}, "yes"},
		{[]string{"list", "machineconfigs.machineconfiguration.openshift.io"}, "yes"},
		{[]string{"get", "configmap/cluster-config-v1", "-n", "kube-system"}, "yes"},
		{[]string{"get", "configmap/other", "-n", "kube-system"}, "no"},
		{[]string{"get", "secrets", "-n", "kensa"}, "no"},
		{[]string{"create", "pods", "-n", "kensa"}, "no"},
		{[]string{"patch", "nodes"}, "no"},
		{[]string{"delete", "daemonsets.apps", "-n", "kensa"}, "no"},
	} {
		out, _ := sa.Kubectl(t, "", append([]string{"auth", "can-i"}, c.args...)...)
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("service account kensa: can-i %s = %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}

	// The node scan's service account publishes its report and reads its
	// node by name (the report's owner), and can do nothing else: no
	// other reads, no lists, no other namespace.
	host := *cp
	host.Kubeconfig = cp.WriteKubeconfig(t, "host", "host-token")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "configmaps", "-n", "kensa"}, "yes"},
		{[]string{"update", "configmap/kensa-fips-host-node-a", "-n", "kensa"}, "yes"},
		{[]string{"get", "configmap/kensa-fips-host-node-a", "-n", "kensa"}, "no"},
		{[]string{"list", "configmaps", "-n", "kensa"}, "no"},
		{[]string{"delete", "configmaps", "-n", "kensa"}, "no"},
		{[]string{"create", "configmaps", "-n", "default"}, "no"},
		{[]string{"create", "configmaps", "-n", "kube-system"}, "no"},
		{[]string{"list", "nodes"}, "no"},
		{[]string{"get", "node/node-a"}, "yes"},
		{[]string{"patch", "node/node-a"}, "no"},
		{[]string{"list", "pods", "-n", "kensa"}, "no"},
		{[]string{"get", "secrets", "-n", "kensa"}, "no"},
	} {
		out, _ := host.Kubectl(t, "", append([]string{"auth", "can-i"}, c.args...)...)
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("service account kensa-fips-host: can-i %s = %q, want %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

// TestServerRejectsBadManifest shows the server-side dry run is not a
// rubber stamp: a DaemonSet whose selector does not match its template is
// refused by the API server's validation.
func TestServerRejectsBadManifest(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{})
	bad := `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: bad, namespace: default}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: c}}
    spec: {containers: [{name: x, image: kensa}]}
`
	if out, err := cp.Kubectl(t, bad, "apply", "--dry-run=server", "-f", "-"); err == nil {
		t.Errorf("the API server accepted a DaemonSet whose selector does not match:\n%s", out)
	}
}
