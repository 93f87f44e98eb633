package cli

import (
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
// Two knobs, each unless the user set its environment variable:
//   - GOGC 50: collect when the heap grew by half of the live heap, not
//     all of it (31–36 MiB → 28–29 MiB peak on /usr for 5% more CPU).
//   - a soft memory limit (debug.SetMemoryLimit) that follows the live
//     heap: scanMemFloor, or scanMemPerLive times the live heap of the
//     last collection once that is larger. Near the limit the runtime
//     collects sooner and returns free pages to the system at once
//     instead of in the background. Fixed at the floor, a large scan
//     whose live heap outgrew it would collect without end (up to half
//     the CPU); following the live heap, the limit only ever binds while
//     the heap is small, where GOGC alone lets the fixed costs dominate.
//
// Measured on Debian's /usr (bench/fips_scan.sh): a floor of 12 MiB
// made the scan 40% slower (the runtime's own non-heap memory is about
// 8 MiB of it), 14 MiB cost no time and took 2–3 MiB off the peak.
const (
	scanMemFloor   = 14 << 20
	scanMemPerLive = 4
	scanMemEvery   = 50 * time.Millisecond
)

// tuneScanMemory applies the scan's memory settings and returns the
// function that restores the previous ones.
func tuneScanMemory() (restore func()) {
	var undo []func()
	if os.Getenv("GOGC") == "" {
		old := debug.SetGCPercent(50)
		undo = append(undo, func() { debug.SetGCPercent(old) })
	}
	if os.Getenv("GOMEMLIMIT") == "" {
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
// stop is closed.
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
		if want := max(scanMemFloor, int64(live[0].Value.Uint64())*3/2+9<<20); want != limit {
			limit = want
			debug.SetMemoryLimit(limit)
		}
	}
}
