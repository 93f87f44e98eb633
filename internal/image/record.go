package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kensa-project/kensa/internal/elfx"
)

// Layer records.
//
// A layer shared by many images (a base image) says the same thing about
// its files in each of them: which entries it has, which regular files
// are ELF and what the Examiner found in them, the contents of its small
// configuration files. Only which of its entries survive depends on the
// layers above it. A layer record holds the first part, read once from
// the layer's stream ([recordLayer]) for every entry the layer has; each
// image then replays the records of its layers through the same
// flattening code as a live stream ([recordSource]), which decides what
// the container sees. The record keeps no file contents beyond the
// retained configuration files: per entry its tar metadata, per regular
// file its classification inputs.
//
// A record is made independently of the image it is read for, so it
// examines every ELF file of the layer (also those an upper layer of this
// image hides: another image may show them) and retains every file the
// retention rule names in the layer. The rule and the Examiner are the
// record's key ([FlattenOptions.CacheKey]); what the rule cannot know in
// advance (a hard link of an upper layer with a retained name, to a file
// the record did not retain) makes the replay give up with
// [errRecordIncomplete], and the image is flattened from its streams.

// layerRecord is what one layer's stream gave.
type layerRecord struct {
	entries []entry
	files   []recFile
	// streamBytes is the length of the layer's uncompressed tar stream.
	streamBytes int64
	// mem estimates the bytes the record holds.
	mem int64
	// holeMisses counts the files left unexamined because the Examiner
	// read inside the code segment left out of their buffer (holeView).
	holeMisses int
}

// recFile is what a layer's regular file gave.
type recFile struct {
	elf      bool // examinable: starts with the ELF magic, or byName
	byName   bool // not ELF, examined because FlattenOptions.ExamineAlso named it
	examined bool // handed to the Examiner (value, note are its outcome)
	value    any
	note     string
	retained bool // data holds the whole contents
	data     []byte
}

// errRecordIncomplete says that a layer record lacks what this image
// needs of it; the image is flattened from its layer streams instead.
var errRecordIncomplete = errors.New("layer record lacks what this image needs")

// recordLayer reads one layer's stream whole into a record. The image's
// limits apply to the layer alone (an image's budget is checked again
// across its layers on replay); the expansion of sparse ELF files counts
// against the same byte budget as the stream.
func recordLayer(r io.Reader, opts FlattenOptions, progress func(entries int, bytes int64)) (*layerRecord, error) {
	lim := opts.Limits
	rec := &layerRecord{}
	var budget int64 // stream bytes plus sparse expansion
	var stream int64
	tr := tar.NewReader(&countingReader{r: r, n: &stream, max: lim.MaxUncompressed})
	var pipe *examPipe // started at the first file to examine
	defer func() {
		if pipe != nil {
			pipe.finish(nil) // the record is abandoned
		}
	}()
	var retainedTotal int64
	scratch := make([]byte, holeHead) // readExaminable's
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading tar: %w", err)
		}
		if len(rec.entries) >= lim.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrLimit, lim.MaxEntries)
		}
		if progress != nil && len(rec.entries)%256 == 255 {
			progress(len(rec.entries)+1, stream)
		}
		e := entry{name: hdr.Name, link: hdr.Linkname, typ: hdr.Typeflag, mode: hdr.FileInfo().Mode(), mtime: hdr.ModTime.Unix(), size: hdr.Size, sparse: sparse(hdr), file: -1}
		rec.mem += int64(len(e.name)+len(e.link)) + 64
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		default:
			rec.entries = append(rec.entries, e)
			continue
		}
		name, ok := cleanName(hdr.Name)
		if !ok || strings.HasPrefix(path_base(name), whiteoutPrefix) {
			// Never a file of any tree.
			rec.entries = append(rec.entries, e)
			continue
		}
		var f recFile
		var magic [4]byte
		head := magic[:0]
		if hdr.Size >= 4 {
			if _, err := io.ReadFull(tr, magic[:]); err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			head = magic[:]
			f.elf = string(magic[:]) == string(elfMagic)
			if !f.elf && opts.Examine != nil && opts.ExamineAlso != nil && opts.ExamineAlso(name) {
				f.elf, f.byName = true, true
			}
		}
		switch {
		case !f.elf:
			if hdr.Size <= lim.MaxRetainFile && retainedTotal+hdr.Size <= lim.MaxRetainTotal && opts.Retain(name, hdr.Size) {
				data := make([]byte, hdr.Size)
				n := copy(data, head)
				if _, err := io.ReadFull(tr, data[n:]); err != nil {
					return nil, fmt.Errorf("reading %s: %w", name, err)
				}
				f.data, f.retained = data, true
				retainedTotal += hdr.Size
				rec.mem += hdr.Size
			}
		case opts.Examine == nil || hdr.Size > lim.MaxExamine:
			// The replay decides (no Examiner, above the limit).
		default:
			if e.sparse {
				if budget += hdr.Size; budget+stream > lim.MaxUncompressed {
					return nil, fmt.Errorf("%w: more than %d uncompressed bytes (with sparse file %s)", ErrLimit, lim.MaxUncompressed, name)
				}
			}
			if pipe == nil {
				pipe = newExamPipe(opts.Examine)
			}
			buf, hole, holeLen, err := readExaminable(tr, hdr.Size, magic, !f.byName, scratch)
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			f.examined = true
			rec.mem += 512
			e.file = int32(len(rec.files))
			rec.files = append(rec.files, f)
			rec.entries = append(rec.entries, e)
			pipe.examine(int(e.file), name, buf, hdr.Size, hole, holeLen)
			continue
		}
		e.file = int32(len(rec.files))
		rec.files = append(rec.files, f)
		rec.entries = append(rec.entries, e)
	}
	if _, err := io.Copy(io.Discard, &countingReader{r: r, n: &stream, max: lim.MaxUncompressed}); err != nil {
		return nil, fmt.Errorf("reading past the tar end: %w", err)
	}
	if pipe != nil {
		pipe.finish(rec)
		pipe = nil
	}
	rec.streamBytes = stream
	rec.mem += 128
	// Trim what append over-allocated: records live long.
	rec.entries = rec.entries[:len(rec.entries):len(rec.entries)]
	rec.files = rec.files[:len(rec.files):len(rec.files)]
	return rec, nil
}

// readExaminable reads the rest of a file of size bytes that starts with
// magic into a buffer of examBuffers. An ELF file (elf) of holeMin bytes
// or more whose code segment elfx.CodeRange finds is read without it:
// buf then holds the bytes before [hole, hole+holeLen) and those after
// it. head is scratch space of holeHead bytes.
func readExaminable(r io.Reader, size int64, magic [4]byte, elf bool, head []byte) (buf *fileBuf, hole, holeLen int64, err error) {
	if !elf || size < holeMin {
		buf = examBuffers.get(size)
		b := buf.b[:size]
		copy(b, magic[:])
		if _, err := io.ReadFull(r, b[4:]); err != nil {
			examBuffers.put(buf)
			return nil, 0, 0, err
		}
		return buf, 0, 0, nil
	}
	h := head[:min(int64(len(head)), size)]
	copy(h, magic[:])
	if _, err := io.ReadFull(r, h[4:]); err != nil {
		return nil, 0, 0, err
	}
	if off, end, ok := elfx.CodeRange(h, size); ok {
		hole, holeLen = off, end-off
	}
	buf = examBuffers.get(size - holeLen)
	b := buf.b[:size-holeLen]
	at := int64(len(h)) // the stream's position in the file
	if holeLen == 0 {
		copy(b, h)
		if at < size {
			_, err = io.ReadFull(r, b[at:])
		}
	} else {
		// The head is read: what of it is before the hole, and after.
		lo, hi := hole, hole+holeLen
		copy(b, h[:min(at, lo)])
		if at > hi {
			copy(b[lo:], h[hi:])
		}
		// The rest of the stream: up to the hole, the hole, after it.
		if at < lo {
			_, err = io.ReadFull(r, b[at:lo])
		}
		if err == nil && at < hi {
			err = discard(r, hi-max(at, lo), head)
		}
		if from := max(at, hi); err == nil && from < size {
			_, err = io.ReadFull(r, b[from-holeLen:])
		}
	}
	if err != nil {
		examBuffers.put(buf)
		return nil, 0, 0, err
	}
	return buf, hole, holeLen, nil
}

// discard reads n bytes of r through scratch.
func discard(r io.Reader, n int64, scratch []byte) error {
	for n > 0 {
		k, err := io.ReadFull(r, scratch[:min(n, int64(len(scratch)))])
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// examineSafely runs ex, turning a panic into a note.
func examineSafely(ex Examiner, name string, r io.ReaderAt, size int64) (v any, note string) {
	defer func() {
		if p := recover(); p != nil {
			v, note = nil, fmt.Sprintf("examining it failed: %v", p)
		}
	}()
	return ex(name, r, size), ""
}

func path_base(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// recordSource replays a layer record's entries.
type recordSource struct {
	rec *layerRecord
	i   int
}

func (s *recordSource) next() (*entry, error) {
	if s.i >= len(s.rec.entries) {
		return nil, io.EOF
	}
	s.i++
	return &s.rec.entries[s.i-1], nil
}

// file gives the inode the live stream would have given: the same
// bookkeeping ([flattener.elfBookkeeping], retention budget), with the
// contents' outcome taken from the record.
func (s *recordSource) file(fl *flattener, shown string, e *entry, waiting []pendingLink) (*inode, error) {
	if e.file < 0 || int(e.file) >= len(s.rec.files) {
		return nil, errRecordIncomplete
	}
	f := &s.rec.files[e.file]
	ino := &inode{size: e.size}
	if !f.elf {
		if !fl.wantRetain(shown, ino.size, waiting) {
			return keep(ino, waiting), nil
		}
		if !f.retained {
			return nil, errRecordIncomplete
		}
		ino.data, ino.retained = f.data, true
		fl.fs.Stats.RetainedBytes += ino.size
		return ino, nil
	}
	if done, ino, err := fl.elfBookkeeping(shown, e, ino, waiting, !f.byName); done {
		return ino, err
	}
	if !f.examined {
		return nil, errRecordIncomplete
	}
	ino.examined = true
	fl.fs.Stats.Examined++
	ino.value, ino.note = f.value, f.note
	return ino, nil
}

func (s *recordSource) end() error { return nil }
