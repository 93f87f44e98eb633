package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// TestClusterScript runs the scripts of testdata/cluster, each against a
// real kube-apiserver and etcd of its own (clustertest: skipped outside
// CI until .ci/kube-binaries has built them, failed in CI). A script is
// what a user does: kubectl apply -k deploy/kubernetes, nodes created and
// their status patched as a kubelet would (there is no kubelet), each
// node's report published by a real `kensa fips host --publish configmap`
// run over a host tree as the DaemonSet's service account, then
// `kensa fips cluster` as the service account kensa.
//
// The scripts see:
//
//	$KUBECONFIG          admin (system:masters), also in $ADMIN_KUBECONFIG
//	$HOST_KUBECONFIG     service account kensa/kensa-fips-host (the node scan)
//	$READER_KUBECONFIG   service account kensa/kensa (kensa fips cluster)
//	$DEPLOY              deploy/kubernetes
//	$APISERVER           the API server's URL
//	kubectl              the built one, on PATH
//	$REGISTRY            an in-process registry (go-containerregistry) holding
//	                     team/api (Go, GOFIPS140=v1.0.0) and team/ledger (Go,
//	                     standard crypto) over one shared base layer
//	$API_REF, $LEDGER_REF  their repo@sha256:… references
//	hosttree NAME DIR    writes host tree NAME (internal/fips/host/hosttrees) at DIR
//	envsubst SRC DST     writes SRC with $VARs replaced by the script's values
func TestClusterScript(t *testing.T) {
	clustertest.Binaries(t) // skip (or fail in CI) before any script starts
	deploy, err := filepath.Abs("../../deploy/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/cluster",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			// The script's own test (testscript's T embeds *testing.T): the
			// control plane stops when the script ends.
			st, ok := e.T().(testing.TB)
			if !ok {
				st = t
			}
			cp := clustertest.Start(st, clustertest.Options{Tokens: map[string]string{
				"host-token":   "system:serviceaccount:kensa:kensa-fips-host",
				"reader-token": "system:serviceaccount:kensa:kensa",
			}})
			e.Setenv("SOURCE_DATE_EPOCH", "1790000000")
			e.Setenv("KENSA_EXIT_FILE", filepath.Join(e.WorkDir, ".kensa-exit"))
			e.Setenv("HOME", e.WorkDir)
			e.Setenv("KUBECONFIG", cp.Kubeconfig)
			e.Setenv("ADMIN_KUBECONFIG", cp.Kubeconfig)
			e.Setenv("HOST_KUBECONFIG", cp.WriteKubeconfig(st, "node-scan", "host-token"))
			e.Setenv("READER_KUBECONFIG", cp.WriteKubeconfig(st, "reader", "reader-token"))
			e.Setenv("DEPLOY", deploy)
			e.Setenv("APISERVER", cp.URL)
			e.Setenv("PATH", cp.Bin+string(os.PathListSeparator)+e.Getenv("PATH"))
			return clusterImages(st, e)
		},
		Condition: condition,
		Cmds:      cmds,
	})
}

// clusterImages pushes the workloads' images to a registry of the
// script's own (the fixtures are built by the real toolchain, cached per
// machine; without them the scripts' workload steps are guarded by
// [fipsfixtures]).
func clusterImages(t testing.TB, e *testscript.Env) error {
	fx, err := fipstest.Build()
	if err != nil || !fx.Has("go_fips_v100") || !fx.Has("go_std") || !fx.Has("go_nocrypto") {
		return nil
	}
	reg := imagetest.Registry(t)
	platform := "linux/" + runtime.GOARCH
	base := imagetest.Layer(t, imagetest.File("etc/os-release", []byte("ID=kensa-test\n")),
		imagetest.HostFile("bin/tool", fx.Path(t, "go_nocrypto")))
	for _, im := range []struct{ env, repo, fixture string }{
		{"API_REF", "team/api", "go_fips_v100"},
		{"LEDGER_REF", "team/ledger", "go_std"},
	} {
		img := imagetest.Image(t, platform, []string{"PATH=/bin"}, base,
			imagetest.Layer(t, imagetest.HostFile("app", fx.Path(t, im.fixture))))
		imagetest.Push(t, reg+"/"+im.repo+":1", img)
		d, err := img.Digest()
		if err != nil {
			return err
		}
		e.Setenv(im.env, reg+"/"+im.repo+"@"+d.String())
	}
	e.Setenv("REGISTRY", reg)
	return nil
}

func init() {
	cmds["envsubst"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: envsubst SRC DST")
		}
		out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
	}
	cmds["hosttree"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: hosttree NAME DIR")
		}
		if !strings.Contains(strings.Join(hosttrees.Names(), " "), args[0]) {
			ts.Fatalf("hosttree: no tree %q (have %v)", args[0], hosttrees.Names())
		}
		ts.Check(hosttrees.Write(ts.MkAbs(args[1]), args[0]))
	}
}
