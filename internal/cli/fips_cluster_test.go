package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
	"github.com/kensa-project/kensa/internal/report"
)

// TestGoldenFipsClusterText: the fips cluster text view of a small
// cluster decided by the domain (an AKS FIPS pool with a lying node, a
// node without a report, a stale report, a Windows node; workloads over
// a compliant and a noncompliant image, one unidentifiable), on a wide
// and an 80-column terminal.
func TestGoldenFipsClusterText(t *testing.T) {
	now := time.Date(2026, 9, 21, 12, 0, 0, 0, time.UTC)
	aks := func(name, pool, fips string) cluster.Node {
		l := map[string]string{cluster.LabelAKSPool: pool, cluster.LabelOS: "linux"}
		if fips != "" {
			l[cluster.LabelAKSFIPS] = fips
		}
		return cluster.Node{Name: name, OS: "linux", OSImage: "Ubuntu 22.04.5 LTS", Labels: l, BootID: "b-" + name}
	}
	in := cluster.Inputs{
		Nodes: []cluster.Node{
			aks("aks-fipspool-12345678-vmss000000", "fipspool", "true"),
			aks("aks-fipspool-12345678-vmss000001", "fipspool", "true"),
			aks("aks-fipspool-12345678-vmss000002", "fipspool", "true"),
			aks("aks-fipspool-12345678-vmss000003", "fipspool", "true"),
			aks("aks-stdpool-87654321-vmss000000", "stdpool", ""),
			{Name: "akswin000000", OS: "windows", OSImage: "Windows Server 2022 Datacenter",
				Labels: map[string]string{cluster.LabelAKSPool: "win", cluster.LabelAKSFIPS: "true", cluster.LabelOS: "windows"}},
		},
		Reports: map[string]cluster.NodeReport{
			"aks-fipspool-12345678-vmss000000": {KernelFlag: "1", Processes: 41, Noncompliant: 2, BootID: "b-aks-fipspool-12345678-vmss000000", GeneratedAt: now.Add(-time.Hour), Origin: "configmap kensa/kensa-fips-host-aks-fipspool-12345678-vmss000000"},
			"aks-fipspool-12345678-vmss000001": {KernelFlag: "0", Processes: 38, GeneratedAt: now.Add(-time.Hour), Origin: "configmap kensa/kensa-fips-host-aks-fipspool-12345678-vmss000001"},
			"aks-fipspool-12345678-vmss000003": {KernelFlag: "1", Processes: 40, BootID: "b-earlier", GeneratedAt: now.Add(-30 * time.Hour), Origin: "configmap kensa/kensa-fips-host-aks-fipspool-12345678-vmss000003"},
			"aks-stdpool-87654321-vmss000000":  {KernelFlag: "0", Processes: 35, GeneratedAt: now.Add(-time.Hour), Origin: "configmap kensa/kensa-fips-host-aks-stdpool-87654321-vmss000000"},
		},
		AKSPools: map[string]bool{"fipspool": true, "stdpool": false, "win": true},
		Now:      now, MaxAge: 24 * time.Hour,
	}
	nodes, fs := cluster.EvaluateNodes(in)
	const api = "registry.example/team/api@sha256:3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a"
	const ledger = "registry.example/team/ledger@sha256:9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
	pod := func(ns, name, node string, owner cluster.Owner, c cluster.Container) cluster.Pod {
		return cluster.Pod{Namespace: ns, Name: name, UID: "uid-" + name, Node: node, Platform: "linux/amd64", Owner: owner, Containers: []cluster.Container{c}}
	}
	digest := func(ref string) string { _, d, _ := strings.Cut(ref, "@"); return d }
	pods := []cluster.Pod{
		pod("payments", "api-0", "aks-fipspool-12345678-vmss000000", cluster.Owner{Kind: "StatefulSet", Name: "api"},
			cluster.Container{Name: "api", Image: "registry.example/team/api:1", Ref: api, Digest: digest(api)}),
		pod("payments", "ledger-7d9f8-x2k4q", "aks-fipspool-12345678-vmss000000", cluster.Owner{Kind: "Deployment", Name: "ledger"},
			cluster.Container{Name: "ledger", Image: "registry.example/team/ledger:1", Ref: ledger, Digest: digest(ledger)}),
		pod("tools", "debug", "aks-fipspool-12345678-vmss000000", cluster.Owner{Kind: "Pod", Name: "debug"},
			cluster.Container{Name: "shell", Image: "debug-tools:local", ImageID: "sha256:4e5f", Unidentified: "the runtime reports only a local image id"}),
	}
	images := []cluster.ImageResult{
		{Kind: "image", Ref: api, Digest: digest(api), Platform: "linux/amd64", Verdict: fips.Compliant, Crypto: []string{"go-fips140"}, Files: 2},
		{Kind: "image", Ref: ledger, Digest: digest(ledger), Platform: "linux/amd64", Verdict: fips.Noncompliant, Crypto: []string{"go-std"}, Files: 2,
			Worst: []cluster.WorstFile{{Path: "/app", Verdict: fips.Noncompliant, Reason: "Go standard library crypto: not a validated module (built without GOFIPS140)"}}},
	}
	ws, wfs := cluster.EvaluateWorkloads(cluster.WorkloadInputs{Pods: pods, Images: images, Nodes: nodes})
	fs = append(fs, wfs...)
	report.SortFindings(fs)
	sum := cluster.Summarize(nodes, fs)
	sum.DaemonSet = string(cluster.DaemonSetPresent)
	w := cluster.SummarizeWorkloads(ws, images)
	sum.Workloads = &w
	for _, tt := range []struct {
		name  string
		width int
	}{{"fips-cluster.txt", 0}, {"fips-cluster-80.txt", 80}} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tw := &textWriter{w: &b, width: tt.width}
			if writeFipsClusterText(tw, "context prod (https://prod.example:443)", nodes, ws, images, fs, sum); tw.err != nil {
				t.Fatal(tw.err)
			}
			if tt.width > 0 {
				for i, l := range strings.Split(b.String(), "\n") {
					// A single word longer than the terminal (an image
					// reference) cannot be wrapped.
					if n := len([]rune(l)); n > tt.width && strings.Contains(strings.TrimSpace(l), " ") {
						t.Errorf("line %d is %d wide, terminal %d: %q", i+1, n, tt.width, l)
					}
				}
			}
			golden(t, tt.name, b.String())
		})
	}
}

// TestFipsClusterUsage: flags are checked before the API server is
// contacted; every bad one is exit 2 with a hint.
func TestFipsClusterUsage(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"extra"}, "takes no arguments"},
		{[]string{"--max-age", "soon"}, "--max-age"},
		{[]string{"--no-published"}, "--no-published leaves no node report"},
		{[]string{"--no-workloads", "--namespace", "x"}, "--namespace does nothing with --no-workloads"},
		{[]string{"--platform", "linux/arm64"}, "--platform is not a flag of fips cluster"},
		{[]string{"--jobs", "99"}, "--jobs 99 is out of range"},
		{[]string{"--aks", filepath.Join(dir, "nosuch.json")}, "--aks"},
		{[]string{"--node-reports", filepath.Join(dir, "nosuch")}, "--node-reports"},
		{[]string{"--kubeconfig", kc}, "kubeconfig"},
		{[]string{"--format", "cyclonedx"}, "--format cyclonedx"},
	} {
		code, stdout, stderr := run(t, append([]string{"fips", "cluster"}, tc.args...)...)
		if code != ExitError || stdout != "" || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "kensa: hint: ") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 naming %q with a hint", tc.args, code, stdout, stderr, tc.want)
		}
	}
	// fips host: the publishing flags need --publish, and --publish
	// needs --node.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--node", "n1"}, "--node does nothing without --publish"},
		{[]string{"--every", "6h"}, "--every does nothing without --publish"},
		{[]string{"--publish", "configmap"}, "needs --node"},
		{[]string{"--publish", "s3", "--node", "n1"}, "not a place kensa publishes to"},
		{[]string{"--publish", "configmap", "--node", "n1", "--every", "1s"}, "too short"},
	} {
		code, _, stderr := run(t, append([]string{"fips", "host", "--root", dir, "--proc", dir}, tc.args...)...)
		if code != ExitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("fips host %v: exit %d, stderr %q; want exit 2 naming %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestFipsHostPublishEvery: the DaemonSet's mode. kensa fips host
// --publish configmap --every scans, publishes into the node's ConfigMap
// on a real API server, waits, and exits 0 when stopped (SIGTERM cancels
// the context); the ConfigMap reads back as the node's report.
func TestFipsHostPublishEvery(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{})
	if out, err := cp.Kubectl(t, "", "create", "namespace", "kensa"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	root := t.TempDir()
	if err := hosttrees.Write(root, "rhel9-fips"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() {
		done <- Main(ctx, []string{"fips", "host", "--root", root, "--publish", "configmap", "--node", "node-1",
			"--every", "1m", "--kubeconfig", cp.Kubeconfig, "--format", "json"}, Env{Stdout: &out, Stderr: &errOut})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(errOut.String(), "published the report of node node-1") {
		if time.Now().After(deadline) {
			t.Fatalf("not published within a minute; stderr %q", errOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("stopped --every run exited %d, want 0; stderr %q", code, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("--every did not stop when its context was canceled")
	}
	b, err := cp.Kubectl(t, "", "get", "configmap", "-n", "kensa", "kensa-fips-host-node-1", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var cm cluster.ConfigMap
	if err := json.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	c := cluster.ParseReportConfigMap(&cm)
	if c.Err != "" || c.Node != "node-1" || c.KernelFlag != "1" || c.Processes != 1 {
		t.Errorf("published report reads back as %+v", c)
	}
	// node-1 is no node of this API server: published all the same,
	// without an owner, and said.
	if len(cm.OwnerReferences) != 0 || !strings.Contains(errOut.String(), "kensa: warning: the report is published without its node as owner") ||
		!strings.Contains(errOut.String(), `nodes "node-1" not found`) {
		t.Errorf("owners %+v; stderr %q; want none, and a warning naming the missing node", cm.OwnerReferences, errOut.String())
	}
	if !strings.Contains(out.String(), `"command": "fips host"`) {
		t.Errorf("the round's report was not printed: %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFipsClusterGoneNode: a published report of a node that no longer
// exists is said (node-report-orphaned, info: exit 0) and not counted;
// the report of the node that exists is.
func TestFipsClusterGoneNode(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{})
	if out, err := cp.Kubectl(t, "", "create", "namespace", "kensa"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := cp.Kubectl(t, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1","labels":{"kubernetes.io/os":"linux"}}}`, "apply", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	root := t.TempDir()
	if err := hosttrees.Write(root, "rhel9-fips"); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"node-1", "node-gone"} {
		code, _, stderr := run(t, "fips", "host", "--root", root, "--publish", "configmap", "--node", node, "--kubeconfig", cp.Kubeconfig, "--format", "json")
		owned := !strings.Contains(stderr, "published without its node as owner")
		if code != ExitOK || owned != (node == "node-1") {
			t.Fatalf("publish %s: exit %d, stderr %q", node, code, stderr)
		}
	}
	code, stdout, stderr := run(t, "fips", "cluster", "--kubeconfig", cp.Kubeconfig, "--no-workloads", "--format", "json")
	if code != ExitOK {
		t.Fatalf("fips cluster: exit %d, stderr %q", code, stderr)
	}
	var rep struct {
		Findings []report.Finding `json:"findings"`
		Summary  cluster.Summary  `json:"summary"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	var orphaned []string
	for _, f := range rep.Findings {
		if f.ID == cluster.IDNodeReportOrphaned {
			orphaned = append(orphaned, f.Subject+": "+f.Message)
		}
	}
	if len(orphaned) != 1 || !strings.Contains(orphaned[0], "configmap kensa/kensa-fips-host-node-gone") || rep.Summary.Reports != 1 {
		t.Errorf("orphaned %q, reports %d; want node-gone's said and node-1's alone counted", orphaned, rep.Summary.Reports)
	}
}
