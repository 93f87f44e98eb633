package image

import (
	"archive/tar"
	"context"
	"io"
	"path"
	"testing"
	"time"
)

// FuzzFlatten feeds arbitrary bytes to the layer reader as two layers
// (split at a fuzzed offset) and checks the tree it builds: no panic,
// bounded work, every name absolute and clean, every parent a
// directory, hard links never examined twice.
func FuzzFlatten(f *testing.F) {
	f.Add(tarBytes(f, ent{name: "a", body: fakeELF}, ent{name: "b", typ: tar.TypeLink, link: "a"}, ent{name: ".wh.c"}), uint16(0))
	two := append(tarBytes(f, ent{name: "d/x", body: fakeELF}, ent{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"}),
		tarBytes(f, ent{name: "d/.wh..wh..opq"}, ent{name: "lib/y.so", body: fakeELF}, ent{name: "../../z", body: "z"})...)
	f.Add(two, uint16(len(two)/2))
	f.Add(tarBytes(f, ent{name: "etc/ssl/openssl.cnf", body: "[fips]\n"}, ent{name: "x", typ: tar.TypeLink, link: "../y"}, ent{name: "dev/c", typ: tar.TypeChar}), uint16(1024))
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		cut := min(int(split), len(data))
		lim := Limits{MaxUncompressed: 1 << 20, MaxEntries: 1000, MaxExamine: 1 << 16, MaxRetainFile: 1 << 10, MaxRetainTotal: 1 << 14}
		examined := map[string]bool{}
		var fsys *FS
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			fsys, err = Flatten(context.Background(), []LayerOpener{layerOf(data[:cut]), layerOf(data[cut:])}, FlattenOptions{
				Limits: lim,
				Examine: func(name string, r io.ReaderAt, size int64) any {
					if examined[name] {
						t.Errorf("%s examined twice", name)
					}
					examined[name] = true
					return nil
				},
			})
		}()
		// Bounded work: a few MiB of input must never take seconds.
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Flatten still running after 10s on %d bytes", len(data))
		}
		if err != nil {
			return
		}
		if fsys.Stats.UncompressedSize > lim.MaxUncompressed || fsys.Stats.RetainedBytes > lim.MaxRetainTotal {
			t.Errorf("stats %+v exceed limits", fsys.Stats)
		}
		for name, n := range fsys.nodes {
			if !path.IsAbs(name) || path.Clean(name) != name {
				t.Errorf("name %q is not absolute and clean", name)
			}
			if name == "/" {
				continue
			}
			p, ok := fsys.nodes[path.Dir(name)]
			if !ok || p.typ != typeDir {
				t.Errorf("parent of %q is not a directory", name)
			}
			if n.typ == typeReg && n.ino != nil && n.ino.retained && int64(len(n.ino.data)) != n.fileSize() {
				t.Errorf("%q: %d bytes retained of %d", name, len(n.ino.data), n.fileSize())
			}
		}
		for _, file := range fsys.Files() {
			if _, err := fsys.Lstat(file.Name); err != nil {
				t.Errorf("Lstat(%s): %v", file.Name, err)
			}
		}
	})
}
