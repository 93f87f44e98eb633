package fips

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// FuzzInspect runs the whole per-file path (Inspect, then Classify in an
// empty root) on arbitrary bytes. Inspect recovers from panics as a
// defence; a recovered panic is still a bug, so the fuzzer fails on it.
func FuzzInspect(f *testing.F) {
	for _, p := range []string{"/usr/bin/true", "/usr/lib/x86_64-linux-gnu/libdl.so.2"} {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Add([]byte("\x7fELF"))
	c := NewClassifier(rootfs.Dir(f.TempDir()), Options{At: now})
	f.Fuzz(func(t *testing.T, data []byte) {
		facts, _ := Inspect(bytes.NewReader(data), int64(len(data)))
		if facts.Kind == KindUnreadable && strings.HasPrefix(facts.Reason, "corrupt ELF file (") {
			t.Fatalf("Inspect panicked: %s", facts.Reason)
		}
		r := c.Classify("/bin/x", facts)
		if r.Kind == KindUnreadable && len(r.Reasons) > 0 && strings.HasPrefix(r.Reasons[0], "internal error") {
			t.Fatalf("Classify panicked: %s", r.Reasons[0])
		}
	})
}
