package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// TestTuneScanMemory: a scan sets GOGC 50 and a soft memory limit that
// rises with the live heap and is lifted for a large one, and puts both
// back when it ends.
func TestTuneScanMemory(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevGC := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetGCPercent(prevGC)
	defer debug.SetMemoryLimit(prevLimit)

	restore := tuneScanMemory()
	if got := debug.SetGCPercent(-1); got != 50 {
		t.Errorf("GOGC during a scan = %d, want 50", got)
	}
	debug.SetGCPercent(50)
	if got := debug.SetMemoryLimit(-1); got != scanMemFloor {
		t.Errorf("memory limit at the start of a scan = %d, want the floor %d", got, scanMemFloor)
	}
	// waitLimit waits for followLiveHeap's next look at the live heap.
	waitLimit := func(ok func(int64) bool) int64 {
		runtime.GC()
		deadline := time.Now().Add(5 * time.Second)
		for !ok(debug.SetMemoryLimit(-1)) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		return debug.SetMemoryLimit(-1)
	}
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 1
		}
		return b
	}
	// 8 MiB more live heap: the limit makes room for it (unless the
	// test binary's own heap already took it past scanMemUpTo).
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	base := int64(s[0].Value.Uint64())
	live := fill(8 << 20)
	if want := int64(8<<20)*3/2 + scanMemRuntime; base+8<<20 < scanMemUpTo-2<<20 {
		if got := waitLimit(func(l int64) bool { return l >= want }); got < want || got == math.MaxInt64 {
			t.Errorf("memory limit with a live heap of %d MiB = %d, want %d or a little more", (base+8<<20)>>20, got, want)
		}
	} else {
		t.Logf("the test binary's live heap is %d MiB: not checking the limit below %d MiB", base>>20, scanMemUpTo>>20)
	}
	// 32 MiB more, past scanMemUpTo: no limit.
	more := fill(32 << 20)
	if got := waitLimit(func(l int64) bool { return l == math.MaxInt64 }); got != math.MaxInt64 {
		t.Errorf("memory limit with a live heap of 64 MiB = %d, want none", got)
	}
	runtime.KeepAlive(live)
	runtime.KeepAlive(more)
	restore()
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("GOGC after the scan = %d, want 100 again", got)
	}
	debug.SetGCPercent(100)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit after the scan = %d, want none again", got)
	}
}

// TestTuneScanMemoryUserSettings: GOGC and GOMEMLIMIT set by the user
// are left alone, and a user's GOGC alone turns off kensa's limit.
func TestTuneScanMemoryUserSettings(t *testing.T) {
	for _, tt := range []struct {
		name, gogc, gomemlimit string
		gc                     int
		limit                  int64
	}{
		{"both", "200", "1GiB", 200, 1 << 30},
		{"GOGC", "200", "", 200, math.MaxInt64},
		{"GOMEMLIMIT", "", "1GiB", 50, 1 << 30},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			t.Setenv("GOMEMLIMIT", tt.gomemlimit)
			prevGC := debug.SetGCPercent(100)
			if tt.gogc != "" {
				debug.SetGCPercent(tt.gc)
			}
			prevLimit := debug.SetMemoryLimit(math.MaxInt64)
			if tt.gomemlimit != "" {
				debug.SetMemoryLimit(tt.limit)
			}
			defer debug.SetGCPercent(prevGC)
			defer debug.SetMemoryLimit(prevLimit)
			restore := tuneScanMemory()
			defer restore()
			gc := debug.SetGCPercent(-1)
			debug.SetGCPercent(gc)
			if gc != tt.gc {
				t.Errorf("GOGC = %d, want %d", gc, tt.gc)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.limit {
				t.Errorf("memory limit = %d, want %d", got, tt.limit)
			}
		})
	}
}
