package cluster

// The workload half of `kensa fips cluster`.
//
// The model. A workload is what a platform team deploys: the top owner
// of a pod found through its ownerReferences (Pod → ReplicaSet →
// Deployment, Pod → StatefulSet, Pod → DaemonSet, Pod → Job → CronJob),
// or the pod itself when nothing owns it. Each running pod on a selected
// node contributes its containers (init containers included): the image
// digest the kubelet reports in status.containerStatuses[].imageID (the
// digest actually running, whatever tag the spec names) and the
// container id its runtime gave it.
//
// Every distinct digest (per platform: the node's os/architecture picks
// one image of an index) is scanned once, by repo@digest, with the same
// classifier as `kensa fips scan`; the verdict is attached to every
// container, pod, owner and namespace that runs it. A container whose
// runtime reports no registry digest (a "sha256:…" image id only, a
// locally built image) cannot be identified: it is "unknown", never a
// pass.
//
// The node's `kensa fips host` report then adds what the image cannot
// say: the processes running in that container (matched by container id,
// else by pod UID) with their start environment and the kernel flag as
// they see it. A compliant image whose process runs with FIPS switched
// off (GODEBUG=fips140=off, GOFIPS=0, a masked fips_enabled) is a
// finding of its own; a conditional image (compliant only when the host
// runs in FIPS mode) is decided by the node: compliant on a FIPS kernel,
// noncompliant on any other, unknown on a node that did not report.

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
	"k8s.io/client-go/rest"
)

// Finding ids of the workload half.
const (
	IDWorkloadImageNoncompliant = "workload-image-noncompliant"
	IDWorkloadProcessFIPSOff    = "workload-process-fips-off"
	IDWorkloadImageUnscannable  = "workload-image-unscannable"
)

// Workload statuses (WorkloadResult.Status and the summary's counts).
const (
	WorkloadCompliant    = "compliant"
	WorkloadNoncompliant = "noncompliant"
	WorkloadUnknown      = "unknown"
)

// Owner is a Kubernetes object that owns pods: its kind (Deployment,
// StatefulSet, DaemonSet, CronJob, Job, ReplicaSet when the Deployment
// could not be read, ...) and name. A pod nothing owns is its own owner
// (Kind "Pod").
type Owner struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Container is one container (or init container) of a running pod.
type Container struct {
	Name string `json:"name"`
	Init bool   `json:"init,omitempty"`
	// Image is the spec's image, as the user wrote it (a tag, usually).
	Image string `json:"image"`
	// ImageID is status.containerStatuses[].imageID as the kubelet
	// reported it ("docker-pullable://…", "repo@sha256:…", "sha256:…").
	ImageID string `json:"image_id,omitempty"`
	// Ref is the repo@digest kensa scans, Digest its digest; both empty
	// when the image cannot be identified (Unidentified says why).
	Ref          string `json:"ref,omitempty"`
	Digest       string `json:"digest,omitempty"`
	Unidentified string `json:"unidentified,omitempty"`
	// ContainerID is the runtime's id without its scheme (the 64 hex
	// digits `kensa fips host` reads from the process's cgroup).
	ContainerID string `json:"container_id,omitempty"`
}

// Pod is a running pod on a selected node.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Node      string `json:"node"`
	// Platform is the node's os/architecture ("linux/amd64"): the image
	// of an index this pod runs.
	Platform string `json:"platform,omitempty"`
	// Owner is the top owner; Chain the owners from the pod's own
	// controller up (ReplicaSet, Deployment).
	Owner Owner   `json:"owner"`
	Chain []Owner `json:"chain,omitempty"`
	// FIPSDisabled is true when the pod carries CRI-O's opt-out label
	// FIPS_DISABLE=true.
	FIPSDisabled bool        `json:"fips_disabled,omitempty"`
	Containers   []Container `json:"containers"`
	// PullSecrets are the names in spec.imagePullSecrets.
	PullSecrets []string `json:"pull_secrets,omitempty"`

	// keychain holds the credentials of PullSecrets, when the caller
	// allowed kensa to read them (PodOptions.PullSecrets).
	keychain authn.Keychain
}

// PodOptions select the pods ListPods reads.
type PodOptions struct {
	// Namespace limits the pods to one namespace ("" is all).
	Namespace string
	// PullSecrets lets kensa read the pods' imagePullSecrets (Secrets of
	// type kubernetes.io/dockerconfigjson or dockercfg) to pull their
	// images: it needs get on secrets in the pods' namespaces, which the
	// shipped ClusterRole does not grant (deploy/kubernetes/
	// pull-secrets-rbac.yaml does). A secret that cannot be read is
	// skipped: the image is then pulled with the default keychain only.
	PullSecrets bool
}

// ListPods lists the running pods (phase Running, or Pending with a
// container already running) bound to one of nodes, their containers'
// image digests and container ids, and resolves their owners through
// ownerReferences (an owner that cannot be read stops the chain where it
// is: the pod is then attributed to the last owner read). nodes are the
// selected nodes (ListInputs with the node selector); pods elsewhere are
// left out.
func ListPods(ctx context.Context, cfg *rest.Config, nodes []Node, opts PodOptions) ([]Pod, error) {
	return nil, fmt.Errorf("not implemented")
}

// ImageKey identifies one scan: a digest on a platform.
type ImageKey struct {
	Digest   string
	Platform string
}

// ScanFunc scans one image reference: fips.ScanReference, or a caching
// scanner with the same contract (never panics on its own input's
// behalf, Err set when the reference could not be scanned whole).
type ScanFunc func(ctx context.Context, ref image.Reference, opts fips.Options, imgOpts image.Options) fips.RefScan

// ScanOptions say how the images are read.
type ScanOptions struct {
	FIPS fips.Options
	// Image is how registries are reached; Image.Keychain is the
	// default keychain (the command passes authn.DefaultKeychain: docker's
	// config and credential helpers), merged with a pod's pull secrets
	// where PodOptions.PullSecrets allowed them. Image.Platform is set
	// per image from the node's platform.
	Image image.Options
	// Concurrency bounds the images scanned at once (0: 2).
	Concurrency int
	// Scan scans one reference; nil means fips.ScanReference.
	Scan ScanFunc
	// Progress, if not nil, is called after each image with the count
	// done and the total.
	Progress func(done, total int)
}

// ImageResult is one distinct image (digest and platform) and what its
// scan found. Kind is "image".
type ImageResult struct {
	Kind     string `json:"kind"`
	Ref      string `json:"ref"` // repo@digest, the reference scanned
	Digest   string `json:"digest"`
	Platform string `json:"platform,omitempty"`
	// Verdict is the worst verdict of the image's files (fips scan's
	// verdicts: compliant, conditional, unknown, noncompliant,
	// unreadable, not-applicable), or "" when the image could not be
	// scanned (Error says why).
	Verdict fips.Verdict `json:"verdict,omitempty"`
	Error   string       `json:"error,omitempty"`
	// Crypto is the union of the files' backends, sorted.
	Crypto []string `json:"crypto,omitempty"`
	// Files counts the ELF files classified; Worst lists the files that
	// decide the verdict (at most maxWorstFiles, with their first reason).
	Files int         `json:"files"`
	Worst []WorstFile `json:"worst,omitempty"`
	// Where it runs: pods, workloads ("ns/Kind/name") and namespaces.
	Pods       int      `json:"pods"`
	Workloads  []string `json:"workloads"`
	Namespaces []string `json:"namespaces"`
}

// WorstFile is a file of an image whose verdict is the image's.
type WorstFile struct {
	Path    string       `json:"path"`
	Verdict fips.Verdict `json:"verdict"`
	Reason  string       `json:"reason,omitempty"`
}

// ScanImages scans each distinct image digest the pods run, once per
// platform, at most opts.Concurrency at a time; one image that fails or
// panics never stops the others (its result carries Error). Containers
// whose image is unidentified are not scanned. Results are sorted by
// reference and platform; their Pods/Workloads/Namespaces say where
// each runs.
func ScanImages(ctx context.Context, pods []Pod, opts ScanOptions) []ImageResult {
	return nil
}

// ProcessSeen is one process of a container as the node's `kensa fips
// host` report saw it.
type ProcessSeen struct {
	PID     int    `json:"pid"`
	Exe     string `json:"exe,omitempty"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// Env is the FIPS switches of its start environment that were set.
	Env        map[string]string `json:"env,omitempty"`
	KernelFIPS string            `json:"kernel_fips,omitempty"`
}

// HostProcess is a process of a node's report that runs in a container.
type HostProcess struct {
	ProcessSeen
	ContainerID string
	PodUID      string
}

// WorkloadContainer is one container of a workload, over all its pods:
// the image it runs and the verdict it gets there.
type WorkloadContainer struct {
	Name   string `json:"name"`
	Init   bool   `json:"init,omitempty"`
	Image  string `json:"image"`
	Ref    string `json:"ref,omitempty"`
	Digest string `json:"digest,omitempty"`
	// ImageVerdict is the scan's verdict ("" when not scanned).
	ImageVerdict fips.Verdict `json:"image_verdict,omitempty"`
	// Status is this container's status over the workload's pods:
	// compliant, noncompliant or unknown.
	Status string `json:"status"`
	// Processes seen in this container's instances by the nodes' reports
	// (at most maxProcesses).
	Processes []ProcessSeen `json:"processes,omitempty"`
}

// WorkloadResult is one workload. Kind is "workload".
type WorkloadResult struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Owner     Owner  `json:"owner"`
	// Pods and Nodes it runs on, sorted.
	Pods       []string            `json:"pods"`
	Nodes      []string            `json:"nodes"`
	Containers []WorkloadContainer `json:"containers"`
	// Status is the worst of its containers': noncompliant, unknown,
	// compliant.
	Status string `json:"status"`
}

// WorkloadInputs are what EvaluateWorkloads reads.
type WorkloadInputs struct {
	Pods   []Pod
	Images []ImageResult
	// Nodes are the node results (EvaluateNodes): a node's Status says
	// whether its kernel is in FIPS mode.
	Nodes []NodeResult
	// Processes are the container processes of each node's fips host
	// report, by node name (NodeReport.ContainerProcesses).
	Processes map[string][]HostProcess
}

// EvaluateWorkloads groups the pods into workloads, decides each
// container's and workload's status from its image verdict, its node's
// kernel and its live processes, and returns the workload findings.
func EvaluateWorkloads(in WorkloadInputs) ([]WorkloadResult, []report.Finding) {
	return nil, nil
}

// WorkloadCounts counts workloads by status.
type WorkloadCounts struct {
	Workloads    int `json:"workloads"`
	Compliant    int `json:"compliant"`
	Noncompliant int `json:"noncompliant"`
	Unknown      int `json:"unknown"`
}

// WorkloadSummary counts workloads for a platform lead, in all and per
// namespace, and the images behind them.
type WorkloadSummary struct {
	WorkloadCounts
	Namespaces map[string]WorkloadCounts `json:"namespaces"`
	// Images counts distinct images (digest and platform); Unscannable
	// those that could not be scanned or identified; ByVerdict the
	// scanned ones per verdict.
	Images      int            `json:"images"`
	Unscannable int            `json:"unscannable"`
	ByVerdict   map[string]int `json:"by_verdict"`
}

// SummarizeWorkloads counts workloads and images.
func SummarizeWorkloads(ws []WorkloadResult, images []ImageResult) WorkloadSummary {
	return WorkloadSummary{}
}

// Add adds o's counts (merged reports).
func (s *WorkloadSummary) Add(o WorkloadSummary) {}
