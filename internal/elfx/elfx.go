// Package elfx reads the few parts of an ELF file that decide which crypto
// module it uses, with every read bounded: the ELF and program headers, the
// dynamic section (DT_NEEDED, DT_RUNPATH, DT_RPATH, DT_SONAME), Go's
// .go.buildinfo, the function names of Go's .gopclntab, the dynamic and
// static symbol tables, and marker strings in read-only data.
//
// The model: [Open] checks the ELF identity and the header's own claims
// against the real file size before handing the file to debug/elf, so a
// hostile header cannot make it allocate beyond caps that are independent
// of the file. Section contents are never loaded whole: readers stream them
// through a small buffer ([File.FuncNames], [File.ScanStrings]) or read a
// capped amount ([File.Dynamic], [File.BuildInfo]). Nothing here panics on
// bad input; callers still recover, as defence in depth.
package elfx

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Caps on what one file may make elfx read into memory.
const (
	maxSections    = 4096
	maxPrograms    = 1024
	maxShstrtab    = 1 << 20
	maxDynamic     = 1 << 20 // .dynamic
	maxDynString   = 4096
	maxBuildInfo   = 4 << 20 // the module information string
	maxSymtab      = 32 << 20
	maxStrtab      = 16 << 20
	chunkSize      = 64 << 10
	maxNameCarry   = 4 << 10
	buildInfoProbe = 64 << 10
)

// bufPool holds the chunk buffers of the streaming readers, so that a
// scan of thousands of files does not allocate a buffer per section.
var bufPool = sync.Pool{New: func() any { b := make([]byte, chunkSize+4096); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

// ErrNotELF is returned by [Open] for a file that does not start with the
// ELF magic number.
var ErrNotELF = errors.New("not an ELF file")

// Magic reports whether b starts with the ELF magic number.
func Magic(b []byte) bool {
	return len(b) >= 4 && b[0] == 0x7f && b[1] == 'E' && b[2] == 'L' && b[3] == 'F'
}

// File is an ELF file opened for bounded reading.
type File struct {
	*elf.File
	r    io.ReaderAt
	size int64
}

// Open checks that r holds an ELF file whose headers fit in size bytes and
// parses its headers. It returns an error wrapping [ErrNotELF] when the
// magic number is missing, and a descriptive error for a corrupt header.
func Open(r io.ReaderAt, size int64) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("corrupt ELF file: %v", p)
		}
	}()
	var ident [64]byte
	n, _ := r.ReadAt(ident[:], 0)
	if !Magic(ident[:n]) {
		return nil, ErrNotELF
	}
	if n < 52 {
		return nil, errors.New("truncated ELF header")
	}
	if err := precheck(r, size, ident[:n]); err != nil {
		return nil, err
	}
	ef, err := elf.NewFile(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("corrupt ELF file: %w", err)
	}
	return &File{File: ef, r: r, size: size}, nil
}

// header is what kensa reads of an ELF header: where the program and
// section headers are, and how many.
type header struct {
	bo                                 binary.ByteOrder
	is64                               bool
	phoff, shoff                       uint64
	phentsize, phnum, shentsize, shnum uint16
	shstrndx                           uint16
}

// parseHeader reads the ELF header at the start of h (52 bytes for a
// 32-bit file, 64 for a 64-bit one; the caller checked the magic).
func parseHeader(h []byte) (header, error) {
	var eh header
	if len(h) < 52 {
		return eh, errors.New("truncated ELF header")
	}
	switch h[elf.EI_DATA] {
	case byte(elf.ELFDATA2LSB):
		eh.bo = binary.LittleEndian
	case byte(elf.ELFDATA2MSB):
		eh.bo = binary.BigEndian
	default:
		return eh, errors.New("corrupt ELF header: unknown byte order")
	}
	bo := eh.bo
	switch h[elf.EI_CLASS] {
	case byte(elf.ELFCLASS32):
		eh.phoff = uint64(bo.Uint32(h[28:]))
		eh.shoff = uint64(bo.Uint32(h[32:]))
		eh.phentsize, eh.phnum = bo.Uint16(h[42:]), bo.Uint16(h[44:])
		eh.shentsize, eh.shnum, eh.shstrndx = bo.Uint16(h[46:]), bo.Uint16(h[48:]), bo.Uint16(h[50:])
	case byte(elf.ELFCLASS64):
		if len(h) < 64 {
			return eh, errors.New("truncated ELF header")
		}
		eh.is64 = true
		eh.phoff = bo.Uint64(h[32:])
		eh.shoff = bo.Uint64(h[40:])
		eh.phentsize, eh.phnum = bo.Uint16(h[54:]), bo.Uint16(h[56:])
		eh.shentsize, eh.shnum, eh.shstrndx = bo.Uint16(h[58:]), bo.Uint16(h[60:]), bo.Uint16(h[62:])
	default:
		return eh, errors.New("corrupt ELF header: unknown class")
	}
	return eh, nil
}

// precheck validates the header's counts and offsets before debug/elf
// trusts them, so that no allocation is sized by an unchecked claim.
func precheck(r io.ReaderAt, size int64, h []byte) error {
	eh, err := parseHeader(h)
	if err != nil {
		return err
	}
	bo := eh.bo
	phoff, shoff := eh.phoff, eh.shoff
	phentsize, phnum, shentsize, shnum, shstrndx := eh.phentsize, eh.phnum, eh.shentsize, eh.shnum, eh.shstrndx
	usize := uint64(size)
	if phnum > maxPrograms {
		return fmt.Errorf("corrupt ELF header: %d program headers", phnum)
	}
	if phnum > 0 && (phoff > usize || uint64(phnum)*uint64(phentsize) > usize-phoff) {
		return errors.New("corrupt ELF header: program headers beyond the end of the file")
	}
	if shoff == 0 {
		return nil
	}
	if shnum == 0 || shnum > maxSections {
		// shnum 0 with shoff set means the count is in section 0 (more
		// than 65279 sections): more than anything real needs.
		return fmt.Errorf("corrupt ELF header: %d section headers", shnum)
	}
	if shoff > usize || uint64(shnum)*uint64(shentsize) > usize-shoff {
		return errors.New("corrupt ELF header: section headers beyond the end of the file")
	}
	if shstrndx == uint16(elf.SHN_XINDEX) || shstrndx >= shnum {
		return nil // debug/elf rejects or ignores it
	}
	// The section-name table is read whole by debug/elf: cap it.
	var sh [64]byte
	off := int64(shoff) + int64(shstrndx)*int64(shentsize)
	if _, err := r.ReadAt(sh[:min(int(shentsize), len(sh))], off); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading section headers: %w", err)
	}
	var strSize uint64
	if !eh.is64 {
		strSize = uint64(bo.Uint32(sh[20:]))
	} else {
		strSize = bo.Uint64(sh[32:])
	}
	if strSize > maxShstrtab {
		return fmt.Errorf("corrupt ELF file: section name table of %d bytes", strSize)
	}
	return nil
}

// section returns a reader over the file bytes of the first section named
// name that has contents in the file, or nil.
func (f *File) section(name string) *elf.Section {
	for _, s := range f.Sections {
		if s.Name == name && s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_COMPRESSED == 0 {
			return s
		}
	}
	return nil
}

// sectionReader returns a reader over s's bytes in the file, clipped to the
// file's real size.
func (f *File) sectionReader(s *elf.Section) *io.SectionReader {
	off, n := int64(s.Offset), int64(s.FileSize)
	if s.Offset > uint64(f.size) || off < 0 {
		return io.NewSectionReader(f.r, 0, 0)
	}
	if n < 0 || n > f.size-off {
		n = f.size - off
	}
	return io.NewSectionReader(f.r, off, n)
}

// readCapped reads all of r if it is at most limit bytes long.
func readCapped(r *io.SectionReader, limit int64, what string) ([]byte, error) {
	if r.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than kensa reads (%d)", what, r.Size(), limit)
	}
	b := make([]byte, r.Size())
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return b, nil
}

// Dynamic is what the dynamic loader reads from a file.
type Dynamic struct {
	// Interp is the PT_INTERP program interpreter; empty for a static file.
	Interp  string
	Needed  []string
	RunPath []string
	RPath   []string
	SOName  string
	// PIE is DF_1_PIE: a position-independent executable rather than a
	// shared library.
	PIE bool
}

// Dynamic reads PT_INTERP and the dynamic section. A file without either
// gives an empty Dynamic.
func (f *File) Dynamic() (Dynamic, error) {
	var d Dynamic
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			n := min(int64(p.Filesz), 4096)
			if p.Off > uint64(f.size) {
				return d, errors.New("corrupt ELF file: PT_INTERP beyond the end of the file")
			}
			b := make([]byte, n)
			m, _ := f.r.ReadAt(b, int64(p.Off))
			d.Interp = string(bytes.TrimRight(b[:m], "\x00"))
		}
	}
	raw, strs, err := f.dynamicTables()
	if raw == nil || err != nil {
		return d, err
	}
	// The string table can be megabytes (C++ libraries): read only the
	// strings the entries point at.
	bp := getBuf()
	defer putBuf(bp)
	buf := (*bp)[:maxDynString]
	str := func(off uint64) string {
		if off >= uint64(strs.Size()) {
			return ""
		}
		// Names are short: read 256 bytes, then up to maxDynString
		// when that holds no NUL.
		n, _ := strs.ReadAt(buf[:256], int64(off))
		b := buf[:n]
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i])
		}
		if n == 256 {
			n, _ = strs.ReadAt(buf, int64(off))
			b = buf[:n]
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	f.dynEntries(raw, func(tag elf.DynTag, val uint64) {
		switch tag {
		case elf.DT_NEEDED:
			if len(d.Needed) < 1024 {
				d.Needed = append(d.Needed, str(val))
			}
		case elf.DT_RUNPATH:
			d.RunPath = append(d.RunPath, splitPath(str(val))...)
		case elf.DT_RPATH:
			d.RPath = append(d.RPath, splitPath(str(val))...)
		case elf.DT_SONAME:
			d.SOName = str(val)
		case elf.DT_FLAGS_1:
			d.PIE = val&uint64(elf.DF_1_PIE) != 0
		}
	})
	return d, nil
}

// dynamicTables returns the dynamic entries and a reader over the dynamic
// string table: from the section headers, or, when they are stripped, from
// PT_DYNAMIC and its DT_STRTAB/DT_STRSZ entries.
func (f *File) dynamicTables() ([]byte, *io.SectionReader, error) {
	if dyn := f.SectionByType(elf.SHT_DYNAMIC); dyn != nil {
		if dyn.Type == elf.SHT_NOBITS {
			return nil, nil, nil // separate debug information
		}
		if int(dyn.Link) <= 0 || int(dyn.Link) >= len(f.Sections) {
			return nil, nil, errors.New("corrupt ELF file: dynamic section has no string table")
		}
		raw, err := readCapped(f.sectionReader(dyn), maxDynamic, "the dynamic section")
		if err != nil {
			return nil, nil, err
		}
		return raw, f.sectionReader(f.Sections[dyn.Link]), nil
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_DYNAMIC {
			continue
		}
		if p.Off > uint64(f.size) {
			return nil, nil, errors.New("corrupt ELF file: PT_DYNAMIC beyond the end of the file")
		}
		raw, err := readCapped(io.NewSectionReader(f.r, int64(p.Off), min(int64(p.Filesz), f.size-int64(p.Off))), maxDynamic, "the dynamic segment")
		if err != nil {
			return nil, nil, err
		}
		var strtab, strsz uint64
		f.dynEntries(raw, func(tag elf.DynTag, val uint64) {
			switch tag {
			case elf.DT_STRTAB:
				strtab = val
			case elf.DT_STRSZ:
				strsz = val
			}
		})
		off, ok := f.fileOffset(strtab)
		if !ok || off > uint64(f.size) {
			return nil, nil, errors.New("corrupt ELF file: DT_STRTAB is not in a loaded segment")
		}
		return raw, io.NewSectionReader(f.r, int64(off), int64(min(strsz, uint64(f.size)-off))), nil
	}
	return nil, nil, nil
}

// dynEntries calls fn for each dynamic entry of raw until DT_NULL.
func (f *File) dynEntries(raw []byte, fn func(elf.DynTag, uint64)) {
	entSize := 16
	if f.Class == elf.ELFCLASS32 {
		entSize = 8
	}
	for i := 0; i+entSize <= len(raw); i += entSize {
		var tag, val uint64
		if entSize == 16 {
			tag, val = f.ByteOrder.Uint64(raw[i:]), f.ByteOrder.Uint64(raw[i+8:])
		} else {
			tag, val = uint64(f.ByteOrder.Uint32(raw[i:])), uint64(f.ByteOrder.Uint32(raw[i+4:]))
		}
		if elf.DynTag(tag) == elf.DT_NULL {
			return
		}
		fn(elf.DynTag(tag), val)
	}
}

// fileOffset maps a virtual address to its file offset through PT_LOAD.
func (f *File) fileOffset(addr uint64) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr-p.Vaddr < p.Filesz {
			return p.Off + (addr - p.Vaddr), true
		}
	}
	return 0, false
}

func splitPath(s string) []string {
	var out []string
	for _, p := range bytes.Split([]byte(s), []byte(":")) {
		if len(p) > 0 && len(out) < 64 {
			out = append(out, string(p))
		}
	}
	return out
}
