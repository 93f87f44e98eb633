package image_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// fuzzLimits keep each run small: the limits are what is being checked.
var fuzzLimits = image.Limits{MaxUncompressed: 1 << 20, MaxEntries: 1000, MaxExamine: 1 << 16, MaxRetainFile: 1 << 10, MaxRetainTotal: 1 << 14}

// openAndFlatten opens ref and flattens every image it gives, within 10s:
// a hostile archive or layout is an error, never a panic or a hang.
func openAndFlatten(t *testing.T, ref image.Reference) {
	t.Helper()
	flattenWithin(t, ref.String(), func(ctx context.Context) ([]*image.Image, error) {
		return image.Open(ctx, ref, image.Options{AllPlatforms: true})
	})
}

// flattenWithin runs open and flattens what it gives; it fails t when
// that takes more than 10s (the fuzzer has no per-input timeout).
func flattenWithin(t *testing.T, what string, open func(context.Context) ([]*image.Image, error)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		imgs, err := open(ctx)
		if err != nil {
			return
		}
		for _, im := range imgs {
			im.Flatten(ctx, image.FlattenOptions{Limits: fuzzLimits})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("opening %s still running after 10s", what)
	}
}

// FuzzOpenArchive feeds arbitrary bytes to the docker-archive opener (a
// docker save tar: manifest.json, configurations, layers) and flattens
// what it opens. The archive is read from memory (the opener Open uses
// for a file, given a reader): a temporary file per input (create,
// write, remove) was two thirds of each run's cost.
//
// Run these two targets with a short minimisation:
//
//	go test ./internal/image -run '^$' -fuzz '^FuzzOpenArchive$' -fuzztime 60s -fuzzminimizetime 2s
//
// Go's minimiser tries every subrange of an input (quadratic in its
// size) for up to -fuzzminimizetime (default 60s) whenever a worker finds
// new coverage; with a 10 KiB archive that is the whole default minute,
// during which the worker fuzzes nothing and "execs" does not move.
func FuzzOpenArchive(f *testing.F) {
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed.tar")
	imagetest.Archive(f, seed, "example.com/app:1", imagetest.Image(f, "linux/amd64", nil,
		imagetest.Layer(f, imagetest.File("usr/bin/app", []byte("\x7fELF fake")), imagetest.Symlink("lib", "usr/lib"))))
	data, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		flattenWithin(t, "the archive", func(context.Context) ([]*image.Image, error) { return image.OpenArchiveBytes(data) })
	})
}

var digestRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// FuzzOpenLayout feeds arbitrary index.json, manifest and configuration
// bytes to the OCI layout opener: each digest the index names gets the
// manifest's bytes, the first the manifest names the configuration's, the
// others the seed's real layer. go-containerregistry reads a layout from
// a directory, so the files are written; run it with -fuzzminimizetime
// 2s as FuzzOpenArchive.
func FuzzOpenLayout(f *testing.F) {
	dir := f.TempDir()
	imagetest.Layout(f, dir, "app", imagetest.Image(f, "linux/amd64", nil,
		imagetest.Layer(f, imagetest.File("usr/bin/app", []byte("\x7fELF fake")))))
	index, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		f.Fatal(err)
	}
	read := func(d string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", d[len("sha256:"):]))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	manifest := read(digestRE.FindString(string(index)))
	md := digestRE.FindAllString(string(manifest), -1)
	config, layer := read(md[0]), read(md[len(md)-1])
	f.Add(index, manifest, config)
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), manifest, config)
	// One directory per fuzzing process, emptied for each input: a
	// temporary directory per input (t.TempDir) was a mkdir and a
	// recursive removal per run on top of the files themselves.
	d := filepath.Join(f.TempDir(), "layout")
	f.Fuzz(func(t *testing.T, index, manifest, config []byte) {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
		write := func(name string, b []byte) {
			p := filepath.Join(d, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
		write("index.json", index)
		blob := func(dg string) string { return filepath.Join("blobs", "sha256", dg[len("sha256:"):]) }
		for _, dg := range digestRE.FindAllString(string(index), 8) {
			write(blob(dg), manifest)
		}
		for i, dg := range digestRE.FindAllString(string(manifest), 8) {
			if i == 0 {
				write(blob(dg), config)
			} else {
				write(blob(dg), layer)
			}
		}
		openAndFlatten(t, image.Reference{Scheme: "oci-layout", Value: d})
		openAndFlatten(t, image.Reference{Scheme: "oci-layout", Value: d + ":app"})
	})
}
