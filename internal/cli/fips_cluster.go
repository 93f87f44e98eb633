package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/limitio"
	"github.com/kensa-project/kensa/internal/report"
)

const fipsClusterUsage = `Usage: kensa fips cluster [flags]

Which nodes of a Kubernetes cluster really run in FIPS mode, whatever
their label, pool or MachineConfig says, and which running workloads use
a validated crypto module: one report for the whole cluster.

kensa reads, through the API server (read-only):
  - the nodes (labels, nodeInfo; --node-selector picks some);
  - what each node is declared to be: the AKS label
    kubernetes.azure.com/fips_enabled, the AKS pool's enableFips (with
    --aks, the output of az aks show -o json), OpenShift's rendered
    MachineConfig of the node's pool (.spec.fips) and install-config
    (kube-system/cluster-config-v1, fips: true);
  - each node's kensa fips host report: the ConfigMaps
    kensa-fips-host-NODE that the DaemonSet kensa-fips-host publishes in
    --reports-namespace (deploy it with kubectl apply -k deploy/kubernetes;
    kensa never deploys anything itself), and the report files given with
    --node-reports (gathered any other way, such as kubectl logs).

The node's kernel flag (/proc/sys/crypto/fips_enabled in its report) is
the truth: a node declared FIPS whose kernel is not is an error, and so is
the reverse. A node without a report is never a pass (node-not-reported);
a report of an earlier boot or of another machine under the same name
says nothing about the node now (node-report-stale), and one older than
--max-age is flagged (its processes may have changed). Windows nodes get
no scan: they are listed as not inspected, with their label.

Workloads (docs/fips-cluster-workloads.md): every running pod on the
selected nodes, grouped by its top owner (Deployment, StatefulSet,
DaemonSet, CronJob, Job, or the pod). Each distinct image digest the
kubelets report (status.containerStatuses[].imageID) is scanned once per
platform, like kensa fips scan, and its verdict given to every workload
that runs it; the node's report adds the container's live processes (FIPS
switched off in their environment, a masked kernel flag). A container
whose image has no registry digest or cannot be pulled is unknown, never
a pass.

Flags:
    --kubeconfig FILE   kubeconfig (default KUBECONFIG or ~/.kube/config;
                        in a pod, its service account)
    --context NAME      kubeconfig context (default the current one)
    --node-selector SEL only the nodes matching this label selector
                        (kubernetes.azure.com/fips_enabled=true)
    --aks FILE          az aks show -o json: compare each pool's enableFips
    --node-reports PATH fips host JSON reports (files, .json.gz, or
                        directories of them), one per node, tied to the node
                        the file is named after (NODE.json), else the one
                        named by the report's host name; repeat the flag;
                        they take precedence over the published ones
    --reports-namespace NS
                        where the DaemonSet publishes (default kensa)
    --no-published      read only --node-reports, not the ConfigMaps
    --max-age DURATION  a report older than this is stale (default 24h;
                        0: never by age; the DaemonSet scans every 6h)
    --namespace NS      only the workloads of this namespace (default all)
    --no-workloads      the nodes only: no pods listed, no image pulled
    --use-pull-secrets  also pull with the pods' imagePullSecrets (needs get
                        on secrets: deploy/kubernetes/pull-secrets-rbac.yaml);
                        by default docker's credentials (docker login)
    --insecure HOST[:PORT]
                        a registry that may be reached over plain HTTP
                        (repeat; loopback registries always may)
    --jobs N            images scanned at a time (default 2, at most 16)
    --format text|json|sarif
    --output FILE, -o FILE
    --fail-on error|warning|never
                        exit 1 when a finding is at or above this
                        (default error)

Examples:
    kubectl apply -k deploy/kubernetes        # once: the node scan
    kensa fips cluster
    kensa fips cluster --context prod --format json -o cluster.json
    kensa fips cluster --namespace payments \
        --node-selector kubernetes.azure.com/fips_enabled=true
    kensa fips cluster --no-workloads         # nodes only, no image pulls
    az aks show -g RG -n CLUSTER -o json > aks.json
    kensa fips cluster --aks aks.json
    kubectl logs -n kensa POD > NODE.json     # by hand (the last round counts)
    kensa fips cluster --node-reports NODE.json
    kensa fips cluster --fail-on warning      # unreported nodes fail too

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it
(a node whose kernel differs from its declaration is one, so is a
noncompliant workload on a FIPS node), 2 kensa could not do what was
asked (no kubeconfig, API server unreachable or forbidden, an unreadable
--aks or --node-reports). An image that cannot be pulled is a finding
(workload-image-unscannable), not exit 2.
`

func runFipsCluster(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("fips cluster")
	common := addCommon(fs, "error")
	kubeconfig := fs.String("kubeconfig", "", "")
	kubeContext := fs.String("context", "", "")
	selector := fs.String("node-selector", "", "")
	aksFile := fs.String("aks", "", "")
	var reportPaths []string
	fs.Func("node-reports", "", func(s string) error {
		reportPaths = append(reportPaths, s)
		return nil
	})
	reportsNS := fs.String("reports-namespace", cluster.DefaultNamespace, "")
	noPublished := fs.Bool("no-published", false, "")
	maxAgeFlag := fs.String("max-age", "24h", "")
	namespace := fs.String("namespace", "", "")
	noWorkloads := fs.Bool("no-workloads", false, "")
	pullSecrets := fs.Bool("use-pull-secrets", false, "")
	img := addImageFlags(fs) // --insecure and --jobs; the others are refused below
	pos, err := parseCommand(env, fs, common, fipsClusterUsage+findingsHelp("docs/fips-cluster.md", cluster.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("fips cluster takes no arguments (got %q)", pos[0]).
			withHint("node reports are given with --node-reports %s", pos[0])
	}
	maxAge, err := parseDuration(*maxAgeFlag)
	if err != nil || maxAge < 0 {
		return usageErrorf("--max-age: %v", err).withHint("give a duration: --max-age 24h, --max-age 7d, or 0 for no limit")
	}
	if *noPublished && len(reportPaths) == 0 {
		return usageErrorf("--no-published leaves no node report to read").
			withHint("give the reports with --node-reports FILE|DIR")
	}
	if *noPublished && setFlags(fs)["reports-namespace"] {
		return usageErrorf("--reports-namespace does nothing with --no-published").withHint("use one of them")
	}
	set := setFlags(fs)
	for _, f := range []string{"platform", "all-platforms", "images"} {
		if set[f] {
			return usageErrorf("--%s is not a flag of fips cluster", f).
				withHint("each image is scanned for the platform of the node it runs on")
		}
	}
	if *noWorkloads {
		for _, f := range []string{"namespace", "use-pull-secrets", "insecure", "jobs"} {
			if set[f] {
				return usageErrorf("--%s does nothing with --no-workloads", f).withHint("use one of them")
			}
		}
	}
	if img.jobs < 1 || img.jobs > maxJobs {
		return usageErrorf("--jobs %d is out of range", img.jobs).withHint("give 1 to %d images at a time", maxJobs)
	}
	if err := checkInput("--aks", *aksFile, "give the output of az aks show -g RG -n CLUSTER -o json"); err != nil {
		return err
	}
	for _, p := range reportPaths {
		if _, err := os.Stat(p); err != nil {
			return usageErrorf("--node-reports %s: %v", p, unwrapPath(err)).
				withHint("give fips host JSON reports (kensa fips host --format json), or directories of them")
		}
	}
	if err := checkOutput("--output", common.output); err != nil {
		return err
	}
	var aks map[string]bool
	if *aksFile != "" {
		b, err := limitio.ReadFile(*aksFile, 16<<20, "az aks show output")
		if err == nil {
			aks, err = cluster.ParseAKSShow(b)
		}
		if err != nil {
			return usageErrorf("--aks %s: %v", *aksFile, unwrapPath(err)).
				withHint("give the output of az aks show -g RG -n CLUSTER -o json")
		}
	}
	files, err := cluster.ReadReportFiles(reportPaths)
	if err != nil {
		return usageErrorf("--node-reports: %v", unwrapPath(err)).
			withHint("give fips host JSON reports (kensa fips host --format json), or directories of them")
	}

	cfg, err := cluster.Config(*kubeconfig, *kubeContext)
	if err != nil {
		return usageErrorf("%v", err).
			withHint("give --kubeconfig FILE or set KUBECONFIG; --context picks a context (kubectl config get-contexts)")
	}
	prog := newProgress(env)
	prog.update("kensa: reading nodes from %s", cfg.Host)
	in, err := cluster.ListInputs(ctx, cfg, *selector)
	if err != nil {
		prog.done()
		return apiError(err, cfg.Host)
	}
	var published []cluster.Collected
	state := cluster.DaemonSetState("")
	if !*noPublished {
		prog.update("kensa: reading node reports from namespace %s", *reportsNS)
		published, state, err = cluster.ListReports(ctx, cfg, *reportsNS)
		if err != nil && !(cluster.IsForbidden(err) && len(files) > 0) {
			prog.done()
			return apiError(err, cfg.Host)
		}
	}
	prog.done()
	in.AKSPools = aks
	in.Now, in.MaxAge = generatedAt(env), maxAge
	var unmatched []cluster.Collected
	in.Reports, unmatched = cluster.AttachReports(published, files, in.Nodes)

	nodes, findings := cluster.EvaluateNodes(in)
	findings = append(findings, cluster.CoverageFindings(state, *reportsNS, unmatched, len(in.Reports))...)
	// Reports of deleted nodes are said, not counted.
	gone, err := cluster.GoneNodeReports(ctx, cfg, published, in.Nodes, *selector == "")
	if err != nil {
		return usageErrorf("interrupted: %v", err)
	}
	findings = append(findings, cluster.GoneNodeFindings(gone)...)

	var ws []cluster.WorkloadResult
	var images []cluster.ImageResult
	if !*noWorkloads {
		prog.update("kensa: listing pods")
		pods, err := cluster.ListPods(ctx, cfg, in.Nodes, cluster.PodOptions{Namespace: *namespace, PullSecrets: *pullSecrets})
		if err != nil {
			prog.done()
			return apiError(err, cfg.Host)
		}
		// One layer cache for the run: a base layer shared by many
		// images is read once.
		if err := img.openCache(); err != nil {
			prog.done()
			return err
		}
		opts := cluster.ScanOptions{
			FIPS: fips.Options{At: common.at},
			// Credentials as docker uses them (~/.docker/config.json,
			// credential helpers), after a pod's pull secrets.
			Image:       image.Options{Insecure: img.insecure, Keychain: authn.DefaultKeychain, Cache: img.cache},
			Concurrency: img.jobs,
			Progress: func(done, total int) {
				prog.update("kensa: %d of %s scanned", done, report.Count(total, "image", "images"))
			},
		}
		images = cluster.ScanImages(ctx, pods, opts)
		prog.done()
		if ctx.Err() != nil {
			return usageErrorf("interrupted: %v", ctx.Err())
		}
		var wfs []report.Finding
		ws, wfs = cluster.EvaluateWorkloads(cluster.WorkloadInputs{Pods: pods, Images: images, Nodes: nodes,
			Processes: cluster.ContainerProcesses(nodes)})
		findings = append(findings, wfs...)
	}
	sum := cluster.Summarize(nodes, findings)
	sum.DaemonSet = string(state)
	if !*noWorkloads {
		w := cluster.SummarizeWorkloads(ws, images)
		sum.Workloads = &w
	}

	rep := newReport(env, "fips cluster", common.at)
	results := make([]any, 0, len(nodes)+len(ws)+len(images))
	for _, n := range nodes {
		results = append(results, n)
	}
	for _, w := range ws {
		results = append(results, w)
	}
	for _, im := range images {
		results = append(results, im)
	}
	rep.Results, rep.Findings, rep.Summary = results, findings, sum
	where := cfg.Host
	if name := cluster.ContextName(*kubeconfig, *kubeContext); name != "" {
		where = "context " + name + " (" + cfg.Host + ")"
	}
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeFipsClusterText(t, where, nodes, ws, images, rep.Findings, sum) }})
}

// apiError turns an API failure into kensa's error with a hint.
func apiError(err error, host string) error {
	switch {
	case cluster.IsForbidden(err) || cluster.IsUnauthorized(err):
		return usageErrorf("%v", err).
			withHint("kensa needs the read-only ClusterRole kensa-fips-cluster-reader and the Role kensa-fips-host-report-reader (deploy/kubernetes/rbac.yaml)")
	}
	return usageErrorf("%v", err).withHint("check that the API server %s is reachable (kubectl --context … get nodes)", host)
}

func writeFipsClusterText(t *textWriter, where string, nodes []cluster.NodeResult, ws []cluster.WorkloadResult, images []cluster.ImageResult, fs []report.Finding, s cluster.Summary) {
	n := s.Nodes
	t.printf("%s: %s\n", where, report.Count(n.Nodes, "node", "nodes"))
	line := fmt.Sprintf("nodes in FIPS mode: %d of %d (%d declared FIPS, %d mismatched)", n.FIPS, n.Nodes, n.DeclaredFIPS, n.Mismatched)
	var gaps []string
	for _, g := range []struct {
		n    int
		what string
	}{{n.NotFIPS, "not in FIPS mode"}, {n.NotReported, "not reported"}, {n.Stale, "stale"}, {n.Unknown, "unknown"}, {n.NotInspected, "not inspected (Windows)"}} {
		if g.n > 0 {
			gaps = append(gaps, fmt.Sprintf("%d %s", g.n, g.what))
		}
	}
	if len(gaps) > 0 {
		line += "; " + strings.Join(gaps, ", ")
	}
	t.para("", "    ", line, 0)
	switch s.DaemonSet {
	case string(cluster.DaemonSetAbsent):
		t.para("", "    ", fmt.Sprintf("the node scan (daemonset %s) is not deployed: kubectl apply -k deploy/kubernetes", cluster.DaemonSetName), 0)
	}

	if len(s.Pools) > 0 {
		t.printf("\n")
		pt := report.NewTable("POOL", "NODES", "FIPS", "NOT FIPS", "NO ANSWER", "DECLARED FIPS", "MISMATCHED")
		for _, name := range slices.Sorted(maps.Keys(s.Pools)) {
			p := s.Pools[name]
			pt.Row(name, fmt.Sprint(p.Nodes), fmt.Sprint(p.FIPS), fmt.Sprint(p.NotFIPS),
				fmt.Sprint(p.NotReported+p.Unknown+p.Stale+p.NotInspected), fmt.Sprint(p.DeclaredFIPS), fmt.Sprint(p.Mismatched))
		}
		pt.Fit(0, report.FitMiddle, 8)
		t.table(pt)
	}

	if len(nodes) > 0 {
		t.printf("\n")
		tb := report.NewTable("NODE", "POOL", "DECLARED", "KERNEL", "STATUS", "PROCESSES", "OS IMAGE")
		for _, r := range nodes {
			tb.Row(r.Name, cmp.Or(r.Pool, "-"), declaredText(r.Declared), cmp.Or(r.Kernel, "-"), r.Status, processesText(r.Report), cmp.Or(r.OSImage, "-"))
		}
		// Node names are what a reader acts on: kept whole (no Fit),
		// the other columns give way or go first.
		tb.Fit(2, report.FitEnd, 12)
		tb.Fit(6, report.FitEnd, 12)
		tb.Optional(6, 5, 1)
		t.table(tb)
	}

	if s.Workloads != nil {
		writeWorkloadsText(t, ws, images, *s.Workloads)
	}

	if len(fs) > 0 {
		t.printf("\n")
		for _, f := range fs {
			t.para("", "    ", fmt.Sprintf("%s %s: %s", f.Severity, f.ID, f.Message), 0)
		}
	}
	t.printf("\n%s read", report.Count(s.Reports, "node report", "node reports"))
	t.printf("; %d error, %d warning, %d info\n", s.Errors, s.Warnings, s.Info)
}

// writeWorkloadsText is the workload half of the view: the counts, per
// namespace, and the workloads that are not compliant (the JSON lists
// every workload and image).
func writeWorkloadsText(t *textWriter, ws []cluster.WorkloadResult, images []cluster.ImageResult, w cluster.WorkloadSummary) {
	if w.Workloads == 0 {
		t.printf("\nworkloads: no running pods on the selected nodes\n")
		return
	}
	line := fmt.Sprintf("workloads: %d compliant, %d noncompliant, %d unknown of %d", w.Compliant, w.Noncompliant, w.Unknown, w.Workloads)
	line += fmt.Sprintf("; images: %s scanned", report.Count(w.Images, "distinct image", "distinct images"))
	if w.Unscannable > 0 {
		line += fmt.Sprintf(" (%d could not be)", w.Unscannable)
	}
	if w.Unidentified > 0 {
		line += fmt.Sprintf(", %s without a registry digest", report.Count(w.Unidentified, "container", "containers"))
	}
	t.printf("\n")
	t.para("", "    ", line, 0)
	if len(w.Namespaces) > 0 {
		t.printf("\n")
		nt := report.NewTable("NAMESPACE", "WORKLOADS", "COMPLIANT", "NONCOMPLIANT", "UNKNOWN")
		for _, ns := range slices.Sorted(maps.Keys(w.Namespaces)) {
			c := w.Namespaces[ns]
			nt.Row(ns, fmt.Sprint(c.Workloads), fmt.Sprint(c.Compliant), fmt.Sprint(c.Noncompliant), fmt.Sprint(c.Unknown))
		}
		nt.Fit(0, report.FitMiddle, 10)
		t.table(nt)
	}
	verdicts := map[string]string{}
	for _, im := range images {
		verdicts[im.Ref] = string(im.Verdict)
	}
	wt := report.NewTable("WORKLOAD", "STATUS", "CONTAINER", "IMAGE", "REASON")
	for _, wr := range ws {
		if wr.Status == cluster.WorkloadCompliant {
			continue
		}
		for _, c := range wr.Containers {
			if c.Status == cluster.WorkloadCompliant {
				continue
			}
			wt.Row(wr.Name(), c.Status, c.Name, cmp.Or(c.Image, c.Ref), cmp.Or(c.Reason, "-"))
		}
	}
	if wt.Len() > 0 {
		t.printf("\n")
		wt.Fit(0, report.FitMiddle, 24)
		wt.Fit(3, report.FitMiddle, 16)
		wt.Fit(4, report.FitEnd, 16)
		wt.Optional(2)
		t.table(wt)
		t.para("", "", "(compliant workloads are not listed; --format json lists every workload and image)", 0)
	}
}

// declaredText is a node's declarations in one cell: "fips (label, pool)",
// "not fips (machineconfig)", "conflict" or "-".
func declaredText(ds []cluster.Declared) string {
	if len(ds) == 0 {
		return "-"
	}
	var on, off []string
	for _, d := range ds {
		if d.FIPS {
			on = append(on, d.Source)
		} else {
			off = append(off, d.Source)
		}
	}
	switch {
	case len(on) > 0 && len(off) > 0:
		return "conflict (fips: " + strings.Join(on, ", ") + "; not: " + strings.Join(off, ", ") + ")"
	case len(on) > 0:
		return "fips (" + strings.Join(on, ", ") + ")"
	}
	return "not fips (" + strings.Join(off, ", ") + ")"
}

func processesText(r *cluster.NodeReport) string {
	if r == nil || r.Err != "" {
		return "-"
	}
	if r.Noncompliant > 0 {
		return fmt.Sprintf("%d (%d noncompliant)", r.Processes, r.Noncompliant)
	}
	return fmt.Sprint(r.Processes)
}

func init() {
	registerDomain("fips cluster", domainInfo{checks: cluster.Checks, doc: "docs/fips-cluster.md", summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		var nodes []cluster.NodeResult
		var ws []cluster.WorkloadResult
		var images []cluster.ImageResult
		for i, r := range raw {
			var head struct {
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal(r, &head); err != nil {
				return nil, fmt.Errorf("result %d: %w", i+1, err)
			}
			var err error
			switch head.Kind {
			case "node":
				var n cluster.NodeResult
				err = json.Unmarshal(r, &n)
				nodes = append(nodes, n)
			case "workload":
				var w cluster.WorkloadResult
				err = json.Unmarshal(r, &w)
				ws = append(ws, w)
			case "image":
				var im cluster.ImageResult
				err = json.Unmarshal(r, &im)
				images = append(images, im)
			}
			if err != nil {
				return nil, fmt.Errorf("result %d: %w", i+1, err)
			}
		}
		in, err := addSummaries(sums, (*cluster.Summary).Add)
		if err != nil {
			return nil, err
		}
		s := cluster.Summarize(nodes, fs)
		s.DaemonSet = in.DaemonSet
		if in.Workloads != nil {
			// Workload results are counted again; an image scanned by two
			// merged runs counts once per run (their images are results).
			w := cluster.SummarizeWorkloads(ws, images)
			s.Workloads = &w
		}
		return s, nil
	}})
}
