package image

import (
	"runtime"
	"sync"
	"time"
)

// Buffers for the files the Examiner looks at.
//
// A layer reader copies each ELF file whole into a buffer, hands it to the
// Examiner, and the buffer is free again once the Examiner is done. The
// buffers come from one pool for the whole process (examBuffers), shared
// by the layers being read at once and reused from file to file, within
// a byte budget: a reader that needs more than the budget leaves waits for
// another to give a buffer back. So an image scan's memory is bounded by
// the budget (or the largest file, when one file is larger), not by the
// largest file of each layer read at the same time.
//
// The buffers are mapped outside the Go heap (filebuf_unix.go). A /usr
// image copies about a gigabyte of ELF data through them; grown with make,
// every larger file cost a zeroed allocation on top of the copy and, the
// old buffer having gone back to the system first (or both would be
// resident), the page faults of touching it again: on bench/fips_image.sh
// (KENSA_BENCH_ZSTD=1) 103,000 page faults, the zeroing 7% and the faults
// 17% of the scan's CPU, the scan 1.4 times as long as listing the same
// blobs. A mapping comes zeroed from the kernel and nothing zeroes it
// again; it asks for transparent huge pages (one fault per 2 MiB instead
// of per 4 KiB); on Linux a larger file grows a mapping in place or moves
// it (mremap), keeping the pages already touched. What remains is the
// first touch of each page, which is what the budget saves: in a
// virtual machine whose memory the host backs on demand it costs about
// 2.6 ms per MiB (measured here: 663 ms to touch 256 MiB of fresh huge
// pages, 17 ms to touch them again), 16% of the scan's CPU when the two
// layers each kept a buffer of their largest file (112 and 99 MB).
//
// Small buffers are mappings too. On the Go heap, each 4 KiB page of a
// new buffer costs a page fault when first touched (3.5 ms per MiB in
// this virtual machine, every time the heap grows again, against 2 ms
// per MiB the first time for a huge page and 0.06 ms after), and a
// pooled buffer is reused from file to file, so rounding a small one up
// to a huge page costs one fault, once. (Where the kernel does not align
// anonymous mappings of 2 MiB to 2 MiB, as Linux before 6.7 does not, a
// small buffer gets 4 KiB pages, and touches only a few of them.) The read-ahead buffers of the
// layer streams (ahead.go) come from a pool of the same kind.

// fileBuf is one buffer: len(b) == cap(b) is its capacity.
type fileBuf struct {
	b      []byte
	mapped bool // b is a mapping of mapBytes, freed with unmapBytes
}

// hugePage is the size of a transparent huge page on the platforms that
// have them; mappings are rounded up to it.
const hugePage = 2 << 20

// mappedSize is the capacity a buffer of n bytes gets: a mapping is
// whole huge pages.
func mappedSize(n int64) int64 {
	return (n + hugePage - 1) &^ (hugePage - 1)
}

// grow makes f hold at least n bytes; its contents are not kept.
func (f *fileBuf) grow(n int64) {
	if int64(len(f.b)) >= n {
		return
	}
	if f.mapped {
		if b, err := growBytes(f.b, n); err == nil {
			f.b = b
			return
		}
	}
	f.release()
	if b, err := mapBytes(n); err == nil {
		f.b, f.mapped = b, true
		return
	}
	f.b = make([]byte, n)
}

// release gives the buffer's memory back. Nothing may hold a slice of it
// afterwards.
func (f *fileBuf) release() {
	if f.mapped {
		unmapBytes(f.b)
	}
	f.b, f.mapped = nil, false
}

// examBudget is the pool's byte budget: the largest files of a /usr
// (libLLVM, 112 MB) fit beside pipelined smaller ones.
const examBudget = 160 << 20

// examIdle is how long the pool keeps its free buffers once none is in
// use: across the layers and images of one scan, not after it.
const examIdle = 2 * time.Second

// examBuffers is the process's pool of examination buffers.
//
// Every buffer counts at least a huge page against it, and each layer
// being read holds up to two (one filling, one examined), so on a machine
// with many CPUs (one fill slot each) the budget grows to keep room for
// two buffers per slot beside the largest files.
var examBuffers = newBufPool(max(examBudget, int64(runtime.GOMAXPROCS(0))*4*hugePage+examBudget/2))

// bufPool hands out buffers within a byte budget.
type bufPool struct {
	mu     sync.Mutex
	cond   *sync.Cond
	budget int64
	held   int64 // capacity of all buffers, free and in use
	inUse  int
	free   []*fileBuf
	idle   *time.Timer
	// Requests are served in the order they came (tickets), so that a
	// file larger than the budget, which waits for every buffer to come
	// back, is not passed over by smaller ones for as long as other
	// layers keep reading.
	nextTicket, serving uint64
}

func newBufPool(budget int64) *bufPool {
	p := &bufPool{budget: budget}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// get returns a buffer of at least n bytes, waiting while the budget is
// spent by buffers in use, and for the requests made before it. A file
// larger than the budget gets its buffer once no other is in use.
func (p *bufPool) get(n int64) *fileBuf {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.nextTicket
	p.nextTicket++
	for {
		if t == p.serving {
			if f := p.take(n); f != nil {
				p.serving++
				p.cond.Broadcast() // the next in line
				p.inUse++
				if p.idle != nil {
					p.idle.Stop()
				}
				return f
			}
		}
		p.cond.Wait()
	}
}

// take finds or makes a buffer for n bytes within the budget, or returns
// nil.
func (p *bufPool) take(n int64) *fileBuf {
	// The smallest free buffer that fits.
	best := -1
	for i, f := range p.free {
		if int64(len(f.b)) >= n && (best < 0 || len(f.b) < len(p.free[best].b)) {
			best = i
		}
	}
	if best >= 0 {
		return p.remove(best)
	}
	// Otherwise the largest free one, grown; or a new one. Free buffers
	// are given back to make room.
	budget := p.budget
	if p.inUse == 0 {
		budget = max(budget, mappedSize(n))
	}
	largest := -1
	for i, f := range p.free {
		if largest < 0 || len(f.b) > len(p.free[largest].b) {
			largest = i
		}
	}
	var f *fileBuf
	if largest >= 0 {
		f = p.remove(largest)
	} else {
		f = &fileBuf{}
	}
	need := mappedSize(n)
	for p.held-int64(len(f.b))+need > budget && len(p.free) > 0 {
		g := p.remove(len(p.free) - 1)
		p.held -= int64(len(g.b))
		g.release()
	}
	if p.held-int64(len(f.b))+need > budget {
		if len(f.b) > 0 {
			p.free = append(p.free, f)
		}
		return nil
	}
	p.held -= int64(len(f.b))
	f.grow(n)
	p.held += int64(len(f.b))
	return f
}

func (p *bufPool) remove(i int) *fileBuf {
	f := p.free[i]
	p.free[i] = p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return f
}

// put gives a buffer back. When none is in use for examIdle, the free
// buffers are released.
func (p *bufPool) put(f *fileBuf) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, f)
	p.inUse--
	p.cond.Broadcast()
	if p.inUse == 0 {
		if p.idle == nil {
			p.idle = time.AfterFunc(examIdle, p.trim)
		} else {
			p.idle.Reset(examIdle)
		}
	}
}

// trim releases the free buffers if none is in use.
func (p *bufPool) trim() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inUse > 0 {
		return
	}
	for _, f := range p.free {
		p.held -= int64(len(f.b))
		f.release()
	}
	p.free = nil
}
