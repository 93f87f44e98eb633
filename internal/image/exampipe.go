package image

// examPipe runs a layer record's Examiner calls on a goroutine of their
// own, so that examining one ELF file overlaps reading and decompressing
// the next. A layer is otherwise one goroutine's work from blob to
// record, and on an image with one large layer (a distribution's /usr)
// that goroutine is what the whole scan waits for while the other cores
// are idle. The reader is at most one file ahead: it fills the next
// buffer while the Examiner reads the current one, and waits to hand it
// over. Buffers come from examBuffers and go back to it as soon as
// their file is examined. The live-stream path (Flatten, used without a
// layer cache and for docker-save archives) examines in turn.
type examPipe struct {
	ex      Examiner
	jobs    chan examJob
	done    chan struct{}
	results []examResult // the examiner's, read after done is closed
}

type examJob struct {
	file int
	name string
	buf  *fileBuf
	size int64
	// hole, holeLen: the code segment left out of buf (holeView), when
	// holeLen > 0.
	hole, holeLen int64
}

type examResult struct {
	file  int
	value any
	note  string
	// touched: the Examiner read inside the hole; the outcome is void.
	touched bool
}

func newExamPipe(ex Examiner) *examPipe {
	p := &examPipe{ex: ex, jobs: make(chan examJob), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *examPipe) run() {
	defer close(p.done)
	for j := range p.jobs {
		var r examResult
		if j.holeLen > 0 {
			view := &holeView{b: j.buf.b[:j.size-j.holeLen], off: j.hole, n: j.holeLen, size: j.size}
			r.value, r.note = examineSafely(p.ex, j.name, view, j.size)
			r.touched = view.touched
		} else {
			r.value, r.note = examineSafely(p.ex, j.name, readerAt(j.buf.b[:j.size]), j.size)
		}
		examBuffers.put(j.buf)
		r.file = j.file
		p.results = append(p.results, r)
	}
}

// examine hands a filled buffer (the contents of rec.files[file], a file
// of size bytes, without [hole, hole+holeLen) when holeLen > 0) to the
// Examiner, which gives the buffer back to examBuffers.
func (p *examPipe) examine(file int, name string, buf *fileBuf, size, hole, holeLen int64) {
	p.jobs <- examJob{file: file, name: name, buf: buf, size: size, hole: hole, holeLen: holeLen}
}

// finish waits for the examinations in progress, stops the goroutine and
// applies the outcomes to rec (none when rec is nil: the record is
// abandoned).
func (p *examPipe) finish(rec *layerRecord) {
	close(p.jobs)
	<-p.done
	if rec == nil {
		return
	}
	for _, r := range p.results {
		f := &rec.files[r.file]
		if r.touched {
			// Left unexamined: an image showing it reads it whole.
			f.examined = false
			rec.holeMisses++
			continue
		}
		f.value, f.note = r.value, r.note
		rec.mem += int64(len(r.note))
	}
}
