package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
)

var (
	hexA = strings.Repeat("a", 64)
	hexB = strings.Repeat("b", 64)
)

func TestParseImageID(t *testing.T) {
	for _, c := range []struct {
		id, status     string
		ref, digest    string
		unidentifiedIn string
	}{
		{id: "docker.io/library/nginx@sha256:" + hexA, ref: "docker.io/library/nginx@sha256:" + hexA, digest: "sha256:" + hexA},
		{id: "docker-pullable://nginx@sha256:" + hexA, ref: "nginx@sha256:" + hexA, digest: "sha256:" + hexA},
		{id: "registry.test:5000/team/app@sha256:" + hexB, ref: "registry.test:5000/team/app@sha256:" + hexB, digest: "sha256:" + hexB},
		{id: "[::1]:5000/app@sha512:" + hexA + hexA, ref: "[::1]:5000/app@sha512:" + hexA + hexA, digest: "sha512:" + hexA + hexA},
		// CRI-O with a local id, the image field carrying the digest.
		{id: "sha256:" + hexA, status: "quay.io/org/app@sha256:" + hexB, ref: "quay.io/org/app@sha256:" + hexB, digest: "sha256:" + hexB},
		{id: "sha256:" + hexA, status: "quay.io/org/app:1.2", unidentifiedIn: "local image id (sha256:aaaaaaaaaaaa…)"},
		{id: "docker://sha256:" + hexA, unidentifiedIn: "local image id"},
		{id: hexA, unidentifiedIn: "local image id"},
		{id: "", unidentifiedIn: "has not started"},
		{id: "nginx@sha256:ABC", unidentifiedIn: "names no registry digest"},
		{id: "nginx@md5:" + hexA[:32], unidentifiedIn: "names no registry digest"},
		{id: "@sha256:" + hexA, unidentifiedIn: "names no registry digest"},
		{id: "evil\x1b[31m@sha256:" + hexA, unidentifiedIn: "names no registry digest"},
		{id: strings.Repeat("a", 5000) + "@sha256:" + hexA, unidentifiedIn: "too long"},
	} {
		ref, digest, why := ParseImageID(c.id, c.status)
		if ref != c.ref || digest != c.digest || (c.unidentifiedIn == "") != (why == "") || !strings.Contains(why, c.unidentifiedIn) {
			t.Errorf("ParseImageID(%q, %q) = %q, %q, %q; want %q, %q, …%q…", c.id, c.status, ref, digest, why, c.ref, c.digest, c.unidentifiedIn)
		}
		if strings.ContainsRune(why, '\x1b') {
			t.Errorf("unprintable text passed through: %q", why)
		}
		if ref != "" {
			if _, err := name.NewDigest(ref); err != nil {
				t.Errorf("%q: go-containerregistry refuses the ref: %v", ref, err)
			}
		}
	}
}

func FuzzParseImageID(f *testing.F) {
	f.Add("docker-pullable://nginx@sha256:"+hexA, "")
	f.Add("sha256:"+hexA, "quay.io/x@sha256:"+hexB)
	f.Add("a@b@sha256:"+hexA, "")
	f.Fuzz(func(t *testing.T, id, status string) {
		ref, digest, why := ParseImageID(id, status)
		if (ref == "") != (why != "") || (ref == "") != (digest == "") {
			t.Fatalf("ref %q digest %q why %q", ref, digest, why)
		}
		if ref != "" && !strings.HasSuffix(ref, "@"+digest) {
			t.Fatalf("ref %q does not end in its digest %q", ref, digest)
		}
	})
}

func dockerConfigJSON(t testing.TB, auths map[string]dockerAuth) map[string][]byte {
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{DockerConfigJSONKey: b}
}

func TestSecretKeychain(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	kc, err := SecretKeychain(SecretTypeDockerConfigJSON, dockerConfigJSON(t, map[string]dockerAuth{
		"https://index.docker.io/v1/": {Auth: basic},
		"*.azurecr.io":                {Username: "bob", Password: "pw"},
		"127.0.0.1:5000":              {IdentityToken: "tok"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		repo string
		want authn.AuthConfig
	}{
		{"library/nginx", authn.AuthConfig{Auth: basic}},
		{"myreg.azurecr.io/app", authn.AuthConfig{Username: "bob", Password: "pw"}},
		{"a.b.azurecr.io/app", authn.AuthConfig{}}, // a glob matches one label
		{"127.0.0.1:5000/app", authn.AuthConfig{IdentityToken: "tok"}},
		{"127.0.0.1:5001/app", authn.AuthConfig{}},
		{"quay.io/app", authn.AuthConfig{}},
	} {
		r, err := name.NewRepository(c.repo, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, *got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.repo, d)
		}
	}

	// The legacy .dockercfg shape is the auths object itself.
	legacy, _ := json.Marshal(map[string]dockerAuth{"quay.io": {Username: "q", Password: "p"}})
	kc, err = SecretKeychain(SecretTypeDockercfg, map[string][]byte{DockerConfigKey: legacy})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.NewRepository("quay.io/org/app")
	a, _ := kc.Resolve(r)
	if got, _ := a.Authorization(); got.Username != "q" {
		t.Errorf("dockercfg: %+v", got)
	}

	for _, bad := range []struct {
		typ  string
		data map[string][]byte
	}{
		{"Opaque", map[string][]byte{DockerConfigJSONKey: []byte(`{"auths":{}}`)}},
		{SecretTypeDockerConfigJSON, nil},
		{SecretTypeDockerConfigJSON, map[string][]byte{DockerConfigJSONKey: []byte(`{"auths":[1]}`)}},
		{SecretTypeDockerConfigJSON, map[string][]byte{DockerConfigJSONKey: make([]byte, maxSecretData+1)}},
	} {
		if _, err := SecretKeychain(bad.typ, bad.data); err == nil {
			t.Errorf("SecretKeychain(%s, %.40q) accepted", bad.typ, bad.data)
		}
	}
}

func FuzzSecretKeychain(f *testing.F) {
	f.Add([]byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"YTpi"},"*.x.io:5000":{"username":"u"}}}`), "a.x.io:5000")
	f.Fuzz(func(t *testing.T, b []byte, host string) {
		kc, err := SecretKeychain(SecretTypeDockerConfigJSON, map[string][]byte{DockerConfigJSONKey: b})
		if err == nil {
			if r, err := name.NewRepository(host + "/app"); err == nil {
				kc.Resolve(r)
			}
		}
		ParseHostProcesses(b)
	})
}

// hostReport writes a fips host report the way the command does, from
// the host package's own types, so that the JSON contract is what the
// test reads.
func hostReport(t testing.TB, rs ...host.Result) []byte {
	t.Helper()
	rep := report.New("fips host", "test", time.Time{}, time.Time{})
	rep.Results = rs
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHostProcesses(t *testing.T) {
	b := hostReport(t,
		host.Result{Kind: host.KindPosture, Check: host.CheckKernelFlag, Value: "1: on"},
		host.Result{Kind: host.KindProcess, PID: 1, Exe: "/usr/lib/systemd/systemd", Verdict: host.Compliant},
		host.Result{Kind: host.KindProcess, PID: 4242, Exe: "/app", ContainerID: strings.ToUpper(hexA), PodUID: "3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b",
			Env: map[string]string{"GODEBUG": "fips140=off"}, KernelFIPS: "1", Verdict: host.Noncompliant,
			Reasons: []string{"GODEBUG fips140=off in its start environment", "second"}},
	)
	ps, err := ParseHostProcesses(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []HostProcess{{ContainerID: hexA, PodUID: "3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b", ProcessSeen: ProcessSeen{
		PID: 4242, Exe: "/app", Verdict: "noncompliant", Reason: "GODEBUG fips140=off in its start environment",
		Env: map[string]string{"GODEBUG": "fips140=off"}, KernelFIPS: "1"}}}
	if d := cmp.Diff(want, ps); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{`{"command":"fips scan","results":[]}`, `[`} {
		if _, err := ParseHostProcesses([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestEvaluateWorkloads decides every case of a container instance from
// pods, image results, node results and processes given as data.
func TestEvaluateWorkloads(t *testing.T) {
	const (
		dFIPS   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
		dStd    = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
		dCond   = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
		dBroken = "sha256:4444444444444444444444444444444444444444444444444444444444444444"
		dUnk    = "sha256:5555555555555555555555555555555555555555555555555555555555555555"
		plat    = "linux/amd64"
	)
	cid := func(n int) string { return strings.Repeat(string(rune('a'+n)), 64) }
	pod := func(ns, name, node string, owner Owner, cs ...Container) Pod {
		return Pod{Namespace: ns, Name: name, UID: "uid-" + name, Node: node, Platform: plat, Owner: owner, Containers: cs}
	}
	ctr := func(name, digest string, id int) Container {
		c := Container{Name: name, Image: name + ":1", ContainerID: cid(id)}
		if digest != "" {
			c.Ref, c.Digest = "registry.test/"+name+"@"+digest, digest
		} else {
			c.Unidentified = "the runtime reports only a local image id"
		}
		return c
	}
	dep := func(n string) Owner { return Owner{Kind: "Deployment", Name: n} }
	in := WorkloadInputs{
		Pods: []Pod{
			// api: compliant image, one of its three pods runs FIPS off.
			pod("pay", "api-1", "fips-0", dep("api"), ctr("api", dFIPS, 1)),
			pod("pay", "api-2", "fips-0", dep("api"), ctr("api", dFIPS, 2)),
			pod("pay", "api-3", "fips-1", dep("api"), ctr("api", dFIPS, 3)),
			// ledger: noncompliant image on a FIPS node: error.
			pod("pay", "ledger-0", "fips-0", Owner{"StatefulSet", "ledger"}, ctr("ledger", dStd, 4)),
			// tools: noncompliant image on a plain node only: warning.
			pod("web", "tools-x", "plain-0", dep("tools"), ctr("tools", dStd, 5)),
			// cond: conditional image on FIPS, plain, silent nodes.
			pod("web", "cond-1", "fips-0", dep("cond"), ctr("cond", dCond, 6)),
			pod("web", "cond-2", "plain-0", dep("cond2"), ctr("cond", dCond, 7)),
			pod("web", "cond-3", "silent-0", dep("cond3"), ctr("cond", dCond, 8)),
			// masked: conditional image, CRI-O opt-out label on a FIPS node.
			{Namespace: "web", Name: "masked", UID: "uid-masked", Node: "fips-0", Platform: plat, Owner: Owner{"Pod", "masked"}, FIPSDisabled: true,
				Containers: []Container{ctr("cond", dCond, 9)}},
			// unidentified, unscannable, unknown verdict, never scanned.
			pod("batch", "local", "fips-0", Owner{"Pod", "local"}, ctr("local", "", 10)),
			pod("batch", "broken-1", "fips-0", Owner{"CronJob", "nightly"}, ctr("broken", dBroken, 11)),
			pod("batch", "unk", "fips-0", Owner{"Job", "unk"}, ctr("unk", dUnk, 12)),
			pod("batch", "notscanned", "fips-0", Owner{"Pod", "notscanned"}, ctr("x", "sha256:"+hexB, 13)),
			// init container noncompliant, main compliant.
			{Namespace: "pay", Name: "init-0", UID: "uid-init-0", Node: "fips-0", Platform: plat, Owner: Owner{"DaemonSet", "agent"},
				Containers: []Container{{Name: "setup", Init: true, Ref: "r/setup@" + dStd, Digest: dStd, Image: "setup"}, ctr("agent", dFIPS, 14)}},
			// a Windows pod: its image is never scanned, never a pass.
			{Namespace: "web", Name: "win", UID: "uid-win", Node: "win-0", Platform: "windows/amd64", Owner: Owner{"Pod", "win"},
				Containers: []Container{ctr("iis", dFIPS, 15)}},
			// one-container pod whose process is matched by pod UID only.
			pod("pay", "uidonly", "fips-1", Owner{"Pod", "uidonly"}, Container{Name: "u", Ref: "r/u@" + dFIPS, Digest: dFIPS}),
		},
		Images: []ImageResult{
			{Digest: dFIPS, Platform: plat, Ref: "registry.test/api@" + dFIPS, Verdict: fips.Compliant},
			{Digest: dStd, Platform: plat, Ref: "registry.test/ledger@" + dStd, Verdict: fips.Noncompliant,
				Worst: []WorstFile{{Path: "/ledger", Verdict: fips.Noncompliant, Crypto: []string{"go-std"}, Reason: "Go standard crypto is not a validated module"}}},
			{Digest: dCond, Platform: plat, Ref: "registry.test/cond@" + dCond, Verdict: fips.Conditional},
			{Digest: dBroken, Platform: plat, Ref: "registry.test/broken@" + dBroken, Error: "MANIFEST_UNKNOWN"},
			{Digest: dUnk, Platform: plat, Ref: "registry.test/unk@" + dUnk, Verdict: fips.Unknown},
		},
		Nodes: []NodeResult{
			{Node: Node{Name: "fips-0"}, Status: "fips"},
			{Node: Node{Name: "fips-1"}, Status: "fips"},
			{Node: Node{Name: "plain-0"}, Status: "not-fips"},
			{Node: Node{Name: "silent-0"}, Status: "not-reported"},
		},
		Processes: map[string][]HostProcess{
			"fips-0": {
				{ContainerID: cid(1), ProcessSeen: ProcessSeen{PID: 10, Exe: "/api", Verdict: "compliant"}},
				{ContainerID: cid(2), ProcessSeen: ProcessSeen{PID: 20, Exe: "/api", Verdict: "noncompliant", Reason: "GODEBUG fips140=off"}},
				// The same container id on another node is not this pod's.
				{ContainerID: cid(3), ProcessSeen: ProcessSeen{PID: 30, Exe: "/api", Verdict: "noncompliant"}},
			},
			"plain-0": {
				{ContainerID: cid(5), ProcessSeen: ProcessSeen{PID: 50, Exe: "/bin/sh", Verdict: "compliant"}},
			},
			"fips-1": {
				{ContainerID: cid(3), ProcessSeen: ProcessSeen{PID: 31, Exe: "/api", Verdict: "compliant"}},
				{ContainerID: cid(4), ProcessSeen: ProcessSeen{PID: 32, Exe: "/usr/bin/sleep", Verdict: "compliant"}},
				{PodUID: "uid-uidonly", ProcessSeen: ProcessSeen{PID: 40, Exe: "/u", Verdict: "noncompliant", Reason: "GOFIPS=0"}},
			},
		},
	}
	ws, fs := EvaluateWorkloads(in)

	status := map[string]string{}
	for _, w := range ws {
		status[w.Name()] = w.Status
	}
	want := map[string]string{
		"pay/Deployment/api": "noncompliant", "pay/StatefulSet/ledger": "noncompliant", "web/Deployment/tools": "noncompliant",
		"web/Deployment/cond": "compliant", "web/Deployment/cond2": "noncompliant", "web/Deployment/cond3": "unknown",
		"web/Pod/masked": "noncompliant", "batch/Pod/local": "unknown", "batch/CronJob/nightly": "unknown",
		"batch/Job/unk": "unknown", "batch/Pod/notscanned": "unknown", "pay/DaemonSet/agent": "noncompliant",
		"pay/Pod/uidonly": "noncompliant", "web/Pod/win": "unknown",
	}
	if d := cmp.Diff(want, status); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}

	var got []string
	sev := map[string]report.Severity{}
	for _, f := range fs {
		got = append(got, f.ID+" "+f.Subject)
		sev[f.Subject+" "+f.ID] = f.Severity
	}
	slices.Sort(got)
	wantF := []string{
		"workload-image-noncompliant pay/DaemonSet/agent container setup",
		"workload-image-noncompliant pay/StatefulSet/ledger container ledger",
		"workload-image-noncompliant web/Deployment/cond2 container cond",
		"workload-image-noncompliant web/Deployment/tools container tools",
		"workload-image-unscannable batch/CronJob/nightly container broken",
		"workload-image-unscannable batch/Job/unk container unk",
		"workload-image-unscannable batch/Pod/local container local",
		"workload-image-unscannable batch/Pod/notscanned container x",
		"workload-image-unscannable web/Pod/win container iis",
		"workload-process-fips-off pay/Deployment/api container api",
		"workload-process-fips-off pay/Pod/uidonly container u",
		"workload-process-fips-off web/Pod/masked container cond",
	}
	if d := cmp.Diff(wantF, got); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	if sev["web/Deployment/tools container tools workload-image-noncompliant"] != report.Warning ||
		sev["pay/StatefulSet/ledger container ledger workload-image-noncompliant"] != report.Error {
		t.Errorf("severities: a noncompliant image is an error on a FIPS node, a warning elsewhere: %v", sev)
	}
	for _, f := range fs {
		switch f.Subject {
		case "pay/Deployment/api container api":
			// One pod of three, on fips-0; the process on fips-0 with
			// api-3's container id is not api-3's (it runs on fips-1).
			for _, s := range []string{"1 pod on node fips-0", "process 20 (/api) runs with FIPS off: GODEBUG fips140=off", "registry.test/api@" + dFIPS} {
				if !strings.Contains(f.Message, s) {
					t.Errorf("api message lacks %q: %s", s, f.Message)
				}
			}
			if f.Image != "registry.test/api@"+dFIPS {
				t.Errorf("api finding image %q", f.Image)
			}
		case "pay/StatefulSet/ledger container ledger":
			// ledger-0 runs on fips-0; its container's process is
			// reported by fips-1: not its own, so no note.
			if !strings.Contains(f.Message, "/ledger (go-std), Go standard crypto is not a validated module") || strings.Contains(f.Message, "node saw") {
				t.Errorf("ledger message: %s", f.Message)
			}
		case "web/Deployment/tools container tools":
			if !strings.Contains(f.Message, "(the process the node saw in it is compliant: the noncompliant files may not be running now)") {
				t.Errorf("tools message: %s", f.Message)
			}
		case "web/Deployment/cond2 container cond":
			if !strings.Contains(f.Message, "node plain-0 is not in FIPS mode") {
				t.Errorf("cond2 message: %s", f.Message)
			}
		case "batch/Pod/local container local":
			if !strings.Contains(f.Message, "local image id") {
				t.Errorf("local message: %s", f.Message)
			}
		}
	}
	for _, w := range ws {
		if w.Name() == "pay/Deployment/api" {
			if d := cmp.Diff([]string{"api-1", "api-2", "api-3"}, w.Pods); d != "" || len(w.Containers) != 1 || len(w.Containers[0].Processes) != 3 {
				t.Errorf("api: pods %v containers %+v", w.Pods, w.Containers)
			}
		}
		if w.Name() == "pay/DaemonSet/agent" && (len(w.Containers) != 2 || !w.Containers[0].Init || w.Containers[1].Status != WorkloadCompliant) {
			t.Errorf("agent: init container first, main compliant: %+v", w.Containers)
		}
	}

	s := SummarizeWorkloads(ws, in.Images)
	wantS := WorkloadSummary{
		WorkloadCounts: WorkloadCounts{Workloads: 14, Compliant: 1, Noncompliant: 7, Unknown: 6},
		Namespaces: map[string]WorkloadCounts{
			"pay":   {Workloads: 4, Noncompliant: 4},
			"web":   {Workloads: 6, Compliant: 1, Noncompliant: 3, Unknown: 2},
			"batch": {Workloads: 4, Unknown: 4},
		},
		Images: 5, Unscannable: 1, Unidentified: 1,
		ByVerdict: map[string]int{"compliant": 1, "noncompliant": 1, "conditional": 1, "unknown": 1},
	}
	if d := cmp.Diff(wantS, s); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
	s2 := s
	s2.Namespaces = map[string]WorkloadCounts{}
	s2.ByVerdict = nil
	s2.Add(s)
	s2.Add(WorkloadSummary{Namespaces: map[string]WorkloadCounts{"new": {Workloads: 1, Unknown: 1}}})
	if s2.Workloads != 28 || s2.Namespaces["pay"].Noncompliant != 4 || s2.Namespaces["new"].Unknown != 1 || s2.ByVerdict["compliant"] != 1 || s2.Images != 10 {
		t.Errorf("Add: %+v", s2)
	}
}

// TestScanImagesOnce: pods sharing images cost one scan per digest and
// platform; mirrors are tried in turn; a panicking scan and a failing
// one are results, not a stopped run; concurrency stays bounded.
func TestScanImagesOnce(t *testing.T) {
	d := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	var pods []Pod
	for i := range 30 {
		dig := d("0123456789"[i%5])
		p := Pod{Namespace: []string{"a", "b"}[i%2], Name: "p" + string(rune('a'+i)), Platform: "linux/amd64", Owner: Owner{"Deployment", "w" + string(rune('0'+i%3))},
			Containers: []Container{{Name: "c", Ref: "mirror.test/x@" + dig, Digest: dig}, {Name: "side", Ref: "reg.test/side@" + d('f'), Digest: d('f')}, {Name: "nodigest"}}}
		if i == 0 {
			p.Containers[0].Ref = "down.test/x@" + dig // a second repository of digest 0
		}
		if i == 7 {
			p.Platform = "linux/arm64"
		}
		pods = append(pods, p)
	}
	// A Windows pod's image is not scanned (its PE files would look
	// free of crypto).
	pods = append(pods, Pod{Namespace: "a", Name: "win", Platform: "windows/amd64", Owner: Owner{"Pod", "win"},
		Containers: []Container{{Name: "iis", Ref: "reg.test/iis@" + d('e'), Digest: d('e')}}})
	var calls, running, peak atomic.Int32
	var refs []string
	var mu = make(chan struct{}, 1)
	scan := func(ctx context.Context, ref image.Reference, _ fips.Options, io image.Options) fips.RefScan {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		mu <- struct{}{}
		refs = append(refs, ref.Value+" "+io.Platform)
		<-mu
		switch {
		case strings.HasPrefix(ref.Value, "down.test/"):
			return fips.RefScan{Err: errors.New("connection refused")}
		case strings.Contains(ref.Value, d('4')):
			panic("a bug in a classifier")
		case strings.Contains(ref.Value, d('3')):
			return fips.RefScan{Err: errors.New("MANIFEST_UNKNOWN \x1b[2J" + strings.Repeat("é", 4000))}
		case strings.Contains(ref.Value, d('f')):
			return fips.RefScan{Results: []fips.Result{{Path: "/side", Verdict: fips.NotApplicable}}}
		}
		return fips.RefScan{Results: []fips.Result{
			{Path: "/bin/sh", Verdict: fips.NotApplicable},
			{Path: "/app", Verdict: fips.Noncompliant, Crypto: []string{"go-std"}, Reasons: []string{"go-std"}},
			{Path: "/lib", Verdict: fips.Compliant, Crypto: []string{"openssl"}},
		}}
	}
	var progress []int
	rs := ScanImages(context.Background(), pods, ScanOptions{Concurrency: 3, Scan: scan, Progress: func(done, total int) {
		progress = append(progress, done*100+total)
	}})
	// 5 digests on amd64, digest 2 also on arm64 (pod 7), the side car
	// on both: 8 images; digest 0 tried on down.test first, then mirror.
	if len(rs) != 8 || calls.Load() != 9 {
		t.Fatalf("%d results, %d scans, want 8 and 9:\n%v", len(rs), calls.Load(), refs)
	}
	if peak.Load() > 3 {
		t.Errorf("%d scans at once, want at most 3", peak.Load())
	}
	if len(progress) != 8 || progress[7] != 808 {
		t.Errorf("progress %v", progress)
	}
	by := map[string]ImageResult{}
	for _, r := range rs {
		by[r.Digest[7:8]+" "+r.Platform] = r
	}
	if r := by["0 linux/amd64"]; r.Error != "" || r.Ref != "mirror.test/x@"+d('0') || r.Verdict != fips.Noncompliant ||
		!slices.Equal(r.Crypto, []string{"go-std", "openssl"}) || len(r.Worst) != 1 || r.Worst[0].Path != "/app" || r.Files != 3 {
		t.Errorf("digest 0 (mirror fallback): %+v", r)
	}
	if r := by["4 linux/amd64"]; !strings.Contains(r.Error, "internal error: a bug in a classifier") || r.Verdict != "" {
		t.Errorf("panicking scan: %+v", r)
	}
	if r := by["3 linux/amd64"]; !strings.HasPrefix(r.Error, "MANIFEST_UNKNOWN") || len(r.Error) > maxErrorText+len("…") ||
		!utf8.ValidString(r.Error) || strings.ContainsRune(r.Error, '\x1b') {
		t.Errorf("failed scan: %+v", r)
	}
	if r := by["f linux/amd64"]; r.Pods != 29 || r.Verdict != fips.NotApplicable || !slices.Equal(r.Namespaces, []string{"a", "b"}) || len(r.Workloads) != 6 {
		t.Errorf("side car: %+v", r)
	}
	if r := by["2 linux/arm64"]; r.Pods != 1 || r.Workloads[0] != "b/Deployment/w1" {
		t.Errorf("arm64 image: %+v", r)
	}
}
