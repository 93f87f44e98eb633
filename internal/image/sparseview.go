package image

import (
	"errors"
	"io"
)

// Leaving code out of the buffer.
//
// An ELF file whose code segment is apart from its constant data
// (elfx.CodeRange: most files of a current distribution, Go and Rust
// programs) is recorded without that segment: its bytes are decompressed
// and dropped, the rest is kept in the buffer end to end, and the
// Examiner reads the file through a holeView that maps its offsets. On a
// Debian /usr that leaves out 40% of the bytes of the ELF files of 1 MiB
// or more: less memory to copy into, and to fault in. The Examiner
// does not read code today; should it ever read inside the hole, the
// view says so (touched), the examination is thrown away and the file's
// record is left unexamined, which makes an image that shows the file
// read from its streams, whole ([errRecordIncomplete]). So the outcome
// is always that of the whole file.

// holeMin is the smallest file recorded without its code segment.
const holeMin = 1 << 20

// holeHead is how much of a file is read to find its code segment: the
// ELF and program headers are at its start.
const holeHead = 64 << 10

// holeView reads a file of size bytes whose bytes [off, off+n) are not
// held: b holds the bytes before the hole and, after them, those after
// it.
type holeView struct {
	b       []byte
	off, n  int64
	size    int64
	touched bool // a read reached into the hole
}

// errHole is what a read inside the hole gives.
var errHole = errors.New("inside the code segment left out of the buffer")

func (v *holeView) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= v.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), v.size)
	if off < v.off+v.n && end > v.off {
		v.touched = true
		return 0, errHole
	}
	src := off
	if off >= v.off+v.n {
		src -= v.n
	}
	n := copy(p, v.b[src:src+(end-off)])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
