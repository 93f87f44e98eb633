package image

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// otherArch is an architecture that is not the host's.
func otherArch() string {
	if runtime.GOARCH == "s390x" {
		return "ppc64le"
	}
	return "s390x"
}

// testImages builds a host-platform image (gzip and zstd layers, a
// whiteout) and another-platform image.
func testImages(t *testing.T) (host, other v1.Image) {
	base := imagetest.Layer(t,
		imagetest.File("usr/bin/app", []byte(fakeELF+" host")),
		imagetest.File("usr/bin/removed", []byte(fakeELF+" removed")),
		imagetest.File("etc/os-release", []byte("ID=test\n")),
	)
	top := imagetest.ZstdLayer(t,
		imagetest.Whiteout("usr/bin/removed"),
		imagetest.File("usr/lib/libx.so.1", []byte(fakeELF+" lib")),
	)
	host = imagetest.Image(t, "linux/"+runtime.GOARCH, []string{"GODEBUG=fips140=off"}, base, top)
	other = imagetest.Image(t, "linux/"+otherArch(), nil, imagetest.Layer(t, imagetest.File("usr/bin/app", []byte(fakeELF+" other"))))
	return host, other
}

// scan opens ref and flattens every selected image, returning one line
// per image: platform, then its examined files.
func scan(t *testing.T, ref string, opts Options) ([]string, error) {
	t.Helper()
	r, ok, err := ParseReference(ref)
	if !ok || err != nil {
		t.Fatalf("ParseReference(%q) = %v, %v", ref, ok, err)
	}
	imgs, err := Open(context.Background(), r, opts)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, im := range imgs {
		if im.Reference != ref || !strings.HasPrefix(im.Digest, "sha256:") {
			t.Errorf("image names %q %q, want reference %q and a digest", im.Reference, im.Digest, ref)
		}
		f, err := im.Flatten(context.Background(), FlattenOptions{Examine: examineBodies})
		if err != nil {
			return nil, err
		}
		line := im.Platform + " " + strings.Join(im.Env, ",") + ":"
		for _, file := range f.Files() {
			line += " " + file.Name + "=" + strings.TrimPrefix(file.Value.(string), fakeELF+" ")
		}
		out = append(out, line)
	}
	return out, nil
}

func TestSources(t *testing.T) {
	host, other := testImages(t)
	idx := imagetest.Index(t, host, other)
	hostPlat, otherPlat := "linux/"+runtime.GOARCH, "linux/"+otherArch()
	hostLine := hostPlat + " GODEBUG=fips140=off: /usr/bin/app=host /usr/lib/libx.so.1=lib"
	otherLine := otherPlat + " : /usr/bin/app=other"

	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/app:single", host)
	imagetest.Push(t, reg+"/app:multi", idx)
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	imagetest.Archive(t, archive, "example.com/app:1", host)
	lay := filepath.Join(dir, "layout")
	imagetest.Layout(t, lay, "single", host)
	imagetest.Layout(t, lay, "multi", idx)
	hostDigest, _ := host.Digest()
	idxDigest, _ := idx.Digest()

	tests := []struct {
		ref  string
		opts Options
		want []string
	}{
		{"registry:" + reg + "/app:single", Options{}, []string{hostLine}},
		{"registry:" + reg + "/app@" + hostDigest.String(), Options{}, []string{hostLine}},
		{"registry:" + reg + "/app:multi", Options{}, []string{hostLine}},
		{"registry:" + reg + "/app:multi", Options{Platform: otherPlat}, []string{otherLine}},
		{"registry:" + reg + "/app:multi", Options{AllPlatforms: true}, []string{hostLine, otherLine}},
		{"docker-archive:" + archive, Options{}, []string{hostLine}},
		{"docker-archive:" + archive + ":example.com/app:1", Options{}, []string{hostLine}},
		{"oci-layout:" + lay + ":single", Options{}, []string{hostLine}},
		{"oci-layout:" + lay + ":multi", Options{Platform: otherPlat}, []string{otherLine}},
		{"oci-layout:" + lay + "@" + idxDigest.String(), Options{AllPlatforms: true}, []string{hostLine, otherLine}},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.ref, "/", "_"), func(t *testing.T) {
			got, err := scan(t, tt.ref, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestArchiveDigest: a docker-save archive is named by its image ID.
func TestArchiveDigest(t *testing.T) {
	host, _ := testImages(t)
	archive := filepath.Join(t.TempDir(), "a.tar")
	imagetest.Archive(t, archive, "example.com/a:1", host)
	imgs, err := Open(context.Background(), Reference{SchemeDockerArchive, archive}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := host.ConfigName()
	if imgs[0].Digest != id.String() {
		t.Errorf("digest %s, want the image ID %s", imgs[0].Digest, id)
	}
}

func TestSourceErrors(t *testing.T) {
	host, other := testImages(t)
	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/app:multi", imagetest.Index(t, host, other))
	imagetest.Push(t, reg+"/app:single", host)
	dir := t.TempDir()
	lay := filepath.Join(dir, "layout")
	imagetest.Layout(t, lay, "single", host)

	// A layout whose layer blob was altered on disk.
	bad := filepath.Join(dir, "bad")
	imagetest.Layout(t, bad, "x", host)
	ls, _ := host.Layers()
	d, _ := ls[0].Digest()
	blob := filepath.Join(bad, "blobs", "sha256", d.Hex)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		ref  string
		opts Options
		want string
	}{
		{"registry:" + reg + "/app:multi", Options{Platform: "linux/mips64"}, "no image for platform linux/mips64"},
		{"registry:" + reg + "/app:single", Options{Platform: "linux/mips64"}, "no image for platform linux/mips64"},
		{"registry:" + reg + "/app:nope", Options{}, "MANIFEST_UNKNOWN"},
		{"registry:" + reg + "/app:single", Options{Platform: "linux"}, "not os/arch"},
		{"oci-layout:" + lay + ":nope", Options{}, `no image tagged "nope"`},
		{"oci-layout:" + filepath.Join(dir, "missing"), Options{}, "no such file"},
		{"docker-archive:" + filepath.Join(dir, "missing.tar"), Options{}, "no such file"},
		{"oci-layout:" + bad, Options{}, ""}, // fails while flattening
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.ref, "/", "_"), func(t *testing.T) {
			_, err := scan(t, tt.ref, tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestCorruptCompression(t *testing.T) {
	tests := []struct {
		name string
		blob []byte
		mt   types.MediaType
	}{
		{"gzip", append([]byte{0x1f, 0x8b, 8, 0}, bytes.Repeat([]byte{0xAA}, 4096)...), types.OCILayer},
		{"zstd", append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xAA}, 4096)...), types.OCILayerZStd},
		{"zstd media type without a frame", []byte("plain"), types.OCILayerZStd},
		{"truncated gzip", imagetestGzip(t)[:40], types.OCILayer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := static.NewLayer(tt.blob, tt.mt)
			_, err := Flatten(context.Background(), []LayerOpener{func() (io.ReadCloser, error) { return openLayer(l, false, true) }}, FlattenOptions{})
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func imagetestGzip(t *testing.T) []byte {
	l := imagetest.Layer(t, imagetest.File("a", bytes.Repeat([]byte("abc"), 1000)))
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func TestPlainHTTPGuard(t *testing.T) {
	called := 0
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { called++; return nil, errors.New("sent") })
	tests := []struct {
		url     string
		allowed bool
		sent    bool
	}{
		{"http://10.1.2.3:5000/v2/", false, false},
		{"http://registry.local/v2/", false, false},
		{"http://10.1.2.3:5000/v2/", true, true},
		{"http://127.0.0.1:5000/v2/", false, true},
		{"http://[::1]:5000/v2/", false, true},
		{"https://10.1.2.3/v2/", false, true},
	}
	for _, tt := range tests {
		called = 0
		req, _ := http.NewRequest("GET", tt.url, nil)
		plainHTTPGuard{base: base, allowed: tt.allowed}.RoundTrip(req)
		if (called == 1) != tt.sent {
			t.Errorf("%s allowed=%v: sent=%v, want %v", tt.url, tt.allowed, called == 1, tt.sent)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestParseReference(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want Reference
		err  bool
	}{
		{"registry:quay.io/org/app:1.2", true, Reference{"registry", "quay.io/org/app:1.2"}, false},
		{"oci-layout:./l:app", true, Reference{"oci-layout", "./l:app"}, false},
		{"docker-archive:", true, Reference{}, true},
		{"/usr/bin", false, Reference{}, false},
		{"C:thing", false, Reference{}, false},
	}
	for _, tt := range tests {
		got, ok, err := ParseReference(tt.in)
		if ok != tt.ok || (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseReference(%q) = %v, %v, %v", tt.in, got, ok, err)
		}
	}
}

// TestRegistryCredentials serves the registry behind basic
// authentication: anonymous access fails, and the credentials of a
// docker config ($DOCKER_CONFIG/config.json, as docker login writes it)
// are used.
func TestRegistryCredentials(t *testing.T) {
	host, _ := testImages(t)
	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/private:1", host)
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="kensa-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host, r2.RequestURI = "http", reg, ""
		r2.Header.Del("Authorization")
		resp, err := http.DefaultTransport.RoundTrip(r2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(auth.Close)
	authHost := strings.TrimPrefix(auth.URL, "http://")
	ref := "registry:" + authHost + "/private:1"

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := scan(t, ref, Options{Keychain: authn.DefaultKeychain}); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Fatalf("anonymous: err = %v, want UNAUTHORIZED", err)
	}
	conf := `{"auths":{"` + authHost + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) + `"}}}`
	if err := os.WriteFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := scan(t, ref, Options{Keychain: authn.DefaultKeychain})
	if err != nil || len(got) != 1 {
		t.Fatalf("with docker config: %v, %v", got, err)
	}
	// Without a Keychain the package reads no docker config: anonymous.
	if _, err := scan(t, ref, Options{}); err == nil || !strings.Contains(err.Error(), "UNAUTHORIZED") {
		t.Fatalf("nil Keychain: err = %v, want UNAUTHORIZED", err)
	}
}

// TestInsecureRegistry reaches a plain-HTTP registry on a non-loopback
// address of this machine: refused unless the registry is named in
// Insecure (go-containerregistry alone would fall back to HTTP for a
// private address).
func TestInsecureRegistry(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	host := imagetest.RegistryOn(t, ln)
	img, _ := testImages(t)
	imagetest.Push(t, host+"/x:1", img, name.Insecure)

	// HTTPS fails against a plain-HTTP server; for a private address the
	// guard also refuses go-containerregistry's HTTP fallback.
	if _, err := scan(t, "registry:"+host+"/x:1", Options{}); err == nil {
		t.Errorf("without Insecure: no error")
	} else if ip.IsPrivate() && !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Errorf("without Insecure: err = %v, want a refusal of plain HTTP", err)
	}
	if _, err := scan(t, "registry:"+host+"/x:1", Options{Insecure: []string{host}}); err != nil {
		t.Errorf("with Insecure: %v", err)
	}
}

// TestIndexFanOut: an index that leads to hundreds of manifests (here
// one image listed 300 times, scanned with AllPlatforms) fails with
// ErrLimit instead of fetching and scanning them all.
func TestIndexFanOut(t *testing.T) {
	host, _ := testImages(t)
	idx := imagetest.Index(t, host)
	for range 299 {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: host, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}}})
	}
	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/fan:1", idx)
	r, _, _ := ParseReference("registry:" + reg + "/fan:1")
	imgs, err := Open(context.Background(), r, Options{AllPlatforms: true})
	if !errors.Is(err, ErrLimit) {
		t.Errorf("Open of an index of 300 manifests: %d images, error %v, want ErrLimit", len(imgs), err)
	}
}

// TestPlatformMatch: --platform matches as docker and containerd do,
// a default variant written out or left implicit on either side.
func TestPlatformMatch(t *testing.T) {
	tests := []struct {
		want, have string
		match      bool
	}{
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm/v7", "linux/arm", true},
		{"linux/arm/v6", "linux/arm", false},
		{"linux/arm/v7", "linux/arm/v6", false},
		{"linux/amd64/v1", "linux/amd64", true},
		{"linux/amd64/v3", "linux/amd64", false},
		{"linux/arm64", "linux/amd64", false},
	}
	for _, tt := range tests {
		want, err := wantPlatform(tt.want)
		if err != nil {
			t.Fatal(err)
		}
		have, _ := v1.ParsePlatform(tt.have)
		if got := (selector{want: want, explicit: true}).matches(have); got != tt.match {
			t.Errorf("--platform %s on %s: match %v, want %v", tt.want, tt.have, got, tt.match)
		}
	}
}

// manifestOverride is an image whose manifest says what the test wants.
type manifestOverride struct {
	v1.Image
	m *v1.Manifest
}

func (o manifestOverride) Manifest() (*v1.Manifest, error) { return o.m, nil }

// TestDeclaredLayerSizes: a manifest whose layers declare no size or an
// absurd one is refused before anything is fetched (the declared size is
// what bounds a registry blob's compressed bytes).
func TestDeclaredLayerSizes(t *testing.T) {
	host, _ := testImages(t)
	m, err := host.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, sizes := range [][]int64{{-1}, {1 << 50}, {40 << 30, 40 << 30}} {
		mm := m.DeepCopy()
		mm.Layers = nil
		for _, n := range sizes {
			mm.Layers = append(mm.Layers, v1.Descriptor{MediaType: types.OCILayer, Size: n, Digest: m.Layers[0].Digest})
		}
		if _, err := newImage("x", manifestOverride{host, mm}, ""); !errors.Is(err, ErrLimit) {
			t.Errorf("layer sizes %v: error %v, want ErrLimit", sizes, err)
		}
	}
}

// tamperedLayer serves a blob other than the one its digest names.
type tamperedLayer struct {
	v1.Layer
	blob []byte
}

func (l tamperedLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.blob)), nil
}

// TestZstdTamperedBlob: zstd frames are decoded without their xxhash64
// checksum because the blob's digest is checked as it is read; a byte
// changed inside a stored (incompressible) block still decodes, and only
// that digest check catches it.
func TestZstdTamperedBlob(t *testing.T) {
	body := make([]byte, 64<<10)
	for i := range body {
		body[i] = byte(i*7919>>3 ^ i*31)
	}
	l := imagetest.ZstdLayer(t, imagetest.File("data", body))
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Find the file's bytes in the compressed stream (a raw block).
	at := bytes.Index(blob, body[1000:1064])
	if at < 0 {
		t.Skip("the encoder compressed the test body; no stored block to change")
	}
	bad := bytes.Clone(blob)
	bad[at] ^= 0xff
	open := func(l v1.Layer, verify bool) error {
		_, err := Flatten(context.Background(), []LayerOpener{func() (io.ReadCloser, error) { return openLayer(l, false, verify) }}, FlattenOptions{})
		return err
	}
	if err := open(tamperedLayer{l, blob}, true); err != nil {
		t.Fatalf("untouched blob: %v", err)
	}
	err = open(tamperedLayer{l, bad}, true)
	if err == nil || !strings.Contains(err.Error(), "has digest") {
		t.Errorf("tampered blob, digest checked: error %v, want a digest mismatch", err)
	}
}

// TestZstdDecoderReuse: layers read one after another share decoders
// (zstdDecoders); one that failed half-way, or was closed before its
// end, leaves nothing behind for the next.
func TestZstdDecoderReuse(t *testing.T) {
	body := func(seed int) []byte {
		b := make([]byte, 300<<10)
		for i := range b {
			b[i] = byte((i/64)*seed ^ i%7)
		}
		return b
	}
	read := func(l v1.Layer) (string, error) {
		rc, err := openLayer(l, false, true)
		if err != nil {
			return "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return string(b), err
	}
	want := func(l v1.Layer) string {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	a := imagetest.ZstdLayer(t, imagetest.File("a", body(3)))
	b := imagetest.ZstdLayer(t, imagetest.File("b", body(5)))
	rc, _ := a.Compressed()
	blob, _ := io.ReadAll(rc)
	rc.Close()
	truncated := tamperedLayer{a, blob[:len(blob)/2]}
	for round := range 3 {
		if got, err := read(a); err != nil || got != want(a) {
			t.Fatalf("round %d, layer a: %d bytes, %v", round, len(got), err)
		}
		if _, err := read(truncated); err == nil {
			t.Fatalf("round %d: a truncated blob read without error", round)
		}
		// Closed before its end.
		rc, err := openLayer(b, false, true)
		if err != nil {
			t.Fatal(err)
		}
		io.CopyN(io.Discard, rc, 1000)
		rc.Close()
		if got, err := read(b); err != nil || got != want(b) {
			t.Fatalf("round %d, layer b after a truncated one: %d bytes, %v", round, len(got), err)
		}
	}
}
