package fips

import (
	"context"
	"os"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// BenchmarkWalk classifies a whole tree as `kensa fips scan DIR` does
// (KENSA_BENCH_DIR, default /usr): the hot path of a directory scan.
// Profile it with
//
//	go test ./internal/fips -run '^$' -bench Walk -benchtime 3x -cpuprofile cpu.out -memprofile mem.out
func BenchmarkWalk(b *testing.B) {
	dir := os.Getenv("KENSA_BENCH_DIR")
	if dir == "" {
		dir = "/usr"
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		b.Skipf("no directory %s to scan", dir)
	}
	b.ReportAllocs()
	for b.Loop() {
		c := NewClassifier(rootfs.Dir("/"), Options{})
		var n int
		c.Walk(context.Background(), []string{dir}, WalkOptions{}, func(Result) { n++ }, func(WalkError) {})
		b.ReportMetric(float64(n), "results/op")
	}
}
