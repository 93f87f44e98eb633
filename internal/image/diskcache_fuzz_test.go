package image

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"testing"
)

// FuzzDecodeRecord feeds arbitrary bytes, with a valid checksum so that
// the parser itself is reached, to the on-disk record reader: no panic,
// memory bounded by the input, and what it accepts replays (every file
// index in range) and encodes back to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	b := tarBytes(f, ent{name: "bin/a", body: fakeELF + "a"}, ent{name: "etc/x.conf", body: "x=1"}, ent{name: "l", typ: tar.TypeSymlink, link: "bin/a"}, ent{name: ".wh.z"})
	rec, err := recordLayer(bytes.NewReader(b), flattenDefaults(FlattenOptions{Examine: examineBodies}), nil)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := encodeRecord(rec, "k", stringCodec{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc[len(diskMagic)+sha256.Size:])
	f.Add([]byte{})
	f.Add([]byte{1, 'k', 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		file := append(append([]byte(diskMagic), sum[:]...), body...)
		rec, err := decodeRecord(file, "k", stringCodec{})
		if err != nil {
			return
		}
		if rec.mem > int64(64*len(file))+1<<20 {
			t.Errorf("record of %d bytes claims %d bytes of memory", len(file), rec.mem)
		}
		for _, e := range rec.entries {
			if int(e.file) >= len(rec.files) {
				t.Fatalf("file index %d of %d", e.file, len(rec.files))
			}
		}
		again, err := encodeRecord(rec, "k", stringCodec{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := decodeRecord(again, "k", stringCodec{}); err != nil {
			t.Errorf("re-encoded record does not decode: %v", err)
		}
		// Replay it as an image's only layer: no panic.
		fl := newFlattener(t.Context(), flattenDefaults(FlattenOptions{Examine: examineBodies}), 1)
		if err := fl.entries(0, &recordSource{rec: rec}); err == nil {
			fl.finish()
		}
	})
}
