package elfx

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Go's function table (.gopclntab) starts with a magic number that names
// its layout.
const (
	pcln12  = 0xfffffffb // Go 1.2–1.15: names inline in the table
	pcln116 = 0xfffffffa // Go 1.16–1.17
	pcln118 = 0xfffffff0 // Go 1.18–1.19
	pcln120 = 0xfffffff1 // Go 1.20+
)

// ErrNoPclntab means the file has no Go function table.
var ErrNoPclntab = errors.New("no Go function table")

// FuncNames calls fn with each function name of the Go function table,
// streaming the table's name blob through a small buffer: memory stays
// flat however large the binary. fn must not keep name; returning false
// stops the walk. For tables older than Go 1.16 the names are not
// separated from other data, so fn also sees fragments: match them with
// care (prefix after a NUL works, as names are NUL-terminated).
func (f *File) FuncNames(fn func(name []byte) bool) error {
	r, _, err := f.pclntab()
	if err != nil {
		return err
	}
	return splitNames(r, fn)
}

// PclnMagic returns the magic number of the Go function table, which
// names the Go releases that write its layout (see [PclnRelease]), or
// [ErrNoPclntab].
func (f *File) PclnMagic() (uint32, error) {
	_, m, err := f.pclntab()
	return m, err
}

// PclnRelease names the Go releases whose linker writes a function table
// with magic number m.
func PclnRelease(m uint32) string {
	switch m {
	case pcln12:
		return "Go 1.2–1.15"
	case pcln116:
		return "Go 1.16–1.17"
	case pcln118:
		return "Go 1.18–1.19"
	case pcln120:
		return "Go 1.20 or later"
	}
	return "unknown Go release"
}

// pclntab finds the function name region of the Go function table and
// its magic number.
func (f *File) pclntab() (*io.SectionReader, uint32, error) {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := f.section(name); s != nil {
			r := f.sectionReader(s)
			if names, m, ok := f.pclnNames(r, 0); ok {
				return names, m, nil
			}
		}
	}
	// External linking (PIE, cgo) merges the table into .data.rel.ro
	// (or .rodata): find its header by its magic number.
	for _, name := range []string{".data.rel.ro", ".rodata", ".noptrdata"} {
		s := f.section(name)
		if s == nil {
			continue
		}
		if names, m, ok := f.findPcln(f.sectionReader(s)); ok {
			return names, m, nil
		}
	}
	return nil, 0, ErrNoPclntab
}

// findPcln scans r for a valid pclntab header.
func (f *File) findPcln(r *io.SectionReader) (*io.SectionReader, uint32, bool) {
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:chunkSize+8]
	for base := int64(0); base < r.Size(); base += chunkSize {
		n, _ := r.ReadAt(buf, base)
		for i := 0; i+8 <= n; i += 4 {
			m := f.ByteOrder.Uint32(buf[i:])
			if m&0xfffffff0 != 0xfffffff0 || buf[i+4] != 0 || buf[i+5] != 0 {
				continue
			}
			if names, m, ok := f.pclnNames(r, base+int64(i)); ok {
				return names, m, true
			}
		}
	}
	return nil, 0, false
}

// pclnNames validates the header at off in r and returns the region that
// holds the function names.
func (f *File) pclnNames(r *io.SectionReader, off int64) (*io.SectionReader, uint32, bool) {
	var h [8 + 8*8]byte
	n, _ := r.ReadAt(h[:], off)
	if n < 16 {
		return nil, 0, false
	}
	magic := f.ByteOrder.Uint32(h[:])
	minLC, ptrSize := h[6], int(h[7])
	if h[4] != 0 || h[5] != 0 || (minLC != 1 && minLC != 2 && minLC != 4) || (ptrSize != 4 && ptrSize != 8) {
		return nil, 0, false
	}
	word := func(i int) uint64 {
		o := 8 + i*ptrSize
		if o+ptrSize > n {
			return ^uint64(0)
		}
		if ptrSize == 4 {
			return uint64(f.ByteOrder.Uint32(h[o:]))
		}
		return f.ByteOrder.Uint64(h[o:])
	}
	size := uint64(r.Size() - off)
	var nameOff, nameEnd uint64
	switch magic {
	case pcln12:
		// Names are interleaved with the rest of the table: hand out the
		// whole table.
		return io.NewSectionReader(r, off, int64(size)), magic, true
	case pcln116:
		// nfunc, nfiles, funcnameOffset, cuOffset, ...
		nameOff, nameEnd = word(2), word(3)
	case pcln118, pcln120:
		// nfunc, nfiles, textStart, funcnameOffset, cuOffset, ...
		nameOff, nameEnd = word(3), word(4)
	default:
		return nil, 0, false
	}
	if nameOff == 0 || nameOff > nameEnd || nameEnd > size {
		return nil, 0, false
	}
	return io.NewSectionReader(r, off+int64(nameOff), int64(nameEnd-nameOff)), magic, true
}

// splitNames streams r and calls fn for each NUL-terminated string.
func splitNames(r *io.SectionReader, fn func([]byte) bool) error {
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:chunkSize]
	var carry []byte
	for off := int64(0); off < r.Size(); {
		n, err := r.ReadAt(buf, off)
		if n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading the Go function table: %w", err)
			}
			break
		}
		off += int64(n)
		b := buf[:n]
		for len(b) > 0 {
			i := bytes.IndexByte(b, 0)
			if i < 0 {
				if len(carry) < maxNameCarry {
					carry = append(carry, b[:min(len(b), maxNameCarry-len(carry))]...)
				}
				break
			}
			name := b[:i]
			if len(carry) > 0 {
				carry = append(carry, name[:min(len(name), maxNameCarry-len(carry))]...)
				name = carry
			}
			if len(name) > 0 && !fn(name) {
				return nil
			}
			carry = carry[:0]
			b = b[i+1:]
		}
	}
	if len(carry) > 0 {
		fn(carry)
	}
	return nil
}

// ScanStrings streams the read-only data of the file (.rodata and its
// kin; without section headers, the read-only loaded segments) and calls
// fn with the index of each needle found and the bytes around it (up to
// 256 bytes after its start, within the same chunk). limit caps how many
// bytes are scanned. fn returning false stops the scan. Within a chunk
// of the data, fn sees the matches of needle 0 first, then those of
// needle 1, and so on, each needle's in file order (one pass finds them
// all: see needles.go).
func (f *File) ScanStrings(needles [][]byte, limit int64, fn func(i int, at []byte) bool) error {
	regions := f.readOnlyRegions()
	if len(regions) == 0 {
		return nil
	}
	groups := cachedPlan(needles)
	const overlap = 256
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:chunkSize+overlap]
	next := make([]int, len(needles))
	var hits []needleHit
	var scanned int64
	for _, r := range regions {
		for off := int64(0); off < r.Size() && scanned < limit; off += chunkSize {
			n, err := r.ReadAt(buf, off)
			if n == 0 {
				if err != nil && !errors.Is(err, io.EOF) {
					return fmt.Errorf("reading read-only data: %w", err)
				}
				break
			}
			scanned += int64(min(n, chunkSize))
			b := buf[:n]
			hits = findNeedles(b, min(n, chunkSize), needles, groups, next, hits[:0])
			for _, h := range hits {
				at := b[h.pos:]
				if !fn(h.needle, at[:min(len(at), overlap)]) {
					return nil
				}
			}
		}
	}
	return nil
}

// readOnlyRegions are where a file keeps its constant strings: .rodata
// and its kin, or without section headers the read-only loaded segments.
func (f *File) readOnlyRegions() []*io.SectionReader {
	var regions []*io.SectionReader
	if len(f.Sections) > 0 {
		for _, s := range f.Sections {
			if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR != 0 || s.Flags&elf.SHF_COMPRESSED != 0 {
				continue
			}
			// Strings live in .rodata (.rodata.str1.1 in unlinked objects);
			// .data.rel.ro holds pointers.
			if s.Name == ".rodata" || strings.HasPrefix(s.Name, ".rodata.") {
				regions = append(regions, f.sectionReader(s))
			}
		}
		return regions
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X == 0 && p.Off < uint64(f.size) {
			regions = append(regions, io.NewSectionReader(f.r, int64(p.Off), min(int64(p.Filesz), f.size-int64(p.Off))))
		}
	}
	return regions
}

// StringAround finds the first needle in the read-only data (scanning at
// most limit bytes) and returns the NUL-terminated string that contains
// it (at most 256 bytes before the needle) and the bytes after that
// string's end (up to 256).
func (f *File) StringAround(needle []byte, limit int64) (str, after []byte, ok bool) {
	const ctx = 256
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:chunkSize+2*ctx]
	var scanned int64
	for _, r := range f.readOnlyRegions() {
		for off := int64(0); off < r.Size() && scanned < limit; off += chunkSize {
			start := max(0, off-ctx)
			n, err := r.ReadAt(buf, start)
			if n == 0 {
				if err != nil && !errors.Is(err, io.EOF) {
					return nil, nil, false
				}
				break
			}
			scanned += chunkSize
			b := buf[:n]
			j := bytes.Index(b[off-start:], needle)
			if j < 0 || int(off-start)+j >= int(off-start)+chunkSize {
				continue
			}
			j += int(off - start)
			s := bytes.LastIndexByte(b[:j], 0) + 1
			e := bytes.IndexByte(b[j:], 0)
			if e < 0 {
				return nil, nil, false
			}
			e += j
			return append([]byte(nil), b[s:e]...), append([]byte(nil), b[e+1:min(len(b), e+1+ctx)]...), true
		}
	}
	return nil, nil, false
}

// Symbols calls fn with the name of each symbol defined in the file
// (section index not undefined), from the dynamic symbol table and, when
// present and not too large, the static one. fn returning false stops.
func (f *File) Symbols(static bool, fn func(name []byte, dynamic bool) bool) error {
	types := []elf.SectionType{elf.SHT_DYNSYM}
	if static {
		types = append(types, elf.SHT_SYMTAB)
	}
	for _, t := range types {
		stop := false
		f.symbolTable(t, func(name []byte, _ uint64) bool {
			if !fn(name, t == elf.SHT_DYNSYM) {
				stop = true
				return false
			}
			return true
		})
		if stop {
			return nil
		}
	}
	return nil
}

// symbolValues calls fn with the name and value of each defined symbol
// of the static symbol table.
func (f *File) symbolValues(fn func(name []byte, value uint64) bool) error {
	f.symbolTable(elf.SHT_SYMTAB, fn)
	return nil
}

// symWindow is how much of a symbol name table symbolTable holds at
// once. A table up to this size is read whole; a larger one (C++ and
// Rust libraries carry several MiB) a window at a time, with a pass over
// the symbols for each window, giving the names that start in it: a few
// more reads of the symbol entries instead of a transient allocation of
// the whole table, which set the scan's peak memory. The windows come
// from a pool: at 1 MiB, allocated per table, they were the largest
// transient allocations of a scan of /usr and about 1 MiB of its peak
// RSS; at 256 KiB a library's .dynstr still fits in one (Debian's
// libcrypto.so.3: 110 KiB) and a 4 MiB static table takes 16 passes.
// (Variables so that a test can make them small.)
var (
	symWindow  = 256 << 10
	symOverlap = 4 << 10
)

// windowPool holds symbolTable's windows (symWindow+symOverlap bytes).
var windowPool sync.Pool

func getWindow() *[]byte {
	if b, ok := windowPool.Get().(*[]byte); ok && len(*b) == symWindow+symOverlap {
		return b
	}
	b := make([]byte, symWindow+symOverlap)
	return &b
}

// symbolTable streams the defined symbols of the first table of type t.
// With a table larger than symWindow, fn sees the symbols in the order
// of their names' positions in the string table, window by window.
func (f *File) symbolTable(t elf.SectionType, fn func(name []byte, value uint64) bool) {
	s := f.SectionByType(t)
	if s == nil || s.Type == elf.SHT_NOBITS || int(s.Link) <= 0 || int(s.Link) >= len(f.Sections) {
		return
	}
	sr := f.sectionReader(s)
	if sr.Size() > maxSymtab {
		return
	}
	str := f.sectionReader(f.Sections[s.Link])
	if str.Size() > maxStrtab {
		return
	}
	wp := getWindow()
	defer windowPool.Put(wp)
	win := *wp
	if str.Size() <= int64(symWindow) {
		n, err := str.ReadAt(win[:str.Size()], 0)
		if int64(n) < str.Size() && err != nil {
			return
		}
		f.symbolPass(sr, str, win[:n], 0, fn)
		return
	}
	for lo := int64(0); lo < str.Size(); lo += int64(symWindow) {
		n, err := str.ReadAt(win, lo)
		if int64(n) < min(str.Size()-lo, int64(symWindow)) && err != nil {
			return
		}
		if !f.symbolPass(sr, str, win[:n], lo, fn) {
			return
		}
	}
}

// symbolPass calls fn for each defined symbol of the table sr whose name
// starts in w, the bytes of the string table str from offset lo (up to
// symWindow of them, plus symOverlap to end the names that start near
// the window's end; a longer name is read on its own). It reports
// whether fn wants more.
func (f *File) symbolPass(sr, str *io.SectionReader, w []byte, lo int64, fn func(name []byte, value uint64) bool) bool {
	entSize := 24
	if f.Class == elf.ELFCLASS32 {
		entSize = 16
	}
	hi := lo + int64(min(len(w), symWindow))
	if lo == 0 && int64(len(w)) == str.Size() {
		hi = str.Size() // the whole table
	}
	var long []byte
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:(chunkSize/entSize)*entSize]
	for off := int64(0); off < sr.Size(); off += int64(len(buf)) {
		n, _ := sr.ReadAt(buf, off)
		if n <= 0 {
			break
		}
		for i := 0; i+entSize <= n; i += entSize {
			e := buf[i : i+entSize]
			var name uint32
			var shndx uint16
			var value uint64
			if entSize == 24 {
				name, shndx, value = f.ByteOrder.Uint32(e), f.ByteOrder.Uint16(e[6:]), f.ByteOrder.Uint64(e[8:])
			} else {
				name, shndx, value = f.ByteOrder.Uint32(e), f.ByteOrder.Uint16(e[14:]), uint64(f.ByteOrder.Uint32(e[4:]))
			}
			if shndx == uint16(elf.SHN_UNDEF) || int64(name) < lo || int64(name) >= hi {
				continue
			}
			nm := w[int64(name)-lo:]
			if j := bytes.IndexByte(nm, 0); j >= 0 {
				nm = nm[:j]
			} else if lo+int64(len(w)) < str.Size() {
				// The name runs past the overlap: read it whole (to its
				// NUL or the end of the table, as a whole-table read).
				long = readName(str, int64(name), long[:0])
				nm = long
			}
			if !fn(nm, value) {
				return false
			}
		}
	}
	return true
}

// readName appends the NUL-terminated string at off in str to b.
func readName(str *io.SectionReader, off int64, b []byte) []byte {
	var chunk [4096]byte
	for off < str.Size() {
		n, _ := str.ReadAt(chunk[:min(int64(len(chunk)), str.Size()-off)], off)
		if n <= 0 {
			break
		}
		if j := bytes.IndexByte(chunk[:n], 0); j >= 0 {
			return append(b, chunk[:j]...)
		}
		b = append(b, chunk[:n]...)
		off += int64(n)
	}
	return b
}
