package image

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFillSlotsLargestFirst: layers waiting for a slot get it largest
// first, equal sizes in arrival order; a waiter whose context ends
// leaves the queue without taking a slot from the others.
func TestFillSlotsLargestFirst(t *testing.T) {
	s := newFillSlots(1)
	if err := s.acquire(context.Background(), 5, nil); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int64 // size×10 + arrival
	var wg sync.WaitGroup
	sizes := []int64{10, 300, 0, 300, 42}
	for i, size := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(context.Background(), size, nil); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, size*10+int64(i))
			mu.Unlock()
			s.release()
		}()
		waitQueued(t, s, i+1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error)
	go func() { gone <- s.acquire(ctx, 1000, nil) }()
	waitQueued(t, s, len(sizes)+1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	s.release()
	wg.Wait()
	if diff := cmp.Diff([]int64{3001, 3003, 424, 100, 2}, order); diff != "" {
		t.Errorf("order of slots (size×10 + arrival) (-want +got):\n%s", diff)
	}
	if s.free != 1 || len(s.waiting) != 0 {
		t.Errorf("after all: %d free, %d waiting; want 1, 0", s.free, len(s.waiting))
	}
}

func waitQueued(t *testing.T, s *fillSlots, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		q := len(s.waiting)
		s.mu.Unlock()
		if q == n {
			return
		}
	}
	t.Fatalf("%d waiters never queued", n)
}
