package image

import (
	"errors"
	"io"
	"math"
	"sync"
)

// aheadReader reads r on a goroutine of its own, up to aheadChunks
// chunks before the consumer. A layer is read in a pipeline of four: a
// goroutine reads the compressed blob and checks its digest (sha256 of
// every byte, newVerifier; 10% of the CPU of bench/fips_image.sh with
// zstd layers), one decompresses it (zstd: decodeAhead), and the layer's
// own reads the tar stream, copies each ELF file into its buffer and
// hands it to the Examiner's goroutine (examPipe). On a large layer, one
// goroutine doing all of it in turn is what the scan waits for.
//
// Close stops the goroutine and waits for it; the caller closes the
// underlying reader first when a read on it could block (stack.Close
// does, in order).
//
// The chunks are one buffer of aheadBuffers, a process-wide pool like the
// examination buffers' (filebuf.go), so a fleet's hundreds of layers do
// not each fault in megabytes of fresh memory. It goes back to the pool
// on Close, after which Read fails: a reader on another goroutine (the
// zstd decoder reading the compressed stream's reader) may still call it.
type aheadReader struct {
	full chan []byte // chunks read, in order
	free chan []byte // chunks the consumer is done with
	done chan struct{}
	wg   sync.WaitGroup
	err  error // the reader's error, set before full is closed
	once sync.Once

	mu     sync.Mutex // held by Read; Close takes it to give mem back
	closed bool
	mem    *fileBuf // the chunks' memory, from aheadBuffers
	cur    []byte   // the unread rest of the chunk being consumed
	buf    []byte   // the chunk cur is part of, returned to free when spent
}

// aheadBuffers is the pool of the read-ahead chunks. Unlike the
// examination buffers it has no budget: a layer being read holds one
// buffer for its compressed stream (1 MiB, mapped as 2) and, for zstd, one
// for its decoded stream (4 MiB) for as long as it is read, and the layers
// read at once are bounded by the fill slots (the images scanned at once,
// for a layer read without the cache).
var aheadBuffers = newBufPool(math.MaxInt64)

const (
	aheadChunk  = 256 << 10
	aheadChunks = 4
)

func newAheadReader(r io.Reader) *aheadReader { return newAheadReaderSize(r, aheadChunk) }

func newAheadReaderSize(r io.Reader, chunk int) *aheadReader {
	a := &aheadReader{
		full: make(chan []byte, aheadChunks),
		free: make(chan []byte, aheadChunks),
		done: make(chan struct{}),
	}
	a.mem = aheadBuffers.get(int64(aheadChunks * chunk))
	for i := range aheadChunks {
		a.free <- a.mem.b[i*chunk : (i+1)*chunk : (i+1)*chunk]
	}
	a.wg.Add(1)
	go a.fill(r)
	return a
}

func (a *aheadReader) fill(r io.Reader) {
	defer a.wg.Done()
	defer close(a.full)
	for {
		var b []byte
		select {
		case b = <-a.free:
		case <-a.done:
			a.err = errClosed
			return
		}
		n, err := io.ReadFull(r, b)
		if n > 0 {
			select {
			case a.full <- b[:n]:
			case <-a.done:
				a.err = errClosed
				return
			}
		}
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		if err != nil {
			a.err = err
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, errClosed
	}
	if len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)]
			a.buf = nil
		}
		b, ok := <-a.full
		if !ok {
			return 0, a.err
		}
		a.buf, a.cur = b, b
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops the read-ahead, waits for its goroutine and gives the
// chunks' memory back.
func (a *aheadReader) Close() error {
	a.once.Do(func() {
		close(a.done)
		// fill closes full when it returns, so a Read waiting for a
		// chunk returns and lets go of mu.
		a.wg.Wait()
		a.mu.Lock()
		a.closed = true
		a.cur, a.buf = nil, nil
		aheadBuffers.put(a.mem)
		a.mem = nil
		a.mu.Unlock()
	})
	return nil
}

// errClosed is what a read gives after Close.
var errClosed = errors.New("layer stream read after close")
