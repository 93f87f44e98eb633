package kubernetes

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"sigs.k8s.io/yaml"

	"github.com/kensa-project/kensa/internal/cli"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// shardJob is what TestShardedJobMergesToOneScan reads of the indexed
// Job in fips-scan-images.yaml.
type shardJob struct {
	Kind string `json:"kind"`
	Spec struct {
		CompletionMode string `json:"completionMode"`
		Completions    int    `json:"completions"`
		Template       struct {
			Spec struct {
				Containers []struct {
					Args []string `json:"args"`
					Env  []struct {
						Name      string `json:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `json:"fieldPath"`
							} `json:"fieldRef"`
						} `json:"valueFrom"`
					} `json:"env"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

func readShardJob(t *testing.T) shardJob {
	b, err := os.ReadFile("fips-scan-images.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var j shardJob
		if err := yaml.Unmarshal([]byte(doc), &j); err != nil {
			t.Fatal(err)
		}
		if j.Kind == "Job" {
			return j
		}
	}
	t.Fatal("no Job in fips-scan-images.yaml")
	return shardJob{}
}

func runKensa(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(context.Background(), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String() + errb.String()
}

// TestShardedJobMergesToOneScan runs what the indexed Job of
// fips-scan-images.yaml runs: its own container arguments, with the
// completion index each pod gets, over a list of images served by the
// in-process registry (several of them sharing base layers); then joins
// the shard reports with kensa report merge, and checks that the merged
// report says what one unsharded scan of the whole list says: the same
// results, findings and summary (provenance aside: when, and which file).
func TestShardedJobMergesToOneScan(t *testing.T) {
	job := readShardJob(t)
	if job.Spec.CompletionMode != "Indexed" || job.Spec.Completions < 2 {
		t.Fatalf("Job: completionMode %q completions %d, want an indexed Job of shards", job.Spec.CompletionMode, job.Spec.Completions)
	}
	c := job.Spec.Template.Spec.Containers[0]
	indexVar := ""
	for _, e := range c.Env {
		if e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			indexVar = e.Name
		}
	}
	if indexVar == "" {
		t.Fatalf("the container has no variable from the completion index: env %+v", c.Env)
	}

	// Images: 9 applications over 3 bases, each base with this test's
	// own Go binary (go-std) and the app with one file of its own.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	reg := imagetest.Registry(t)
	var bases [][]imagetest.Entry
	for b := range 3 {
		bases = append(bases, []imagetest.Entry{
			imagetest.HostFile(fmt.Sprintf("usr/bin/base%d", b), exe),
			imagetest.File("etc/os-release", []byte(fmt.Sprintf("ID=base%d\n", b))),
		})
	}
	baseLayers := make([]v1.Layer, 3)
	var list strings.Builder
	for i := range 9 {
		b := i % 3
		if baseLayers[b] == nil {
			baseLayers[b] = imagetest.Layer(t, bases[b]...)
		}
		app := imagetest.Layer(t, imagetest.HostFile(fmt.Sprintf("app/bin%d", i), exe), imagetest.Whiteout(fmt.Sprintf("usr/bin/base%d", (b+1)%3)))
		img := imagetest.Image(t, "linux/"+runtime.GOARCH, []string{"GODEBUG=fips140=on"}, baseLayers[b], app)
		ref := fmt.Sprintf("%s/app%d:1", reg, i)
		imagetest.Push(t, ref, img)
		fmt.Fprintf(&list, "registry:%s\n", ref)
	}
	dir := t.TempDir()
	listFile := filepath.Join(dir, "images.txt")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// The Job's arguments, as the kubelet expands them for pod idx.
	podArgs := func(idx int, out string) []string {
		var args []string
		for _, a := range c.Args {
			a = strings.ReplaceAll(a, "$("+indexVar+")", strconv.Itoa(idx))
			switch {
			case strings.HasPrefix(a, "--images="):
				a = "--images=" + listFile
			case strings.HasPrefix(a, "--output="):
				a = "--output=" + out
			}
			args = append(args, a)
		}
		return args
	}
	var shards []string
	for idx := range job.Spec.Completions {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d.json", idx))
		args := podArgs(idx, out)
		if code, msg := runKensa(t, args...); code != 0 {
			t.Fatalf("shard %d: kensa %s: exit %d\n%s", idx, strings.Join(args, " "), code, msg)
		}
		shards = append(shards, out)
	}
	// One process, the whole list: the same arguments without --shard.
	whole := filepath.Join(dir, "whole.json")
	var args []string
	for _, a := range podArgs(0, whole) {
		if !strings.HasPrefix(a, "--shard") {
			args = append(args, a)
		}
	}
	if code, msg := runKensa(t, args...); code != 0 {
		t.Fatalf("unsharded: exit %d\n%s", code, msg)
	}
	merged := filepath.Join(dir, "merged.json")
	if code, msg := runKensa(t, append([]string{"report", "merge", "--format", "json", "--fail-on", "never", "-o", merged}, shards...)...); code != 0 {
		t.Fatalf("report merge: exit %d\n%s", code, msg)
	}

	want, got := loadReport(t, whole), loadReport(t, merged)
	if n := len(want["results"].([]any)); n < 9*2 {
		t.Fatalf("the unsharded scan has %d results, want at least 18", n)
	}
	for _, k := range []string{"command", "results", "findings", "summary"} {
		if diff := cmp.Diff(want[k], got[k]); diff != "" {
			t.Errorf("merged %s differ from one scan (-one +merged):\n%s", k, diff)
		}
	}
	// Each shard scanned its own part: together every image once.
	seen := map[string]int{}
	for _, s := range shards {
		for _, r := range loadReport(t, s)["results"].([]any) {
			seen[r.(map[string]any)["image"].(string)]++
		}
	}
	if len(seen) != 9 {
		t.Errorf("shards scanned %d distinct images, want 9", len(seen))
	}
}

// loadReport reads a JSON report without its provenance: when it was
// generated, and the "source" each merged result and finding carries;
// results and findings in one order.
func loadReport(t *testing.T, name string) map[string]any {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	// Merge keeps the order of its inputs (shard by shard), a scan sorts
	// by image and path: compared in one order.
	for _, k := range []string{"results", "findings"} {
		xs, _ := r[k].([]any)
		for _, x := range xs {
			delete(x.(map[string]any), "source")
		}
		slices.SortFunc(xs, func(a, b any) int {
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			return bytes.Compare(ja, jb)
		})
	}
	return r
}
