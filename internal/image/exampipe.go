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
}

type examResult struct {
	file  int
	value any
	note  string
}

func newExamPipe(ex Examiner) *examPipe {
	p := &examPipe{ex: ex, jobs: make(chan examJob), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *examPipe) run() {
	defer close(p.done)
	for j := range p.jobs {
		v, note := examineSafely(p.ex, j.name, j.buf.b[:j.size])
		examBuffers.put(j.buf)
		p.results = append(p.results, examResult{file: j.file, value: v, note: note})
	}
}

// examine hands a filled buffer (the contents of rec.files[file], size
// bytes) to the Examiner, which gives the buffer back to examBuffers.
func (p *examPipe) examine(file int, name string, buf *fileBuf, size int64) {
	p.jobs <- examJob{file: file, name: name, buf: buf, size: size}
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
		f.value, f.note = r.value, r.note
		rec.mem += int64(len(r.note))
	}
}
