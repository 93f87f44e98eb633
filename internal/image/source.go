// Package image reads container images without a daemon, root or disk:
// from a registry, a docker-save archive or an OCI image layout, through
// go-containerregistry. It selects the platforms asked for and flattens
// each image's layers in one streaming pass into an in-memory
// [rootfs.FS] ([Flatten]), handing every ELF file's contents to a
// caller's examiner on the way.
package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Source schemes of image references.
const (
	SchemeRegistry      = "registry"
	SchemeDockerArchive = "docker-archive"
	SchemeOCILayout     = "oci-layout"
)

// Reference is an image reference as the user wrote it:
// "registry:REF", "docker-archive:PATH[:TAG]", "oci-layout:PATH[:TAG|@DIGEST]".
type Reference struct {
	Scheme string
	Value  string
}

func (r Reference) String() string { return r.Scheme + ":" + r.Value }

// ParseReference splits s into a scheme and its value. ok is false when s
// names no image scheme (it is then a path).
func ParseReference(s string) (ref Reference, ok bool, err error) {
	scheme, value, found := strings.Cut(s, ":")
	if !found {
		return Reference{}, false, nil
	}
	switch scheme {
	case SchemeRegistry, SchemeDockerArchive, SchemeOCILayout:
	default:
		return Reference{}, false, nil
	}
	if value == "" {
		return Reference{}, true, fmt.Errorf("%s: reference is empty", s)
	}
	return Reference{Scheme: scheme, Value: value}, true, nil
}

// Options say how to reach images and which platforms to select.
type Options struct {
	// Platform selects one platform of an index ("linux/arm64/v8");
	// empty means linux and the host's architecture.
	Platform string
	// AllPlatforms selects every platform of an index.
	AllPlatforms bool
	// Insecure names registries (host[:port]) that may be reached over
	// plain HTTP. Loopback registries always may.
	Insecure []string
	// Keychain gives registry credentials; nil means anonymous. The
	// package reads no docker configuration itself: the command line
	// passes authn.DefaultKeychain.
	Keychain authn.Keychain
	// Transport is the HTTP transport (tests); nil means
	// http.DefaultTransport.
	Transport http.RoundTripper
	// Stall fails a registry request that gets no answer, or a body that
	// delivers less than 16 KiB, within this window; 0 means
	// [DefaultStall].
	Stall time.Duration
	// Cache, when set, shares layer records between the images opened
	// with it ([LayerCache]); their flattening ([Image.Flatten]) uses it
	// when FlattenOptions.CacheKey is set.
	Cache *LayerCache
}

// Image is one platform's image, ready to flatten.
type Image struct {
	// Reference is the reference the user gave.
	Reference string
	// Digest is the image manifest's digest; for a docker-save archive,
	// which has no registry manifest, the image ID (the configuration's
	// digest).
	Digest string
	// Platform is os/arch[/variant] from the image configuration.
	Platform string
	// Env is the configuration's Env, as NAME=value strings.
	Env []string

	img     v1.Image
	layers  []v1.Layer
	archive bool // a docker-save archive: read layers with Uncompressed
	verify  bool // blobs on local disk: verify their digest while reading
	cache   *LayerCache
}

// Layers returns the openers of the image's layer streams, bottom first,
// decompressed (gzip or zstd, detected by magic) and, for local blobs,
// verified against their digests.
func (im *Image) Layers() []LayerOpener {
	out := make([]LayerOpener, len(im.layers))
	for i, l := range im.layers {
		out[i] = func() (io.ReadCloser, error) { return openLayer(l, im.archive, im.verify) }
	}
	return out
}

// Open resolves ref into the images to scan: one for a single image, the
// selected platforms of an index. ctx bounds network work.
func Open(ctx context.Context, ref Reference, opts Options) ([]*Image, error) {
	want, err := wantPlatform(opts.Platform)
	if err != nil {
		return nil, err
	}
	sel := selector{want: want, explicit: opts.Platform != "", all: opts.AllPlatforms, fetched: new(int)}
	var imgs []*Image
	switch ref.Scheme {
	case SchemeRegistry:
		imgs, err = openRegistry(ctx, ref, opts, sel)
	case SchemeDockerArchive:
		imgs, err = openArchive(ref)
	case SchemeOCILayout:
		imgs, err = openLayout(ref, sel)
	default:
		return nil, fmt.Errorf("unknown image scheme %q", ref.Scheme)
	}
	for _, im := range imgs {
		im.cache = opts.Cache
	}
	return imgs, err
}

// CheckPlatform reports whether s is a valid --platform value.
func CheckPlatform(s string) error {
	_, err := wantPlatform(s)
	return err
}

// wantPlatform parses --platform, defaulting to linux/<host arch>.
func wantPlatform(s string) (v1.Platform, error) {
	if s == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, nil
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, "/") > 2 {
		return v1.Platform{}, fmt.Errorf("--platform %q is not os/arch[/variant]", s)
	}
	return *p, nil
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// selector picks manifests of an index.
type selector struct {
	want     v1.Platform
	explicit bool
	all      bool
	// blobs, for a layout, checks blob sizes before they are read whole.
	blobs layoutBlobs
	// fetched counts the manifests read for one reference, so that
	// nested indexes of thousands of entries cannot fan out unbounded.
	fetched *int
}

// maxManifests bounds the manifests and indexes read for one reference
// (a multi-platform image has a few dozen with its attestations).
const maxManifests = 256

func (s selector) fetch() error {
	*s.fetched++
	if *s.fetched > maxManifests {
		return fmt.Errorf("%w: the index leads to more than %d manifests", ErrLimit, maxManifests)
	}
	return nil
}

func (s selector) matches(p *v1.Platform) bool {
	if p == nil {
		return false
	}
	if s.all {
		// Attestation and signature manifests carry unknown/unknown.
		return p.OS != "unknown" && p.Architecture != "unknown"
	}
	if p.OS != s.want.OS || p.Architecture != s.want.Architecture {
		return false
	}
	return s.want.Variant == "" || variant(p) == variant(&s.want)
}

// variant is p's architecture variant with the default made explicit, as
// containerd's platforms.Normalize does: linux/arm64 is linux/arm64/v8,
// linux/arm is linux/arm/v7, linux/amd64 is linux/amd64/v1.
func variant(p *v1.Platform) string {
	if p.Variant != "" {
		return p.Variant
	}
	switch p.Architecture {
	case "arm64":
		return "v8"
	case "arm":
		return "v7"
	case "amd64":
		return "v1"
	}
	return ""
}

// fromIndex selects the images of idx (nested indexes included, to a
// small depth).
func (s selector) fromIndex(ref string, idx v1.ImageIndex, depth int) ([]*Image, error) {
	if depth > 4 {
		return nil, errors.New("image indexes nested too deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index: %w", err)
	}
	var out []*Image
	var seen []string
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			if err := s.fetch(); err != nil {
				return nil, err
			}
			if err := s.blobs.check(d.Digest, maxMetadata, "index"); err != nil {
				return nil, err
			}
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s: %w", d.Digest, err)
			}
			imgs, err := s.fromIndex(ref, child, depth+1)
			if err != nil && !errors.Is(err, errNoPlatform) {
				return nil, err
			}
			out = append(out, imgs...)
		case d.MediaType.IsImage():
			seen = append(seen, platformString(d.Platform))
			if !s.matches(d.Platform) {
				continue
			}
			if err := s.fetch(); err != nil {
				return nil, err
			}
			if err := s.blobs.check(d.Digest, maxMetadata, "manifest"); err != nil {
				return nil, err
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			one, err := newImage(ref, img, s.blobs)
			if err != nil {
				return nil, err
			}
			out = append(out, one)
			if !s.all {
				return out, nil
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w %s in the index (it has: %s)", errNoPlatform, platformString(&s.want), strings.Join(seen, ", "))
	}
	return out, nil
}

// errNoPlatform reports an index without the platform asked for.
var errNoPlatform = errors.New("no image for platform")

// fromImage checks a single image against an explicit --platform.
func (s selector) fromImage(ref string, img v1.Image) ([]*Image, error) {
	one, err := newImage(ref, img, s.blobs)
	if err != nil {
		return nil, err
	}
	if s.explicit && !s.all {
		p, _ := v1.ParsePlatform(one.Platform)
		if p != nil && !s.matches(p) {
			return nil, fmt.Errorf("%w %s: the image is %s", errNoPlatform, platformString(&s.want), one.Platform)
		}
	}
	return []*Image{one}, nil
}

// Bounds on what an image's manifest may ask kensa to fetch (manifests
// themselves are bounded to 100 MiB by go-containerregistry). Docker
// builds at most 127 layers; image configurations are kilobytes.
const (
	maxLayers     = 1000
	maxConfigSize = 16 << 20
	// maxCompressed bounds the declared layer sizes of an image, as
	// DefaultLimits bounds what they decompress to.
	maxCompressed = 64 << 30
)

func newImage(ref string, img v1.Image, blobs layoutBlobs) (*Image, error) {
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	if n := len(m.Layers); n > maxLayers {
		return nil, fmt.Errorf("%w: the manifest lists %d layers (at most %d)", ErrLimit, n, maxLayers)
	}
	// A registry blob is read up to its declared size (go-containerregistry
	// checks it), so declared sizes bound the compressed bytes: without
	// one, or with an absurd one, a registry could stream skippable zstd
	// frames or empty gzip members, which decompress to nothing, forever.
	var total int64
	for _, l := range m.Layers {
		if l.Size < 0 || l.Size > maxCompressed {
			return nil, fmt.Errorf("%w: layer %s declares %d bytes", ErrLimit, l.Digest, l.Size)
		}
		if total += l.Size; total > maxCompressed {
			return nil, fmt.Errorf("%w: the layers declare more than %d bytes", ErrLimit, int64(maxCompressed))
		}
	}
	if m.Config.Size > maxConfigSize {
		return nil, fmt.Errorf("%w: the image configuration is %d bytes (at most %d)", ErrLimit, m.Config.Size, maxConfigSize)
	}
	if err := blobs.check(m.Config.Digest, maxConfigSize, "image configuration"); err != nil {
		return nil, err
	}
	return describe(ref, digest, img)
}

// describe reads what kensa reports of img: its configuration's platform
// and Env, and its layers.
func describe(ref string, digest v1.Hash, img v1.Image) (*Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading image configuration: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	return &Image{
		Reference: ref,
		Digest:    digest.String(),
		Platform:  platformString(cf.Platform()),
		Env:       cf.Config.Env,
		img:       img,
		layers:    layers,
	}, nil
}

func openRegistry(ctx context.Context, ref Reference, opts Options, sel selector) ([]*Image, error) {
	r, err := name.ParseReference(ref.Value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	reg := r.Context().RegistryStr()
	insecure := isLoopback(reg)
	for _, h := range opts.Insecure {
		if h == reg {
			insecure = true
		}
	}
	if insecure {
		if r, err = name.ParseReference(ref.Value, name.Insecure); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
	}
	keychain := opts.Keychain
	if keychain == nil {
		keychain = authn.NewMultiKeychain() // anonymous
	}
	base := opts.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	stall := opts.Stall
	if stall <= 0 {
		stall = DefaultStall
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain),
		remote.WithTransport(plainHTTPGuard{base: stallGuard{base: base, stall: stall}, allowed: insecure}),
		remote.WithUserAgent("kensa"),
	}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		return sel.fromIndex(ref.String(), idx, 0)
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	return sel.fromImage(ref.String(), img)
}

// isLoopback reports whether a registry host[:port] is on this machine.
func isLoopback(reg string) bool {
	host := reg
	if h, _, err := net.SplitHostPort(reg); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// plainHTTPGuard refuses plain HTTP except where allowed.
// go-containerregistry falls back to HTTP on its own for private
// (RFC 1918) addresses and *.local names; kensa allows it only for
// loopback registries and those named with --insecure, as docker does.
type plainHTTPGuard struct {
	base    http.RoundTripper
	allowed bool
}

func (g plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.allowed && !isLoopback(req.URL.Host) {
		return nil, fmt.Errorf("refusing plain HTTP to %s (name the registry with --insecure to allow it)", req.URL.Host)
	}
	return g.base.RoundTrip(req)
}

func openArchive(ref Reference) ([]*Image, error) {
	p, tag := ref.Value, (*name.Tag)(nil)
	if _, err := os.Stat(p); err != nil {
		// docker-archive:PATH:TAG picks one image of a multi-image save;
		// the tag has colons of its own.
		for i := 0; i < len(p); i++ {
			if p[i] != ':' {
				continue
			}
			if st, serr := os.Stat(p[:i]); serr == nil && st.Mode().IsRegular() {
				t, terr := name.NewTag(p[i+1:])
				if terr != nil {
					return nil, fmt.Errorf("%s: %w", ref, terr)
				}
				p, tag = p[:i], &t
				break
			}
		}
	}
	return openArchiveFrom(ref.String(), func() (io.ReadCloser, error) { return os.Open(p) }, tag)
}

// openArchiveFrom opens the docker-save archive open gives (read several
// times: once to check it, then by go-containerregistry), reference ref.
func openArchiveFrom(ref string, open tarball.Opener, tag *name.Tag) ([]*Image, error) {
	if err := checkArchive(open); err != nil {
		return nil, err
	}
	img, err := tarball.Image(open, tag)
	if err != nil {
		return nil, err
	}
	// A docker-save archive has no registry manifest: go-containerregistry
	// would make one by compressing every uncompressed layer. Its image ID
	// (the configuration's digest, as `docker images --no-trunc` shows)
	// names it instead.
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("reading the image configuration: %w", err)
	}
	one, err := describe(ref, id, img)
	if err != nil {
		return nil, err
	}
	one.archive = true
	return []*Image{one}, nil
}

func openLayout(ref Reference, sel selector) ([]*Image, error) {
	p, tag, digest := ref.Value, "", ""
	if i := strings.LastIndex(p, "@"); i > 0 {
		p, digest = p[:i], p[i+1:]
	} else if _, err := os.Stat(p); err != nil {
		if i := strings.LastIndex(p, ":"); i > 0 && !strings.Contains(p[i:], "/") {
			p, tag = p[:i], p[i+1:]
		}
	}
	lp, err := layout.FromPath(p)
	if err != nil {
		return nil, err
	}
	if err := checkLayoutIndex(p); err != nil {
		return nil, err
	}
	sel.blobs = layoutBlobs(p)
	root, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := root.IndexManifest()
	if err != nil {
		return nil, err
	}
	var picked []v1.Descriptor
	var names []string
	for _, d := range im.Manifests {
		refName := d.Annotations["org.opencontainers.image.ref.name"]
		if refName != "" {
			names = append(names, refName)
		}
		switch {
		case digest != "":
			if d.Digest.String() == digest {
				picked = append(picked, d)
			}
		case tag != "":
			if refName == tag || strings.HasSuffix(refName, ":"+tag) {
				picked = append(picked, d)
			}
		default:
			picked = append(picked, d)
		}
	}
	switch {
	case len(picked) == 0 && digest != "":
		return nil, fmt.Errorf("no manifest %s in the layout's index.json", digest)
	case len(picked) == 0 && tag != "":
		return nil, fmt.Errorf("no image tagged %q in the layout (tags: %s)", tag, strings.Join(names, ", "))
	case len(picked) == 0:
		return nil, errors.New("the layout's index.json lists no manifest")
	case len(picked) > 1 && tag == "" && digest == "":
		// Several descriptors: a tagless reference scans the platforms
		// the layout holds as if its index.json were an image index.
		imgs, err := sel.fromIndex(ref.String(), root, 0)
		for _, im := range imgs {
			im.verify = true
		}
		return imgs, err
	}
	d := picked[0]
	var imgs []*Image
	if d.MediaType.IsIndex() {
		if err := sel.blobs.check(d.Digest, maxMetadata, "index"); err != nil {
			return nil, err
		}
		idx, err := root.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		imgs, err = sel.fromIndex(ref.String(), idx, 0)
		if err != nil {
			return nil, err
		}
	} else {
		if err := sel.blobs.check(d.Digest, maxMetadata, "manifest"); err != nil {
			return nil, err
		}
		img, err := root.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		imgs, err = sel.fromImage(ref.String(), img)
		if err != nil {
			return nil, err
		}
	}
	for _, im := range imgs {
		im.verify = true
	}
	return imgs, nil
}

// maxZstdWindow bounds the memory a zstd frame can ask for (zstd --long
// uses 128 MiB windows at most).
const maxZstdWindow = 128 << 20

// openLayer opens a layer's uncompressed tar stream. Registry and layout
// blobs are read compressed and decompressed here (klauspost/compress is
// about twice as fast as compress/gzip); a docker-save archive may hold
// uncompressed layers, which go-containerregistry would recompress to
// give a compressed stream, so those are read with Uncompressed.
func openLayer(l v1.Layer, archive, verify bool) (io.ReadCloser, error) {
	if archive {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	var src io.Reader = rc
	// digestChecked says that the compressed stream is checked against
	// its digest as it is read: by go-containerregistry for a registry
	// blob, by newVerifier for a local one (sha256 digests only).
	digestChecked := true
	if verify {
		d, err := l.Digest()
		if err != nil {
			rc.Close()
			return nil, err
		}
		src = newVerifier(rc, d)
		digestChecked = d.Algorithm == "sha256"
	}
	// The blob is read (and its digest checked) ahead, on a goroutine of
	// its own; closed after rc, which unblocks a read in progress.
	ahead := newAheadReader(src)
	closeRC := closerFunc(func() error {
		err := rc.Close()
		ahead.Close()
		return err
	})
	br := bufio.NewReaderSize(ahead, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := kgzip.NewReader(br)
		if err != nil {
			closeRC()
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &stack{Reader: zr, closers: []io.Closer{zr, closeRC}, tail: br}, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		// klauspost's decoder, tuned by measurement (bench/fips_image.sh
		// with KENSA_BENCH_ZSTD=1, 2 cores; see docs/fips-images.md):
		//   - synchronous: its asynchronous stream mode (sequences
		//     decoded and executed on goroutines of their own) cost
		//     12-15% more CPU with no gain in wall time. Decoding runs
		//     ahead of the tar reader instead, on a goroutine of its own
		//     (decodeAhead), where it only decodes: the copy of each file
		//     into its examination buffer, and the first touch of that
		//     buffer's pages, happen on the reader's;
		//   - not low-memory: the history buffer is twice the frame's
		//     window instead of the window plus 1 MiB, so the window is
		//     slid down once per window of output instead of once per MiB
		//     (with a 4 MiB window, 4 bytes copied per byte decoded; 12%
		//     of the decoding time). The bound is 2 × maxZstdWindow per
		//     layer being read;
		//   - no frame checksum when the blob's digest is checked as it
		//     is read (digestChecked): any corruption the xxhash64
		//     checksum would catch fails the sha256 digest too, and the
		//     stack below reads to the blob's end before EOF, so a bad
		//     digest is still an error of the layer (2% of the CPU).
		zr, err := getZstd(br, digestChecked)
		if err != nil {
			closeRC()
			return nil, fmt.Errorf("zstd: %w", err)
		}
		out := newAheadReaderSize(zr, decodeAhead)
		return &stack{Reader: out, closers: []io.Closer{closeRC, out, closerFunc(func() error { putZstd(zr, digestChecked); return nil })}, tail: br}, nil
	}
	if mt, _ := l.MediaType(); mt == types.OCILayerZStd {
		closeRC()
		return nil, errors.New("zstd layer without a zstd frame")
	}
	return &stack{Reader: br, closers: []io.Closer{closeRC}}, nil
}

// decodeAhead is the chunk size of a zstd layer's decoding ahead of the
// tar reader (aheadReader, 4 chunks). Measured on a one-layer image of
// /usr/lib/x86_64-linux-gnu (1 GB, one zstd frame), kensa / listing,
// median of 5 interleaved rounds: decoding in turn with reading 1.19;
// ahead in 64 KiB chunks 1.35 (handing over costs more than it saves),
// 256 KiB 1.13-1.17, 1 MiB 1.14. On the two-layer image of
// bench/fips_image.sh: 1.03 in turn, 1.01 ahead.
const decodeAhead = 1 << 20

// zstdDecoders keeps the decoders of layers read before, with their
// history and block buffers (10 MB for a frame of the usual 4 MiB
// window), for the next layer: a fleet's hundreds of layers would each
// allocate and zero them again. Only decoders that skip the frame
// checksum (the blob's digest checked instead, the usual case) are kept.
var zstdDecoders sync.Pool

// getZstd returns a decoder of r (see openLayer for the options).
func getZstd(r io.Reader, digestChecked bool) (*zstd.Decoder, error) {
	if digestChecked {
		if d, ok := zstdDecoders.Get().(*zstd.Decoder); ok {
			// Reset reads the frame header: a header it refuses, a new
			// decoder would refuse too.
			if err := d.Reset(r); err != nil {
				d.Close()
				return nil, err
			}
			return d, nil
		}
	}
	return zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(false),
		zstd.WithDecoderMaxWindow(maxZstdWindow),
		zstd.WithDecoderMaxMemory(maxZstdWindow),
		zstd.IgnoreChecksum(digestChecked))
}

// putZstd gives a decoder back once its layer is closed.
func putZstd(d *zstd.Decoder, digestChecked bool) {
	if !digestChecked || d.Reset(nil) != nil {
		d.Close()
		return
	}
	zstdDecoders.Put(d)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// stack is a decompressed stream over a compressed one. At the end of the
// decompressed data it reads the compressed stream to its end, so a
// verifying reader below sees all bytes and checks the digest.
type stack struct {
	io.Reader
	closers []io.Closer
	tail    io.Reader
}

func (s *stack) Read(p []byte) (int, error) {
	n, err := s.Reader.Read(p)
	if err == io.EOF && s.tail != nil {
		if _, derr := io.Copy(io.Discard, s.tail); derr != nil {
			return n, derr
		}
		s.tail = nil
	}
	return n, err
}

func (s *stack) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// verifier checks a blob's sha256 digest when its stream ends.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	want v1.Hash
}

func newVerifier(r io.Reader, want v1.Hash) io.Reader {
	if want.Algorithm != "sha256" {
		return r
	}
	return &verifier{r: r, h: sha256.New(), want: want}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Hex {
			return n, fmt.Errorf("blob %s has digest sha256:%s", v.want, got)
		}
	}
	return n, err
}

// Flatten flattens the image with opts ([Flatten]). With a layer cache
// (Options.Cache) and opts.CacheKey set, the tree is assembled from the
// layers' records, each layer read at most once for all the images that
// share the cache; the result is the same as from the streams. Layers of
// a docker-save archive are not cached: the archive names them by the
// digest of their uncompressed contents, which nothing verifies before
// the whole layer is read.
func (im *Image) Flatten(ctx context.Context, opts FlattenOptions) (*FS, error) {
	if im.cache == nil || opts.CacheKey == "" || im.archive {
		return Flatten(ctx, im.Layers(), opts)
	}
	ls := make([]cachedLayer, len(im.layers))
	opens := im.Layers()
	for i, l := range im.layers {
		d, err := l.Digest()
		if err != nil {
			return Flatten(ctx, opens, opts)
		}
		size, _ := l.Size()
		ls[i] = cachedLayer{digest: d.String(), size: size, open: opens[i]}
	}
	fsys, err := flattenCached(ctx, im.cache, ls, opts)
	if errors.Is(err, errRecordIncomplete) {
		return Flatten(ctx, opens, opts)
	}
	return fsys, err
}
