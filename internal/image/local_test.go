package image

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// TestLocalMetadataBounds: a layout or docker archive whose metadata
// (index.json, a manifest, the configuration, manifest.json) is huge
// fails the image with ErrLimit before it is read into memory.
func TestLocalMetadataBounds(t *testing.T) {
	host, _ := testImages(t)
	dir := t.TempDir()

	bigConfig := filepath.Join(dir, "bigconfig")
	imagetest.Layout(t, bigConfig, "x", host)
	cn, err := host.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(bigConfig, "blobs", cn.Algorithm, cn.Hex), 64<<20); err != nil {
		t.Fatal(err)
	}

	bigManifest := filepath.Join(dir, "bigmanifest")
	imagetest.Layout(t, bigManifest, "x", host)
	d, err := host.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(bigManifest, "blobs", d.Algorithm, d.Hex), 64<<20); err != nil {
		t.Fatal(err)
	}

	bigIndex := filepath.Join(dir, "bigindex")
	imagetest.Layout(t, bigIndex, "x", host)
	if err := os.Truncate(filepath.Join(bigIndex, "index.json"), 64<<20); err != nil {
		t.Fatal(err)
	}

	archive := func(name string, files map[string]int) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tw := tar.NewWriter(f)
		for _, n := range []string{"cfg.json", "manifest.json"} {
			size, ok := files[n]
			if !ok {
				continue
			}
			body := []byte(`[{"Config":"cfg.json","RepoTags":["app:1"],"Layers":[]}]`)
			if n != "manifest.json" || size > 0 {
				body = make([]byte, size)
			}
			tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644})
			tw.Write(body)
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bigArchiveConfig := archive("bigconfig.tar", map[string]int{"cfg.json": 32 << 20, "manifest.json": 0})
	bigArchiveManifest := archive("bigmanifest.tar", map[string]int{"manifest.json": 32 << 20})

	for _, ref := range []string{
		"oci-layout:" + bigConfig, "oci-layout:" + bigManifest, "oci-layout:" + bigIndex,
		"docker-archive:" + bigArchiveConfig, "docker-archive:" + bigArchiveManifest,
	} {
		t.Run(filepath.Base(ref), func(t *testing.T) {
			r, _, _ := ParseReference(ref)
			_, err := Open(context.Background(), r, Options{})
			if !errors.Is(err, ErrLimit) {
				t.Errorf("Open(%s): %v, want ErrLimit", strings.TrimPrefix(ref, dir), err)
			}
		})
	}
}
