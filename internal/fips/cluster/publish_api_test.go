package cluster

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
)

// publishServer starts an API server with the shipped namespace and RBAC,
// the node scan's service account (token host-token) and the reader's
// (sa-token), and a node node-a; it returns the server, both APIs and
// node-a's uid.
func publishServer(t *testing.T, plugins ...string) (cp *clustertest.ControlPlane, host, reader *API, uid string) {
	t.Helper()
	cp = clustertest.Start(t, clustertest.Options{AdmissionPlugins: plugins, Tokens: map[string]string{
		"host-token": "system:serviceaccount:kensa:kensa-fips-host",
		"sa-token":   "system:serviceaccount:kensa:kensa",
	}})
	for _, f := range []string{"namespace.yaml", "rbac.yaml"} {
		if out, err := cp.Kubectl(t, "", "apply", "--server-side", "-f", filepath.Join("..", "..", "..", "deploy", "kubernetes", f)); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	if out, err := cp.Kubectl(t, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-a"}}`, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := cp.Kubectl(t, "", "get", "node", "node-a", "-o", "jsonpath={.metadata.uid}")
	if err != nil || len(out) == 0 {
		t.Fatalf("node-a's uid: %v %s", err, out)
	}
	if host, err = Config(cp.WriteKubeconfig(t, "host", "host-token"), ""); err != nil {
		t.Fatal(err)
	}
	if reader, err = Config(cp.WriteKubeconfig(t, "sa", "sa-token"), ""); err != nil {
		t.Fatal(err)
	}
	return cp, host, reader, string(out)
}

// ownersOf reads the ownerReferences of the ConfigMap of node's report.
func ownersOf(t *testing.T, cp *clustertest.ControlPlane, node string) []OwnerReference {
	t.Helper()
	b, err := cp.Kubectl(t, "", "get", "configmap", "-n", "kensa", ReportConfigMapName(node), "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	var cm ConfigMap
	if err := json.Unmarshal(b, &cm); err != nil {
		t.Fatal(err)
	}
	return cm.OwnerReferences
}

// TestPublishOwnerAPIServer: with the shipped RBAC, the node scan's
// service account publishes its node's report owned by the node (the
// reference the garbage collector follows: v1 Node, name, uid); a node
// that does not exist gives a report without owner and says why; fips
// cluster's side says (and does not count) the reports of nodes that no
// longer exist, whether the garbage collector will delete them, and
// leaves alone those of nodes merely not selected.
func TestPublishOwnerAPIServer(t *testing.T) {
	cp, host, reader, uid := publishServer(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	pub := func(node string) Published { t.Helper(); return publishAt(t, ctx, host, node, at) }
	if p := pub("node-a"); p.NodeErr != nil || p.Where != "kensa/kensa-fips-host-node-a" {
		t.Errorf("publish node-a: %+v", p)
	}
	want := OwnerReference{APIVersion: "v1", Kind: "Node", Name: "node-a", UID: uid}
	if got := ownersOf(t, cp, "node-a"); len(got) != 1 || got[0].APIVersion != want.APIVersion || got[0].Kind != want.Kind ||
		got[0].Name != want.Name || got[0].UID != want.UID || got[0].Controller != nil {
		t.Errorf("node-a's report owners %+v, want [%+v]", got, want)
	}
	// Published again (the update path): still owned.
	pub("node-a")
	if got := ownersOf(t, cp, "node-a"); len(got) != 1 || got[0].UID != uid {
		t.Errorf("node-a's report owners after an update %+v", got)
	}

	p := pub("node-gone")
	if !IsNotFound(p.NodeErr) {
		t.Errorf("publish for a node that does not exist: NodeErr %v, want not found", p.NodeErr)
	}
	if got := ownersOf(t, cp, "node-gone"); len(got) != 0 {
		t.Errorf("node-gone's report owners %+v, want none", got)
	}

	in, err := ListInputs(ctx, reader, "")
	if err != nil {
		t.Fatal(err)
	}
	published, _, err := ListReports(ctx, reader, "kensa")
	if err != nil || len(published) != 2 {
		t.Fatalf("ListReports: %d, %v", len(published), err)
	}
	gone, err := GoneNodeReports(ctx, reader, published, in.Nodes, true)
	if err != nil || len(gone) != 1 || gone[0].Node != "node-gone" {
		t.Fatalf("gone reports %+v, %v; want node-gone's", gone, err)
	}
	fs := GoneNodeFindings(gone)
	if len(fs) != 1 || fs[0].ID != IDNodeReportOrphaned || !strings.Contains(fs[0].Message, "stays until deleted") {
		t.Errorf("findings %+v", fs)
	}
	by, _ := AttachReports(published, nil, in.Nodes)
	if _, ok := by["node-gone"]; ok || len(by) != 1 {
		t.Errorf("reports counted %v, want node-a's only", by)
	}

	// A node selector that leaves node-a out: its report is not said
	// (node-a exists), node-gone's is.
	gone, err = GoneNodeReports(ctx, reader, published, nil, false)
	if err != nil || len(gone) != 1 || gone[0].Node != "node-gone" {
		t.Errorf("gone reports with a selector %+v, %v; want node-gone's", gone, err)
	}

	// node-a deleted (no garbage collector runs here): its report is
	// said, as owned by the node.
	if out, err := cp.Kubectl(t, "", "delete", "node", "node-a"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	in, err = ListInputs(ctx, reader, "")
	if err != nil {
		t.Fatal(err)
	}
	gone, err = GoneNodeReports(ctx, reader, published, in.Nodes, false)
	if err != nil || len(gone) != 2 || gone[0].Node != "node-a" || gone[0].OwnerUID != uid {
		t.Fatalf("gone reports after deleting node-a %+v, %v", gone, err)
	}
	if fs := GoneNodeFindings(gone); !strings.Contains(fs[0].Message, "garbage collector deletes it") {
		t.Errorf("finding for node-a's report: %q", fs[0].Message)
	}
}

// TestPublishOwnerAdmission: where OwnerReferencesPermissionEnforcement
// runs (OpenShift), a create may set the owner, an update may keep it, but
// the writer role (no delete on ConfigMaps) may not add one to a report
// published earlier without: that report is replaced without an owner,
// and NodeErr says why.
func TestPublishOwnerAdmission(t *testing.T) {
	cp, host, _, uid := publishServer(t, "OwnerReferencesPermissionEnforcement")
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	pub := func(node string) Published { t.Helper(); return publishAt(t, ctx, host, node, at) }
	for range 2 { // created, then updated
		if p := pub("node-a"); p.NodeErr != nil {
			t.Errorf("publish node-a: %v", p.NodeErr)
		}
		if got := ownersOf(t, cp, "node-a"); len(got) != 1 || got[0].UID != uid {
			t.Errorf("node-a's report owners %+v, want node-a (%s)", got, uid)
		}
	}
	// node-b's report is published before node-b exists, then again.
	if p := pub("node-b"); !IsNotFound(p.NodeErr) {
		t.Errorf("publish before node-b exists: NodeErr %v", p.NodeErr)
	}
	if out, err := cp.Kubectl(t, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-b"}}`, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	p := pub("node-b")
	if p.NodeErr == nil || !strings.Contains(p.NodeErr.Error(), "OwnerReferencesPermissionEnforcement") {
		t.Errorf("NodeErr %v, want the refused owner reference", p.NodeErr)
	}
	if got := ownersOf(t, cp, "node-b"); len(got) != 0 {
		t.Errorf("node-b's report owners %+v, want none", got)
	}
}

// publishAt publishes a host report of node generated at at, as the
// DaemonSet's service account (api) does.
func publishAt(t *testing.T, ctx context.Context, api *API, node string, at time.Time) Published {
	t.Helper()
	p, err := Publish(ctx, api, Publication{Node: node, Report: paddedHostReport(node, "1", 2, at), GeneratedAt: at})
	if err != nil {
		t.Fatalf("publish %s: %v", node, err)
	}
	return p
}
