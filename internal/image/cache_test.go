package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dumpFS renders everything a flattened tree holds, so that two trees
// compare whole: every node with its metadata, every inode (numbered in
// the order of first use, so hard links show as the same number) with
// its retained bytes, examined value and note, the problems and stats.
func dumpFS(f *FS) string {
	var b strings.Builder
	inos := map[*inode]int{}
	for _, name := range slices.Sorted(mapsKeys(f.nodes)) {
		n := f.nodes[name]
		fmt.Fprintf(&b, "%s typ=%q implicit=%v mode=%v layer=%d mtime=%d size=%d link=%q", name, n.typ, n.implicit, n.mode, n.layer, n.mtime, n.size, n.link)
		if n.ino != nil {
			id, ok := inos[n.ino]
			if !ok {
				id = len(inos)
				inos[n.ino] = id
			}
			fmt.Fprintf(&b, " ino#%d{size=%d retained=%v data=%q examined=%v value=%v note=%q linkTo=%q}", id, n.ino.size, n.ino.retained, n.ino.data, n.ino.examined, n.ino.value, n.ino.note, n.ino.linkTo)
		}
		b.WriteByte('\n')
	}
	// The order of problems found when the tree is finished follows a
	// map's, in both paths.
	var probs []string
	for _, p := range f.Problems {
		probs = append(probs, fmt.Sprintf("problem %+v\n", p))
	}
	slices.Sort(probs)
	b.WriteString(strings.Join(probs, ""))
	fmt.Fprintf(&b, "stats %+v\n", f.Stats)
	return b.String()
}

func cachedLayersOf(bs ...[]byte) []cachedLayer {
	var out []cachedLayer
	for _, b := range bs {
		h := sha256.Sum256(b)
		out = append(out, cachedLayer{digest: "sha256:" + hex.EncodeToString(h[:]), open: layerOf(b)})
	}
	return out
}

// flattenBoth flattens the layers from their streams and through c, and
// fails the test when the trees differ. The cached tree is flattened
// twice: once reading the layers, once from the records alone.
func flattenBoth(t *testing.T, c *LayerCache, bs [][]byte, opts FlattenOptions) *FS {
	t.Helper()
	var opens []LayerOpener
	for _, b := range bs {
		opens = append(opens, layerOf(b))
	}
	want, werr := Flatten(context.Background(), opens, opts)
	opts.CacheKey = "test"
	for round := range 2 {
		got, err := flattenCached(context.Background(), c, cachedLayersOf(bs...), opts)
		if errors.Is(err, errRecordIncomplete) {
			// Image.Flatten then reads the streams: same tree.
			return want
		}
		if (err != nil) != (werr != nil) {
			t.Fatalf("round %d: cached error %v, streamed error %v", round, err, werr)
		}
		if err != nil {
			if errors.Is(werr, ErrLimit) != errors.Is(err, ErrLimit) {
				t.Fatalf("round %d: cached error %v, streamed error %v", round, err, werr)
			}
			return nil
		}
		if diff := cmp.Diff(dumpFS(want), dumpFS(got)); diff != "" {
			t.Fatalf("round %d: cached tree differs from the streamed one (-streamed +cached):\n%s", round, diff)
		}
	}
	return want
}

func newTestCache(t testing.TB, o CacheOptions) *LayerCache {
	c, err := NewLayerCache(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCacheSameTree: every case of TestFlatten (whiteouts, opaque
// directories, hard links within and across layers, symbolic links
// crossed by later layers, hostile names) gives the same tree through
// the cache as from the streams.
func TestCacheSameTree(t *testing.T) {
	c := newTestCache(t, CacheOptions{})
	for _, tt := range flattenCases {
		t.Run(tt.name, func(t *testing.T) {
			var bs [][]byte
			for _, l := range tt.layers {
				bs = append(bs, tarBytes(t, l...))
			}
			flattenBoth(t, c, bs, FlattenOptions{Examine: examineBodies})
		})
	}
}

// TestCacheSameTreeRandom: random images over a small set of names,
// where every kind of entry meets every other, give the same tree
// through a cache shared by all of them as from the streams. Layers
// repeat across images, as base layers do.
func TestCacheSameTreeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "d", "d/x", "d/y", "d/e/z", "lib", "lib/l.so", "usr/lib/l.so", "etc/ssl/openssl.cnf", "etc/x.conf"}
	randLayer := func() []byte {
		var ents []ent
		for range 1 + rng.IntN(8) {
			n := names[rng.IntN(len(names))]
			switch rng.IntN(9) {
			case 0, 1:
				ents = append(ents, ent{name: n, body: fakeELF + fmt.Sprint(rng.IntN(3))})
			case 2:
				ents = append(ents, ent{name: n, body: "cfg" + fmt.Sprint(rng.IntN(3))})
			case 3:
				ents = append(ents, ent{name: n, typ: tar.TypeLink, link: names[rng.IntN(len(names))]})
			case 4:
				ents = append(ents, ent{name: n, typ: tar.TypeSymlink, link: []string{"usr/lib", "d", "../x", "a"}[rng.IntN(4)]})
			case 5:
				ents = append(ents, ent{name: n + "/", typ: tar.TypeDir})
			case 6:
				dir, base := filepath.Split(n)
				ents = append(ents, ent{name: dir + ".wh." + base})
			case 7:
				ents = append(ents, ent{name: filepath.Dir(n) + "/.wh..wh..opq"})
			case 8:
				ents = append(ents, ent{name: n, typ: tar.TypeChar})
			}
		}
		return tarBytes(t, ents...)
	}
	pool := make([][]byte, 12)
	for i := range pool {
		pool[i] = randLayer()
	}
	c := newTestCache(t, CacheOptions{})
	lim := DefaultLimits
	lim.MaxRetainTotal = 12 // a few configuration files at most: the budget's order matters
	for i := range 400 {
		var bs [][]byte
		for range 1 + rng.IntN(4) {
			if rng.IntN(3) == 0 {
				bs = append(bs, randLayer())
			} else {
				bs = append(bs, pool[rng.IntN(len(pool))])
			}
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			flattenBoth(t, c, bs, FlattenOptions{Examine: examineBodies, Limits: lim})
		})
	}
	st := c.Stats()
	if st.MemoryHits == 0 || st.Fills == 0 {
		t.Errorf("stats %+v: want hits and fills", st)
	}
	t.Logf("%+v", st)
}

// TestCacheFallback: a hard link of an upper layer whose name the
// retention rule keeps, to a lower file whose own name it does not, needs
// contents the lower layer's record did not keep: the cached flattening
// says so, and Image.Flatten would read the streams.
func TestCacheFallback(t *testing.T) {
	c := newTestCache(t, CacheOptions{})
	lower := tarBytes(t, ent{name: "data/blob", body: "[fips]"})
	upper := tarBytes(t, ent{name: "etc/ssl/openssl.cnf", typ: tar.TypeLink, link: "data/blob"}, ent{name: "data/.wh.blob"})
	want, err := Flatten(context.Background(), []LayerOpener{layerOf(lower), layerOf(upper)}, FlattenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(want)["/etc/ssl/openssl.cnf"]; got != "kept:[fips]" {
		t.Fatalf("streamed: openssl.cnf is %q", got)
	}
	_, err = flattenCached(context.Background(), c, cachedLayersOf(lower, upper), FlattenOptions{CacheKey: "k"})
	if !errors.Is(err, errRecordIncomplete) {
		t.Fatalf("cached: err = %v, want errRecordIncomplete", err)
	}
	if st := c.Stats(); st.Fallbacks != 1 {
		t.Errorf("stats %+v, want one fallback", st)
	}
}

// TestCacheSingleFlight: images sharing a base layer, flattened at once,
// read that layer once.
func TestCacheSingleFlight(t *testing.T) {
	base := tarBytes(t, ent{name: "usr/lib/libcrypto.so.3", body: fakeELF + "crypto"}, ent{name: "etc/os-release", body: "ID=test"})
	var opens atomic.Int64
	gate := make(chan struct{})
	baseLayer := cachedLayer{digest: "sha256:base", open: func() (io.ReadCloser, error) {
		opens.Add(1)
		<-gate // hold the read until every image asked for it
		return io.NopCloser(bytes.NewReader(base)), nil
	}}
	c := newTestCache(t, CacheOptions{})
	const images = 8
	var wg sync.WaitGroup
	errs := make([]error, images)
	trees := make([]map[string]string, images)
	for i := range images {
		app := tarBytes(t, ent{name: fmt.Sprintf("app/bin%d", i), body: fakeELF + fmt.Sprint(i)})
		ls := append([]cachedLayer{baseLayer}, cachedLayersOf(app)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := flattenCached(context.Background(), c, ls, FlattenOptions{Examine: examineBodies, CacheKey: "k"})
			errs[i] = err
			if err == nil {
				trees[i] = tree(f)
			}
		}()
	}
	// Wait until all eight asked for the base layer, then let it be read.
	for {
		st := c.Stats()
		if st.Requests == 2*images {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if got := trees[i]["/usr/lib/libcrypto.so.3"]; got != "elf:"+fakeELF+"crypto" {
			t.Errorf("image %d: libcrypto %q", i, got)
		}
	}
	if n := opens.Load(); n != 1 {
		t.Errorf("base layer opened %d times, want 1", n)
	}
	if st := c.Stats(); st.Shared != images-1 || st.Fills != images+1 {
		t.Errorf("stats %+v: want %d shared reads and %d fills", st, images-1, images+1)
	}
}

// TestCacheCanceledReader: an image that gives up while reading a shared
// layer does not fail the image waiting for the same layer.
func TestCacheCanceledReader(t *testing.T) {
	base := tarBytes(t, ent{name: "lib/x.so", body: fakeELF + "x"})
	started := make(chan struct{})
	release := make(chan struct{})
	var n atomic.Int64
	l := cachedLayer{digest: "sha256:b", open: func() (io.ReadCloser, error) {
		if n.Add(1) == 1 {
			close(started)
			<-release
		}
		return io.NopCloser(bytes.NewReader(base)), nil
	}}
	c := newTestCache(t, CacheOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := flattenCached(ctx, c, []cachedLayer{l}, FlattenOptions{Examine: examineBodies, CacheKey: "k"})
		first <- err
	}()
	<-started
	second := make(chan error)
	go func() {
		_, err := flattenCached(context.Background(), c, []cachedLayer{l}, FlattenOptions{Examine: examineBodies, CacheKey: "k"})
		second <- err
	}()
	for c.Stats().Shared == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	close(release) // the open returns; the read then sees the cancellation
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first: %v, want canceled", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second image: %v", err)
	}
}

// TestCacheMemoryBound: records beyond MaxMemory are dropped, least
// recently used first.
func TestCacheMemoryBound(t *testing.T) {
	c := newTestCache(t, CacheOptions{MaxMemory: 1000})
	for i := range 20 {
		b := tarBytes(t, ent{name: fmt.Sprintf("f%d", i), body: strings.Repeat("x", 100)})
		if _, err := flattenCached(context.Background(), c, cachedLayersOf(b), FlattenOptions{CacheKey: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	used, n := c.memUsed, len(c.mem)
	c.mu.Unlock()
	if used > 1000 || n == 0 || n == 20 {
		t.Errorf("%d records of %d bytes kept, want some within 1000 bytes", n, used)
	}
	if st := c.Stats(); st.Evicted == 0 {
		t.Errorf("stats %+v: nothing evicted", st)
	}
}

// stringCodec encodes the test Examiner's string values.
type stringCodec struct{}

func (stringCodec) Marshal(v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%T is not a string", v)
	}
	return []byte(s), nil
}
func (stringCodec) Unmarshal(b []byte) (any, error) { return string(b), nil }

// TestDiskCache: a second run with the same directory reads no layer,
// and gives the same trees; a corrupt record is a miss and is replaced;
// another version never reads the first one's records.
func TestDiskCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	var bs [][]byte
	for _, tt := range flattenCases {
		for _, l := range tt.layers {
			bs = append(bs, tarBytes(t, l...))
		}
	}
	run := func(version string) CacheStats {
		c := newTestCache(t, CacheOptions{Dir: dir, Version: version, Codec: stringCodec{}})
		for _, tt := range flattenCases {
			var ls [][]byte
			for _, l := range tt.layers {
				ls = append(ls, tarBytes(t, l...))
			}
			flattenBoth(t, c, ls, FlattenOptions{Examine: examineBodies})
		}
		return c.Stats()
	}
	first := run("v1")
	if first.Fills == 0 || first.DiskHits != 0 {
		t.Fatalf("first run %+v", first)
	}
	second := run("v1")
	if second.Fills != 0 || second.DiskHits != first.Fills {
		t.Errorf("second run %+v: want %d records from disk and no layer read", second, first.Fills)
	}
	other := run("v2")
	if other.DiskHits != 0 {
		t.Errorf("another version read %d records of v1", other.DiskHits)
	}
	// Corrupt every v1 record: the next run reads the layers again.
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.rec"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		b[len(b)-1] ^= 0xff
		os.WriteFile(f, b, 0o600)
	}
	again := run("v1")
	if again.DiskHits != 0 || again.DiskErrors == 0 || again.Fills != first.Fills {
		t.Errorf("after corruption %+v: want every layer read again", again)
	}
}

// TestDiskCacheRefusesSharedDir: a directory others can write could
// decide kensa's results; it is refused.
func TestDiskCacheRefusesSharedDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := NewLayerCache(CacheOptions{Dir: dir, Version: "v", Codec: stringCodec{}})
	if err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("err = %v, want a refusal", err)
	}
}

// TestDiskCacheBound: the directory is trimmed to its bound, least
// recently used first.
func TestDiskCacheBound(t *testing.T) {
	dir := t.TempDir()
	c := newTestCache(t, CacheOptions{Dir: dir, Version: "v", Codec: stringCodec{}, MaxDisk: 4000})
	for i := range 30 {
		b := tarBytes(t, ent{name: fmt.Sprintf("f%d", i), body: strings.Repeat("y", 300)}, ent{name: "etc/c.conf", body: strings.Repeat("c", 300)})
		if _, err := flattenCached(context.Background(), c, cachedLayersOf(b), FlattenOptions{CacheKey: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	d := c.disk
	if n := d.usage(); n > 4000 || n == 0 {
		t.Errorf("cache directory holds %d bytes, bound 4000", n)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	b := tarBytes(t, ent{name: "bin/a", body: fakeELF + "a"}, ent{name: "etc/x.conf", body: "x=1"}, ent{name: "l", typ: tar.TypeSymlink, link: "bin/a"},
		ent{name: "h", typ: tar.TypeLink, link: "bin/a"}, ent{name: ".wh.z"}, ent{name: "../bad", body: "b"})
	rec, err := recordLayer(bytes.NewReader(b), flattenDefaults(FlattenOptions{Examine: examineBodies}), nil)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := encodeRecord(rec, "key", stringCodec{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(enc, "key", stringCodec{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rec, got, cmp.AllowUnexported(layerRecord{}, entry{}, recFile{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := decodeRecord(enc, "other key", stringCodec{}); !errors.Is(err, errCorrupt) {
		t.Errorf("decode under another key: %v", err)
	}
}

// FuzzFlattenCached: whatever two layers hold, the cache gives the tree
// the streams give. Each new input is minimised for up to
// -fuzzminimizetime (default 60s), during which no execution is counted:
//
//	go test ./internal/image -run '^$' -fuzz '^FuzzFlattenCached$' -fuzztime 60s -fuzzminimizetime 1s
func FuzzFlattenCached(f *testing.F) {
	f.Add(tarBytes(f, ent{name: "a", body: fakeELF}, ent{name: "b", typ: tar.TypeLink, link: "a"}, ent{name: ".wh.c"}), uint16(0))
	two := append(tarBytes(f, ent{name: "d/x", body: fakeELF}, ent{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"}),
		tarBytes(f, ent{name: "d/.wh..wh..opq"}, ent{name: "lib/y.so", body: fakeELF}, ent{name: "../../z", body: "z"})...)
	f.Add(two, uint16(len(two)/2))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := min(int(split), len(data))
		lim := Limits{MaxUncompressed: 1 << 20, MaxEntries: 1000, MaxExamine: 1 << 16, MaxRetainFile: 1 << 10, MaxRetainTotal: 1 << 14}
		c := newTestCache(t, CacheOptions{})
		flattenBoth(t, c, [][]byte{data[:cut], data[cut:]}, FlattenOptions{Limits: lim, Examine: examineBodies})
	})
}

// BenchmarkFleet flattens 24 images over 3 base layers (2,000 files, a
// tenth of them ELF), each with a small layer of its own: from the
// streams, and through one layer cache for all of them.
func BenchmarkFleet(b *testing.B) {
	var bases [][]byte
	for k := range 3 {
		var ents []ent
		for i := range 2000 {
			body := strings.Repeat("x", 2000)
			if i%10 == 0 {
				body = fakeELF + body
			}
			ents = append(ents, ent{name: fmt.Sprintf("usr/lib/b%d/f%d", k, i), body: body})
		}
		bases = append(bases, tarBytes(b, ents...))
	}
	var images [][][]byte
	for i := range 24 {
		app := tarBytes(b, ent{name: fmt.Sprintf("app/%d", i), body: fakeELF + "app"}, ent{name: "etc/app.conf", body: "x"})
		images = append(images, [][]byte{bases[i%3], app})
	}
	examine := func(string, io.ReaderAt, int64) any { return nil }
	b.Run("streamed", func(b *testing.B) {
		for b.Loop() {
			for _, im := range images {
				if _, err := Flatten(context.Background(), []LayerOpener{layerOf(im[0]), layerOf(im[1])}, FlattenOptions{Examine: examine}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			c := newTestCache(b, CacheOptions{})
			for _, im := range images {
				if _, err := flattenCached(context.Background(), c, cachedLayersOf(im...), FlattenOptions{Examine: examine, CacheKey: "k"}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
