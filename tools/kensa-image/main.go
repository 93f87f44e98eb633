// Command kensa-image builds kensa's own container image without a
// daemon or a base image: kensa compiled static (CGO_ENABLED=0) with
// GOFIPS140=v1.0.0, so that the Go Cryptographic Module v1.0.0 is what it
// runs and `kensa fips scan` of the image says compliant, in one layer on
// an empty base, written as an OCI image layout.
//
//	go run ./tools/kensa-image -o _image/kensa-oci [-arch amd64,arm64] [-tag kensa:dev]
//	crane push _image/kensa-oci registry.example/kensa:v1   # or: skopeo copy oci:...
//
// The image holds /kensa (the entrypoint), /etc/passwd and /etc/group
// naming the unprivileged user 65532 the image runs as by default (the
// DaemonSet asks for root), and an empty /tmp. kensa carries its own
// trust roots (x/crypto/x509roots/fallback), so no CA bundle is copied.
//
// The build is reproducible: go build -trimpath -buildvcs=false, every
// tar entry and the image's created time at SOURCE_DATE_EPOCH (0 when
// unset), entries in a fixed order with fixed owners and modes, gzip
// without a header time. Two builds of the same tree with the same Go
// version give the same digests.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// GOFIPS140 is the frozen Go Cryptographic Module kensa is built with.
const GOFIPS140 = "v1.0.0"

func main() {
	out := flag.String("o", "", "OCI image layout directory to write (created; must not exist or be empty)")
	arch := flag.String("arch", runtime.GOARCH, "comma-separated GOARCH list; more than one writes an image index")
	tag := flag.String("tag", "kensa:dev", "reference name recorded in the layout (org.opencontainers.image.ref.name)")
	src := flag.String("src", ".", "kensa's source tree (the module root)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: kensa-image -o DIR [-arch amd64,arm64] [-tag NAME] [-src DIR]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	epoch, err := sourceDateEpoch()
	if err == nil {
		err = Build(Options{Src: *src, Out: *out, Arches: strings.Split(*arch, ","), Tag: *tag, Created: epoch})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kensa-image: error: %v\n", err)
		os.Exit(1)
	}
}

func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

// Options say what Build builds.
type Options struct {
	Src     string    // module root of kensa
	Out     string    // OCI layout directory
	Arches  []string  // GOARCH values (linux only)
	Tag     string    // ref.name annotation
	Created time.Time // image and file times
}

// Build compiles kensa per architecture and writes the image (or an index
// of images) to o.Out.
func Build(o Options) error {
	if ents, err := os.ReadDir(o.Out); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s exists and is not empty", o.Out)
	}
	var imgs []v1.Image
	for _, a := range o.Arches {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		img, err := buildImage(o, a)
		if err != nil {
			return fmt.Errorf("linux/%s: %w", a, err)
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		return errors.New("no architecture given")
	}
	p, err := layout.Write(o.Out, empty.Index)
	if err != nil {
		return err
	}
	ann := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.Tag})
	if len(imgs) == 1 {
		return p.AppendImage(imgs[0], ann)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, img := range imgs {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "linux", Architecture: strings.TrimSpace(o.Arches[i])}}})
	}
	return p.AppendIndex(idx, ann)
}

func buildImage(o Options, arch string) (v1.Image, error) {
	tmp, err := os.MkdirTemp("", "kensa-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "kensa")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", bin, "./cmd/kensa")
	cmd.Dir = o.Src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFIPS140="+GOFIPS140, "GOFLAGS=")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	tarBytes, err := rootfs(exe, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.Created}, CreatedBy: "kensa-image: go build GOFIPS140=" + GOFIPS140 + " CGO_ENABLED=0",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config.Entrypoint = []string{"/kensa"}
	cf.Config.User = "65532:65532"
	cf.Config.WorkingDir = "/"
	cf.Config.Env = []string{"PATH=/"}
	cf.Config.Labels = map[string]string{
		"org.opencontainers.image.title":       "kensa",
		"org.opencontainers.image.source":      "https://github.com/kensa-project/kensa",
		"io.kensa.gofips140":                   GOFIPS140,
		"org.opencontainers.image.description": "kensa built with the Go Cryptographic Module " + GOFIPS140,
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the image's one layer: a fixed order of entries, owners and
// times, so the tar (and its digest) depends only on the binary.
func rootfs(exe []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	type entry struct {
		name string
		mode int64
		body []byte
		dir  bool
	}
	passwd := "root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	for _, e := range []entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: []byte(group)},
		{name: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{name: "kensa", mode: 0o755, body: exe},
		{name: "tmp/", mode: 0o1777, dir: true},
	} {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
