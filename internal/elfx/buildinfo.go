package elfx

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// BuildInfo is what the Go linker records in .go.buildinfo: the toolchain
// version and the module and build settings that `go version -m` prints.
type BuildInfo struct {
	// GoVersion is the toolchain's version string as recorded, for
	// example "go1.26.8", "go1.26.8-X:boringcrypto" or
	// "go1.21.9 (Red Hat 1.21.9-1.el9) X:strictfipsruntime".
	GoVersion string
	// Path is the main package path ("path" line).
	Path string
	// Main is the main module path and version ("mod" line).
	Main string
	// Settings are the "build" lines, in order.
	Settings []Setting
}

// Setting is one "build KEY=VALUE" line.
type Setting struct{ Key, Value string }

// Setting returns the value of the build setting key and whether it is set.
func (b *BuildInfo) Setting(key string) (string, bool) {
	for _, s := range b.Settings {
		if s.Key == key {
			return s.Value, true
		}
	}
	return "", false
}

var buildInfoMagic = []byte("\xff Go buildinf:")

// ErrNoBuildInfo means the file has no Go build information: it is not a
// Go binary (or one too old or packed to carry it).
var ErrNoBuildInfo = errors.New("no Go build information")

// BuildInfo reads the Go build information. It returns [ErrNoBuildInfo]
// for a file that is not a Go binary.
func (f *File) BuildInfo() (*BuildInfo, error) {
	r := f.buildInfoRegion()
	if r == nil {
		return nil, ErrNoBuildInfo
	}
	bp := getBuf()
	defer putBuf(bp)
	probe := (*bp)[:min(r.Size(), buildInfoProbe)]
	n, _ := r.ReadAt(probe, 0)
	probe = probe[:n]
	off := -1
	for i := 0; i+32 <= len(probe); i += 16 {
		if bytes.HasPrefix(probe[i:], buildInfoMagic) {
			off = i
			break
		}
	}
	if off < 0 {
		return nil, ErrNoBuildInfo
	}
	hdr := probe[off : off+32]
	ptrSize, flags := int(hdr[14]), hdr[15]
	var vers, mod string
	if flags&2 != 0 {
		// Go 1.18+: both strings inline, varint-length prefixed.
		rest := io.NewSectionReader(r, int64(off)+32, r.Size()-int64(off)-32)
		br := &countingReader{r: rest}
		var err error
		if vers, err = readVarString(br, 256); err != nil {
			return nil, fmt.Errorf("reading the Go version: %w", err)
		}
		if mod, err = readVarString(br, maxBuildInfo); err != nil {
			return nil, fmt.Errorf("reading the Go module information: %w", err)
		}
	} else {
		if ptrSize != 4 && ptrSize != 8 {
			return nil, fmt.Errorf("corrupt Go build information: pointer size %d", ptrSize)
		}
		var bo binary.ByteOrder = binary.LittleEndian
		if flags&1 != 0 {
			bo = binary.BigEndian
		}
		ptr := func(b []byte) uint64 {
			if ptrSize == 4 {
				return uint64(bo.Uint32(b))
			}
			return bo.Uint64(b)
		}
		var err error
		if vers, err = f.readGoString(ptr(hdr[16:]), ptrSize, bo, 256); err != nil {
			return nil, fmt.Errorf("reading the Go version: %w", err)
		}
		if mod, err = f.readGoString(ptr(hdr[16+ptrSize:]), ptrSize, bo, maxBuildInfo); err != nil {
			return nil, fmt.Errorf("reading the Go module information: %w", err)
		}
	}
	if vers == "" {
		return nil, ErrNoBuildInfo
	}
	bi := &BuildInfo{GoVersion: vers}
	parseModInfo(bi, mod)
	return bi, nil
}

// buildInfoRegion is where the linker put the build information: the
// .go.buildinfo section, or else the start of the first writable segment.
func (f *File) buildInfoRegion() *io.SectionReader {
	if s := f.section(".go.buildinfo"); s != nil {
		return f.sectionReader(s)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W != 0 && p.Off < uint64(f.size) {
			n := min(int64(p.Filesz), f.size-int64(p.Off))
			return io.NewSectionReader(f.r, int64(p.Off), n)
		}
	}
	return nil
}

// readGoString reads a Go string header (pointer, length) at virtual
// address addr, then the string it points to.
func (f *File) readGoString(addr uint64, ptrSize int, bo binary.ByteOrder, limit uint64) (string, error) {
	hdr := make([]byte, 2*ptrSize)
	if err := f.readVirtual(addr, hdr); err != nil {
		return "", err
	}
	var p, n uint64
	if ptrSize == 4 {
		p, n = uint64(bo.Uint32(hdr)), uint64(bo.Uint32(hdr[4:]))
	} else {
		p, n = bo.Uint64(hdr), bo.Uint64(hdr[8:])
	}
	if n == 0 {
		// An empty string's pointer may point anywhere, .bss included
		// (Go 1.13–1.17 toolchain binaries built without modules).
		return "", nil
	}
	if n > limit {
		return "", fmt.Errorf("string of %d bytes, more than kensa reads", n)
	}
	if n > uint64(f.size) {
		return "", errors.New("string longer than the file")
	}
	b := make([]byte, n)
	if err := f.readVirtual(p, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// readVirtual fills b from virtual address addr through the PT_LOAD
// segments. Bytes past a segment's file size (its .bss) read as zeros.
func (f *File) readVirtual(addr uint64, b []byte) error {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || addr-p.Vaddr >= max(p.Filesz, p.Memsz) {
			continue
		}
		d := addr - p.Vaddr
		if d >= p.Filesz {
			if uint64(len(b)) > p.Memsz-d {
				return errors.New("string crosses the end of its segment")
			}
			clear(b)
			return nil
		}
		if uint64(len(b)) > p.Filesz-d {
			return errors.New("string crosses the end of its segment")
		}
		off := p.Off + d
		if off > uint64(f.size) || uint64(len(b)) > uint64(f.size)-off {
			return errors.New("string beyond the end of the file")
		}
		if _, err := f.r.ReadAt(b, int64(off)); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
	return fmt.Errorf("address %#x is not in a loaded segment", addr)
}

type countingReader struct {
	r   *io.SectionReader
	off int64
}

func (c *countingReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := c.r.ReadAt(b[:], c.off); err != nil {
		return 0, err
	}
	c.off++
	return b[0], nil
}

func readVarString(c *countingReader, limit uint64) (string, error) {
	n, err := binary.ReadUvarint(c)
	if err != nil {
		return "", err
	}
	if n > limit || int64(n) > c.r.Size()-c.off {
		return "", fmt.Errorf("string of %d bytes does not fit", n)
	}
	b := make([]byte, n)
	if _, err := c.r.ReadAt(b, c.off); err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	c.off += int64(n)
	return string(b), nil
}

// parseModInfo fills bi from the text `go version -m` prints. The linker
// wraps it in 16-byte sentinels.
func parseModInfo(bi *BuildInfo, mod string) {
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	}
	for line := range strings.Lines(mod) {
		line = strings.TrimSuffix(line, "\n")
		kind, rest, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		switch kind {
		case "path":
			bi.Path = rest
		case "mod":
			bi.Main = strings.ReplaceAll(rest, "\t", " ")
		case "build":
			key, val := splitSetting(rest)
			if key != "" && len(bi.Settings) < 256 {
				bi.Settings = append(bi.Settings, Setting{key, val})
			}
		}
	}
}

// splitSetting splits KEY=VALUE, where either side may be a Go-quoted
// string (the linker quotes keys and values holding spaces, quotes, tabs
// or '=').
func splitSetting(s string) (string, string) {
	var key string
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", ""
		}
		key, _ = strconv.Unquote(q)
		s = s[len(q):]
		if !strings.HasPrefix(s, "=") {
			return "", ""
		}
		s = s[1:]
	} else {
		var ok bool
		key, s, ok = strings.Cut(s, "=")
		if !ok {
			return "", ""
		}
	}
	if strings.HasPrefix(s, `"`) {
		if v, err := strconv.Unquote(s); err == nil {
			s = v
		}
	}
	return key, s
}

// GoSections reports whether the section headers name a section only the
// Go linker writes (.gopclntab, .go.buildinfo, .note.go.buildid,
// .gosymtab): a cheap test that gates the costlier search for a Go
// function table in binaries without build information.
func (f *File) GoSections() bool {
	for _, s := range f.Sections {
		switch s.Name {
		case ".gopclntab", ".data.rel.ro.gopclntab", ".go.buildinfo", ".note.go.buildid", ".gosymtab", ".go.fipsinfo", ".go.module":
			return true
		}
	}
	return false
}

// GoVersionSymbol reads the Go toolchain version from the runtime's
// runtime.buildVersion variable through the static symbol table: what
// identifies a Go binary older than Go 1.13 (no build information) when
// it is not stripped. It returns "" when the symbol or its string cannot
// be read.
func (f *File) GoVersionSymbol() string {
	var addr uint64
	found := false
	_ = f.symbolValues(func(name []byte, value uint64) bool {
		if string(name) == "runtime.buildVersion" {
			addr, found = value, true
			return false
		}
		return true
	})
	if !found {
		return ""
	}
	ptrSize := 8
	if f.Class == elf.ELFCLASS32 {
		ptrSize = 4
	}
	v, err := f.readGoString(addr, ptrSize, f.ByteOrder, 64)
	if err != nil || !strings.HasPrefix(v, "go") && !strings.HasPrefix(v, "devel") {
		return ""
	}
	return v
}
