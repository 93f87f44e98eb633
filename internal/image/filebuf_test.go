package image

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// TestBufPoolBudget: buffers in use never hold more than the budget; a
// reader that needs more waits for a buffer to come back, and a file
// larger than the whole budget is served once nothing else is in use.
func TestBufPoolBudget(t *testing.T) {
	const mib = 1 << 20
	p := newBufPool(16 * mib)
	a := p.get(10 * mib)
	if len(a.b) < 10*mib {
		t.Fatalf("get(10 MiB) gave %d bytes", len(a.b))
	}
	got := make(chan *fileBuf)
	go func() { got <- p.get(10 * mib) }()
	stillWaiting(t, got, "a second 10 MiB buffer within a 16 MiB budget while the first is in use")
	p.put(a)
	b := <-got
	if b != a {
		t.Error("the buffer given back was not reused")
	}
	// Larger than the budget: only once b is back.
	go func() { got <- p.get(40 * mib) }()
	stillWaiting(t, got, "a 40 MiB buffer while another is in use, budget 16 MiB")
	p.put(b)
	c := <-got
	if len(c.b) < 40*mib {
		t.Fatalf("get(40 MiB) gave %d bytes", len(c.b))
	}
	p.put(c)
	p.trim()
	if p.held != 0 || len(p.free) != 0 {
		t.Errorf("after trim: %d bytes held in %d free buffers, want none", p.held, len(p.free))
	}
}

// TestBufPoolInOrder: requests are served in the order they came, so a
// file larger than the budget is not passed over by smaller ones.
func TestBufPoolInOrder(t *testing.T) {
	const mib = 1 << 20
	p := newBufPool(16 * mib)
	a := p.get(10 * mib)
	served := make(chan string, 2)
	go func() { f := p.get(40 * mib); served <- "large"; p.put(f) }()
	waitTickets(t, p, 2)
	go func() { f := p.get(mib); served <- "small"; p.put(f) }()
	waitTickets(t, p, 3)
	stillWaiting(t, served, "a request served while the first buffer is in use")
	p.put(a)
	if first, second := <-served, <-served; first != "large" || second != "small" {
		t.Errorf("served %s then %s; want large then small, in the order asked", first, second)
	}
	p.trim()
}

// stillWaiting fails the test (with what) if ch gives a value within 50 ms:
// the request behind it should still be waiting.
func stillWaiting[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatal(what)
	case <-time.After(50 * time.Millisecond):
	}
}

func waitTickets(t *testing.T, p *bufPool, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p.mu.Lock()
		got := p.nextTicket
		p.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("%d requests never made", n)
}

// TestBufPoolSmallest: a request takes the smallest free buffer that
// fits, and grows the largest free one rather than mapping another.
func TestBufPoolSmallest(t *testing.T) {
	const mib = 1 << 20
	p := newBufPool(64 * mib)
	big, small := p.get(20*mib), p.get(6*mib)
	p.put(big)
	p.put(small)
	if f := p.get(5 * mib); f != small {
		t.Errorf("get(5 MiB) took the %d-byte buffer, want the 6 MiB one", len(f.b))
	} else {
		p.put(f)
	}
	held := p.held
	f := p.get(30 * mib)
	if f != big || p.held-held != int64(10*mib) {
		t.Errorf("get(30 MiB): grew %v, held %d → %d; want the 20 MiB buffer grown by 10 MiB", f == big, held, p.held)
	}
	p.put(f)
	p.trim()
}

// TestBufPoolConcurrent: many readers at once (run with -race) stay
// within the budget, and each buffer is theirs alone while held.
func TestBufPoolConcurrent(t *testing.T) {
	const mib = 1 << 20
	p := newBufPool(24 * mib)
	var mu sync.Mutex
	var inUse int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				n := int64((i+j)%7+1) * mib
				f := p.get(n)
				mu.Lock()
				inUse += int64(len(f.b))
				if inUse > 24*mib {
					t.Errorf("%d MiB in use, budget 24 MiB", inUse>>20)
				}
				mu.Unlock()
				f.b[0], f.b[n-1] = byte(i), byte(i)
				time.Sleep(time.Millisecond)
				if f.b[0] != byte(i) || f.b[n-1] != byte(i) {
					t.Error("a buffer in use was written by another holder")
				}
				mu.Lock()
				inUse -= int64(len(f.b))
				mu.Unlock()
				p.put(f)
			}
		}()
	}
	wg.Wait()
	p.trim()
}

// TestAheadReader: the stream read ahead is the stream, errors included,
// and Close stops the goroutine wherever it is.
func TestAheadReader(t *testing.T) {
	data := bytes.Repeat([]byte("kensa ahead "), 300_000) // 3.6 MB: many chunks
	a := newAheadReader(iotest.HalfReader(bytes.NewReader(data)))
	got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(a, 1000)))
	if err != nil || !bytes.Equal(got, data[:1000]) {
		t.Fatalf("first 1000 bytes one at a time: %v", err)
	}
	rest, err := io.ReadAll(a)
	if err != nil || !bytes.Equal(rest, data[1000:]) {
		t.Fatalf("the rest: %d bytes, %v; want %d bytes", len(rest), err, len(data)-1000)
	}
	a.Close()

	boom := errors.New("boom")
	a = newAheadReader(io.MultiReader(bytes.NewReader(data[:aheadChunk+10]), iotest.ErrReader(boom)))
	if got, err := io.ReadAll(a); !errors.Is(err, boom) || len(got) != aheadChunk+10 {
		t.Errorf("a stream failing after %d bytes: %d bytes, %v", aheadChunk+10, len(got), err)
	}
	a.Close()

	// Closed while the goroutine waits for the consumer.
	a = newAheadReader(bytes.NewReader(data))
	time.Sleep(10 * time.Millisecond)
	a.Close()
	if _, err := io.ReadAll(a); !errors.Is(err, errClosed) {
		t.Errorf("read after Close: %v, want errClosed", err)
	}
}
