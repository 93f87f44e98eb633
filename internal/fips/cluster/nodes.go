// Package cluster decides a Kubernetes cluster's FIPS posture from what
// the API server says each node should be (its declared intent) and what
// each node's `kensa fips host` report says its kernel is.
//
// Declared intent comes from, in this order of precedence per node:
//   - the AKS node label kubernetes.azure.com/fips_enabled (set on FIPS
//     node pools, Linux and Windows);
//   - the AKS pool property enableFips (`az aks show -o json`,
//     agentPoolProfiles[].enableFips), matched by the node's pool label
//     kubernetes.azure.com/agentpool;
//   - OpenShift's rendered MachineConfig of the node's pool
//     (rendered-<pool>-*, .spec.fips), the pool read from the
//     node-role.kubernetes.io/<pool> labels;
//   - OpenShift's install-config (kube-system/cluster-config-v1, fips:
//     true), for the whole cluster.
//
// Every source found is kept (Declared lists them); the node's kernel
// flag is the truth (live-posture reference §6: even the Machine Config
// Operator's own tests compare against /proc/sys/crypto/fips_enabled). A
// node without a report is never a pass; a Windows node gets no DaemonSet
// pod and is listed as not inspected with its label evidence only.
//
// This file is the node half of `kensa fips cluster`: pure data in, data
// out, so the API listing (client-go) and the collection of node reports
// stay outside.
package cluster

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// Finding ids of the node half.
const (
	IDNodeDeclaredMismatch = "node-fips-declared-mismatch"
	IDClusterMixed         = "cluster-fips-mixed"
	IDNodeNotReported      = "node-not-reported"
	IDNodeNotInspected     = "node-not-inspected"
	IDDeclaredConflict     = "node-fips-declared-conflict"
	IDNodeReportStale      = "node-report-stale"
	IDNodeReportUnmatched  = "node-report-unmatched"
	IDNodeScanNotDeployed  = "node-scan-not-deployed"
	IDNodeReportOrphaned   = "node-report-orphaned"
)

// Checks is the catalog of every finding id this package emits.
var Checks = []report.Check{
	// The workload half (workloads.go).
	{ID: IDWorkloadImageNoncompliant, Severity: report.Error, Title: "a workload runs an image whose crypto is not a validated module in FIPS mode",
		Citation: "AKS enable-fips-nodes: container images on FIPS nodes are not assessed; FIPS 140-3 (CMVP validated modules)",
		Help:     "The image digest the kubelet reports for this container was scanned as kensa fips scan does: a file of it uses crypto that is not a validated module, or needs a FIPS kernel its node does not have. An error where a node it runs on is in FIPS mode (or declared FIPS), a warning elsewhere. Rebuild the image with a validated module (Go: GOFIPS140=v1.0.0; OpenSSL 3 with its FIPS provider) and redeploy, or pin the workload to FIPS nodes."},
	{ID: IDWorkloadProcessFIPSOff, Severity: report.Error, Title: "a workload's image is compliant but its process runs with FIPS switched off",
		Citation: "live-posture reference §4, §5.3 (GODEBUG fips140, GOFIPS, GOLANG_FIPS, OPENSSL_FORCE_FIPS_MODE, CRI-O FIPS_DISABLE)",
		Help:     "The node's kensa fips host report shows a process of this container whose start environment or view of the kernel flag turns FIPS mode off (GODEBUG=fips140=off, GOFIPS=0, a masked /proc/sys/crypto/fips_enabled), or the pod carries CRI-O's FIPS_DISABLE=true label while its image needs the kernel flag. Remove the setting from the pod spec or the image and restart the pods."},
	{ID: IDWorkloadImageUnscannable, Severity: report.Warning, Title: "a workload's image could not be identified or scanned",
		Citation: "live-posture reference §8 (coverage accounting)",
		Help:     "The kubelet reports no registry digest for the container (a local image id only), or the image could not be pulled or read, or its files could not be classified. Its crypto is unknown, never a pass. Give kensa registry credentials (docker login; --use-pull-secrets to read the pods' imagePullSecrets), or scan the image yourself with kensa fips scan."},
	{ID: IDNodeDeclaredMismatch, Severity: report.Error, Title: "node's kernel FIPS mode differs from what the cluster declares",
		Citation: "AKS enable-fips-nodes (node label, enableFips); OpenShift MachineConfig spec.fips; /proc/sys/crypto/fips_enabled",
		Help:     "The node label, pool setting, MachineConfig or install-config says FIPS, but the node's kernel flag says otherwise (or the reverse). Reimage the pool (AKS: az aks nodepool update --enable-fips-image) or fix the MachineConfig; the kernel flag is what processes act on."},
	{ID: IDDeclaredConflict, Severity: report.Warning, Title: "the cluster's declarations about a node's FIPS mode disagree",
		Citation: "AKS enable-fips-nodes; OpenShift install-config and MachineConfig",
		Help:     "Two sources of declared intent (node label, pool enableFips, MachineConfig, install-config) disagree; the kernel decides, but the declarations should be made consistent."},
	{ID: IDClusterMixed, Severity: report.Warning, Title: "a node pool mixes FIPS and non-FIPS nodes",
		Citation: "live-posture reference §11.2 cluster-fips-mixed",
		Help:     "Workloads scheduled to this pool land on FIPS or non-FIPS kernels by chance. Reimage the non-FIPS nodes, or split the pool and pin FIPS workloads with a nodeSelector."},
	{ID: IDNodeNotReported, Severity: report.Warning, Title: "a Linux node did not report its FIPS posture",
		Citation: "live-posture reference §8 (coverage accounting)",
		Help:     "The kensa-fips-host DaemonSet has no report for this node (not scheduled: taints, resources; or the scan failed). Its posture is unknown, never a pass."},
	{ID: IDNodeNotInspected, Severity: report.Info, Title: "a Windows node is not inspected",
		Citation: "live-posture reference §10",
		Help:     "kensa's node scan is Linux-only; on Windows the FIPS switch is the registry value HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\FipsAlgorithmPolicy\\Enabled. Only the node's labels are reported."},
	{ID: IDNodeReportStale, Severity: report.Warning, Title: "a node's report is stale",
		Citation: "live-posture reference §8 (coverage accounting); /proc/sys/kernel/random/boot_id",
		Help:     "The report was written before the node's current boot or on another machine under the same name (then it says nothing about the node now, never a pass), or it is older than --max-age (the kernel flag still holds for the boot, the processes may have changed). Scan again: kubectl rollout restart -n kensa daemonset/kensa-fips-host."},
	{ID: IDNodeReportUnmatched, Severity: report.Warning, Title: "a node report given with --node-reports belongs to no selected node",
		Citation: "kensa docs/fips-cluster.md (node reports)",
		Help:     "A report is tied to the node named by its host name, else by its file name (NODE.json). Rename the file after its node, or check --node-selector and --context."},
	{ID: IDNodeScanNotDeployed, Severity: report.Warning, Title: "the node scan DaemonSet is not deployed",
		Citation: "kensa docs/kubernetes.md",
		Help:     "kensa fips cluster reads the reports the DaemonSet kensa-fips-host publishes; it never deploys anything itself. Deploy it with kubectl apply -k deploy/kubernetes (or give reports with --node-reports)."},
	{ID: IDNodeReportOrphaned, Severity: report.Info, Title: "a published node report is of a node that no longer exists (not counted)",
		Citation: "kensa docs/fips-cluster.md (node reports); Kubernetes garbage collection (owner references)",
		Help:     "A report published with its node as owner is deleted by Kubernetes' garbage collector with the node; one published without (an older kensa, or a publisher that could not read its node) stays until deleted: kubectl -n kensa delete configmap kensa-fips-host-NODE."},
}

// Labels read from nodes.
const (
	LabelAKSFIPS  = "kubernetes.azure.com/fips_enabled"
	LabelAKSPool  = "kubernetes.azure.com/agentpool"
	LabelOS       = "kubernetes.io/os"
	labelRolePref = "node-role.kubernetes.io/"
)

// Node is what the API server says about a node.
type Node struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// From status.nodeInfo.
	OS               string `json:"os,omitempty"`
	OSImage          string `json:"os_image,omitempty"`
	KernelVersion    string `json:"kernel_version,omitempty"`
	ContainerRuntime string `json:"container_runtime,omitempty"`
	// BootID and MachineID as the kubelet reports them: a report of
	// another boot or machine is stale.
	BootID    string `json:"boot_id,omitempty"`
	MachineID string `json:"machine_id,omitempty"`
}

// MachineConfig is an OpenShift MachineConfig's name and .spec.fips.
type MachineConfig struct {
	Name string `json:"name"`
	FIPS bool   `json:"fips"`
}

// NodeReport is what a node's `kensa fips host` run said about its
// kernel: the kernel-fips-flag check's value ("1", "0", "absent" when the
// kernel has no FIPS mode, "unreadable") and the check's status; and
// where the report came from.
type NodeReport struct {
	KernelFlag   string `json:"kernel_flag,omitempty"`
	KernelStatus string `json:"kernel_status,omitempty"`
	// Processes and the worst process verdict count, for the summary.
	Processes    int `json:"processes"`
	Noncompliant int `json:"noncompliant_processes"`
	// Origin is "configmap NS/NAME" or the file read.
	Origin string `json:"origin,omitempty"`
	// Host is the host name in the report; GeneratedAt when it was
	// written; BootID and MachineID the host's when it was published.
	Host        string    `json:"host,omitempty"`
	GeneratedAt time.Time `json:"generated_at,omitzero"`
	BootID      string    `json:"boot_id,omitempty"`
	MachineID   string    `json:"machine_id,omitempty"`
	// Omitted counts process results left out to fit a ConfigMap.
	Omitted int `json:"omitted_processes,omitempty"`
	// Err says why the report could not be used.
	Err string `json:"error,omitempty"`
	// Stale says why the report does not describe the node now ("" when
	// it does).
	Stale string `json:"stale,omitempty"`
	// Containers are the report's processes that run in a container,
	// for the workload half (ParseHostProcesses); not in the JSON.
	Containers []HostProcess `json:"-"`
}

// Declared is one source of declared FIPS intent for a node.
type Declared struct {
	Source string `json:"source"` // "label", "aks-pool", "machineconfig", "install-config"
	Name   string `json:"name"`   // the label, pool, MachineConfig or ConfigMap
	FIPS   bool   `json:"fips"`
}

// NodeResult is one node in the cluster report.
type NodeResult struct {
	Kind string `json:"kind"` // "node"
	Node
	Pool     string     `json:"pool,omitempty"`
	Declared []Declared `json:"declared,omitempty"`
	// Kernel is "fips", "not-fips", "unsupported" (no flag: the kernel
	// cannot do FIPS), or "" when the node did not report.
	Kernel string `json:"kernel,omitempty"`
	// Status: "fips", "not-fips", "unknown" (the report could not read
	// the flag), "stale" (the report is of another boot or machine),
	// "not-reported", "not-inspected".
	Status string `json:"status"`
	// Report is the report used (absent when there was none).
	Report *NodeReport `json:"report,omitempty"`
}

// Inputs are everything the node half reads.
type Inputs struct {
	Nodes          []Node
	Reports        map[string]NodeReport // by node name
	MachineConfigs []MachineConfig
	// InstallConfigFIPS is install-config's fips (nil: no
	// cluster-config-v1, or it does not say).
	InstallConfigFIPS *bool
	// AKSPools is enableFips by pool name, from az aks show.
	AKSPools map[string]bool
	// Now and MaxAge: a report older than MaxAge at Now is stale (MaxAge
	// 0: never by age).
	Now    time.Time
	MaxAge time.Duration
}

// EvaluateNodes decides each node's status and the node findings.
func EvaluateNodes(in Inputs) ([]NodeResult, []report.Finding) {
	var results []NodeResult
	var findings []report.Finding
	pools := map[string][]*NodeResult{}
	nodes := slices.Clone(in.Nodes)
	slices.SortFunc(nodes, func(a, b Node) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		r := NodeResult{Kind: "node", Node: n, Pool: poolOf(n)}
		r.Declared = declared(n, r.Pool, in)
		rep, reported := in.Reports[n.Name]
		switch {
		case isWindows(n):
			r.Status = "not-inspected"
			findings = append(findings, finding(IDNodeNotInspected, n.Name,
				fmt.Sprintf("Windows node %s is not inspected (%s); label %s=%q", n.Name, cmp.Or(n.OSImage, "Windows"), LabelAKSFIPS, n.Labels[LabelAKSFIPS])))
		case !reported:
			r.Status = "not-reported"
			findings = append(findings, finding(IDNodeNotReported, n.Name,
				fmt.Sprintf("node %s did not report: its FIPS posture is unknown", n.Name)))
		case rep.Err != "":
			r.Status = "not-reported"
			r.Report = &rep
			findings = append(findings, finding(IDNodeNotReported, n.Name,
				fmt.Sprintf("node %s: its report (%s) could not be read: %s", n.Name, rep.Origin, rep.Err)))
		default:
			r.Report = &rep
			if why := otherBoot(n, rep); why != "" {
				rep.Stale = why
				r.Status = "stale"
				findings = append(findings, finding(IDNodeReportStale, n.Name,
					fmt.Sprintf("node %s: its report (%s) is %s: it says nothing about the node now", n.Name, rep.Origin, why)))
				break
			}
			if age := in.Now.Sub(rep.GeneratedAt); in.MaxAge > 0 && !rep.GeneratedAt.IsZero() && age > in.MaxAge {
				rep.Stale = "older than --max-age"
				findings = append(findings, finding(IDNodeReportStale, n.Name,
					fmt.Sprintf("node %s: its report (%s) is %s old (--max-age %s): the kernel flag holds for this boot, the processes may have changed", n.Name, rep.Origin, roundAge(age), roundAge(in.MaxAge))))
			}
			switch rep.KernelFlag {
			case "1":
				r.Kernel, r.Status = "fips", "fips"
			case "absent":
				r.Kernel, r.Status = "unsupported", "not-fips"
			case "unreadable", "":
				r.Status = "unknown"
				findings = append(findings, finding(IDNodeNotReported, n.Name,
					fmt.Sprintf("node %s reported, but its scan could not read the kernel flag: its FIPS posture is unknown", n.Name)))
			default: // "0", or any other value the kernel may print
				r.Kernel, r.Status = "not-fips", "not-fips"
			}
		}
		if f, ok := conflict(n.Name, r.Declared); ok {
			findings = append(findings, f)
		}
		if r.Kernel != "" {
			for _, d := range r.Declared {
				if d.FIPS != (r.Kernel == "fips") {
					findings = append(findings, finding(IDNodeDeclaredMismatch, n.Name,
						fmt.Sprintf("node %s: %s says FIPS %s, but the kernel is %s", n.Name, d.describe(), onOff(d.FIPS), kernelWords(r.Kernel))))
					break
				}
			}
		}
		results = append(results, r)
	}
	for i := range results {
		if results[i].Pool != "" {
			pools[results[i].Pool] = append(pools[results[i].Pool], &results[i])
		}
	}
	for _, name := range sortedKeys(pools) {
		var fips, not []string
		for _, r := range pools[name] {
			switch r.Status {
			case "fips":
				fips = append(fips, r.Name)
			case "not-fips":
				not = append(not, r.Name)
			}
		}
		if len(fips) > 0 && len(not) > 0 {
			findings = append(findings, finding(IDClusterMixed, "pool "+name,
				fmt.Sprintf("pool %s mixes %d FIPS node(s) (%s) and %d non-FIPS node(s) (%s)", name, len(fips), strings.Join(fips, ", "), len(not), strings.Join(not, ", "))))
		}
	}
	return results, findings
}

// otherBoot says why a report is of another machine or boot than the
// node's current one ("" when it is not, or when either side does not
// say).
func otherBoot(n Node, rep NodeReport) string {
	switch {
	case rep.MachineID != "" && n.MachineID != "" && !strings.EqualFold(rep.MachineID, n.MachineID):
		return fmt.Sprintf("from another machine (machine-id %s; the node's is %s: replaced under the same name)", short(rep.MachineID), short(n.MachineID))
	case rep.BootID != "" && n.BootID != "" && !strings.EqualFold(rep.BootID, n.BootID):
		return fmt.Sprintf("from an earlier boot (boot id %s; the node's is %s: it rebooted since)", short(rep.BootID), short(n.BootID))
	}
	return ""
}

func short(id string) string { return id[:min(8, len(id))] }

// roundAge prints a duration the way a person says it: 11d13h, 1d, 24h
// is 1d, 5h12m, 6h, 40s.
func roundAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day:
		if h := (d % day) / time.Hour; h > 0 {
			return fmt.Sprintf("%dd%dh", d/day, h)
		}
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour:
		if m := (d % time.Hour) / time.Minute; m > 0 {
			return fmt.Sprintf("%dh%dm", d/time.Hour, m)
		}
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.Round(time.Second).String()
}

func (d Declared) describe() string {
	switch d.Source {
	case "label":
		return "label " + d.Name
	case "aks-pool":
		return "AKS pool " + d.Name + " enableFips"
	case "machineconfig":
		return "MachineConfig " + d.Name
	case "install-config":
		return "install-config (" + d.Name + ")"
	}
	return d.Source + " " + d.Name
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func kernelWords(k string) string {
	switch k {
	case "fips":
		return "in FIPS mode (fips_enabled=1)"
	case "not-fips":
		return "not in FIPS mode (fips_enabled=0)"
	}
	return "unable to run in FIPS mode (no /proc/sys/crypto/fips_enabled)"
}

// conflict reports declarations that disagree with each other.
func conflict(node string, ds []Declared) (report.Finding, bool) {
	for _, d := range ds[min(1, len(ds)):] {
		if d.FIPS != ds[0].FIPS {
			return finding(IDDeclaredConflict, node, fmt.Sprintf("node %s: %s says FIPS %s but %s says %s",
				node, ds[0].describe(), onOff(ds[0].FIPS), d.describe(), onOff(d.FIPS))), true
		}
	}
	return report.Finding{}, false
}

func finding(id, subject, msg string) report.Finding {
	for _, c := range Checks {
		if c.ID == id {
			return report.Finding{ID: id, Severity: c.Severity, Subject: subject, Message: msg, Citation: c.Citation, Remediation: c.Help}
		}
	}
	panic("cluster: finding id not in Checks: " + id)
}

func isWindows(n Node) bool {
	return strings.EqualFold(n.OS, "windows") || strings.EqualFold(n.Labels[LabelOS], "windows")
}

// poolOf is the node's pool: the AKS agent pool, else its OpenShift role
// (worker unless it is only a master/control-plane node).
func poolOf(n Node) string {
	if p := n.Labels[LabelAKSPool]; p != "" {
		return p
	}
	if p := n.Labels["agentpool"]; p != "" {
		return p
	}
	return roleOf(n)
}

func roleOf(n Node) string {
	var roles []string
	for k := range n.Labels {
		if r, ok := strings.CutPrefix(k, labelRolePref); ok && r != "" {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	// A custom pool (infra) is labelled worker too; prefer the custom one.
	for _, r := range roles {
		if r != "worker" && r != "master" && r != "control-plane" {
			return r
		}
	}
	for _, r := range []string{"worker", "master", "control-plane"} {
		if slices.Contains(roles, r) {
			if r == "control-plane" {
				return "master"
			}
			return r
		}
	}
	return ""
}

func declared(n Node, pool string, in Inputs) []Declared {
	var ds []Declared
	if v, ok := n.Labels[LabelAKSFIPS]; ok {
		ds = append(ds, Declared{Source: "label", Name: LabelAKSFIPS + "=" + v, FIPS: v == "true"})
	}
	if v, ok := in.AKSPools[pool]; ok && pool != "" {
		ds = append(ds, Declared{Source: "aks-pool", Name: pool, FIPS: v})
	}
	if mc, ok := renderedFor(roleOf(n), in.MachineConfigs); ok {
		ds = append(ds, Declared{Source: "machineconfig", Name: mc.Name, FIPS: mc.FIPS})
	}
	if in.InstallConfigFIPS != nil {
		ds = append(ds, Declared{Source: "install-config", Name: "kube-system/cluster-config-v1", FIPS: *in.InstallConfigFIPS})
	}
	return ds
}

// renderedFor picks the rendered-<pool>-* MachineConfig of a pool (the
// last by name when several exist: the pool's current one is not known
// without MachineConfigPool status).
func renderedFor(pool string, mcs []MachineConfig) (MachineConfig, bool) {
	if pool == "" {
		return MachineConfig{}, false
	}
	var best MachineConfig
	found := false
	for _, mc := range mcs {
		if strings.HasPrefix(mc.Name, "rendered-"+pool+"-") && (!found || mc.Name > best.Name) {
			best, found = mc, true
		}
	}
	return best, found
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// maxAKSShow bounds the az aks show document read.
const maxAKSShow = 16 << 20

// ParseAKSShow reads `az aks show -o json` and returns enableFips per
// agent pool (agentPoolProfiles[].name / .enableFips; a pool without the
// property is not FIPS, as az prints false or omits it).
func ParseAKSShow(b []byte) (map[string]bool, error) {
	if len(b) > maxAKSShow {
		return nil, fmt.Errorf("az aks show output is larger than %d MiB", maxAKSShow>>20)
	}
	var doc struct {
		Profiles []struct {
			Name       string `json:"name"`
			EnableFIPS *bool  `json:"enableFips"`
		} `json:"agentPoolProfiles"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not az aks show JSON: %w", err)
	}
	if doc.Profiles == nil {
		return nil, fmt.Errorf("no agentPoolProfiles: not the output of az aks show -o json")
	}
	pools := map[string]bool{}
	for _, p := range doc.Profiles {
		if p.Name == "" {
			continue
		}
		pools[p.Name] = p.EnableFIPS != nil && *p.EnableFIPS
	}
	return pools, nil
}

// NodeSummary counts nodes for a platform lead.
type NodeSummary struct {
	Nodes        int `json:"nodes"`
	FIPS         int `json:"fips"`
	NotFIPS      int `json:"not_fips"`
	Unknown      int `json:"unknown"`
	NotReported  int `json:"not_reported"`
	NotInspected int `json:"not_inspected"`
	Stale        int `json:"stale"`
	// DeclaredFIPS counts nodes some source declares FIPS.
	DeclaredFIPS int `json:"declared_fips"`
	Mismatched   int `json:"mismatched"`
}

// SummarizeNodes counts results and findings.
func SummarizeNodes(rs []NodeResult, fs []report.Finding) NodeSummary {
	var s NodeSummary
	for _, r := range rs {
		s.Nodes++
		switch r.Status {
		case "fips":
			s.FIPS++
		case "not-fips":
			s.NotFIPS++
		case "unknown":
			s.Unknown++
		case "not-reported":
			s.NotReported++
		case "not-inspected":
			s.NotInspected++
		case "stale":
			s.Stale++
		}
		if slices.ContainsFunc(r.Declared, func(d Declared) bool { return d.FIPS }) {
			s.DeclaredFIPS++
		}
	}
	for _, f := range fs {
		if f.ID == IDNodeDeclaredMismatch {
			s.Mismatched++
		}
	}
	return s
}

// Add adds o's counts (merged reports).
func (s *NodeSummary) Add(o NodeSummary) {
	s.Nodes += o.Nodes
	s.FIPS += o.FIPS
	s.NotFIPS += o.NotFIPS
	s.Unknown += o.Unknown
	s.NotReported += o.NotReported
	s.NotInspected += o.NotInspected
	s.Stale += o.Stale
	s.DeclaredFIPS += o.DeclaredFIPS
	s.Mismatched += o.Mismatched
}

// maxHostReport bounds one node's `kensa fips host` JSON report.
const maxHostReport = 64 << 20

// ParseHostReport reads one node's `kensa fips host --format json`
// report (the kensa/v1 envelope) into a NodeReport.
func ParseHostReport(b []byte) (NodeReport, error) {
	if len(b) > maxHostReport {
		return NodeReport{}, fmt.Errorf("host report larger than %d MiB", maxHostReport>>20)
	}
	var doc struct {
		Schema      string    `json:"schema"`
		Command     string    `json:"command"`
		GeneratedAt time.Time `json:"generated_at"`
		Results     []struct {
			Kind    string `json:"kind"`
			Host    string `json:"host"`
			Check   string `json:"check"`
			Status  string `json:"status"`
			Value   string `json:"value"`
			Verdict string `json:"verdict"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return NodeReport{}, fmt.Errorf("not a kensa JSON report: %w", err)
	}
	if doc.Command != "fips host" {
		return NodeReport{}, fmt.Errorf("a %q report, not fips host", doc.Command)
	}
	r := NodeReport{GeneratedAt: doc.GeneratedAt}
	flag := false
	for _, res := range doc.Results {
		if r.Host == "" {
			r.Host = res.Host
		}
		switch res.Kind {
		case "host-posture":
			if res.Check == "kernel-fips-flag" {
				// The value is "1: the kernel runs in FIPS mode", "0: …",
				// "absent: …" or "unreadable".
				v, _, _ := strings.Cut(res.Value, ":")
				r.KernelFlag, r.KernelStatus, flag = strings.TrimSpace(v), res.Status, true
			}
		case "process":
			r.Processes++
			if res.Verdict == "noncompliant" {
				r.Noncompliant++
			}
		}
	}
	if !flag {
		return NodeReport{}, fmt.Errorf("the fips host report has no kernel-fips-flag check")
	}
	return r, nil
}
