// Package imagetest builds real container images for tests with
// go-containerregistry: layers from in-memory entries or files of this
// machine, images with a platform and Env, two-platform indexes, served
// by the in-process registry on loopback or written as a docker-save
// archive or an OCI layout. Only tests import it.
package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TB is the part of testing.TB the builders use, so that testscript
// setups can build images too.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Entry is one tar entry of a layer.
type Entry struct {
	Name string // path inside the image, without a leading slash
	// Type is a tar type flag; 0 is a regular file.
	Type byte
	Mode int64 // 0 means 0755 for files and directories
	Body []byte
	// From reads Body from a file of this machine.
	From string
	Link string // symbolic or hard link target
}

// File is a regular file entry with body.
func File(name string, body []byte) Entry { return Entry{Name: name, Body: body} }

// HostFile copies a file of this machine (its contents, following links)
// to name.
func HostFile(name, from string) Entry { return Entry{Name: name, From: from} }

// Symlink is a symbolic link entry.
func Symlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeSymlink, Link: target}
}

// Hardlink is a hard link entry.
func Hardlink(name, target string) Entry {
	return Entry{Name: name, Type: tar.TypeLink, Link: target}
}

// Whiteout deletes name from the lower layers.
func Whiteout(name string) Entry {
	dir, base := "", name
	if i := strings.LastIndex(name, "/"); i >= 0 {
		dir, base = name[:i+1], name[i+1:]
	}
	return Entry{Name: dir + ".wh." + base}
}

// Opaque hides what lower layers put under dir.
func Opaque(dir string) Entry {
	return Entry{Name: strings.TrimSuffix(dir, "/") + "/.wh..wh..opq"}
}

// Tar returns the uncompressed tar stream of entries.
func Tar(t TB, entries ...Entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		body := e.Body
		if e.From != "" {
			var err error
			if body, err = os.ReadFile(e.From); err != nil {
				t.Fatal(err)
			}
		}
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Link, Mode: e.Mode, Format: tar.FormatPAX}
		if h.Mode == 0 {
			h.Mode = 0o755
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Layer is a gzip-compressed layer of entries.
func Layer(t TB, entries ...Entry) v1.Layer {
	return layer(t, compression.GZip, entries)
}

// ZstdLayer is a zstd-compressed layer of entries.
func ZstdLayer(t TB, entries ...Entry) v1.Layer {
	return layer(t, compression.ZStd, entries)
}

func layer(t TB, c compression.Compression, entries []Entry) v1.Layer {
	t.Helper()
	data := Tar(t, entries...)
	opts := []tarball.LayerOption{tarball.WithCompression(c), tarball.WithCompressedCaching}
	if c == compression.ZStd {
		opts = append(opts, tarball.WithMediaType(types.OCILayerZStd))
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Image is an OCI image for platform ("linux/amd64") with env and layers
// (bottom first).
func Image(t TB, platform string, env []string, layers ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config.Env = env
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// Index is an OCI image index of imgs, each with its configuration's
// platform.
func Index(t TB, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: cf.Platform()}})
	}
	return idx
}

// Registry starts go-containerregistry's in-process registry on
// loopback and returns its host:port.
func Registry(t TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return RegistryOn(t, ln)
}

// RegistryOn serves the in-process registry on ln (plain HTTP) and
// returns its host:port.
func RegistryOn(t TB, ln net.Listener) string {
	s := &httptest.Server{Listener: ln, Config: &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}}
	s.Start()
	t.Cleanup(s.Close)
	return ln.Addr().String()
}

// Push writes an image or an index to ref in a registry.
func Push(t TB, ref string, x any, opts ...name.Option) {
	t.Helper()
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		t.Fatal(err)
	}
	switch x := x.(type) {
	case v1.Image:
		err = remote.Write(r, x)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, x)
	default:
		t.Fatalf("Push: %T is neither an image nor an index", x)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Archive writes img as a docker-save archive tagged tag.
func Archive(t TB, path, tag string, img v1.Image) {
	t.Helper()
	tg, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, tg, img); err != nil {
		t.Fatal(err)
	}
}

// Layout writes an image or index into an OCI layout at dir, its
// descriptor annotated with the tag (org.opencontainers.image.ref.name).
func Layout(t TB, dir, tag string, x any) {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		if lp, err = layout.Write(dir, empty.Index); err != nil {
			t.Fatal(err)
		}
	}
	opt := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})
	switch x := x.(type) {
	case v1.Image:
		err = lp.AppendImage(x, opt)
	case v1.ImageIndex:
		err = lp.AppendIndex(x, opt)
	default:
		t.Fatalf("Layout: %T is neither an image nor an index", x)
	}
	if err != nil {
		t.Fatal(err)
	}
}
