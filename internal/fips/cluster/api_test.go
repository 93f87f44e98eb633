package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
)

const mcCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: machineconfigs.machineconfiguration.openshift.io}
spec:
  group: machineconfiguration.openshift.io
  scope: Cluster
  names: {plural: machineconfigs, singular: machineconfig, kind: MachineConfig, listKind: MachineConfigList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

// TestListInputsAPIServer: a real kube-apiserver holding AKS-like and
// OpenShift-like nodes (labels, nodeInfo patched into status as a kubelet
// would), first without the MachineConfig CRD (fine: no MachineConfig
// intent), then with it, a rendered-worker MachineConfig and OpenShift's
// install-config. ListInputs must read them all, and EvaluateNodes with
// node reports (one node lying, one silent) must give the findings.
func TestListInputsAPIServer(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{Tokens: map[string]string{"nobody-token": "nobody"}})
	apply := func(doc string, args ...string) {
		t.Helper()
		if out, err := cp.Kubectl(t, doc, append([]string{"apply", "--server-side", "-f", "-"}, args...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	node := func(name, labels, osName, kernel string) {
		apply(fmt.Sprintf(`{"apiVersion":"v1","kind":"Node","metadata":{"name":%q,"labels":{%s}}}`, name, labels))
		status := fmt.Sprintf(`{"status":{"nodeInfo":{"operatingSystem":%q,"osImage":"test image","kernelVersion":%q,"containerRuntimeVersion":"containerd://2.1.0","architecture":"amd64","machineID":"m","systemUUID":"u","bootID":"b","kubeletVersion":"v1.37.2","kubeProxyVersion":""}}}`, osName, kernel)
		if out, err := cp.Kubectl(t, "", "patch", "node", name, "--subresource=status", "--type=merge", "-p", status); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	node("aks-fips-0", `"kubernetes.azure.com/agentpool":"fipspool","kubernetes.azure.com/fips_enabled":"true","kubernetes.io/os":"linux"`, "linux", "6.6.0-fips")
	node("aks-fips-1", `"kubernetes.azure.com/agentpool":"fipspool","kubernetes.azure.com/fips_enabled":"true","kubernetes.io/os":"linux"`, "linux", "6.6.0")
	node("aks-fips-2", `"kubernetes.azure.com/agentpool":"fipspool","kubernetes.azure.com/fips_enabled":"true","kubernetes.io/os":"linux"`, "linux", "6.6.0-fips")
	node("akswin0", `"kubernetes.azure.com/agentpool":"win","kubernetes.azure.com/fips_enabled":"true","kubernetes.io/os":"windows"`, "windows", "10.0.20348")
	node("ocp-worker-0", `"node-role.kubernetes.io/worker":"","kubernetes.io/os":"linux"`, "linux", "5.14.0-427.el9.x86_64")

	cfg, err := Config(cp.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := ListInputs(ctx, cfg, "")
	if err != nil {
		t.Fatalf("without the MachineConfig CRD: %v", err)
	}
	if len(in.Nodes) != 5 || len(in.MachineConfigs) != 0 || in.InstallConfigFIPS != nil {
		t.Fatalf("inputs %+v, want 5 nodes and nothing else", in)
	}

	apply(mcCRD)
	// The CRD's resource is served shortly after it is established.
	if out, err := cp.Kubectl(t, "", "wait", "--for=condition=Established", "crd/machineconfigs.machineconfiguration.openshift.io", "--timeout=60s"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	apply(`{"apiVersion":"machineconfiguration.openshift.io/v1","kind":"MachineConfig","metadata":{"name":"rendered-worker-5f3a"},"spec":{"fips":true}}`)
	apply(`{"apiVersion":"machineconfiguration.openshift.io/v1","kind":"MachineConfig","metadata":{"name":"99-worker-ssh"},"spec":{}}`)
	apply(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cluster-config-v1","namespace":"kube-system"},"data":{"install-config":"apiVersion: v1\nfips: true\nmetadata:\n  name: test\n"}}`)

	in, err = ListInputs(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.MachineConfigs) != 2 || in.InstallConfigFIPS == nil || !*in.InstallConfigFIPS {
		t.Fatalf("MachineConfigs %+v install-config %v", in.MachineConfigs, in.InstallConfigFIPS)
	}
	for _, n := range in.Nodes {
		if n.Name == "aks-fips-1" && (n.KernelVersion != "6.6.0" || n.ContainerRuntime != "containerd://2.1.0" || n.OS != "linux") {
			t.Errorf("nodeInfo not read: %+v", n)
		}
	}
	sel, err := ListInputs(ctx, cfg, "kubernetes.azure.com/fips_enabled=true,kubernetes.io/os=linux")
	if err != nil || len(sel.Nodes) != 3 {
		t.Errorf("--node-selector: %d nodes, %v; want the 3 Linux FIPS nodes", len(sel.Nodes), err)
	}

	in.Reports = map[string]NodeReport{
		"aks-fips-0":   {KernelFlag: "1"},
		"aks-fips-1":   {KernelFlag: "0"},
		"ocp-worker-0": {KernelFlag: "1"},
	}
	_, fs := EvaluateNodes(in)
	var got []string
	for _, f := range fs {
		got = append(got, f.ID+" "+f.Subject)
	}
	joined := strings.Join(got, "\n")
	for _, w := range []string{
		IDNodeDeclaredMismatch + " aks-fips-1",
		IDNodeNotReported + " aks-fips-2",
		IDNodeNotInspected + " akswin0",
		IDClusterMixed + " pool fipspool",
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("no finding %q in:\n%s", w, joined)
		}
	}
	if strings.Contains(joined, "ocp-worker-0") {
		t.Errorf("ocp-worker-0 agrees with its MachineConfig and install-config, yet:\n%s", joined)
	}

	// A user with no RBAC cannot list nodes: an error, never an empty cluster.
	nobody, err := Config(cp.WriteKubeconfig(t, "nobody", "nobody-token"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListInputs(ctx, nobody, ""); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("ListInputs as an unbound user: %v, want forbidden", err)
	}
}
