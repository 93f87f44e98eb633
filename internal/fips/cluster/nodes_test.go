package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/report"
)

func ptr[T any](v T) *T { return &v }

// TestEvaluateNodes is a small cluster with every case the node half
// decides: AKS nodes whose label and pool agree with the kernel, one whose
// label lies, an OpenShift worker pool whose rendered MachineConfig says
// FIPS, a node without a report, a node whose flag was unreadable, a
// Windows node, and a pool that mixes FIPS and non-FIPS kernels.
func TestEvaluateNodes(t *testing.T) {
	aks := func(name, pool string, fips bool) Node {
		return Node{Name: name, OS: "linux", Labels: map[string]string{LabelAKSPool: pool, LabelAKSFIPS: fmt.Sprint(fips)}}
	}
	ocp := func(name, role string) Node {
		return Node{Name: name, OS: "linux", Labels: map[string]string{labelRolePref + role: ""}}
	}
	in := Inputs{
		Nodes: []Node{
			aks("aks-fips-0", "fipspool", true),
			aks("aks-fips-1", "fipspool", true), // lies: kernel 0
			aks("aks-std-0", "stdpool", false),
			aks("aks-fips-2", "fipspool", true), // no report
			{Name: "akswin000000", OS: "windows", Labels: map[string]string{LabelAKSPool: "win", LabelAKSFIPS: "true", LabelOS: "windows"}},
			ocp("ocp-worker-0", "worker"),
			ocp("ocp-worker-1", "worker"), // unreadable flag
			ocp("ocp-master-0", "master"),
		},
		Reports: map[string]NodeReport{
			"aks-fips-0":   {KernelFlag: "1"},
			"aks-fips-1":   {KernelFlag: "0"},
			"aks-std-0":    {KernelFlag: "0"},
			"ocp-worker-0": {KernelFlag: "1"},
			"ocp-worker-1": {KernelFlag: "unreadable"},
			"ocp-master-0": {KernelFlag: "absent"},
		},
		MachineConfigs: []MachineConfig{
			{Name: "rendered-worker-0a1b", FIPS: false},
			{Name: "rendered-worker-9f8e", FIPS: true},
			{Name: "rendered-master-1234", FIPS: true},
			{Name: "99-worker-fips", FIPS: true}, // not rendered: ignored
		},
		AKSPools: map[string]bool{"fipspool": true, "stdpool": false},
	}
	rs, fs := EvaluateNodes(in)

	status := map[string]string{}
	for _, r := range rs {
		status[r.Name] = r.Status
	}
	wantStatus := map[string]string{
		"aks-fips-0": "fips", "aks-fips-1": "not-fips", "aks-std-0": "not-fips", "aks-fips-2": "not-reported",
		"akswin000000": "not-inspected", "ocp-worker-0": "fips", "ocp-worker-1": "unknown", "ocp-master-0": "not-fips",
	}
	if d := cmp.Diff(wantStatus, status); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}

	var got []string
	for _, f := range fs {
		got = append(got, f.ID+" "+f.Subject)
	}
	slices.Sort(got)
	want := []string{
		IDClusterMixed + " pool fipspool",
		IDNodeDeclaredMismatch + " aks-fips-1",
		IDNodeDeclaredMismatch + " ocp-master-0",
		IDNodeNotInspected + " akswin000000",
		IDNodeNotReported + " aks-fips-2",
		IDNodeNotReported + " ocp-worker-1",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	for _, f := range fs {
		switch f.Subject {
		case "aks-fips-1":
			if !strings.Contains(f.Message, "label kubernetes.azure.com/fips_enabled=true says FIPS on") || !strings.Contains(f.Message, "fips_enabled=0") {
				t.Errorf("lying node message: %s", f.Message)
			}
		case "ocp-master-0":
			if !strings.Contains(f.Message, "rendered-master-1234") || !strings.Contains(f.Message, "unable to run in FIPS mode") {
				t.Errorf("master message: %s", f.Message)
			}
		}
	}
	for _, r := range rs {
		if r.Name == "ocp-worker-0" && (len(r.Declared) != 1 || r.Declared[0].Name != "rendered-worker-9f8e") {
			t.Errorf("ocp-worker-0 declared %+v, want the latest rendered-worker MachineConfig", r.Declared)
		}
	}

	s := SummarizeNodes(rs, fs)
	wantS := NodeSummary{Nodes: 8, FIPS: 2, NotFIPS: 3, Unknown: 1, NotReported: 1, NotInspected: 1, DeclaredFIPS: 7, Mismatched: 2}
	if s != wantS {
		t.Errorf("summary %+v, want %+v", s, wantS)
	}
	s2 := s
	s2.Add(s)
	if s2.Nodes != 16 || s2.Mismatched != 4 || s2.Unknown != 2 {
		t.Errorf("Add: %+v", s2)
	}
}

// TestDeclaredConflict: install-config says FIPS, the node's label says
// not: both are kept, the conflict is a warning, and the kernel decides
// the mismatch.
func TestDeclaredConflict(t *testing.T) {
	in := Inputs{
		Nodes:             []Node{{Name: "n", Labels: map[string]string{LabelAKSFIPS: "false"}}},
		Reports:           map[string]NodeReport{"n": {KernelFlag: "1"}},
		InstallConfigFIPS: ptr(true),
	}
	_, fs := EvaluateNodes(in)
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	slices.Sort(ids)
	if d := cmp.Diff([]string{IDDeclaredConflict, IDNodeDeclaredMismatch}, ids); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestCatalog(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Checks {
		if seen[c.ID] || c.Title == "" || c.Help == "" || c.Citation == "" || c.Severity.Rank() == 0 {
			t.Errorf("catalog entry %+v: duplicate or incomplete", c)
		}
		seen[c.ID] = true
	}
	defer func() {
		if recover() == nil {
			t.Error("finding() accepted an id outside the catalog")
		}
	}()
	finding("no-such-id", "x", "y")
	_ = report.Error
}

func TestParseAKSShow(t *testing.T) {
	pools, err := ParseAKSShow([]byte(`{"name":"c","agentPoolProfiles":[{"name":"fipspool","enableFips":true},{"name":"std","enableFips":false},{"name":"old"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]bool{"fipspool": true, "std": false, "old": false}, pools); d != "" {
		t.Error(d)
	}
	for _, bad := range []string{`[]`, `{"name":"c"}`, `not json`} {
		if _, err := ParseAKSShow([]byte(bad)); err == nil {
			t.Errorf("ParseAKSShow(%q) accepted", bad)
		}
	}
}

// TestParseHostReport reads the fips host JSON shape (kensa/v1 envelope,
// host-posture and process results as internal/fips/host writes them).
func TestParseHostReport(t *testing.T) {
	doc := `{"schema":"kensa/v1","command":"fips host","results":[
{"kind":"host-posture","host":"n","check":"os-release","status":"info","value":"rhel 9.4"},
{"kind":"host-posture","host":"n","check":"kernel-fips-flag","status":"pass","value":"1: the kernel runs in FIPS mode"},
{"kind":"process","host":"n","pid":1,"verdict":"compliant"},
{"kind":"process","host":"n","pid":2,"verdict":"noncompliant"}],"findings":[]}`
	r, err := ParseHostReport([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(NodeReport{KernelFlag: "1", KernelStatus: "pass", Processes: 2, Noncompliant: 1, Host: "n"}, r); d != "" {
		t.Errorf("%+v", r)
	}
	for _, bad := range []string{
		`{"command":"fips scan","results":[]}`,
		`{"command":"fips host","results":[]}`,
		`{`,
	} {
		if _, err := ParseHostReport([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzParseHostReport(f *testing.F) {
	f.Add([]byte(`{"command":"fips host","results":[{"kind":"host-posture","check":"kernel-fips-flag","value":"0: x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseHostReport(b)
		ParseAKSShow(b)
	})
}
