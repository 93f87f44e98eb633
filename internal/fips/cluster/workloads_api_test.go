package cluster

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/image/imagetest"
	"github.com/kensa-project/kensa/internal/testenv"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// registries serves one in-process registry's storage twice on
// loopback: open (tests push there) and behind basic auth (alice:s3cret),
// as a private registry.
func registries(t *testing.T) (open, private string) {
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	o := httptest.NewServer(h)
	t.Cleanup(o.Close)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, pw, ok := r.BasicAuth(); !ok || u != "alice" || pw != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return strings.TrimPrefix(o.URL, "http://"), strings.TrimPrefix(p.URL, "http://")
}

func digestOf(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// TestWorkloadsAPIServer is the workload half against a real
// kube-apiserver: nodes with AKS-like labels and architectures, 30 pods
// (28 running) of Deployments (through ReplicaSets), a StatefulSet, a
// DaemonSet, a CronJob (through a Job), a bare Job and bare pods, their
// status patched as a kubelet would; real images built from the fips
// test fixtures over one shared base layer, in go-containerregistry's
// registry, one of them a two-platform index and one in a registry that
// needs the credentials of a pull secret. ListPods runs as the service
// account kensa bound by deploy/kubernetes/rbac.yaml, ScanImages with
// the real scanner, and a node report with a process running FIPS off.
func TestWorkloadsAPIServer(t *testing.T) {
	fx, err := fipstest.Build()
	if err != nil {
		testenv.Missing(t, "building the fips fixtures: "+err.Error())
	}
	cp := clustertest.Start(t, clustertest.Options{Tokens: map[string]string{"sa-token": "system:serviceaccount:kensa:kensa"}})
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", filepath.Join("..", "..", "..", "deploy", "kubernetes", f)); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// The test's own writes go through client-go's typed clientset.
	cs := kubernetes.NewForConfigOrDie(&rest.Config{Host: cp.URL, BearerToken: cp.AdminToken, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}})
	ctx := context.Background()

	// Images: one base layer shared by every image.
	open, private := registries(t)
	base := imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=test\n")), imagetest.HostFile("bin/tool", fx.Path(t, "go_nocrypto")))
	app := func(platform, fixture string, extra ...imagetest.Entry) v1.Image {
		return imagetest.Image(t, platform, []string{"PATH=/bin"}, base,
			imagetest.Layer(t, append([]imagetest.Entry{imagetest.HostFile("app", fx.Path(t, fixture))}, extra...)...))
	}
	fipsImg := app("linux/amd64", "go_fips_v100")
	stdImg := app("linux/amd64", "go_std")
	webImg := app("linux/amd64", "go_fips_v100", imagetest.File("etc/web.conf", []byte("port=8080\n")))
	armStd := app("linux/arm64", "go_std")
	agentIdx := imagetest.Index(t, fipsImg, armStd)
	imagetest.Push(t, open+"/team/api:1", fipsImg)
	imagetest.Push(t, open+"/team/ledger:1", stdImg)
	imagetest.Push(t, open+"/team/web:1", webImg)
	imagetest.Push(t, open+"/team/agent:1", agentIdx)
	vaultImg := app("linux/amd64", "go_fips_v100", imagetest.File("etc/vault.hcl", []byte("ui = false\n")))
	imagetest.Push(t, open+"/private/vault:1", vaultImg) // the same storage serves the private address
	dFIPS, dStd, dWeb, dAgent, dVault := digestOf(t, fipsImg), digestOf(t, stdImg), digestOf(t, webImg), digestOf(t, agentIdx), digestOf(t, vaultImg)
	ghost := "sha256:" + strings.Repeat("0", 64)

	// Nodes.
	type nodeSpec struct {
		name, arch string
		fips       bool
	}
	nodeSpecs := []nodeSpec{{"fips-0", "amd64", true}, {"fips-1", "amd64", true}, {"plain-0", "amd64", false}, {"arm-0", "arm64", false}}
	for _, n := range nodeSpecs {
		labels := map[string]string{"kubernetes.io/os": "linux", LabelArch: n.arch}
		if n.fips {
			labels[LabelAKSFIPS] = "true"
			labels[LabelAKSPool] = "fipspool"
		}
		if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: labels}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []string{"pay", "web", "batch", "private", "solo"} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Owners: the intermediate objects ListPods reads (ReplicaSets,
	// Jobs) exist; their controllers are named by reference only.
	ctrl := func(apiVersion, kind, name string) []metav1.OwnerReference {
		yes := true
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: &yes}}
	}
	tmpl := func(labels map[string]string, restart corev1.RestartPolicy) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{RestartPolicy: restart, Containers: []corev1.Container{{Name: "c", Image: "x"}}}}
	}
	rs := func(ns, name, deployment string) {
		l := map[string]string{"app": name}
		one := int32(1)
		_, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: ctrl("apps/v1", "Deployment", deployment)},
			Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: l}, Template: tmpl(l, corev1.RestartPolicyAlways)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	job := func(ns, name string, owner []metav1.OwnerReference) {
		_, err := cs.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owner},
			Spec: batchv1.JobSpec{Template: tmpl(nil, corev1.RestartPolicyNever)}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	rs("pay", "api-5d8f9", "api")
	rs("web", "web-77c4b", "web")
	rs("private", "vault-6b5", "vault")
	job("batch", "nightly-29410", ctrl("batch/v1", "CronJob", "nightly"))
	job("batch", "manual", nil)

	// Pods, bound and then given a status as the kubelet would.
	type ctrSpec struct {
		name, image, imageID string
		init                 bool
	}
	n := 0
	cid := func() string { n++; return fmt.Sprintf("%064x", n) }
	containerIDs := map[string]string{} // pod/container → id
	pod := func(ns, name, node string, owner []metav1.OwnerReference, phase corev1.PodPhase, secrets []string, cs2 ...ctrSpec) {
		t.Helper()
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owner}, Spec: corev1.PodSpec{NodeName: node}}
		for _, s := range secrets {
			p.Spec.ImagePullSecrets = append(p.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
		}
		for _, c := range cs2 {
			k := corev1.Container{Name: c.name, Image: c.image}
			if c.init {
				p.Spec.InitContainers = append(p.Spec.InitContainers, k)
			} else {
				p.Spec.Containers = append(p.Spec.Containers, k)
			}
		}
		created, err := cs.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = phase
		for _, c := range cs2 {
			id := cid()
			containerIDs[ns+"/"+name+"/"+c.name] = id
			st := corev1.ContainerStatus{Name: c.name, Image: c.image, ImageID: c.imageID, ContainerID: "containerd://" + id}
			if c.init {
				st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}
				created.Status.InitContainerStatuses = append(created.Status.InitContainerStatuses, st)
			} else if phase == corev1.PodPending {
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
				created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, st)
			} else {
				st.Ready = phase == corev1.PodRunning
				st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Now()}
				created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, st)
			}
		}
		if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	running := corev1.PodRunning
	for i := range 6 {
		pod("pay", fmt.Sprintf("api-5d8f9-%d", i), []string{"fips-0", "fips-1"}[i%2], ctrl("apps/v1", "ReplicaSet", "api-5d8f9"), running, nil,
			ctrSpec{name: "api", image: open + "/team/api:1", imageID: open + "/team/api@" + dFIPS})
	}
	for i := range 3 {
		pod("pay", fmt.Sprintf("ledger-%d", i), []string{"fips-0", "fips-1"}[i%2], ctrl("apps/v1", "StatefulSet", "ledger"), running, nil,
			ctrSpec{name: "migrate", image: open + "/team/api:1", imageID: open + "/team/api@" + dFIPS, init: true},
			ctrSpec{name: "ledger", image: open + "/team/ledger:1", imageID: "docker-pullable://" + open + "/team/ledger@" + dStd})
	}
	for i := range 8 {
		pod("web", fmt.Sprintf("web-77c4b-%d", i), []string{"plain-0", "fips-0"}[i%2], ctrl("apps/v1", "ReplicaSet", "web-77c4b"), running, nil,
			ctrSpec{name: "web", image: open + "/team/web:1", imageID: open + "/team/web@" + dWeb})
	}
	for _, ns := range nodeSpecs {
		pod("web", "agent-"+ns.name, ns.name, ctrl("apps/v1", "DaemonSet", "agent"), running, nil,
			ctrSpec{name: "agent", image: open + "/team/agent:1", imageID: open + "/team/agent@" + dAgent})
	}
	for i := range 2 {
		pod("batch", fmt.Sprintf("nightly-29410-%d", i), "plain-0", ctrl("batch/v1", "Job", "nightly-29410"), running, nil,
			ctrSpec{name: "report", image: open + "/team/ledger:1", imageID: open + "/team/ledger@" + dStd})
	}
	pod("batch", "nightly-29409-x", "plain-0", ctrl("batch/v1", "Job", "nightly-29409"), corev1.PodSucceeded, nil,
		ctrSpec{name: "report", image: open + "/team/ledger:1", imageID: open + "/team/ledger@" + dStd})
	pod("batch", "manual-q", "fips-1", ctrl("batch/v1", "Job", "manual"), running, nil,
		ctrSpec{name: "once", image: open + "/team/api:1", imageID: open + "/team/api@" + dFIPS})
	pod("solo", "built-here", "fips-0", nil, running, nil, ctrSpec{name: "main", image: "localbuild:dev", imageID: "sha256:" + strings.Repeat("c", 64)})
	pod("solo", "ghost", "fips-0", nil, running, nil, ctrSpec{name: "main", image: open + "/team/gone:1", imageID: open + "/team/gone@" + ghost})
	pod("solo", "pending", "fips-0", nil, corev1.PodPending, nil, ctrSpec{name: "main", image: open + "/team/api:1"})
	for i := range 2 {
		pod("private", fmt.Sprintf("vault-6b5-%d", i), "fips-1", ctrl("apps/v1", "ReplicaSet", "vault-6b5"), running, []string{"regcred"},
			ctrSpec{name: "vault", image: private + "/private/vault:1", imageID: private + "/private/vault@" + dVault})
	}
	auth := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	cfgJSON, _ := json.Marshal(map[string]any{"auths": map[string]any{private: map[string]string{"auth": auth}}})
	if _, err := cs.CoreV1().Secrets("private").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "private"},
		Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: cfgJSON}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	// As the service account kensa, with the shipped RBAC only.
	saCfg, err := Config(cp.WriteKubeconfig(t, "sa", "sa-token"), "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ListInputs(ctx, saCfg, "")
	if err != nil {
		t.Fatal(err)
	}
	pods, err := ListPods(ctx, saCfg, in.Nodes, PodOptions{PullSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	// 30 pods; the Succeeded and the Pending one run nothing.
	if len(pods) != 28 {
		t.Fatalf("%d pods, want 28", len(pods))
	}
	owners := map[string]string{}
	for _, p := range pods {
		var chain []string
		for _, o := range p.Chain {
			chain = append(chain, o.Kind+"/"+o.Name)
		}
		owners[p.Name] = p.Workload() + " via " + strings.Join(chain, ">")
		if p.Name == "ledger-0" {
			if len(p.Containers) != 2 || !p.Containers[0].Init || p.Containers[1].Ref != open+"/team/ledger@"+dStd ||
				p.Containers[1].ContainerID != containerIDs["pay/ledger-0/ledger"] || p.Platform != "linux/amd64" {
				t.Errorf("ledger-0 containers %+v platform %s", p.Containers, p.Platform)
			}
		}
		if p.Name == "agent-arm-0" && p.Platform != "linux/arm64" {
			t.Errorf("agent-arm-0 platform %q", p.Platform)
		}
	}
	for podName, want := range map[string]string{
		"api-5d8f9-0":     "pay/Deployment/api via ReplicaSet/api-5d8f9>Deployment/api",
		"ledger-1":        "pay/StatefulSet/ledger via StatefulSet/ledger",
		"agent-fips-0":    "web/DaemonSet/agent via DaemonSet/agent",
		"nightly-29410-1": "batch/CronJob/nightly via Job/nightly-29410>CronJob/nightly",
		"manual-q":        "batch/Job/manual via Job/manual",
		"ghost":           "solo/Pod/ghost via ",
	} {
		if owners[podName] != want {
			t.Errorf("pod %s: owner %q, want %q", podName, owners[podName], want)
		}
	}

	// The real scanner, counted: one scan per digest and platform.
	var mu sync.Mutex
	scans := map[string]int{}
	scan := func(ctx context.Context, ref image.Reference, o fips.Options, io image.Options) fips.RefScan {
		mu.Lock()
		scans[ref.Value+" "+io.Platform]++
		mu.Unlock()
		return fips.ScanReference(ctx, ref, o, io, nil)
	}
	opts := ScanOptions{FIPS: fips.Options{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, Concurrency: 3, Scan: scan}
	evaluate := func(pods []Pod) (map[string]WorkloadResult, []ImageResult, map[string]string) {
		t.Helper()
		images := ScanImages(ctx, pods, opts)
		in.Reports = map[string]NodeReport{"fips-0": {KernelFlag: "1"}, "fips-1": {KernelFlag: "1"}, "plain-0": {KernelFlag: "0"}}
		nodes, _ := EvaluateNodes(in)
		// fips-0's report: one api container runs with GODEBUG=fips140=off.
		var apiOff Pod
		if i := slices.IndexFunc(pods, func(p Pod) bool { return p.Name == "api-5d8f9-0" }); i >= 0 {
			apiOff = pods[i]
		} else {
			apiOff.Containers = []Container{{ContainerID: "0"}}
		}
		rep := hostReport(t,
			host.Result{Kind: host.KindPosture, Check: host.CheckKernelFlag, Status: host.StatusPass, Value: "1: on"},
			host.Result{Kind: host.KindProcess, PID: 4711, Exe: "/app", ContainerID: apiOff.Containers[0].ContainerID, PodUID: apiOff.UID,
				Env: map[string]string{"GODEBUG": "fips140=off"}, KernelFIPS: "1", Verdict: host.Noncompliant,
				Reasons: []string{"GODEBUG=fips140=off in its start environment switches the Go FIPS module off"}},
			host.Result{Kind: host.KindProcess, PID: 4712, Exe: "/app", ContainerID: containerIDs["pay/api-5d8f9-2/api"], Verdict: host.Compliant})
		procs, err := ParseHostProcesses(rep)
		if err != nil {
			t.Fatal(err)
		}
		ws, fs := EvaluateWorkloads(WorkloadInputs{Pods: pods, Images: images, Nodes: nodes, Processes: map[string][]HostProcess{"fips-0": procs}})
		byName := map[string]WorkloadResult{}
		for _, w := range ws {
			byName[w.Name()] = w
		}
		found := map[string]string{}
		for _, f := range fs {
			found[f.Subject] += f.ID + "(" + string(f.Severity) + ") "
			if testing.Verbose() {
				t.Logf("%s %s: %s", f.Severity, f.ID, f.Message)
			}
		}
		return byName, images, found
	}
	ws, images, found := evaluate(pods)

	// Distinct images: api (fips) on amd64, ledger (std), web, the agent
	// index on amd64 and on arm64, the ghost and the private one: 7,
	// each scanned once whatever number of pods run it.
	if len(images) != 7 {
		t.Errorf("%d images, want 7: %+v", len(images), images)
	}
	for k, c := range scans {
		if c != 1 {
			t.Errorf("%s scanned %d times", k, c)
		}
	}
	verdicts := map[string]string{}
	for _, im := range images {
		verdicts[strings.TrimPrefix(im.Ref, open+"/")+" "+im.Platform] = cmp.Or(string(im.Verdict), "error")
	}
	for k, want := range map[string]string{
		"team/api@" + dFIPS + " linux/amd64":    "compliant",
		"team/ledger@" + dStd + " linux/amd64":  "noncompliant",
		"team/agent@" + dAgent + " linux/amd64": "compliant",
		"team/agent@" + dAgent + " linux/arm64": "noncompliant",
		"team/gone@" + ghost + " linux/amd64":   "error",
		"team/web@" + dWeb + " linux/amd64":     "compliant",
	} {
		if verdicts[k] != want {
			t.Errorf("image %s: %q, want %q (all: %v)", k, verdicts[k], want, verdicts)
		}
	}

	wantStatus := map[string]string{
		"pay/Deployment/api":     WorkloadNoncompliant, // compliant image, one process FIPS off
		"pay/StatefulSet/ledger": WorkloadNoncompliant,
		"web/Deployment/web":     WorkloadCompliant,
		"web/DaemonSet/agent":    WorkloadNoncompliant, // the arm64 image of its index
		"batch/CronJob/nightly":  WorkloadNoncompliant,
		"batch/Job/manual":       WorkloadCompliant,
		"solo/Pod/built-here":    WorkloadUnknown,
		"solo/Pod/ghost":         WorkloadUnknown,
		// The shipped ClusterRole cannot read secrets: the private
		// registry refuses kensa.
		"private/Deployment/vault": WorkloadUnknown,
	}
	got := map[string]string{}
	for k, w := range ws {
		got[k] = w.Status
	}
	if d := gocmp.Diff(wantStatus, got); d != "" {
		t.Errorf("workload statuses (-want +got):\n%s", d)
	}
	for subject, want := range map[string]string{
		"pay/Deployment/api container api":         "workload-process-fips-off(error) ",
		"pay/StatefulSet/ledger container ledger":  "workload-image-noncompliant(error) ",
		"web/DaemonSet/agent container agent":      "workload-image-noncompliant(warning) ",
		"batch/CronJob/nightly container report":   "workload-image-noncompliant(warning) ",
		"solo/Pod/built-here container main":       "workload-image-unscannable(warning) ",
		"solo/Pod/ghost container main":            "workload-image-unscannable(warning) ",
		"private/Deployment/vault container vault": "workload-image-unscannable(warning) ",
	} {
		if found[subject] != want {
			t.Errorf("%s: findings %q, want %q", subject, found[subject], want)
		}
	}
	if len(found) != 7 {
		t.Errorf("findings on %d subjects, want 7: %v", len(found), found)
	}
	s := SummarizeWorkloads(mapValues(ws), images)
	if s.Workloads != 9 || s.Compliant != 2 || s.Noncompliant != 4 || s.Unknown != 3 || s.Namespaces["pay"].Noncompliant != 2 || s.Unidentified != 1 || s.Unscannable != 2 {
		t.Errorf("summary %+v", s)
	}

	// With the optional pull-secret RBAC applied, the same run reads the
	// pod's pull secret and the private image is scanned.
	if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", filepath.Join("..", "..", "..", "deploy", "kubernetes", "pull-secrets-rbac.yaml")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var vault WorkloadResult
	for range 50 { // RBAC changes reach the authorizer's cache shortly after
		pods, err = ListPods(ctx, saCfg, in.Nodes, PodOptions{Namespace: "private", PullSecrets: true})
		if err != nil {
			t.Fatal(err)
		}
		scans = map[string]int{}
		ws, _, _ = evaluate(pods)
		if vault = ws["private/Deployment/vault"]; vault.Status == WorkloadCompliant {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if vault.Status != WorkloadCompliant || len(ws) != 1 {
		t.Errorf("with --use-pull-secrets and its RBAC: %+v (of %d workloads)", vault, len(ws))
	}
	// Without asking for pull secrets, they are not read.
	pods, _ = ListPods(ctx, saCfg, in.Nodes, PodOptions{Namespace: "private"})
	if ws, _, _ := evaluate(pods); ws["private/Deployment/vault"].Status != WorkloadUnknown {
		t.Errorf("pull secrets used without PullSecrets: %+v", ws["private/Deployment/vault"])
	}

	// --node-selector: only the pods of the selected nodes.
	sel, err := ListInputs(ctx, saCfg, LabelAKSFIPS+"=true")
	if err != nil {
		t.Fatal(err)
	}
	pods, err = ListPods(ctx, saCfg, sel.Nodes, PodOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if p.Node != "fips-0" && p.Node != "fips-1" {
			t.Errorf("pod %s/%s on %s listed with a node selector for the FIPS pool", p.Namespace, p.Name, p.Node)
		}
	}
	if len(pods) != 20 {
		t.Errorf("%d pods on the FIPS pool, want 20", len(pods))
	}
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
