package cli

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// TestTuneScanMemory: a scan sets GOGC 50 and a soft memory limit that
// rises with the live heap, and puts both back when it ends.
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
	// A live heap of 64 MiB: the limit must make room for it.
	live := make([]byte, 64<<20)
	for i := range live {
		live[i] = 1
	}
	runtime.GC()
	want := int64(64<<20)*3/2 + scanMemRuntime
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("memory limit with a live heap of 64 MiB = %d, want at least %d", got, want)
	}
	runtime.KeepAlive(live)
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
// are left alone.
func TestTuneScanMemoryUserSettings(t *testing.T) {
	t.Setenv("GOGC", "200")
	t.Setenv("GOMEMLIMIT", "1GiB")
	prevGC := debug.SetGCPercent(200)
	prevLimit := debug.SetMemoryLimit(1 << 30)
	defer debug.SetGCPercent(prevGC)
	defer debug.SetMemoryLimit(prevLimit)
	restore := tuneScanMemory()
	defer restore()
	if got := debug.SetGCPercent(-1); got != 200 {
		t.Errorf("GOGC = %d, want the user's 200", got)
	}
	debug.SetGCPercent(200)
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("memory limit = %d, want the user's 1 GiB", got)
	}
}
