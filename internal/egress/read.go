package egress

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// Format is an input format.
type Format string

// The formats. FormatJSON covers every JSON shape: JSON Lines storage
// blobs, Event Hub bodies ({"records":[…]}, also pretty-printed), Log
// Analytics exports (arrays, az CLI output, the REST API's tables), Azure
// Firewall legacy and structured records, and AWS Network Firewall EVE
// JSON.
const (
	FormatAuto  Format = "auto"
	FormatText  Format = "azfw-text"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
	FormatSquid Format = "squid"
)

// Formats lists the formats a user can force, in the order --help shows.
var Formats = []Format{FormatAuto, FormatText, FormatJSON, FormatCSV, FormatSquid}

// ParseFormat accepts a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown input format %q", s)
}

// Input is one log to read. Open is called once.
type Input struct {
	Name string
	Open func() (io.ReadCloser, error)
}

// Options steer an analysis.
type Options struct {
	// Format forces a format; "" or FormatAuto detects it per input.
	Format Format
	// All keeps allowed traffic too.
	All bool
	// Since and Until bound record times (Unix nanoseconds, 0 = open).
	Since, Until int64
	// Workers parse in parallel; 0 means GOMAXPROCS.
	Workers int
	// Catalog matches destinations to services; nil means the embedded one.
	Catalog *Catalog
	// Progress, when set, is called now and then with the bytes read so far.
	Progress func(bytesRead int64)
}

// Result is what an analysis found.
type Result struct {
	Destinations []*Destination
	SNIMissing   SNIMissing
	Files        []FileStats
	// Unknown holds the first lines of no known shape.
	Unknown []UnknownLine
	// Overflow counts records of destinations beyond maxDestinations.
	Overflow int64
}

// WindowMissed reports whether --since/--until left out every connection
// that had a time: the window matches no record, which is not a clean log.
func (r *Result) WindowMissed() bool {
	t := r.Total()
	return t.OutOfRange > 0 && t.Traffic == t.OutOfRange+t.Untimed
}

// Total sums the file statistics.
func (r *Result) Total() FileStats {
	var t FileStats
	for i := range r.Files {
		t.merge(&r.Files[i])
	}
	return t
}

// Sizes of the pipeline. A line longer than chunkSize is counted as
// unknown and skipped; a JSON value larger than maxValue stops its input.
const (
	maxValue     = 32 << 20
	recordsBatch = 512
	batchBytes   = 4 << 20
	peekSize     = 64 << 10
)

// chunkSize is the size of a reader's buffer. A variable for FuzzAnalyze:
// small chunks make each run cheap (a 4 MiB buffer per run would cap the
// fuzzer at a few runs a second) and put chunk boundaries inside records.
var chunkSize = 4 << 20

// job is a piece of one input for a worker: complete lines, or JSON
// records already cut from a multi-line document.
type job struct {
	file    int
	format  Format
	data    []byte // whole lines
	line    int    // line number of data's first line
	buf     *[]byte
	records [][]byte
	lines   []int // line number of each record
}

// buffers is a fixed set of chunk buffers: the reader waits for one to
// come back from the workers rather than allocate, so memory is bounded by
// the number of buffers whatever the size of the input.
type buffers struct {
	free chan *[]byte
	mu   sync.Mutex
	made int
}

func newBuffers(n int) *buffers { return &buffers{free: make(chan *[]byte, n)} }

func (b *buffers) get() *[]byte {
	select {
	case p := <-b.free:
		return p
	default:
	}
	b.mu.Lock()
	if b.made < cap(b.free) {
		b.made++
		b.mu.Unlock()
		p := make([]byte, 0, chunkSize)
		return &p
	}
	b.mu.Unlock()
	return <-b.free
}

func (b *buffers) put(p *[]byte) { b.free <- p }

// Analyze reads every input and aggregates what they hold. An input that
// cannot be opened or breaks part-way is reported in its FileStats.Err;
// the others are still read. Only a cancelled ctx stops the run.
func Analyze(ctx context.Context, inputs []Input, opts Options) (*Result, error) {
	if opts.Format == "" {
		opts.Format = FormatAuto
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := make(chan job, workers)
	bufs := newBuffers(2*workers + 2)
	aggs := make([]*aggregator, workers)
	var wg sync.WaitGroup
	for w := range workers {
		aggs[w] = newAggregator(&opts)
		wg.Add(1)
		go func(a *aggregator) {
			defer wg.Done()
			var ev Event
			for j := range jobs {
				a.process(&j, &ev)
				if j.buf != nil {
					bufs.put(j.buf)
				}
			}
		}(aggs[w])
	}
	main := newAggregator(&opts)
	var read atomic.Int64
	errs := make([]string, len(inputs))
	empty := make([]bool, len(inputs))
	formats := make([]Format, len(inputs))
	for i, in := range inputs {
		if ctx.Err() != nil {
			break
		}
		f, err := readInput(ctx, i, in, &opts, jobs, bufs, &read)
		formats[i] = f
		switch {
		case errors.Is(err, errEmpty):
			empty[i] = true
		case err != nil:
			errs[i] = err.Error()
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, a := range aggs {
		main.merge(a)
	}
	res := &Result{Destinations: main.destinations(), Overflow: main.overflow}
	res.SNIMissing = main.sni
	res.SNIMissing.Sources = sortedKeys(main.sni.sources)
	res.SNIMissing.sources = nil
	for i, in := range inputs {
		fs := *main.file(i)
		fs.Name, fs.Format, fs.Err, fs.Empty = in.Name, formats[i], errs[i], empty[i]
		res.Files = append(res.Files, fs)
	}
	for _, u := range main.unknown {
		res.Unknown = append(res.Unknown, UnknownLine{File: inputs[u.file].Name, Line: u.line, Text: u.text})
	}
	cat := opts.Catalog
	if cat == nil {
		cat = DefaultCatalog()
	}
	for _, d := range res.Destinations {
		d.Service = cat.Match(d.Host, d.Port, d.Proto)
	}
	return res, nil
}

// readInput opens one input, detects its format and feeds the workers.
func readInput(ctx context.Context, fi int, in Input, opts *Options, jobs chan<- job, bufs *buffers, read *atomic.Int64) (format Format, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kensa could not read the rest of this input: %v", r)
		}
	}()
	rc, err := in.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	r := bufio.NewReaderSize(&countingReader{r: rc, n: read, progress: opts.Progress}, peekSize)
	head, _ := r.Peek(2)
	var src io.Reader = r
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return "", fmt.Errorf("reading gzip: %w", err)
		}
		defer zr.Close()
		src = gzipErrors{zr}
	}
	br := bufio.NewReaderSize(decodeBOM(bufio.NewReaderSize(src, peekSize)), peekSize)
	if b, err := br.Peek(1); len(b) == 0 {
		if err != nil && err != io.EOF {
			return "", err
		}
		return "", errEmpty
	}
	format = opts.Format
	stream := false
	if format == FormatAuto || format == FormatJSON {
		peek, _ := br.Peek(peekSize)
		if format == FormatAuto {
			format = Detect(peek)
		}
		if format == FormatJSON {
			stream = !isJSONLines(peek)
		}
	}
	switch {
	case format == FormatCSV:
		return format, readCSV(ctx, fi, br, jobs)
	case stream:
		return format, readJSONStream(ctx, fi, br, jobs)
	default:
		return format, readLines(ctx, fi, format, br, jobs, bufs)
	}
}

// gzipErrors names the gzip stream in its errors: a bare "unexpected EOF"
// does not say that the file was cut short.
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("the gzip stream is cut short or corrupt: %w", err)
	}
	return n, err
}

// errEmpty is readInput's answer for an input without a single byte
// (after gzip): nothing to analyse is not the same as nothing denied.
var errEmpty = errors.New("the input is empty")

type countingReader struct {
	r        io.Reader
	n        *atomic.Int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	t := c.n.Add(int64(n))
	if c.progress != nil {
		c.progress(t)
	}
	return n, err
}

var bom = []byte("\xef\xbb\xbf")

// Detect names the format of an input from its first bytes.
func Detect(head []byte) Format {
	head = bytes.TrimPrefix(head, bom)
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return FormatJSON
	}
	first, _, _ := bytes.Cut(t, []byte("\n"))
	if bytes.Contains(first, []byte("msg_s")) || (bytes.Contains(first, []byte("TimeGenerated")) && bytes.ContainsAny(first, ",")) {
		return FormatCSV
	}
	var ev Event
	squid, msg := 0, 0
	lines := bytes.Split(t, []byte("\n"))
	for i, l := range lines {
		if i == 8 || (i == len(lines)-1 && len(lines) > 1) { // the last may be cut
			break
		}
		ev.reset()
		if parseSquid(l, &ev) {
			squid++
		}
		ev.reset()
		if _, m := stripTimestamp(l); parseMsg(m, &ev) {
			msg++
		}
	}
	if squid > msg {
		return FormatSquid
	}
	return FormatText
}

// isJSONLines reports whether a JSON input holds one whole value per line
// (storage blobs) rather than values spread over lines (pretty-printed
// Event Hub bodies, arrays).
func isJSONLines(head []byte) bool {
	t := bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	first, _, ok := bytes.Cut(t, []byte("\n"))
	if !ok {
		return false // one long line (or a short input): stream it
	}
	return json.Valid(first)
}

// readLines cuts r into chunks of whole lines for the workers.
func readLines(ctx context.Context, fi int, format Format, r io.Reader, jobs chan<- job, bufs *buffers) error {
	line := 1
	var carry []byte
	skipping := false // inside a line longer than chunkSize
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		bp := bufs.get()
		buf := append((*bp)[:0], carry...)
		n, err := readFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF
		if err != nil && !eof {
			bufs.put(bp)
			return err
		}
		if skipping {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				carry = carry[:0]
				bufs.put(bp)
				if eof {
					return nil
				}
				continue
			}
			buf = buf[:copy(buf, buf[i+1:])]
			skipping = false
			line++
		}
		if len(buf) == 0 {
			bufs.put(bp)
			if eof {
				return nil
			}
			continue
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if eof {
			end = len(buf)
		}
		if end == 0 { // one line fills the whole buffer
			jobs <- job{file: fi, format: "long", line: line, data: buf[:min(len(buf), 160)], buf: bp}
			skipping, carry = true, carry[:0]
			continue
		}
		carry = append(carry[:0], buf[end:]...)
		chunk := buf[:end]
		jobs <- job{file: fi, format: format, data: chunk, line: line, buf: bp}
		line += bytes.Count(chunk, []byte("\n"))
		if eof {
			return nil
		}
	}
}

// readFull reads until p is full or the input ends. Unlike io.ReadFull it
// passes on every error but io.EOF as is: a truncated gzip stream's
// io.ErrUnexpectedEOF is a broken input, not its end.
func readFull(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// process parses one job into the worker's aggregator. A panic (a bug
// met by some input) costs that chunk, counted as not understood, never
// the run.
func (a *aggregator) process(j *job, ev *Event) {
	defer func() {
		if r := recover(); r != nil {
			a.noteUnknown(j.file, j.line, []byte(fmt.Sprintf("(kensa could not read this part of the input: %v)", r)))
		}
	}()
	if j.format == "long" {
		a.noteUnknown(j.file, j.line, append(j.data[:len(j.data):len(j.data)], fmt.Sprintf("… (a line longer than %d MiB)", chunkSize>>20)...))
		return
	}
	if j.records != nil {
		for i, rec := range j.records {
			a.record(j.file, j.lines[i], rec, ev)
		}
		return
	}
	data := j.data
	line := j.line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		a.line(j.file, line, j.format, l, ev)
		line++
	}
}

// line parses one line of a line-oriented format.
func (a *aggregator) line(fi, n int, format Format, l []byte, ev *Event) {
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	if n == 1 {
		l = bytes.TrimPrefix(l, bom)
	}
	if len(bytes.TrimSpace(l)) == 0 {
		return
	}
	ev.reset()
	switch format {
	case FormatJSON:
		a.record(fi, n, l, ev)
		return
	case FormatSquid:
		if parseSquid(l, ev) {
			a.add(fi, ev)
			return
		}
	default:
		t, m := stripTimestamp(l)
		if parseMsg(m, ev) {
			if ev.Time == 0 {
				ev.Time = t
			}
			a.add(fi, ev)
			return
		}
	}
	a.noteUnknown(fi, n, l)
}

// record parses one JSON record (which may hold several).
func (a *aggregator) record(fi, n int, data []byte, ev *Event) {
	ev.reset()
	ok := parseRecord(data, ev, func(e *Event) {
		if e.Kind == KindUnknown {
			a.noteUnknown(fi, n, []byte("a record of no known shape inside "+printable(data, 80)))
			return
		}
		a.add(fi, e)
	})
	if !ok {
		a.noteUnknown(fi, n, data)
	}
}

// stripTimestamp removes a leading timestamp (and the quotes and
// separators around it) from a text line, as exports of "TimeGenerated,
// msg_s" produce: "2024-11-05T06:18:42.517Z\tHTTPS request from …".
func stripTimestamp(l []byte) (int64, []byte) {
	s := l
	quoted := false
	if len(s) > 0 && s[0] == '"' {
		s, quoted = s[1:], true
	}
	if len(s) < 19 || s[0] < '0' || s[0] > '9' {
		return 0, l
	}
	end := bytes.IndexAny(s, "\t,\"")
	if sp := bytes.IndexByte(s[11:], ' '); sp >= 0 && (end < 0 || sp+11 < end) {
		end = sp + 11
	}
	if end < 0 {
		return 0, l
	}
	t, ok := parseTime(s[:end])
	if !ok {
		return 0, l
	}
	s = s[end:]
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == ',' || s[0] == '"') {
		if s[0] == '"' {
			quoted = true
		}
		s = s[1:]
	}
	if quoted {
		s = bytes.TrimSuffix(s, []byte(`"`))
	}
	return t, s
}

// boundedReader fails once more than maxValue bytes are read since the
// last mark, so one enormous JSON value cannot take all memory.
type boundedReader struct {
	r    io.Reader
	left int
}

var errValueTooLarge = fmt.Errorf("a JSON value is larger than %d MiB", maxValue>>20)

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errValueTooLarge
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

func (b *boundedReader) mark() { b.left = maxValue }

// lineTracker maps decoder offsets to line numbers: it keeps the bytes
// read but not yet passed by the decoder (at most its look-ahead).
type lineTracker struct {
	r       io.Reader
	pending []byte
	base    int64 // offset of pending[0]
	line    int   // line number at base
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.pending = append(t.pending, p[:n]...)
	return n, err
}

// lineAt returns the line of the first byte at or after off that is not
// white space or a comma (where the next value starts).
func (t *lineTracker) lineAt(off int64) int {
	k := int(off - t.base)
	if k < 0 || k > len(t.pending) {
		return t.line
	}
	t.line += bytes.Count(t.pending[:k], []byte("\n"))
	t.pending = t.pending[:copy(t.pending, t.pending[k:])]
	t.base = off
	line := t.line
	for _, c := range t.pending {
		if c == '\n' {
			line++
		} else if c != ' ' && c != '\t' && c != '\r' && c != ',' {
			break
		}
	}
	return line
}

// streamer walks a JSON document that is not one value per line: a
// pretty-printed record or envelope, an array of records, the Log
// Analytics REST API's {"tables":[{"columns":[…],"rows":[…]}]}. Records
// inside "records"/"value" arrays and table rows stream one at a time.
type streamer struct {
	size  int // bytes in batch
	ctx   context.Context
	fi    int
	dec   *json.Decoder
	bound *boundedReader
	lines *lineTracker
	jobs  chan<- job
	batch job
}

func readJSONStream(ctx context.Context, fi int, r io.Reader, jobs chan<- job) error {
	lt := &lineTracker{r: r, line: 1}
	br := &boundedReader{r: lt}
	br.mark()
	s := &streamer{ctx: ctx, fi: fi, dec: json.NewDecoder(br), bound: br, lines: lt, jobs: jobs}
	s.batch = job{file: fi, format: FormatJSON}
	var err error
	for {
		if err = s.ctx.Err(); err != nil {
			break
		}
		line := lt.lineAt(s.dec.InputOffset())
		tok, terr := s.dec.Token()
		if terr == io.EOF {
			break
		}
		if terr != nil {
			err = fmt.Errorf("line %d: %w", line, terr)
			break
		}
		if err = s.value(tok, line, 0); err != nil {
			err = fmt.Errorf("in the JSON value that starts on line %d: %w", line, err)
			break
		}
	}
	s.flush()
	return err
}

func (s *streamer) flush() {
	if len(s.batch.records) > 0 {
		s.jobs <- s.batch
	}
	s.batch = job{file: s.fi, format: FormatJSON, records: nil}
}

func (s *streamer) emit(rec []byte, line int) {
	s.batch.records = append(s.batch.records, rec)
	s.batch.lines = append(s.batch.lines, line)
	s.size += len(rec)
	if len(s.batch.records) >= recordsBatch || s.size >= batchBytes {
		s.flush()
		s.size = 0
	}
	s.bound.mark()
}

// value handles a value whose first token is tok.
func (s *streamer) value(tok json.Token, line, depth int) error {
	if depth > maxNesting+2 {
		return errors.New("JSON nested too deeply")
	}
	switch tok {
	case json.Delim('['):
		for s.dec.More() {
			if err := s.element(depth + 1); err != nil {
				return err
			}
		}
		_, err := s.dec.Token()
		return err
	case json.Delim('{'):
		return s.object(line, depth)
	}
	// A bare scalar at the top: not a record.
	b, _ := json.Marshal(tok)
	s.emit(b, line)
	return nil
}

// element reads one value of an array as a record, or walks it when it
// is an envelope.
func (s *streamer) element(depth int) error {
	line := s.lines.lineAt(s.dec.InputOffset())
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return fmt.Errorf("line %d: %w", line, err)
	}
	s.emit(raw, line)
	return nil
}

// object walks an object whose '{' was read: "records"/"value" arrays and
// "tables" stream; any other object is one record.
func (s *streamer) object(line, depth int) error {
	fields := map[string]json.RawMessage{}
	var order []string
	streamed := false
	for s.dec.More() {
		kt, err := s.dec.Token()
		if err != nil {
			return err
		}
		key, _ := kt.(string)
		switch strings.ToLower(key) {
		case "records", "value", "tables":
			tok, err := s.dec.Token()
			if err != nil {
				return err
			}
			if tok == json.Delim('[') {
				streamed = true
				if strings.ToLower(key) == "tables" {
					err = s.tables()
				} else {
					for s.dec.More() && err == nil {
						err = s.element(depth + 1)
					}
					if err == nil {
						_, err = s.dec.Token()
					}
				}
				if err != nil {
					return err
				}
				continue
			}
			if tok == json.Delim('{') {
				if err := s.object(s.lines.lineAt(s.dec.InputOffset()), depth+1); err != nil {
					return err
				}
				continue
			}
			b, _ := json.Marshal(tok)
			fields[key] = b
			order = append(order, key)
			continue
		}
		var raw json.RawMessage
		if err := s.dec.Decode(&raw); err != nil {
			return err
		}
		if _, dup := fields[key]; !dup {
			order = append(order, key)
		}
		fields[key] = raw
	}
	if _, err := s.dec.Token(); err != nil { // '}'
		return err
	}
	if !streamed {
		s.emit(rebuild(order, fields), line)
	}
	return nil
}

// rebuild writes an object back from its fields, in their order.
func rebuild(order []string, fields map[string]json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range order {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		b.Write(fields[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// tables streams the rows of the Log Analytics REST API's tables (the
// '[' is read): each row becomes a record keyed by the column names.
func (s *streamer) tables() error {
	for s.dec.More() {
		if tok, err := s.dec.Token(); err != nil || tok != json.Delim('{') {
			return errors.New("a table is not an object")
		}
		var cols []string
		for s.dec.More() {
			kt, err := s.dec.Token()
			if err != nil {
				return err
			}
			switch kt {
			case "columns":
				var c []struct{ Name string }
				if err := s.dec.Decode(&c); err != nil {
					return err
				}
				cols = cols[:0]
				for _, x := range c {
					cols = append(cols, x.Name)
				}
			case "rows":
				if tok, err := s.dec.Token(); err != nil || tok != json.Delim('[') {
					return errors.New("table rows are not an array")
				}
				for s.dec.More() {
					line := s.lines.lineAt(s.dec.InputOffset())
					var row []json.RawMessage
					if err := s.dec.Decode(&row); err != nil {
						return fmt.Errorf("line %d: %w", line, err)
					}
					fields := map[string]json.RawMessage{}
					var order []string
					for i, v := range row {
						if i < len(cols) {
							fields[cols[i]] = v
							order = append(order, cols[i])
						}
					}
					s.emit(rebuild(order, fields), line)
				}
				if _, err := s.dec.Token(); err != nil {
					return err
				}
			default:
				var skip json.RawMessage
				if err := s.dec.Decode(&skip); err != nil {
					return err
				}
			}
			s.bound.mark()
		}
		if _, err := s.dec.Token(); err != nil {
			return err
		}
	}
	_, err := s.dec.Token()
	return err
}

// readCSV reads a Log Analytics CSV export: a header row naming the
// columns ("TimeGenerated [UTC]", "msg_s", or an AZFW* table's columns),
// then one record per row.
func readCSV(ctx context.Context, fi int, r io.Reader, jobs chan<- job) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("reading the CSV header: %w", err)
	}
	cols := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimPrefix(h, "\ufeff")
		h, _, _ = strings.Cut(h, " [")
		cols[i] = strings.TrimSpace(h)
	}
	batch := job{file: fi, format: FormatJSON}
	lastErrAt := int64(-1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			pe, ok := errors.AsType[*csv.ParseError](err)
			if !ok {
				return err
			}
			// A parse error that does not move the reader on would
			// repeat forever: stop there.
			if off := cr.InputOffset(); off == lastErrAt {
				return fmt.Errorf("CSV line %d: %w", pe.StartLine, pe.Err)
			} else {
				lastErrAt = off
			}
			batch.records = append(batch.records, []byte("a CSV row that does not parse: "+pe.Err.Error()))
			batch.lines = append(batch.lines, pe.StartLine)
			if len(batch.records) >= recordsBatch {
				jobs <- batch
				batch = job{file: fi, format: FormatJSON}
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		var b bytes.Buffer
		b.WriteByte('{')
		for i, v := range row {
			if i >= len(cols) {
				break
			}
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(cols[i])
			vb, _ := json.Marshal(v)
			b.Write(kb)
			b.WriteByte(':')
			b.Write(vb)
		}
		b.WriteByte('}')
		batch.records = append(batch.records, b.Bytes())
		batch.lines = append(batch.lines, line)
		if len(batch.records) >= recordsBatch {
			jobs <- batch
			batch = job{file: fi, format: FormatJSON}
		}
	}
	if len(batch.records) > 0 {
		jobs <- batch
	}
	return nil
}
