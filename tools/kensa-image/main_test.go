package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// TestImageCompliantAndReproducible builds kensa's image twice (the
// second build must give the same manifest digest), then scans it with
// kensa itself: /kensa must be the one file classified, compliant through
// the Go Cryptographic Module, and the scan must exit 0 under
// --fail-on conditional (the strictest gate).
func TestImageCompliantAndReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds kensa three times")
	}
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Unix(1764547200, 0).UTC()
	var digests []string
	var dirs []string
	for i := 0; i < 2; i++ {
		dir := filepath.Join(t.TempDir(), "oci")
		if err := Build(Options{Src: src, Out: dir, Arches: []string{"amd64"}, Tag: "kensa:test", Created: created}); err != nil {
			t.Fatal(err)
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Manifests) != 1 {
			t.Fatalf("index has %d manifests, want 1", len(m.Manifests))
		}
		digests = append(digests, m.Manifests[0].Digest.String())
		dirs = append(dirs, dir)
	}
	if digests[0] != digests[1] {
		t.Errorf("two builds gave %s and %s: not reproducible", digests[0], digests[1])
	}

	kensa := filepath.Join(t.TempDir(), "kensa")
	build := exec.Command("go", "build", "-o", kensa, "./cmd/kensa")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	scan := exec.Command(kensa, "fips", "scan", "--format", "json", "--fail-on", "conditional", "oci-layout:"+dirs[0])
	scan.Stderr = os.Stderr
	out, err := scan.Output()
	if err != nil {
		t.Fatalf("kensa fips scan of its own image: %v (want exit 0)\n%s", err, out)
	}
	var rep struct {
		Results []struct {
			Path    string   `json:"path"`
			Verdict string   `json:"verdict"`
			Crypto  []string `json:"crypto"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	found := false
	for _, r := range rep.Results {
		if r.Path == "/kensa" {
			found = true
			if r.Verdict != "compliant" {
				t.Errorf("/kensa verdict %q, want compliant (%+v)", r.Verdict, r)
			}
		}
	}
	if !found {
		t.Errorf("no result for /kensa in %s", out)
	}
}
