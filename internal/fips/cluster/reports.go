package cluster

// Node reports: how each node's `kensa fips host` report reaches
// `kensa fips cluster`.
//
// The transport is a ConfigMap per node. The DaemonSet kensa-fips-host
// runs `kensa fips host --publish configmap --node $(NODE_NAME)` on every
// Linux node; the report is written, through the pod's own service
// account (a Role in namespace kensa that may only create and update
// ConfigMaps there), into the ConfigMap kensa-fips-host-<node> of
// namespace kensa:
//
//	labels       app.kubernetes.io/name=kensa
//	             app.kubernetes.io/component=fips-host-report
//	annotations  kensa-project.github.io/node          the node (downward API)
//	             kensa-project.github.io/boot-id       /proc/sys/kernel/random/boot_id
//	             kensa-project.github.io/machine-id    /etc/machine-id
//	             kensa-project.github.io/generated-at  RFC 3339
//	             kensa-project.github.io/omitted       process results left out to fit
//	data         report.json      the report as fips host --format json writes it
//	binaryData   report.json.gz   the same, gzip, when it does not fit plainly
//
// A ConfigMap holds at most 1 MiB (data and binaryData together), so a
// large report is compressed; when even that does not fit, the process
// results without crypto (verdict not-applicable) are left out and
// counted in the omitted annotation.
//
// Why ConfigMaps and not pod logs: logs need a kubelet to serve them (and
// pods/log rights for the reader), they vanish with the pod and carry no
// identity of the boot they describe; a ConfigMap is read with one list
// call, survives the pod, and records the boot and machine it came from,
// so `kensa fips cluster` can tell a report of the node's current boot
// from one left over (a reimaged machine under the same name, a node
// rebooted since). The cost is write access to ConfigMaps in one
// namespace for the node scan's service account.
//
// Reports gathered any other way (kubectl logs, a file copied off a node)
// are read from files with --node-reports and tied to their node by the
// host name in the report, else the file's name.

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/limitio"
	"github.com/kensa-project/kensa/internal/report"
)

// Names of the published reports.
const (
	DefaultNamespace   = "kensa"
	DaemonSetName      = "kensa-fips-host"
	ReportPrefix       = "kensa-fips-host-"
	ReportComponent    = "fips-host-report"
	AnnotationNode     = "kensa-project.github.io/node"
	AnnotationBootID   = "kensa-project.github.io/boot-id"
	AnnotationMachine  = "kensa-project.github.io/machine-id"
	AnnotationTime     = "kensa-project.github.io/generated-at"
	AnnotationOmitted  = "kensa-project.github.io/omitted"
	KeyReport          = "report.json"
	KeyReportGzip      = "report.json.gz"
	labelName          = "app.kubernetes.io/name"
	labelComponent     = "app.kubernetes.io/component"
	reportSelector     = labelName + "=kensa," + labelComponent + "=" + ReportComponent
	maxConfigMapBytes  = 1 << 20
	configMapReserve   = 8 << 10 // metadata (names, labels, annotations)
	maxNodeNameInName  = 253 - len(ReportPrefix)
	maxIdentifierBytes = 128
)

// ReportConfigMapName is the ConfigMap a node's report is published in:
// kensa-fips-host-<node>, or, for a node name too long to fit an object
// name, its first 200 characters and a hash of the whole name.
func ReportConfigMapName(node string) string {
	if len(node) <= maxNodeNameInName {
		return ReportPrefix + node
	}
	sum := sha256.Sum256([]byte(node))
	return ReportPrefix + strings.TrimRight(node[:200], ".-") + "-" + hex.EncodeToString(sum[:6])
}

// Publication is one node's report to publish.
type Publication struct {
	Node      string
	Namespace string
	// Report is the fips host JSON report.
	Report      []byte
	BootID      string
	MachineID   string
	GeneratedAt time.Time
	// NodeUID is the node object's uid: the ConfigMap is then owned by
	// the node (an ownerReference), and deleted with it. "" publishes
	// without an owner.
	NodeUID string
}

// HostIdentity reads the boot id (PROC/sys/kernel/random/boot_id) and the
// machine id (ROOT/etc/machine-id) of the host a report describes; either
// is "" when it cannot be read.
func HostIdentity(root, proc string) (bootID, machineID string) {
	read := func(p string) string {
		f, err := os.Open(p)
		if err != nil {
			return ""
		}
		defer f.Close()
		b, _ := io.ReadAll(io.LimitReader(f, maxIdentifierBytes))
		return identifier(string(b))
	}
	return read(filepath.Join(proc, "sys", "kernel", "random", "boot_id")), read(filepath.Join(root, "etc", "machine-id"))
}

// identifier keeps an id only when it looks like one (hex and dashes).
func identifier(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '-') {
			return ""
		}
	}
	return strings.ToLower(s)
}

// ReportConfigMap builds the ConfigMap of a publication: the report
// plainly when it fits, gzip when it does not, and without the process
// results that have no crypto when even that does not fit.
func ReportConfigMap(p Publication) (*ConfigMap, error) {
	if p.Node == "" {
		return nil, errors.New("no node name to publish the report under")
	}
	ns := cmp.Or(p.Namespace, DefaultNamespace)
	cm := &ConfigMap{APIVersion: "v1", Kind: "ConfigMap",
		ObjectMeta: ObjectMeta{
			Name: ReportConfigMapName(p.Node), Namespace: ns,
			Labels: map[string]string{labelName: "kensa", labelComponent: ReportComponent},
			Annotations: map[string]string{
				AnnotationNode: p.Node,
				AnnotationTime: p.GeneratedAt.UTC().Format(time.RFC3339),
			},
		},
	}
	if p.NodeUID != "" {
		// Kubernetes' garbage collector deletes the report with its node.
		cm.OwnerReferences = []OwnerReference{{APIVersion: "v1", Kind: "Node", Name: p.Node, UID: p.NodeUID}}
	}
	if p.BootID != "" {
		cm.Annotations[AnnotationBootID] = p.BootID
	}
	if p.MachineID != "" {
		cm.Annotations[AnnotationMachine] = p.MachineID
	}
	limit := maxConfigMapBytes - configMapReserve
	if len(p.Report) <= limit {
		cm.Data = map[string]string{KeyReport: string(p.Report)}
		return cm, nil
	}
	gz, err := gzipBytes(p.Report)
	if err != nil {
		return nil, err
	}
	if len(gz) > limit {
		slim, omitted, err := withoutInertProcesses(p.Report)
		if err != nil {
			return nil, err
		}
		if gz, err = gzipBytes(slim); err != nil {
			return nil, err
		}
		if len(gz) > limit {
			return nil, fmt.Errorf("the report of node %s is %d KiB compressed even without the %d processes that use no crypto: more than a ConfigMap holds (1 MiB)", p.Node, len(gz)>>10, omitted)
		}
		cm.Annotations[AnnotationOmitted] = strconv.Itoa(omitted)
	}
	cm.BinaryData = map[string][]byte{KeyReportGzip: gz}
	return cm, nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// withoutInertProcesses drops the process results whose verdict is
// not-applicable (no crypto) from a report, keeping everything else as
// it was.
func withoutInertProcesses(b []byte) ([]byte, int, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, 0, fmt.Errorf("not a JSON report: %w", err)
	}
	var results []json.RawMessage
	if err := json.Unmarshal(doc["results"], &results); err != nil {
		return nil, 0, fmt.Errorf("report results: %w", err)
	}
	kept := results[:0]
	omitted := 0
	for _, r := range results {
		var head struct{ Kind, Verdict string }
		if json.Unmarshal(r, &head) == nil && head.Kind == "process" && head.Verdict == "not-applicable" {
			omitted++
			continue
		}
		kept = append(kept, r)
	}
	out, err := json.Marshal(kept)
	if err != nil {
		return nil, 0, err
	}
	doc["results"] = out
	b, err = json.Marshal(doc)
	return b, omitted, err
}

// Published says where Publish wrote a report and whether the ConfigMap
// is owned by its node.
type Published struct {
	// Where is the ConfigMap's namespace/name.
	Where string
	// NodeErr is why the node could not be read (its uid is needed for
	// the ownerReference): the report is then published without an
	// owner, and outlives its node until deleted by hand.
	NodeErr error
}

// Publish writes a node's report into its ConfigMap (created, or replaced
// when it exists). The node is read first: its uid makes the ConfigMap
// owned by the node, so that Kubernetes' garbage collector deletes the
// report when the node is deleted. A node that cannot be read (not
// allowed, gone) does not stop the publication: Published.NodeErr says
// why the ConfigMap has no owner.
func Publish(ctx context.Context, api *API, p Publication) (Published, error) {
	var out Published
	if p.Node != "" && p.NodeUID == "" {
		var n apiNode
		if err := api.get(ctx, corePath("", "nodes", p.Node), &n); err != nil {
			out.NodeErr = fmt.Errorf("get node %s: %w", p.Node, err)
		} else {
			p.NodeUID = n.Metadata.UID
		}
	}
	cm, err := ReportConfigMap(p)
	if err != nil {
		return out, err
	}
	out.Where = cm.Namespace + "/" + cm.Name
	const fieldManager = "kensa"
	q := url.Values{"fieldManager": {fieldManager}}
	write := func() error {
		err := api.call(ctx, http.MethodPost, corePath(cm.Namespace, "configmaps", ""), q, cm, nil)
		if IsAlreadyExists(err) {
			// Replaced whole (an unconditional update): the scan of
			// this node is the only writer.
			err = api.call(ctx, http.MethodPut, corePath(cm.Namespace, "configmaps", cm.Name), q, cm, nil)
		}
		return err
	}
	err = write()
	if IsForbidden(err) && len(cm.OwnerReferences) > 0 {
		// Where the admission plugin OwnerReferencesPermissionEnforcement
		// runs (OpenShift), an update that changes the owners needs
		// delete on the ConfigMap, which the writer role does not grant
		// (a create may set them): a report published earlier without
		// an owner is replaced without one rather than not at all.
		cm.OwnerReferences = nil
		if err = write(); err == nil {
			out.NodeErr = errors.New("the API server refused to add the owner to the report published earlier without one (OwnerReferencesPermissionEnforcement: changing owners needs delete on configmaps)")
		}
	}
	if err != nil {
		return out, fmt.Errorf("configmap %s: %w", out.Where, err)
	}
	return out, nil
}

// Collected is one node report found: the node it is for ("" for a file
// until TieFiles names it) and what it says.
type Collected struct {
	Node string
	// OwnerUID is the uid of the node that owns a published ConfigMap
	// ("" when it has no owner, or for a file).
	OwnerUID string
	NodeReport
}

// DaemonSetState says whether the node scan is deployed.
type DaemonSetState string

// States of the DaemonSet.
const (
	DaemonSetPresent DaemonSetState = "present"
	DaemonSetAbsent  DaemonSetState = "absent"
	// DaemonSetUnknown: the DaemonSet could not be read (forbidden).
	DaemonSetUnknown DaemonSetState = "unknown"
)

// ListReports reads the published reports of namespace ns (every
// ConfigMap labelled as a fips host report) and whether the DaemonSet
// kensa-fips-host exists there (unknown when reading it is forbidden). A
// ConfigMap whose report cannot be read is returned with Err set; a
// ConfigMap list that fails (forbidden included) is an error.
func ListReports(ctx context.Context, api *API, ns string) ([]Collected, DaemonSetState, error) {
	state := DaemonSetPresent
	var ds apiOwned
	if err := api.get(ctx, resourcePath("/apis/apps/v1", ns, "daemonsets", DaemonSetName), &ds); err != nil {
		switch {
		case IsNotFound(err):
			state = DaemonSetAbsent
		case IsForbidden(err):
			state = DaemonSetUnknown
		default:
			return nil, DaemonSetUnknown, fmt.Errorf("get daemonset %s/%s: %w", ns, DaemonSetName, err)
		}
	}
	var out []Collected
	err := listAll(ctx, api, corePath(ns, "configmaps", ""), url.Values{"labelSelector": {reportSelector}}, reportListPage, func(cm *ConfigMap) error {
		out = append(out, ParseReportConfigMap(cm))
		return nil
	})
	if err != nil {
		return out, state, fmt.Errorf("list configmaps in %s: %w", ns, err)
	}
	return out, state, nil
}

// ParseReportConfigMap reads one published report. Problems are in Err.
func ParseReportConfigMap(cm *ConfigMap) Collected {
	c := Collected{NodeReport: NodeReport{Origin: "configmap " + cm.Namespace + "/" + cm.Name}}
	for _, o := range cm.OwnerReferences {
		if o.APIVersion == "v1" && o.Kind == "Node" {
			c.OwnerUID = o.UID
		}
	}
	a := cm.Annotations
	c.Node = a[AnnotationNode]
	c.BootID, c.MachineID = identifier(a[AnnotationBootID]), identifier(a[AnnotationMachine])
	c.Omitted, _ = strconv.Atoi(a[AnnotationOmitted])
	if c.Node == "" || ReportConfigMapName(c.Node) != cm.Name {
		c.Err = fmt.Sprintf("its %s annotation %q does not name the node its name says", AnnotationNode, c.Node)
		c.Node = strings.TrimPrefix(cm.Name, ReportPrefix)
		return c
	}
	var raw []byte
	switch {
	case cm.Data[KeyReport] != "":
		raw = []byte(cm.Data[KeyReport])
	case len(cm.BinaryData[KeyReportGzip]) > 0:
		b, err := gunzipLimited(cm.BinaryData[KeyReportGzip], maxHostReport)
		if err != nil {
			c.Err = err.Error()
			return c
		}
		raw = b
	default:
		c.Err = "it holds no " + KeyReport + " or " + KeyReportGzip
		return c
	}
	c.fill(raw)
	if t, err := time.Parse(time.RFC3339, a[AnnotationTime]); err == nil && c.GeneratedAt.IsZero() {
		c.GeneratedAt = t
	}
	return c
}

func (c *Collected) fill(raw []byte) {
	raw = lastDocument(raw)
	r, err := ParseHostReport(raw)
	if err != nil {
		c.Err = err.Error()
		return
	}
	r.Origin, r.BootID, r.MachineID, r.Omitted = c.Origin, c.BootID, c.MachineID, c.Omitted
	// The envelope was checked by ParseHostReport: an error here leaves
	// no container processes, which the workload half treats as unseen.
	r.Containers, _ = ParseHostProcesses(raw)
	c.NodeReport = r
}

// lastDocument returns the last JSON value of a stream of them (the log
// of a scan that ran several rounds, kubectl logs of the DaemonSet's
// container), or b unchanged when it holds one value or is not JSON.
func lastDocument(b []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(b))
	var last json.RawMessage
	n := 0
	for {
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		last, n = v, n+1
	}
	if n < 2 {
		return b
	}
	return last
}

// gunzipLimited decompresses at most limit bytes (a bomb is an error).
func gunzipLimited(b []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyReportGzip, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeyReportGzip, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%s decompresses to more than %d MiB", KeyReportGzip, limit>>20)
	}
	return out, nil
}

// ReadReportFiles reads node reports from files and directories (every
// *.json and *.json.gz file directly in a directory). An unreadable path
// is an error; a file that is not a fips host report is returned with Err.
func ReadReportFiles(paths []string) ([]Collected, error) {
	var out []Collected
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return out, err
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			ents, err := os.ReadDir(p)
			if err != nil {
				return out, err
			}
			for _, e := range ents {
				if !e.IsDir() && (strings.HasSuffix(e.Name(), ".json") || strings.HasSuffix(e.Name(), ".json.gz")) {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
			if len(files) == 0 {
				return out, fmt.Errorf("%s: no *.json report in the directory", p)
			}
		}
		for _, f := range files {
			c := Collected{NodeReport: NodeReport{Origin: f}}
			b, err := limitio.ReadFile(f, maxHostReport, "a kensa host report")
			if err != nil {
				return out, err
			}
			if strings.HasSuffix(f, ".gz") {
				if b, err = gunzipLimited(b, maxHostReport); err != nil {
					c.Err = err.Error()
					out = append(out, c)
					continue
				}
			}
			c.fill(b)
			out = append(out, c)
		}
	}
	return out, nil
}

// TieFiles names the node of each report read from a file: the node
// whose name is the file's name without .json/.json.gz (the user named
// it), else the one whose name is the report's host name, else the only
// node whose first DNS label is the host name's first label. A report
// tied to no node keeps Node "".
func TieFiles(cs []Collected, nodes []Node) {
	names := map[string]bool{}
	short := map[string][]string{}
	for _, n := range nodes {
		names[n.Name] = true
		s, _, _ := strings.Cut(n.Name, ".")
		short[s] = append(short[s], n.Name)
	}
	for i := range cs {
		c := &cs[i]
		if c.Node != "" {
			continue
		}
		stem := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(c.Origin), ".gz"), ".json")
		hs, _, _ := strings.Cut(c.Host, ".")
		switch {
		case names[stem]:
			c.Node = stem
		case c.Host != "" && names[c.Host]:
			c.Node = c.Host
		case hs != "" && len(short[hs]) == 1:
			c.Node = short[hs][0]
		}
	}
}

// ContainerProcesses are the container processes of each node's report,
// for WorkloadInputs.Processes: reports that could not be read or are of
// another boot or machine give none.
func ContainerProcesses(nodes []NodeResult) map[string][]HostProcess {
	out := map[string][]HostProcess{}
	for _, n := range nodes {
		if n.Report != nil && n.Report.Err == "" && n.Status != "stale" {
			out[n.Name] = n.Report.Containers
		}
	}
	return out
}

// AttachReports picks each node's report: a file given by the user over a
// published ConfigMap, and the newest of several of one kind. It returns
// the reports by node (for Inputs.Reports) and the files tied to no node
// of nodes.
func AttachReports(published, files []Collected, nodes []Node) (map[string]NodeReport, []Collected) {
	TieFiles(files, nodes)
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
	}
	by := map[string]NodeReport{}
	var unmatched []Collected
	pick := func(cs []Collected, override bool) {
		fromHere := map[string]bool{}
		for _, c := range cs {
			if !known[c.Node] {
				if !override {
					continue // a ConfigMap of a node not selected, or gone
				}
				unmatched = append(unmatched, c)
				continue
			}
			old, ok := by[c.Node]
			switch {
			case !ok, override && !fromHere[c.Node]:
				by[c.Node] = c.NodeReport
			case c.Err == "" && (old.Err != "" || c.GeneratedAt.After(old.GeneratedAt)):
				by[c.Node] = c.NodeReport
			}
			fromHere[c.Node] = true
		}
	}
	pick(published, false)
	pick(files, true)
	slices.SortFunc(unmatched, func(a, b Collected) int { return cmp.Compare(a.Origin, b.Origin) })
	return by, unmatched
}

// GoneNodeReports returns the published reports whose node no longer
// exists. nodes are the nodes listed; when they were all listed (no node
// selector) a report of none of them is of a node that is gone, else each
// such node is read by name and only a node the API server says does not
// exist counts as gone (a node merely not selected, or one that cannot be
// read, is neither said nor counted). Reports that could not be parsed
// are left to their own finding.
func GoneNodeReports(ctx context.Context, api *API, published []Collected, nodes []Node, allListed bool) ([]Collected, error) {
	known := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		known[n.Name] = true
	}
	var gone []Collected
	for _, c := range published {
		if known[c.Node] || c.Node == "" {
			continue
		}
		if !allListed {
			var n apiNode
			err := api.get(ctx, corePath("", "nodes", c.Node), &n)
			if ctx.Err() != nil {
				return gone, ctx.Err()
			}
			if !IsNotFound(err) {
				continue
			}
		}
		gone = append(gone, c)
	}
	slices.SortFunc(gone, func(a, b Collected) int { return cmp.Compare(a.Origin, b.Origin) })
	return gone, nil
}

// GoneNodeFindings say each report of a node that no longer exists
// (GoneNodeReports): not counted, and whether Kubernetes deletes it.
func GoneNodeFindings(gone []Collected) []report.Finding {
	var fs []report.Finding
	for _, c := range gone {
		msg := fmt.Sprintf("%s: a report of node %s, which no longer exists; not counted", c.Origin, c.Node)
		if c.OwnerUID != "" {
			msg += " (it is owned by the node: Kubernetes' garbage collector deletes it)"
		} else {
			msg += " (published without an owner, it stays until deleted)"
		}
		fs = append(fs, finding(IDNodeReportOrphaned, c.Origin, msg))
	}
	return fs
}

// CoverageFindings are the findings about the node reports as a whole:
// the DaemonSet not deployed (when no report was found either), and each
// report file tied to no selected node.
func CoverageFindings(state DaemonSetState, ns string, unmatched []Collected, reports int) []report.Finding {
	var fs []report.Finding
	if state == DaemonSetAbsent {
		msg := fmt.Sprintf("daemonset %s/%s does not exist: nodes are not scanned, their reports are not published", ns, DaemonSetName)
		if reports > 0 {
			msg += fmt.Sprintf(" (%s found from earlier runs or files)", report.Count(reports, "report was", "reports were"))
		}
		fs = append(fs, finding(IDNodeScanNotDeployed, "daemonset "+ns+"/"+DaemonSetName, msg))
	}
	for _, c := range unmatched {
		msg := fmt.Sprintf("%s: the report of host %q belongs to no selected node", c.Origin, c.Host)
		if c.Err != "" {
			msg = fmt.Sprintf("%s: not a fips host report: %s", c.Origin, c.Err)
		}
		fs = append(fs, finding(IDNodeReportUnmatched, c.Origin, msg))
	}
	return fs
}
