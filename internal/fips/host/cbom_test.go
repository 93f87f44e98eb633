package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/schematest"
)

type bomComponent struct {
	BOMRef      string `json:"bom-ref"`
	Type, Name  string
	Description string
	Properties  []struct{ Name, Value string }
	Components  []bomComponent
	Evidence    *struct {
		Occurrences []struct {
			Location          string
			AdditionalContext string `json:"additionalContext"`
		}
	}
}

type bomDoc struct {
	Metadata struct {
		Component *bomComponent
	}
	Components   []bomComponent
	Dependencies []struct {
		Ref       string
		DependsOn []string `json:"dependsOn"`
	}
}

func (c bomComponent) prop(name string) []string {
	var out []string
	for _, p := range c.Properties {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

func encodeHostCBOM(t *testing.T, rs []host.Result) ([]byte, bomDoc) {
	t.Helper()
	bom := host.CBOM(rs, fips.CBOMOptions{ToolName: "kensa", ToolVersion: "v0.1.0", Command: "fips host",
		GeneratedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), At: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)})
	var buf bytes.Buffer
	if err := report.WriteCycloneDX(&buf, bom); err != nil {
		t.Fatal(err)
	}
	var doc bomDoc
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), doc
}

// TestCBOMHostTrees: the CBOM of real scans of the host trees (one
// host, and two nodes as a merged report has them) validates against
// CycloneDX 1.6; each host is an operating-system component with its
// posture, nesting its processes.
func TestCBOMHostTrees(t *testing.T) {
	schema := schematest.Official(t, schematest.CycloneDX)
	var all []host.Result
	for _, name := range []string{"aks-fips-node", "rhel9-fips"} {
		root := filepath.Join(t.TempDir(), name)
		if err := hosttrees.Write(root, name); err != nil {
			t.Fatal(err)
		}
		s, err := host.Run(context.Background(), host.Options{Root: root, Proc: filepath.Join(root, "proc")})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := encodeHostCBOM(t, s.Results)
		schematest.Validate(t, schema, name+" CBOM", data)
		all = append(all, s.Results...)
	}
	data, doc := encodeHostCBOM(t, all)
	schematest.Validate(t, schema, "two nodes' CBOM", data)
	if doc.Metadata.Component != nil {
		t.Errorf("two hosts: metadata.component %+v, want none", doc.Metadata.Component)
	}
	hosts := map[string]bomComponent{}
	for _, c := range doc.Components {
		if c.Type == "operating-system" {
			hosts[c.Name] = c
		}
	}
	aks, rhel := hosts["aks-fipspool-12345678-vmss000000"], hosts["rhel-node"]
	if aks.BOMRef != "node:aks-fipspool-12345678-vmss000000" || rhel.BOMRef != "node:rhel-node" {
		t.Fatalf("host components %v", hosts)
	}
	if got := rhel.prop("kensa:posture:crypto-policy"); !slices.Equal(got, []string{"pass: FIPS"}) {
		t.Errorf("rhel crypto-policy property %q", got)
	}
	if !strings.HasPrefix(rhel.Description, "Red Hat Enterprise Linux 9.4") {
		t.Errorf("rhel description %q", rhel.Description)
	}
	var pid500 *bomComponent
	for i, c := range aks.Components {
		if c.BOMRef == "node:aks-fipspool-12345678-vmss000000:pid:500" {
			pid500 = &aks.Components[i]
		}
	}
	if pid500 == nil {
		t.Fatalf("no pid 500 in %+v", aks.Components)
	}
	if got := pid500.prop("kensa:verdict"); !slices.Equal(got, []string{"noncompliant"}) {
		t.Errorf("pid 500 verdict %q", got)
	}
	if got := pid500.prop("kensa:container_id"); len(got) != 1 || !strings.HasPrefix(got[0], "a1a1") {
		t.Errorf("pid 500 container %q", got)
	}
	lib := "library:node:aks-fipspool-12345678-vmss000000:container:" + strings.Repeat("a1", 32) + ":/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
	var deps []string
	for _, d := range doc.Dependencies {
		if d.Ref == pid500.BOMRef {
			deps = d.DependsOn
		}
	}
	if !slices.Contains(deps, lib) {
		t.Errorf("pid 500 depends on %q, want %q", deps, lib)
	}
}

// TestCBOMSharing: modules and loaded libraries are shared by the
// processes of one filesystem (the host's, or one container's), never
// across containers or hosts; an embedded module belongs to its process.
func TestCBOMSharing(t *testing.T) {
	schema := schematest.Official(t, schematest.CycloneDX)
	provider := host.Module{Backend: "openssl", Name: "OpenSSL FIPS Provider", Version: "3.0.9", Standard: "FIPS 140-3",
		Certificate: "4282", Status: "active", AsOf: "2026-11-24", Path: "/usr/lib64/ossl-modules/fips.so"}
	goStd := host.Module{Backend: "go-std", Name: "Go standard library crypto", Version: "go1.26.1", Status: "not-validated"}
	mapped := []host.Mapped{{Path: "/usr/lib64/libcrypto.so.3", Role: "libcrypto"},
		{Path: "/usr/lib64/ossl-modules/fips.so", Role: "fips-provider", Module: "OpenSSL FIPS Provider 3.0.9"}}
	proc := func(h string, pid int, exe, container string, mods []host.Module, m []host.Mapped) host.Result {
		return host.Result{Kind: host.KindProcess, Host: h, PID: pid, Comm: filepath.Base(exe), Exe: exe, ContainerID: container,
			Crypto: []string{mods[0].Backend}, Modules: mods, Mapped: m, Verdict: host.Compliant, Reasons: []string{"r"}}
	}
	c1, c2 := strings.Repeat("c1", 32), strings.Repeat("c2", 32)
	rs := []host.Result{
		{Kind: host.KindPosture, Host: "n1", Check: host.CheckOSRelease, Status: host.StatusInfo, Value: "RHEL 9.4"},
		proc("n1", 10, "/usr/sbin/sshd", "", []host.Module{provider}, mapped),
		proc("n1", 11, "/usr/bin/curl", "", []host.Module{provider}, mapped),
		proc("n1", 20, "/usr/bin/curl", c1, []host.Module{provider}, mapped),
		proc("n1", 21, "/usr/bin/curl", c2, []host.Module{provider}, mapped),
		proc("n1", 30, "/app", "", []host.Module{goStd}, nil),
		proc("n1", 31, "/app2", "", []host.Module{goStd}, nil),
		proc("n2", 10, "/usr/sbin/sshd", "", []host.Module{provider}, mapped),
	}
	data, doc := encodeHostCBOM(t, rs)
	schematest.Validate(t, schema, "CBOM", data)
	deps := map[string][]string{}
	for _, d := range doc.Dependencies {
		deps[d.Ref] = d.DependsOn
	}
	n1 := "node:n1"
	prov := func(scope string) string {
		return "crypto:" + scope + ":/usr/lib64/ossl-modules/fips.so:openssl/OpenSSL FIPS Provider@3.0.9"
	}
	for ref, want := range map[string][]string{
		n1 + ":pid:10":   {prov(n1), "library:" + n1 + ":/usr/lib64/libcrypto.so.3", "library:" + n1 + ":/usr/lib64/ossl-modules/fips.so"},
		n1 + ":pid:11":   {prov(n1), "library:" + n1 + ":/usr/lib64/libcrypto.so.3", "library:" + n1 + ":/usr/lib64/ossl-modules/fips.so"},
		n1 + ":pid:20":   {prov(n1 + ":container:" + c1), "library:" + n1 + ":container:" + c1 + ":/usr/lib64/libcrypto.so.3", "library:" + n1 + ":container:" + c1 + ":/usr/lib64/ossl-modules/fips.so"},
		n1 + ":pid:21":   {prov(n1 + ":container:" + c2), "library:" + n1 + ":container:" + c2 + ":/usr/lib64/libcrypto.so.3", "library:" + n1 + ":container:" + c2 + ":/usr/lib64/ossl-modules/fips.so"},
		n1 + ":pid:30":   {"crypto:" + n1 + ":/app:go-std/Go standard library crypto@go1.26.1"},
		n1 + ":pid:31":   {"crypto:" + n1 + ":/app2:go-std/Go standard library crypto@go1.26.1"},
		"node:n2:pid:10": {prov("node:n2"), "library:node:n2:/usr/lib64/libcrypto.so.3", "library:node:n2:/usr/lib64/ossl-modules/fips.so"},
	} {
		slices.Sort(want)
		if got := deps[ref]; !slices.Equal(got, want) {
			t.Errorf("%s depends on\n%q, want\n%q", ref, got, want)
		}
	}
	// Assets: 3 provider modules on n1 (host, c1, c2) + 1 on n2, 2 Go
	// modules; libraries 2 per filesystem: 8.
	kinds := map[string]int{}
	for _, c := range doc.Components {
		kinds[c.Type]++
		if c.Type == "library" && strings.Contains(c.BOMRef, ":container:"+c1) {
			if o := c.Evidence.Occurrences; len(o) != 1 || o[0].AdditionalContext != "in container:"+c1 {
				t.Errorf("%s: evidence %+v, want the container named", c.BOMRef, o)
			}
		}
	}
	if kinds["cryptographic-asset"] != 6 || kinds["library"] != 8 || kinds["operating-system"] != 2 {
		t.Errorf("top-level components by type %v", kinds)
	}
	// The same results give the same BOM byte for byte.
	again, _ := encodeHostCBOM(t, rs)
	if !bytes.Equal(data, again) {
		t.Error("the CBOM is not deterministic")
	}
}
