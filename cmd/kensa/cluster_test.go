package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
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
//	hosttree NAME DIR    writes host tree NAME (internal/fips/host/hosttrees) at DIR
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
			return nil
		},
		Condition: condition,
		Cmds:      cmds,
	})
}

func init() {
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
