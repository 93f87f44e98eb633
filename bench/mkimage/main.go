// Command mkimage writes an OCI image layout whose layers are directories
// of this machine, for the image-scan benchmark (bench/fips_image.sh).
//
//	go run ./bench/mkimage -o bench/out/layout [-zstd] DIR...
//
// Each DIR becomes one layer holding it at its own path; symbolic links
// are stored as links, other special files are skipped.
package main

import (
	"archive/tar"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	out := flag.String("o", "bench/out/layout", "layout directory to write")
	useZstd := flag.Bool("zstd", false, "compress layers with zstd instead of gzip")
	flag.Parse()
	if flag.NArg() == 0 {
		log.Fatal("usage: mkimage -o LAYOUT [-zstd] DIR...")
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, dir := range flag.Args() {
		opts := []tarball.LayerOption{tarball.WithCompressedCaching}
		if *useZstd {
			opts = append(opts, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return tarDir(dir), nil }, opts...)
		if err != nil {
			log.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			log.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		log.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		log.Fatal(err)
	}
	os.RemoveAll(*out)
	p, err := layout.Write(*out, empty.Index)
	if err != nil {
		log.Fatal(err)
	}
	if err := p.AppendImage(mutate.ConfigMediaType(img, types.OCIConfigJSON), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "bench"})); err != nil {
		log.Fatal(err)
	}
	ls, _ := img.Layers()
	for _, l := range ls {
		d, _ := l.Digest()
		fmt.Println(filepath.Join(*out, "blobs", d.Algorithm, d.Hex))
	}
}

// tarDir streams dir as a tar archive with names relative to /.
func tarDir(dir string) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // unreadable entries are skipped
			}
			fi, err := d.Info()
			if err != nil {
				return nil
			}
			link := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				link, _ = os.Readlink(p)
			} else if !fi.Mode().IsRegular() && !fi.IsDir() {
				return nil
			}
			h, err := tar.FileInfoHeader(fi, link)
			if err != nil {
				return nil
			}
			h.Name = strings.TrimPrefix(p, "/")
			if fi.IsDir() {
				h.Name += "/"
			}
			h.Uname, h.Gname = "", ""
			if !fi.Mode().IsRegular() {
				return tw.WriteHeader(h)
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			defer f.Close()
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, h.Size)
			return err
		})
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}
