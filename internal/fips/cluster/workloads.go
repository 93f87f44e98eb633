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
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
)

// Finding ids of the workload half.
const (
	IDWorkloadImageNoncompliant = "workload-image-noncompliant"
	IDWorkloadProcessFIPSOff    = "workload-process-fips-off"
	IDWorkloadImageUnscannable  = "workload-image-unscannable"
)

// Workload statuses (WorkloadResult.Status and the summary's counts),
// best first.
const (
	WorkloadCompliant    = "compliant"
	WorkloadUnknown      = "unknown"
	WorkloadNoncompliant = "noncompliant"
)

func statusRank(s string) int {
	switch s {
	case WorkloadCompliant:
		return 1
	case WorkloadUnknown:
		return 2
	case WorkloadNoncompliant:
		return 3
	}
	return 0
}

// Owner is a Kubernetes object that owns pods: its kind (Deployment,
// StatefulSet, DaemonSet, CronJob, Job, ReplicaSet when the Deployment
// could not be read, a custom kind such as an operator's) and name. A pod
// nothing owns is its own owner (Kind "Pod").
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
	// controller up (ReplicaSet, Deployment), empty for a bare pod.
	Owner Owner   `json:"owner"`
	Chain []Owner `json:"chain,omitempty"`
	// FIPSDisabled is true when the pod carries CRI-O's opt-out label
	// FIPS_DISABLE=true (its containers are shown fips_enabled=0).
	FIPSDisabled bool        `json:"fips_disabled,omitempty"`
	Containers   []Container `json:"containers"`
	// PullSecrets are the names in spec.imagePullSecrets.
	PullSecrets []string `json:"pull_secrets,omitempty"`

	// keychain holds the credentials of PullSecrets, when the caller
	// allowed kensa to read them (PodOptions.PullSecrets).
	keychain authn.Keychain
}

// Workload names the pod's workload: "namespace/Kind/name".
func (p Pod) Workload() string { return p.Namespace + "/" + p.Owner.Kind + "/" + p.Owner.Name }

// PodOptions select the pods ListPods reads.
type PodOptions struct {
	// Namespace limits the pods to one namespace ("" is all).
	Namespace string
	// PullSecrets lets kensa read the pods' imagePullSecrets (Secrets of
	// type kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg) to
	// pull their images: it needs get on secrets in the pods'
	// namespaces, which the shipped ClusterRole does not grant
	// (deploy/kubernetes/pull-secrets-rbac.yaml does). A secret that
	// cannot be read or parsed is passed over: its images are then pulled
	// with the default keychain only, and fail as unscannable if that is
	// not enough.
	PullSecrets bool
}

// LabelArch is the node's architecture label the kubelet sets.
const LabelArch = "kubernetes.io/arch"

// LabelFIPSDisable is CRI-O's pod label that masks the kernel's FIPS
// flag in the pod's containers (live-posture reference §5.3).
const LabelFIPSDisable = "FIPS_DISABLE"

// ListPods lists the running pods (phase Running, or Pending with a
// container already running) bound to one of nodes, their containers'
// image digests and container ids, and resolves their owners through
// ownerReferences: ReplicaSet → its Deployment, Job → its CronJob; other
// owners (StatefulSet, DaemonSet, custom kinds) are named as the pod's
// reference names them. An owner that cannot be read (deleted, or not
// allowed) ends the chain where it is. nodes are the selected nodes
// (ListInputs with the node selector); pods elsewhere are left out.
func ListPods(ctx context.Context, api *API, nodes []Node, opts PodOptions) ([]Pod, error) {
	byName := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	res := &resolver{api: api, ctx: ctx, owners: map[string]*OwnerReference{},
		secrets: map[string]authn.Keychain{}, podKeychains: map[string]authn.Keychain{}}
	var pods []Pod
	var ownerErr error
	err := listAll(ctx, api, corePath(opts.Namespace, "pods", ""), nil, maxListPage, func(kp *apiPod) error {
		n, ok := byName[kp.Spec.NodeName]
		if !ok || !running(kp) {
			return nil
		}
		p := podOf(kp, n)
		if ownerErr = res.owner(&p, kp); ownerErr != nil {
			return ownerErr
		}
		if opts.PullSecrets && len(p.PullSecrets) > 0 {
			p.keychain = res.keychain(p.Namespace, p.PullSecrets)
		}
		pods = append(pods, p)
		return nil
	})
	if ownerErr != nil {
		return nil, ownerErr
	}
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	slices.SortFunc(pods, func(a, b Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return pods, nil
}

// running reports whether a pod has (or is about to have) running
// containers: finished pods run nothing.
func running(p *apiPod) bool {
	switch p.Status.Phase {
	case "Running":
		return true
	case "Pending":
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Running != nil {
				return true
			}
		}
	}
	return false
}

func podOf(kp *apiPod, n Node) Pod {
	p := Pod{Namespace: kp.Metadata.Namespace, Name: kp.Metadata.Name, UID: kp.Metadata.UID, Node: n.Name,
		Owner: Owner{Kind: "Pod", Name: kp.Metadata.Name}, FIPSDisabled: strings.EqualFold(kp.Metadata.Labels[LabelFIPSDisable], "true")}
	if arch := n.Labels[LabelArch]; arch != "" {
		p.Platform = cmp.Or(n.Labels[LabelOS], n.OS, "linux") + "/" + arch
	}
	for _, s := range kp.Spec.ImagePullSecrets {
		if s.Name != "" {
			p.PullSecrets = append(p.PullSecrets, s.Name)
		}
	}
	add := func(specs []apiContainer, statuses []apiContainerStatus, init bool) {
		st := map[string]apiContainerStatus{}
		for _, s := range statuses {
			st[s.Name] = s
		}
		for _, c := range specs {
			s := st[c.Name]
			ct := Container{Name: c.Name, Init: init, Image: c.Image, ImageID: s.ImageID, ContainerID: containerID(s.ContainerID)}
			ct.Ref, ct.Digest, ct.Unidentified = ParseImageID(s.ImageID, s.Image)
			p.Containers = append(p.Containers, ct)
		}
	}
	add(kp.Spec.InitContainers, kp.Status.InitContainerStatuses, true)
	add(kp.Spec.Containers, kp.Status.ContainerStatuses, false)
	return p
}

// containerID strips the runtime scheme of a status containerID
// ("containerd://<id>", "cri-o://<id>", "docker://<id>").
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		s = id
	}
	return strings.ToLower(s)
}

// resolver reads owners and pull secrets, each once.
type resolver struct {
	api *API
	ctx context.Context
	// owners caches the controller reference of a ReplicaSet or Job
	// ("ns/Kind/name" → nil when it has none or could not be read).
	owners       map[string]*OwnerReference
	secrets      map[string]authn.Keychain
	podKeychains map[string]authn.Keychain
}

// maxOwnerDepth bounds the ownerReference chain followed.
const maxOwnerDepth = 4

// owner fills p.Owner and p.Chain. Only API errors other than not found
// and forbidden stop the listing.
func (r *resolver) owner(p *Pod, kp *apiPod) error {
	ref := controllerOf(&kp.Metadata)
	for depth := 0; ref != nil && depth < maxOwnerDepth; depth++ {
		o := Owner{Kind: ref.Kind, Name: ref.Name}
		p.Chain = append(p.Chain, o)
		p.Owner = o
		next, err := r.parent(p.Namespace, ref)
		if err != nil {
			return err
		}
		ref = next
	}
	return nil
}

// parent reads the controller of a ReplicaSet or a Job; other kinds are
// the top of their chain.
func (r *resolver) parent(ns string, ref *OwnerReference) (*OwnerReference, error) {
	group, _, _ := strings.Cut(ref.APIVersion, "/")
	key := ns + "/" + ref.Kind + "/" + ref.Name
	if c, ok := r.owners[key]; ok {
		return c, nil
	}
	var path string
	switch {
	case ref.Kind == "ReplicaSet" && group == "apps":
		path = resourcePath("/apis/apps/v1", ns, "replicasets", ref.Name)
	case ref.Kind == "Job" && group == "batch":
		path = resourcePath("/apis/batch/v1", ns, "jobs", ref.Name)
	default:
		return nil, nil
	}
	var obj apiOwned
	err := r.api.get(r.ctx, path, &obj)
	var c *OwnerReference
	switch {
	case err == nil:
		// A ReplicaSet of a deleted Deployment, or a Job run by hand,
		// has no controller: it is the top.
		if cr := controllerOf(&obj.Metadata); cr != nil {
			cp := *cr
			c = &cp
		}
	case IsNotFound(err), IsForbidden(err):
	default:
		return nil, fmt.Errorf("get %s %s/%s: %w", strings.ToLower(ref.Kind), ns, ref.Name, err)
	}
	r.owners[key] = c
	return c, nil
}

// keychain returns the keychain of a pod's pull secrets (nil when none
// could be read).
func (r *resolver) keychain(ns string, names []string) authn.Keychain {
	// Pods of one workload name the same secrets: they share one
	// keychain, which ScanImages then tries once per image.
	podKey := ns + "\x00" + strings.Join(names, "\x00")
	if kc, ok := r.podKeychains[podKey]; ok {
		return kc
	}
	kc := r.secretsKeychain(ns, names)
	r.podKeychains[podKey] = kc
	return kc
}

func (r *resolver) secretsKeychain(ns string, names []string) authn.Keychain {
	var kcs []authn.Keychain
	for _, name := range names {
		key := ns + "/" + name
		kc, ok := r.secrets[key]
		if !ok {
			var s apiSecret
			err := r.api.get(r.ctx, corePath(ns, "secrets", name), &s)
			if err == nil {
				kc, _ = SecretKeychain(s.Type, s.Data)
			}
			r.secrets[key] = kc
		}
		if kc != nil {
			kcs = append(kcs, kc)
		}
	}
	if len(kcs) == 0 {
		return nil
	}
	return authn.NewMultiKeychain(kcs...)
}

// maxImageID bounds the image ids and references parsed.
const maxImageID = 4096

// ParseImageID reads a container status's imageID (and its image, the
// fallback when the imageID is a bare local id) into the repo@digest
// kensa scans. Shapes seen from the runtimes:
//
//	docker.io/library/nginx@sha256:<hex>            containerd, CRI-O
//	docker-pullable://nginx@sha256:<hex>            dockershim, cri-dockerd
//	docker://sha256:<hex>, sha256:<hex>             a local image id only
//	""                                              not started yet
//
// A local image id is the image's configuration digest, which no
// registry serves: the image is then unidentified, and why says so.
func ParseImageID(imageID, statusImage string) (ref, digest, why string) {
	id := strings.TrimSpace(imageID)
	if id == "" {
		return "", "", "the kubelet reports no image id (the container has not started)"
	}
	if len(id) > maxImageID {
		return "", "", "the image id is too long to be a reference"
	}
	if _, rest, ok := strings.Cut(id, "://"); ok {
		id = rest
	}
	if ref, digest, ok := repoDigest(id); ok {
		return ref, digest, ""
	}
	if len(statusImage) <= maxImageID {
		if ref, digest, ok := repoDigest(strings.TrimSpace(statusImage)); ok {
			return ref, digest, ""
		}
	}
	if validDigest(id) || validDigest("sha256:"+id) {
		return "", "", "the runtime reports only a local image id (" + shortDigest(id) + "), not a registry digest: the image was built or loaded on the node, or its registry digest was lost"
	}
	return "", "", fmt.Sprintf("the image id %q names no registry digest", report.Printable(id))
}

// repoDigest splits "repo@algo:hex" and checks both halves.
func repoDigest(s string) (ref, digest string, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 {
		return "", "", false
	}
	repo, digest := s[:i], s[i+1:]
	if !validDigest(digest) || !validRepo(repo) {
		return "", "", false
	}
	return repo + "@" + digest, digest, true
}

// validDigest accepts sha256 and sha512 digests in lowercase hex.
func validDigest(d string) bool {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	switch {
	case algo == "sha256" && len(hex) == 64, algo == "sha512" && len(hex) == 128:
	default:
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validRepo accepts what a registry reference's repository may hold
// (host[:port]/path, lowercase path components): the distribution
// reference grammar, simplified; go-containerregistry checks the rest
// when the image is opened.
func validRepo(r string) bool {
	if r == "" || strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") || strings.Contains(r, "//") {
		return false
	}
	for _, c := range r {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
		case strings.ContainsRune("._-/:[]", c):
		default:
			return false
		}
	}
	return true
}

func shortDigest(d string) string {
	if algo, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return algo + ":" + hex[:12] + "…"
	}
	if len(d) > 19 {
		return d[:19] + "…"
	}
	return d
}

// ImageKey identifies one scan: a digest on a platform.
type ImageKey struct {
	Digest   string
	Platform string
}

// ScanFunc scans one image reference: fips.ScanReference, or a caching
// scanner with the same contract (Err set when the reference could not
// be scanned whole).
type ScanFunc func(ctx context.Context, ref image.Reference, opts fips.Options, imgOpts image.Options) fips.RefScan

// ScanOptions say how the images are read.
type ScanOptions struct {
	FIPS fips.Options
	// Image is how registries are reached; Image.Keychain is the
	// default keychain (the command passes authn.DefaultKeychain: docker's
	// config and credential helpers), tried after a pod's pull secrets
	// where PodOptions.PullSecrets allowed them. Image.Platform is set
	// per image from its node's platform.
	Image image.Options
	// Concurrency bounds the images scanned at once (0: 2).
	Concurrency int
	// Scan scans one reference; nil means fips.ScanReference.
	Scan ScanFunc
	// Progress, if not nil, is called after each image with the count
	// done and the total (from the scanning goroutines, one at a time).
	Progress func(done, total int)
}

// MaxConcurrency bounds ScanOptions.Concurrency.
const MaxConcurrency = 32

// ImageResult is one distinct image (digest and platform) and what its
// scan found. Kind is "image".
type ImageResult struct {
	Kind     string `json:"kind"`
	Ref      string `json:"ref"` // repo@digest, the reference scanned
	Digest   string `json:"digest"`
	Platform string `json:"platform,omitempty"`
	// Verdict is the worst verdict of the image's files (fips scan's:
	// compliant, conditional, unknown, noncompliant, unreadable,
	// not-applicable), or "" when the image could not be scanned (Error
	// says why).
	Verdict fips.Verdict `json:"verdict,omitempty"`
	Error   string       `json:"error,omitempty"`
	// Crypto is the union of the files' backends, sorted.
	Crypto []string `json:"crypto"`
	// Files counts the files classified; Worst lists those that decide
	// the verdict when it is not compliant (at most maxWorstFiles, with
	// their first reason).
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
	Crypto  []string     `json:"crypto,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

const maxWorstFiles = 10

// imageGroup is one distinct image and who runs it.
type imageGroup struct {
	key        ImageKey
	refs       []string
	pods       int
	workloads  map[string]bool
	namespaces map[string]bool
	keychains  []authn.Keychain
}

// ScanImages scans each distinct image digest the pods run, once per
// platform, at most opts.Concurrency at a time; an image that fails or
// panics never stops the others (its result carries Error). When one
// digest is reported under several repositories (mirrors), each is tried
// in turn until one can be read. Containers whose image is unidentified
// are not scanned. Results are sorted by reference and platform.
func ScanImages(ctx context.Context, pods []Pod, opts ScanOptions) []ImageResult {
	groups := map[ImageKey]*imageGroup{}
	for _, p := range pods {
		seen := map[ImageKey]bool{}
		for _, c := range p.Containers {
			if c.Digest == "" || windows(p.Platform) {
				continue
			}
			k := ImageKey{Digest: c.Digest, Platform: p.Platform}
			g := groups[k]
			if g == nil {
				g = &imageGroup{key: k, workloads: map[string]bool{}, namespaces: map[string]bool{}}
				groups[k] = g
			}
			if !slices.Contains(g.refs, c.Ref) {
				g.refs = append(g.refs, c.Ref)
			}
			if !seen[k] {
				seen[k] = true
				g.pods++
				if p.keychain != nil && !slices.Contains(g.keychains, p.keychain) {
					g.keychains = append(g.keychains, p.keychain)
				}
			}
			g.workloads[p.Workload()] = true
			g.namespaces[p.Namespace] = true
		}
	}
	list := make([]*imageGroup, 0, len(groups))
	for _, g := range groups {
		slices.Sort(g.refs)
		list = append(list, g)
	}
	slices.SortFunc(list, func(a, b *imageGroup) int {
		return cmp.Or(cmp.Compare(a.refs[0], b.refs[0]), cmp.Compare(a.key.Platform, b.key.Platform))
	})

	n := opts.Concurrency
	if n <= 0 {
		n = 2
	}
	n = min(n, MaxConcurrency)
	out := make([]ImageResult, len(list))
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, g := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = scanGroup(ctx, g, opts)
			if opts.Progress != nil {
				mu.Lock()
				done++
				opts.Progress(done, len(list))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// scanGroup scans one distinct image, recovering from a panic.
func scanGroup(ctx context.Context, g *imageGroup, opts ScanOptions) (r ImageResult) {
	r = ImageResult{Kind: "image", Ref: g.refs[0], Digest: g.key.Digest, Platform: g.key.Platform,
		Pods: g.pods, Workloads: sortedKeys(g.workloads), Namespaces: sortedKeys(g.namespaces), Crypto: []string{}}
	defer func() {
		if p := recover(); p != nil {
			r.Verdict, r.Files, r.Worst, r.Crypto = "", 0, nil, []string{}
			r.Error = boundText(fmt.Sprintf("internal error: %v", p))
		}
	}()
	scan := opts.Scan
	if scan == nil {
		scan = func(ctx context.Context, ref image.Reference, o fips.Options, io image.Options) fips.RefScan {
			return fips.ScanReference(ctx, ref, o, io, nil)
		}
	}
	io := opts.Image
	io.Platform = g.key.Platform
	io.AllPlatforms = false
	if len(g.keychains) > 0 {
		kcs := slices.Clone(g.keychains)
		if io.Keychain != nil {
			kcs = append(kcs, io.Keychain)
		}
		io.Keychain = authn.NewMultiKeychain(kcs...)
	}
	var errs []string
	for _, ref := range g.refs {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err().Error())
			break
		}
		rs := scan(ctx, image.Reference{Scheme: image.SchemeRegistry, Value: ref}, opts.FIPS, io)
		if rs.Err != nil {
			errs = append(errs, rs.Err.Error())
			continue
		}
		r.Ref = ref
		fill(&r, rs.Results)
		return r
	}
	r.Error = boundText(strings.Join(errs, "; "))
	return r
}

// maxErrorText bounds an image's error as reported: a registry's error
// body is not kensa's to print whole.
const maxErrorText = 1024

func boundText(s string) string {
	s = report.Printable(s)
	if len(s) > maxErrorText {
		cut := maxErrorText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// fill sets an image's verdict, crypto and deciding files from its
// files' results.
func fill(r *ImageResult, results []fips.Result) {
	r.Verdict = fips.NotApplicable
	crypto := map[string]bool{}
	for _, fr := range results {
		r.Files++
		for _, c := range fr.Crypto {
			crypto[c] = true
		}
		if fr.Verdict.Rank() > r.Verdict.Rank() {
			r.Verdict = fr.Verdict
		}
	}
	r.Crypto = sortedKeys(crypto)
	if r.Verdict == fips.Compliant || r.Verdict == fips.NotApplicable {
		return
	}
	for _, fr := range results {
		if fr.Verdict != r.Verdict {
			continue
		}
		if len(r.Worst) == maxWorstFiles {
			break
		}
		w := WorstFile{Path: fr.Path, Verdict: fr.Verdict, Crypto: fr.Crypto}
		if len(fr.Reasons) > 0 {
			w.Reason = fr.Reasons[0]
		}
		r.Worst = append(r.Worst, w)
	}
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

// ParseHostProcesses reads the processes that run in a container (a
// container id or pod UID in their cgroup) from one node's `kensa fips
// host --format json` report, for WorkloadInputs.Processes. Bounded as
// ParseHostReport is; it checks the envelope the same way.
func ParseHostProcesses(b []byte) ([]HostProcess, error) {
	if len(b) > maxHostReport {
		return nil, fmt.Errorf("host report larger than %d MiB", maxHostReport>>20)
	}
	var doc struct {
		Command string `json:"command"`
		Results []struct {
			Kind        string            `json:"kind"`
			PID         int               `json:"pid"`
			Exe         string            `json:"exe"`
			ContainerID string            `json:"container_id"`
			PodUID      string            `json:"pod_uid"`
			Env         map[string]string `json:"env"`
			KernelFIPS  string            `json:"kernel_fips"`
			Verdict     string            `json:"verdict"`
			Reasons     []string          `json:"reasons"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("not a kensa JSON report: %w", err)
	}
	if doc.Command != "fips host" {
		return nil, fmt.Errorf("a %q report, not fips host", doc.Command)
	}
	var out []HostProcess
	for _, res := range doc.Results {
		if res.Kind != "process" || (res.ContainerID == "" && res.PodUID == "") {
			continue
		}
		p := HostProcess{ContainerID: strings.ToLower(res.ContainerID), PodUID: strings.ToLower(res.PodUID),
			ProcessSeen: ProcessSeen{PID: res.PID, Exe: res.Exe, Verdict: res.Verdict, Env: res.Env, KernelFIPS: res.KernelFIPS}}
		if len(res.Reasons) > 0 {
			p.Reason = res.Reasons[0]
		}
		out = append(out, p)
	}
	return out, nil
}

// WorkloadContainer is one container of a workload running one image
// (a rolling update shows the container twice, once per digest), over
// all its pods.
type WorkloadContainer struct {
	Name   string `json:"name"`
	Init   bool   `json:"init,omitempty"`
	Image  string `json:"image"`
	Ref    string `json:"ref,omitempty"`
	Digest string `json:"digest,omitempty"`
	// ImageVerdict is the scan's verdict ("" when not scanned).
	ImageVerdict fips.Verdict `json:"image_verdict,omitempty"`
	// Status is this container's status over the workload's pods:
	// compliant, noncompliant or unknown; Reason why, in a few words.
	Status string `json:"status"`
	Reason string `json:"reason"`
	// Processes seen in this container's instances by the nodes' reports
	// (at most maxProcesses).
	Processes []ProcessSeen `json:"processes,omitempty"`
}

const maxProcesses = 20

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

// Name is "namespace/Kind/name", the workload's subject in findings.
func (w WorkloadResult) Name() string { return w.Namespace + "/" + w.Owner.Kind + "/" + w.Owner.Name }

// WorkloadInputs are what EvaluateWorkloads reads.
type WorkloadInputs struct {
	Pods   []Pod
	Images []ImageResult
	// Nodes are the node results (EvaluateNodes): a node's Status says
	// whether its kernel is in FIPS mode, Declared whether it should be.
	Nodes []NodeResult
	// Processes are the container processes of each node's fips host
	// report (ParseHostProcesses), by node name.
	Processes map[string][]HostProcess
}

// instance is one container of one pod, decided.
type instance struct {
	status, reason string
	// id is the finding it raises ("" none); fipsNode whether its node
	// is (or is declared) in FIPS mode.
	id       string
	fipsNode bool
	node     string
	pod      string
	ref      string
	verdict  fips.Verdict
	procs    []ProcessSeen
}

// EvaluateWorkloads groups the pods into workloads, decides each
// container's and workload's status from its image verdict, its node's
// kernel and its live processes, and returns the workload findings: one
// per workload, container, image and problem, naming the nodes and pods.
//
// A container instance (one container of one pod) is:
//   - unknown when its image is unidentified or could not be scanned, or
//     its image's verdict is unknown or unreadable, or it is conditional
//     and its node's kernel is not known;
//   - noncompliant when its image is noncompliant, or conditional on a
//     node not in FIPS mode, or when a process of it runs with FIPS off
//     (the node report's verdict noncompliant) although the image is
//     compliant or conditional; CRI-O's FIPS_DISABLE=true label on a pod
//     whose image is conditional is FIPS off too (its containers are
//     shown fips_enabled=0);
//   - compliant otherwise.
//
// A workload's container is its worst instance; a workload its worst
// container.
func EvaluateWorkloads(in WorkloadInputs) ([]WorkloadResult, []report.Finding) {
	nodes := map[string]NodeResult{}
	for _, n := range in.Nodes {
		nodes[n.Name] = n
	}
	images := map[ImageKey]ImageResult{}
	for _, im := range in.Images {
		images[ImageKey{im.Digest, im.Platform}] = im
	}
	byContainer := map[string][]ProcessSeen{}
	byPod := map[string][]ProcessSeen{}
	for node, ps := range in.Processes {
		for _, p := range ps {
			switch {
			case p.ContainerID != "":
				k := node + "/" + strings.ToLower(p.ContainerID)
				byContainer[k] = append(byContainer[k], p.ProcessSeen)
			case p.PodUID != "":
				byPod[node+"/"+p.PodUID] = append(byPod[node+"/"+p.PodUID], p.ProcessSeen)
			}
		}
	}

	type ckey struct {
		init         bool
		name, digest string
		image        string
	}
	type wl struct {
		res   WorkloadResult
		pods  map[string]bool
		nodes map[string]bool
		cs    map[ckey][]instance
	}
	wls := map[string]*wl{}
	for _, p := range in.Pods {
		w := wls[p.Workload()]
		if w == nil {
			w = &wl{res: WorkloadResult{Kind: "workload", Namespace: p.Namespace, Owner: p.Owner},
				pods: map[string]bool{}, nodes: map[string]bool{}, cs: map[ckey][]instance{}}
			wls[p.Workload()] = w
		}
		w.pods[p.Name] = true
		w.nodes[p.Node] = true
		n, known := nodes[p.Node]
		for _, c := range p.Containers {
			var procs []ProcessSeen
			if c.ContainerID != "" {
				procs = byContainer[p.Node+"/"+c.ContainerID]
			}
			if len(procs) == 0 && len(p.Containers) == 1 {
				// A report that saw the pod but not the container id.
				procs = byPod[p.Node+"/"+p.UID]
			}
			var im *ImageResult
			if c.Digest != "" {
				if r, ok := images[ImageKey{c.Digest, p.Platform}]; ok {
					im = &r
				}
			}
			k := ckey{c.Init, c.Name, c.Digest, c.Image}
			w.cs[k] = append(w.cs[k], decide(p, c, im, n, known, procs))
		}
	}

	var results []WorkloadResult
	var findings []report.Finding
	for _, name := range sortedKeys(wls) {
		w := wls[name]
		r := w.res
		r.Pods, r.Nodes = sortedKeys(w.pods), sortedKeys(w.nodes)
		r.Status = WorkloadCompliant
		keys := make([]ckey, 0, len(w.cs))
		for k := range w.cs {
			keys = append(keys, k)
		}
		// Init containers first, as they run.
		slices.SortFunc(keys, func(a, b ckey) int {
			return cmp.Or(-cmp.Compare(boolInt(a.init), boolInt(b.init)), cmp.Compare(a.name, b.name),
				cmp.Compare(a.digest, b.digest), cmp.Compare(a.image, b.image))
		})
		for _, k := range keys {
			insts := w.cs[k]
			worst := insts[0]
			wc := WorkloadContainer{Name: k.name, Init: k.init, Image: k.image, Digest: k.digest}
			for _, it := range insts {
				if statusRank(it.status) > statusRank(worst.status) {
					worst = it
				}
				for _, pr := range it.procs {
					if len(wc.Processes) < maxProcesses {
						wc.Processes = append(wc.Processes, pr)
					}
				}
			}
			wc.Status, wc.Reason, wc.Ref, wc.ImageVerdict = worst.status, worst.reason, worst.ref, worst.verdict
			if statusRank(wc.Status) > statusRank(r.Status) {
				r.Status = wc.Status
			}
			r.Containers = append(r.Containers, wc)
			findings = append(findings, containerFindings(r, wc, insts)...)
		}
		results = append(results, r)
	}
	return results, findings
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func windows(platform string) bool { return strings.HasPrefix(strings.ToLower(platform), "windows/") }

// decide gives one container of one pod its status.
func decide(p Pod, c Container, im *ImageResult, n NodeResult, known bool, procs []ProcessSeen) instance {
	it := instance{node: p.Node, pod: p.Name, procs: procs, ref: c.Ref}
	kernel := ""
	if known {
		kernel = n.Status // fips, not-fips, unknown, not-reported, not-inspected
		it.fipsNode = n.Status == "fips" || slices.ContainsFunc(n.Declared, func(d Declared) bool { return d.FIPS })
	}
	switch {
	case windows(p.Platform):
		// kensa classifies ELF binaries: a Windows image's PE files would
		// all look free of crypto, a false pass.
		it.status, it.id = WorkloadUnknown, IDWorkloadImageUnscannable
		it.reason = "a Windows container on node " + p.Node + ": kensa classifies Linux (ELF) binaries only"
		return it
	case c.Digest == "":
		it.status, it.id = WorkloadUnknown, IDWorkloadImageUnscannable
		it.reason = "image not identifiable: " + c.Unidentified
		return it
	case im == nil:
		it.status, it.id = WorkloadUnknown, IDWorkloadImageUnscannable
		it.reason = "image not scanned"
		return it
	case im.Error != "":
		it.ref = im.Ref
		it.status, it.id = WorkloadUnknown, IDWorkloadImageUnscannable
		it.reason = "image could not be scanned: " + im.Error
		return it
	}
	it.ref, it.verdict = im.Ref, im.Verdict
	switch im.Verdict {
	case fips.Noncompliant:
		it.status, it.id = WorkloadNoncompliant, IDWorkloadImageNoncompliant
		it.reason = "image noncompliant" + worstSuffix(im)
		if len(procs) > 0 && !slices.ContainsFunc(procs, func(p ProcessSeen) bool { return p.Verdict != "compliant" }) {
			// Still noncompliant: what the image holds can be run.
			it.reason += fmt.Sprintf(" (the %s the node saw in it %s compliant: the noncompliant files may not be running now)",
				report.Plural(len(procs), "process", "processes"), report.Plural(len(procs), "is", "are"))
		}
		return it
	case fips.Unknown, fips.Unreadable:
		it.status, it.id = WorkloadUnknown, IDWorkloadImageUnscannable
		it.reason = "image " + string(im.Verdict) + worstSuffix(im)
		return it
	case fips.Conditional:
		switch kernel {
		case "fips":
			it.status, it.reason = WorkloadCompliant, "image conditional, node "+p.Node+" in FIPS mode"
		case "not-fips":
			it.status, it.id = WorkloadNoncompliant, IDWorkloadImageNoncompliant
			it.reason = "image compliant only on a FIPS kernel; node " + p.Node + " is not in FIPS mode" + worstSuffix(im)
			return it
		default:
			it.status = WorkloadUnknown
			it.reason = "image compliant only on a FIPS kernel; node " + p.Node + "'s kernel is not known"
			return it
		}
		if p.FIPSDisabled {
			it.status, it.id = WorkloadNoncompliant, IDWorkloadProcessFIPSOff
			it.reason = "pod label " + LabelFIPSDisable + "=true shows its containers fips_enabled=0, and the image needs the kernel flag"
			return it
		}
	default: // compliant, not-applicable
		it.status, it.reason = WorkloadCompliant, "image "+string(im.Verdict)
	}
	for _, pr := range procs {
		if pr.Verdict == "noncompliant" {
			it.status, it.id = WorkloadNoncompliant, IDWorkloadProcessFIPSOff
			it.reason = fmt.Sprintf("process %d (%s) runs with FIPS off: %s", pr.PID, cmp.Or(pr.Exe, "?"), cmp.Or(pr.Reason, "noncompliant in the node's report"))
			return it
		}
	}
	return it
}

func worstSuffix(im *ImageResult) string {
	if len(im.Worst) == 0 {
		return ""
	}
	w := im.Worst[0]
	s := ": " + w.Path
	if len(w.Crypto) > 0 {
		s += " (" + strings.Join(w.Crypto, ", ") + ")"
	}
	if w.Reason != "" {
		s += ", " + w.Reason
	}
	if n := len(im.Worst); n > 1 {
		s += fmt.Sprintf(" (and %s)", report.Count(n-1, "other file", "other files"))
	}
	return s
}

// containerFindings raises one finding per id over a container's
// instances, naming the pods and nodes that have it.
func containerFindings(w WorkloadResult, wc WorkloadContainer, insts []instance) []report.Finding {
	type group struct {
		first    instance
		pods     map[string]bool
		nodes    map[string]bool
		fipsNode bool
	}
	groups := map[string]*group{}
	for _, it := range insts {
		if it.id == "" {
			continue
		}
		g := groups[it.id]
		if g == nil {
			g = &group{first: it, pods: map[string]bool{}, nodes: map[string]bool{}}
			groups[it.id] = g
		}
		// The instance on a FIPS node speaks for the group.
		if it.fipsNode && !g.fipsNode {
			g.first = it
		}
		g.fipsNode = g.fipsNode || it.fipsNode
		g.pods[it.pod] = true
		g.nodes[it.node] = true
	}
	var out []report.Finding
	subject := w.Name() + " container " + wc.Name
	for _, id := range sortedKeys(groups) {
		g := groups[id]
		where := fmt.Sprintf("%s on %s %s", report.Count(len(g.pods), "pod", "pods"),
			report.Plural(len(g.nodes), "node", "nodes"), strings.Join(sortedKeys(g.nodes), ", "))
		img := cmp.Or(g.first.ref, wc.Image)
		f := finding(id, subject, fmt.Sprintf("%s runs %s, %s: %s", subject, img, where, g.first.reason))
		f.Image = g.first.ref
		if id == IDWorkloadImageNoncompliant && !g.fipsNode {
			f.Severity = report.Warning
			f.Message += " (no node it runs on is in FIPS mode or declared FIPS)"
		}
		out = append(out, f)
	}
	return out
}

// WorkloadCounts counts workloads by status.
type WorkloadCounts struct {
	Workloads    int `json:"workloads"`
	Compliant    int `json:"compliant"`
	Noncompliant int `json:"noncompliant"`
	Unknown      int `json:"unknown"`
}

// Add adds o's counts.
func (c *WorkloadCounts) Add(o WorkloadCounts) {
	c.Workloads += o.Workloads
	c.Compliant += o.Compliant
	c.Noncompliant += o.Noncompliant
	c.Unknown += o.Unknown
}

func (c *WorkloadCounts) count(status string) {
	c.Workloads++
	switch status {
	case WorkloadCompliant:
		c.Compliant++
	case WorkloadNoncompliant:
		c.Noncompliant++
	default:
		c.Unknown++
	}
}

// WorkloadSummary counts workloads for a platform lead, in all and per
// namespace, and the images behind them.
type WorkloadSummary struct {
	WorkloadCounts
	Namespaces map[string]WorkloadCounts `json:"namespaces"`
	// Images counts distinct images (digest and platform) scanned or
	// tried; Unscannable those that could not be read; ByVerdict the
	// others per verdict. Unidentified counts containers whose image has
	// no registry digest (never scanned).
	Images       int            `json:"images"`
	Unscannable  int            `json:"unscannable"`
	ByVerdict    map[string]int `json:"by_verdict"`
	Unidentified int            `json:"unidentified_containers"`
}

// SummarizeWorkloads counts workloads and images.
func SummarizeWorkloads(ws []WorkloadResult, images []ImageResult) WorkloadSummary {
	s := WorkloadSummary{Namespaces: map[string]WorkloadCounts{}, ByVerdict: map[string]int{}}
	for _, w := range ws {
		s.count(w.Status)
		c := s.Namespaces[w.Namespace]
		c.count(w.Status)
		s.Namespaces[w.Namespace] = c
		for _, wc := range w.Containers {
			if wc.Digest == "" {
				s.Unidentified++
			}
		}
	}
	for _, im := range images {
		s.Images++
		if im.Error != "" {
			s.Unscannable++
		} else {
			s.ByVerdict[string(im.Verdict)]++
		}
	}
	return s
}

// Add adds o's counts (merged reports).
func (s *WorkloadSummary) Add(o WorkloadSummary) {
	s.WorkloadCounts.Add(o.WorkloadCounts)
	s.Namespaces = report.AddEach(s.Namespaces, o.Namespaces)
	s.ByVerdict = report.AddCounts(s.ByVerdict, o.ByVerdict)
	s.Images += o.Images
	s.Unscannable += o.Unscannable
	s.Unidentified += o.Unidentified
}
