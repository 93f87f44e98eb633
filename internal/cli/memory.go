package cli

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory of a scan. A directory scan keeps a live heap of a few MiB
// (the results, the libraries' facts) while it allocates hundreds of
// MiB in small pieces; what sets its peak RSS is not the live heap but
// the garbage between collections and the free pages the runtime keeps
// mapped after them (on /usr: a live heap of 3–4 MiB, 11 MiB of heap
// mapped at the peak, of which 5 MiB in free or partly used spans).
//
// Two knobs, each unless the user set its environment variable (a
// user's GOGC turns off the limit as well: it is tuned around GOGC 50):
//   - GOGC 50: collect when the heap grew by half of the live heap, not
//     all of it (31–36 MiB → 28–29 MiB peak on /usr for 5% more CPU).
//   - a soft memory limit (debug.SetMemoryLimit) that follows the live
//     heap: scanMemFloor, or 1.5 × the live heap of the last collection
//     plus scanMemRuntime once that is larger. Near the limit the
//     runtime collects sooner and returns free pages to the system at
//     once instead of in the background. The limit counts the runtime's
//     own memory (metadata, stacks, partly used spans: 9 MiB or so, much
//     of it mapped but never touched), so a floor of 12 MiB made the
//     /usr scan 40% slower and 13 MiB 30%; 14 MiB cost no time and took
//     2 MiB off the peak. Fixed at the floor, a scan whose live heap
//     outgrew it would collect without end (up to half the CPU);
//     following the live heap, it never asks for less room than GOGC 50
//     gives plus the runtime's share. Six times /usr in one run (a live
//     heap growing to 10 MiB): peak 46 → 41 MiB, 45% more collections,
//     about 5% more CPU; with 2 × live + 8 MiB instead the limit never
//     bound there, and the /usr peak was 1 MiB higher. Past a live heap
//     of scanMemUpTo (large images, flattened in memory) the runtime's
//     share is small beside GOGC's headroom and the limit is lifted:
//     such a scan runs as with GOGC 50 alone.
const (
	scanMemFloor   = 14 << 20
	scanMemRuntime = 9 << 20
	scanMemEvery   = 50 * time.Millisecond
	scanMemUpTo    = 24 << 20
)

// tuneScanMemory applies the scan's memory settings and returns the
// function that restores the previous ones.
func tuneScanMemory() (restore func()) {
	var undo []func()
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(50)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	// The limit is tuned around GOGC 50: a user's GOGC turns it off too.
	if os.Getenv("GOMEMLIMIT") == "" && os.Getenv("GOGC") == "" {
		old := debug.SetMemoryLimit(scanMemFloor)
		stop, done := make(chan struct{}), make(chan struct{})
		go followLiveHeap(stop, done)
		undo = append(undo, func() {
			close(stop)
			<-done
			debug.SetMemoryLimit(old)
		})
	}
	return func() {
		for _, f := range undo {
			f()
		}
	}
}

// followLiveHeap raises the soft memory limit with the live heap until
// stop is closed, and lifts it once the live heap passes scanMemUpTo.
func followLiveHeap(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(scanMemEvery)
	defer t.Stop()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	limit := int64(scanMemFloor)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(live)
		if live[0].Value.Kind() != metrics.KindUint64 {
			continue
		}
		want := max(scanMemFloor, int64(live[0].Value.Uint64())*3/2+scanMemRuntime)
		if live[0].Value.Uint64() > scanMemUpTo {
			want = math.MaxInt64
		}
		if want != limit {
			limit = want
			debug.SetMemoryLimit(limit)
		}
	}
}
