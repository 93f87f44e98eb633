package cluster

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// paddedHostReport is a fips host JSON report with the given kernel flag and
// n processes: half without crypto, each carrying a reason that does not
// compress (a hash), half with crypto and short.
func paddedHostReport(host, flag string, n int, at time.Time) []byte {
	var rs []string
	rs = append(rs, fmt.Sprintf(`{"kind":"host-posture","host":%q,"check":"kernel-fips-flag","status":"pass","value":"%s: x"}`, host, flag))
	for i := range n {
		if i%2 == 0 {
			h := sha256.Sum256([]byte(fmt.Sprint(i)))
			rs = append(rs, fmt.Sprintf(`{"kind":"process","host":%q,"pid":%d,"verdict":"not-applicable","reasons":["%x%x"]}`, host, i+1, h, h[:16]))
			continue
		}
		rs = append(rs, fmt.Sprintf(`{"kind":"process","host":%q,"pid":%d,"verdict":"compliant"}`, host, i+1))
	}
	return []byte(fmt.Sprintf(`{"schema":"kensa/v1","command":"fips host","generated_at":%q,"results":[%s],"findings":[]}`,
		at.UTC().Format(time.RFC3339), strings.Join(rs, ",")))
}

// TestReportConfigMapRoundTrip: a report is published plainly, gzip when
// large, without the processes that use no crypto when even gzip does not
// fit, and refused when nothing fits; each reads back the same.
func TestReportConfigMapRoundTrip(t *testing.T) {
	at := time.Date(2026, 9, 21, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		procs     int
		key       string
		omitted   int
		processes int
	}{
		{"small", 4, KeyReport, 0, 4},
		{"large", 12000, KeyReportGzip, 0, 12000},
		{"huge", 60000, KeyReportGzip, 30000, 30000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := paddedHostReport("n1", "1", tc.procs, at)
			cm, err := ReportConfigMap(Publication{Node: "n1", Report: raw, BootID: "B00F-1", MachineID: "abc", GeneratedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			if cm.Name != "kensa-fips-host-n1" || cm.Namespace != "kensa" {
				t.Errorf("name %s/%s", cm.Namespace, cm.Name)
			}
			size := len(cm.Data[KeyReport]) + len(cm.BinaryData[KeyReportGzip])
			if size > maxConfigMapBytes-configMapReserve {
				t.Errorf("payload %d bytes: more than a ConfigMap holds", size)
			}
			if _, ok := cm.Data[tc.key]; !ok {
				if _, ok := cm.BinaryData[tc.key]; !ok {
					t.Errorf("report not under %s", tc.key)
				}
			}
			c := ParseReportConfigMap(cm)
			if c.Err != "" {
				t.Fatal(c.Err)
			}
			if c.Node != "n1" || c.BootID != "b00f-1" || c.MachineID != "abc" || c.KernelFlag != "1" || !c.GeneratedAt.Equal(at) ||
				c.Omitted != tc.omitted || c.Processes != tc.processes || c.Origin != "configmap kensa/kensa-fips-host-n1" {
				t.Errorf("read back %+v", c.NodeReport)
			}
		})
	}
	// Too large even without inert processes: refused, never truncated
	// silently.
	var rs []string
	for i := range 40000 {
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		rs = append(rs, fmt.Sprintf(`{"kind":"process","pid":%d,"verdict":"compliant","reasons":["%x"]}`, i, h))
	}
	raw := []byte(`{"command":"fips host","results":[` + strings.Join(rs, ",") + `]}`)
	if _, err := ReportConfigMap(Publication{Node: "n1", Report: raw}); err == nil || !strings.Contains(err.Error(), "more than a ConfigMap holds") {
		t.Errorf("huge incompressible report: %v", err)
	}
	if _, err := ReportConfigMap(Publication{Report: raw}); err == nil {
		t.Error("published without a node name")
	}
}

func TestReportConfigMapName(t *testing.T) {
	if got := ReportConfigMapName("aks-pool-1-vmss000000"); got != "kensa-fips-host-aks-pool-1-vmss000000" {
		t.Error(got)
	}
	long := strings.Repeat("a", 240) + ".example.com"
	got := ReportConfigMapName(long)
	if len(got) > 253 || !strings.HasPrefix(got, ReportPrefix+strings.Repeat("a", 200)) || got == ReportConfigMapName(long+"x") {
		t.Errorf("long name %q (%d)", got, len(got))
	}
}

// TestParseReportConfigMapBad: every way a ConfigMap can be wrong is an
// error on that report, never a crash or a pass.
func TestParseReportConfigMapBad(t *testing.T) {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte(" "), maxHostReport+10))
	zw.Close()
	meta := func(name, node string) ObjectMeta {
		return ObjectMeta{Name: name, Namespace: "kensa", Annotations: map[string]string{AnnotationNode: node}}
	}
	for _, tc := range []struct {
		name string
		cm   ConfigMap
		want string
	}{
		{"empty", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n1")}, "holds no"},
		{"other node", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n2"), Data: map[string]string{KeyReport: "{}"}}, "does not name the node"},
		{"not json", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n1"), Data: map[string]string{KeyReport: "{"}}, "not a kensa JSON report"},
		{"not gzip", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n1"), BinaryData: map[string][]byte{KeyReportGzip: []byte("xx")}}, KeyReportGzip},
		{"bomb", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n1"), BinaryData: map[string][]byte{KeyReportGzip: bomb.Bytes()}}, "decompresses to more than"},
		{"scan report", ConfigMap{ObjectMeta: meta("kensa-fips-host-n1", "n1"), Data: map[string]string{KeyReport: `{"command":"fips scan","results":[]}`}}, "not fips host"},
	} {
		c := ParseReportConfigMap(&tc.cm)
		if !strings.Contains(c.Err, tc.want) {
			t.Errorf("%s: error %q, want %q", tc.name, c.Err, tc.want)
		}
	}
}

// TestStaleReports: a report of another machine or boot is not used (the
// node is stale, never a pass); an old report of the current boot keeps
// its kernel flag with a warning; an unreadable report is not reported.
func TestStaleReports(t *testing.T) {
	now := time.Date(2026, 9, 21, 12, 0, 0, 0, time.UTC)
	node := func(name, boot, machine string) Node {
		return Node{Name: name, OS: "linux", BootID: boot, MachineID: machine, Labels: map[string]string{LabelAKSFIPS: "true"}}
	}
	in := Inputs{
		Nodes: []Node{node("fresh", "b1", "m1"), node("rebooted", "b2", "m2"), node("replaced", "b3", "m3"),
			node("old", "b4", "m4"), node("broken", "", ""), node("no-ids", "", "")},
		Reports: map[string]NodeReport{
			"fresh":    {KernelFlag: "1", BootID: "b1", MachineID: "m1", GeneratedAt: now.Add(-time.Hour)},
			"rebooted": {KernelFlag: "1", BootID: "b0", MachineID: "m2", GeneratedAt: now.Add(-time.Hour)},
			"replaced": {KernelFlag: "1", BootID: "b3", MachineID: "mX", GeneratedAt: now.Add(-time.Hour)},
			"old":      {KernelFlag: "0", BootID: "b4", MachineID: "m4", GeneratedAt: now.Add(-50 * time.Hour)},
			"broken":   {Origin: "configmap kensa/x", Err: "not a kensa JSON report"},
			"no-ids":   {KernelFlag: "1", BootID: "b9"},
		},
		Now: now, MaxAge: 24 * time.Hour,
	}
	rs, fs := EvaluateNodes(in)
	got := map[string]string{}
	for _, r := range rs {
		got[r.Name] = r.Status + "/" + r.Kernel
	}
	want := map[string]string{"fresh": "fips/fips", "rebooted": "stale/", "replaced": "stale/", "old": "not-fips/not-fips",
		"broken": "not-reported/", "no-ids": "fips/fips"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("status (-want +got):\n%s", d)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID+" "+f.Subject)
	}
	wantIDs := []string{
		"node-not-reported broken",
		"node-report-stale old", "node-fips-declared-mismatch old",
		"node-report-stale rebooted",
		"node-report-stale replaced",
	}
	if d := cmp.Diff(wantIDs, ids); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	for _, f := range fs {
		switch f.Subject {
		case "old":
			if f.ID == IDNodeReportStale && !strings.Contains(f.Message, "is 2d2h old (--max-age 1d)") {
				t.Errorf("old: %s", f.Message)
			}
		case "replaced":
			if !strings.Contains(f.Message, "from another machine") {
				t.Errorf("replaced: %s", f.Message)
			}
		case "rebooted":
			if !strings.Contains(f.Message, "from an earlier boot") {
				t.Errorf("rebooted: %s", f.Message)
			}
		}
	}
	s := Summarize(rs, fs)
	if s.Nodes.Stale != 2 || s.Nodes.NotReported != 1 || s.Nodes.FIPS != 2 || s.Reports != 6 || s.Warnings != 4 || s.Errors != 1 {
		t.Errorf("summary %+v", s)
	}
	// Add re-counts two halves into the whole.
	a, b := Summarize(rs[:3], nil), Summarize(rs[3:], nil)
	a.Add(b)
	if whole := Summarize(rs, nil); !cmp.Equal(whole, a) {
		t.Errorf("Add: %s", cmp.Diff(whole, a))
	}
}

// TestAttachReports: files override ConfigMaps, are tied by file name
// then host name, and those tied to no node are returned.
func TestAttachReports(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 9, 21, 10, 0, 0, 0, time.UTC)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("node-a.json", paddedHostReport("some-host", "0", 1, at))  // by file name
	write("x.json", paddedHostReport("node-b.internal", "1", 1, at)) // by the host's first label
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(paddedHostReport("node-c", "1", 1, at)) // by host name, gzip
	zw.Close()
	write("y.json.gz", gz.Bytes())
	write("stray.json", paddedHostReport("elsewhere", "1", 1, at))
	// The log of a DaemonSet pod that scanned twice: the last round counts.
	write("node-d.json", append(append(paddedHostReport("node-d", "0", 1, at), '\n'), paddedHostReport("node-d", "1", 3, at.Add(time.Hour))...))
	write("notes.txt", []byte("ignored"))
	files, err := ReadReportFiles([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 5 {
		t.Fatalf("%d files read, want the 5 reports", len(files))
	}
	nodes := []Node{{Name: "node-a"}, {Name: "node-b"}, {Name: "node-c"}, {Name: "node-d"}}
	published := []Collected{
		{Node: "node-a", NodeReport: NodeReport{KernelFlag: "1", Origin: "configmap kensa/kensa-fips-host-node-a"}},
		{Node: "node-d", NodeReport: NodeReport{KernelFlag: "1", Origin: "configmap kensa/kensa-fips-host-node-d"}},
		{Node: "gone", NodeReport: NodeReport{KernelFlag: "1"}},
	}
	by, unmatched := AttachReports(published, files, nodes)
	got := map[string]string{}
	for n, r := range by {
		got[n] = filepath.Base(r.Origin) + " " + r.KernelFlag
	}
	want := map[string]string{"node-a": "node-a.json 0", "node-b": "x.json 1", "node-c": "y.json.gz 1", "node-d": "node-d.json 1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if by["node-d"].Processes != 3 {
		t.Errorf("node-d: %d processes, want the last round's 3", by["node-d"].Processes)
	}
	if len(unmatched) != 1 || filepath.Base(unmatched[0].Origin) != "stray.json" {
		t.Errorf("unmatched %+v", unmatched)
	}
	fs := CoverageFindings(DaemonSetAbsent, "kensa", unmatched, len(by))
	if len(fs) != 2 || fs[0].ID != IDNodeScanNotDeployed || fs[1].ID != IDNodeReportUnmatched {
		t.Errorf("coverage findings %+v", fs)
	}
	if _, err := ReadReportFiles([]string{filepath.Join(dir, "nosuch.json")}); err == nil {
		t.Error("a missing file was accepted")
	}
}

func TestHostIdentity(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc/sys/kernel/random"), 0o755)
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "proc/sys/kernel/random/boot_id"), []byte("0B7E0C36-8d4e-4c4a-9d55-1f1c1d6c2a01\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte("\x1b[31mnot an id\n"), 0o644)
	boot, machine := HostIdentity(root, filepath.Join(root, "proc"))
	if boot != "0b7e0c36-8d4e-4c4a-9d55-1f1c1d6c2a01" || machine != "" {
		t.Errorf("boot %q machine %q", boot, machine)
	}
}

// FuzzParseReportConfigMap: any ConfigMap content is an error or a
// report, never a crash or a hang.
func FuzzParseReportConfigMap(f *testing.F) {
	f.Add([]byte(`{"command":"fips host","results":[{"kind":"host-posture","check":"kernel-fips-flag","value":"1: x"}]}`), false)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"command":"fips host","results":[]}`))
	zw.Close()
	f.Add(gz.Bytes(), true)
	f.Fuzz(func(t *testing.T, b []byte, zipped bool) {
		cm := &ConfigMap{ObjectMeta: ObjectMeta{Name: "kensa-fips-host-n", Namespace: "kensa",
			Annotations: map[string]string{AnnotationNode: "n", AnnotationOmitted: string(b[:min(len(b), 4)])}}}
		if zipped {
			cm.BinaryData = map[string][]byte{KeyReportGzip: b}
		} else {
			cm.Data = map[string]string{KeyReport: string(b)}
		}
		c := ParseReportConfigMap(cm)
		if c.Err == "" && !json.Valid(lastDocument(b)) && !zipped {
			t.Errorf("invalid JSON accepted")
		}
	})
}
