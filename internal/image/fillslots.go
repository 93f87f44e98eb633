package image

import (
	"container/heap"
	"context"
	"sync"
)

// fillSlots bounds how many layers are read at once (LayerCache's
// Fills) and, when layers wait for a slot, lets the largest go first.
// An image's scan takes as long as its slowest layer, and a large layer
// read last runs alone at the end while the other cores are idle;
// reading the largest first (by compressed size, from the manifest)
// overlaps the small ones with it, as in longest-processing-time-first
// scheduling.
type fillSlots struct {
	mu      sync.Mutex
	free    int
	waiting waitHeap
	seq     int
}

type slotWaiter struct {
	size  int64
	seq   int // arrival order among equal sizes
	ready chan struct{}
	index int
}

func newFillSlots(n int) *fillSlots { return &fillSlots{free: n} }

// acquire waits for a slot for a layer of size bytes (0 when unknown).
// queued (may be nil) is closed once the layer holds a slot or is in
// the queue for one: flattenCached starts an image's layers one after
// the other on that signal, so that the order they ask in is largest
// first, not the order the goroutines happen to run.
func (s *fillSlots) acquire(ctx context.Context, size int64, queued *signal) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiting) == 0 {
		s.free--
		s.mu.Unlock()
		queued.close()
		return nil
	}
	w := &slotWaiter{size: size, seq: s.seq, ready: make(chan struct{})}
	s.seq++
	heap.Push(&s.waiting, w)
	s.mu.Unlock()
	queued.close()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		select {
		case <-w.ready:
			// Handed a slot as the context ended: pass it on.
			s.releaseLocked()
		default:
			heap.Remove(&s.waiting, w.index)
		}
		return ctx.Err()
	}
}

// release gives a slot back, to the largest layer waiting if any.
func (s *fillSlots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *fillSlots) releaseLocked() {
	if len(s.waiting) > 0 {
		w := heap.Pop(&s.waiting).(*slotWaiter)
		close(w.ready)
		return
	}
	s.free++
}

// waitHeap orders waiters largest first, then by arrival.
type waitHeap []*slotWaiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].size != h[j].size {
		return h[i].size > h[j].size
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*slotWaiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}

// signal is a channel closed at most once, by whichever of several
// places gets there first; a nil *signal ignores close.
type signal struct {
	once sync.Once
	ch   chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) close() {
	if s != nil {
		s.once.Do(func() { close(s.ch) })
	}
}
