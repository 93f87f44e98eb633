// Command mkfleet writes an OCI image layout of a fleet, for the layer
// cache benchmark (bench/fips_fleet.sh): N images over M distinct base
// layers, each image its base plus a small layer of its own.
//
//	go run ./bench/mkfleet -o bench/out/fleet -n 300 -m 40 [-base-mb 4] [-zstd]
//
// Base k holds the k-th slice (about -base-mb MiB) of this machine's
// shared libraries and executables; image i has base i mod M and an app
// layer with one executable and a configuration file of its own. It
// prints one image reference per line (oci-layout:DIR@DIGEST) on standard
// output, and the blob paths of each image's layers, tab-separated after
// the reference.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	out := flag.String("o", "bench/out/fleet", "layout directory to write")
	n := flag.Int("n", 300, "images")
	m := flag.Int("m", 40, "distinct base layers")
	baseMB := flag.Int("base-mb", 4, "MiB of files per base layer")
	useZstd := flag.Bool("zstd", false, "compress layers with zstd instead of gzip")
	flag.Parse()

	files := hostFiles([]string{"/usr/lib/" + multiarch(), "/usr/bin"})
	// Slices of about base-mb MiB, in a fixed order.
	var slicesOf [][]string
	var cur []string
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil || st.Size() > int64(*baseMB)<<20 {
			continue
		}
		cur = append(cur, f)
		size += st.Size()
		if size >= int64(*baseMB)<<20 {
			slicesOf = append(slicesOf, cur)
			cur, size = nil, 0
			if len(slicesOf) == *m {
				break
			}
		}
	}
	if len(slicesOf) < *m {
		log.Fatalf("only %d base slices of %d MiB on this machine", len(slicesOf), *baseMB)
	}
	opts := []tarball.LayerOption{tarball.WithCompressedCaching}
	if *useZstd {
		opts = append(opts, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	}
	mk := func(data []byte) v1.Layer {
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, opts...)
		if err != nil {
			log.Fatal(err)
		}
		return l
	}
	bases := make([]v1.Layer, *m)
	for k := range bases {
		bases[k] = mk(tarFiles(slicesOf[k], map[string][]byte{"etc/base-release": []byte(fmt.Sprintf("ID=base%d\n", k))}))
	}
	os.RemoveAll(*out)
	p, err := layout.Write(*out, empty.Index)
	if err != nil {
		log.Fatal(err)
	}
	app := slicesOf[0][0]
	for i := range *n {
		extra := map[string][]byte{fmt.Sprintf("etc/app%d.conf", i): []byte(fmt.Sprintf("app=%d\n", i))}
		appLayer := mk(tarFiles([]string{app}, extra))
		img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), bases[i%*m], appLayer)
		if err != nil {
			log.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = "linux", runtime.GOARCH
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			log.Fatal(err)
		}
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": fmt.Sprintf("app%d", i)})); err != nil {
			log.Fatal(err)
		}
		d, _ := img.Digest()
		ls, _ := img.Layers()
		var blobs []string
		for _, l := range ls {
			ld, _ := l.Digest()
			blobs = append(blobs, filepath.Join(*out, "blobs", ld.Algorithm, ld.Hex))
		}
		fmt.Printf("oci-layout:%s@%s\t%s\n", *out, d, strings.Join(blobs, "\t"))
	}
}

func multiarch() string {
	if runtime.GOARCH == "arm64" {
		return "aarch64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

// hostFiles lists the regular files under dirs, sorted.
func hostFiles(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() {
				out = append(out, p)
			}
			return nil
		})
	}
	slices.Sort(out)
	return out
}

// tarFiles is a tar stream of host files at their own paths, plus extra
// files.
func tarFiles(files []string, extra map[string][]byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(f, "/"), Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range extra {
			if !yield(k) {
				return
			}
		}
	}) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(extra[name])), Typeflag: tar.TypeReg})
		tw.Write(extra[name])
	}
	tw.Close()
	return b.Bytes()
}
