package elfx

import "debug/elf"

// CodeRange finds, from the first bytes of an ELF file (head, which must
// hold the ELF header and the program headers) and its size, the byte
// range of its executable code segment when the file keeps its constant
// data apart from its code: a loaded segment that is only readable
// exists beside the executable one (the layout of binutils' default
// -z separate-code since 2.31, of lld and of Go's linker). Nothing elfx
// reads for kensa is in such a segment: .rodata, the symbol and string
// tables, .dynamic, Go's .gopclntab and .go.buildinfo all live in the
// other segments or outside any (measured: no read inside it for any of
// the 117 such files of 1 MiB or more on a Debian /usr, 462 of their
// 1,157 MB), so a reader streaming the file may leave the range out. It
// is only an optimisation: the caller must notice a read inside the range
// and then read the file whole.
//
// ok is false when the range cannot be left out safely: older layouts
// (code and constant data in one executable segment), a code segment that
// holds the ELF or program headers or overlaps another segment, a program
// header (PT_DYNAMIC, PT_NOTE, …) or the section header table, and any
// header that does not parse.
func CodeRange(head []byte, size int64) (off, end int64, ok bool) {
	const codePage = 4096
	if !Magic(head) {
		return 0, 0, false
	}
	eh, err := parseHeader(head)
	if err != nil {
		return 0, 0, false
	}
	bo, is64 := eh.bo, eh.is64
	phoff, shoff := eh.phoff, eh.shoff
	phentsize, phnum, shentsize, shnum := eh.phentsize, eh.phnum, eh.shentsize, eh.shnum
	if (is64 && phentsize < 56) || (!is64 && phentsize < 32) {
		return 0, 0, false
	}
	if phnum == 0 || phnum > maxPrograms || phoff > uint64(len(head)) || uint64(phnum)*uint64(phentsize) > uint64(len(head))-phoff {
		return 0, 0, false
	}
	type seg struct {
		typ, flags uint32
		off, n     uint64
	}
	segs := make([]seg, 0, phnum)
	for i := range uint64(phnum) {
		p := head[phoff+i*uint64(phentsize):]
		var s seg
		if is64 {
			s = seg{typ: bo.Uint32(p), flags: bo.Uint32(p[4:]), off: bo.Uint64(p[8:]), n: bo.Uint64(p[32:])}
		} else {
			s = seg{typ: bo.Uint32(p), off: uint64(bo.Uint32(p[4:])), n: uint64(bo.Uint32(p[16:])), flags: bo.Uint32(p[24:])}
		}
		if s.off > uint64(size) || s.n > uint64(size)-s.off {
			return 0, 0, false
		}
		segs = append(segs, s)
	}
	const load, x, w = uint32(elf.PT_LOAD), uint32(elf.PF_X), uint32(elf.PF_W)
	readOnly, code := false, -1
	for i, s := range segs {
		if s.typ != load || s.n == 0 {
			continue
		}
		if s.flags&(x|w) == 0 {
			readOnly = true
		}
		if s.flags&x != 0 && (code < 0 || s.n > segs[code].n) {
			code = i
		}
	}
	if !readOnly || code < 0 {
		return 0, 0, false
	}
	c := segs[code]
	lo, hi := c.off, c.off+c.n
	// A code segment that starts with the headers (Go's linker: the ELF
	// and program headers, then .text from the next page) is left out
	// from the page after them.
	if hdrEnd := max(phoff+uint64(phnum)*uint64(phentsize), 64); lo < hdrEnd {
		lo = (hdrEnd + codePage - 1) &^ (codePage - 1)
		if lo >= hi {
			return 0, 0, false
		}
	}
	overlaps := func(o, n uint64) bool { return n > 0 && o < hi && o+n > lo }
	for i, s := range segs {
		if i != code && s.typ != uint32(elf.PT_PHDR) && overlaps(s.off, s.n) {
			return 0, 0, false
		}
	}
	// Section headers: shnum 0 with shoff set puts the count in the
	// first header; then only their start is known.
	if shoff != 0 && (overlaps(shoff, max(uint64(shnum)*uint64(shentsize), 1))) {
		return 0, 0, false
	}
	return int64(lo), int64(hi), true
}
