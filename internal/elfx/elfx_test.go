package elfx

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// section is one section of a synthetic ELF file.
type section struct {
	name  string
	typ   elf.SectionType
	flags elf.SectionFlag
	data  []byte
	link  uint32
}

// buildELF writes a minimal little-endian ELF64 file of type typ with the
// given sections (after the null section and before .shstrtab) and one
// PT_LOAD segment per allocated section at vaddr = file offset + 0x400000.
func buildELF(typ elf.Type, secs []section) []byte {
	const ehsize, phentsize, shentsize = 64, 56, 64
	var shstr bytes.Buffer
	shstr.WriteByte(0)
	nameOff := make([]uint32, len(secs)+1)
	for i, s := range secs {
		nameOff[i] = uint32(shstr.Len())
		shstr.WriteString(s.name)
		shstr.WriteByte(0)
	}
	nameOff[len(secs)] = uint32(shstr.Len())
	shstr.WriteString(".shstrtab\x00")
	var nload int
	for _, s := range secs {
		if s.flags&elf.SHF_ALLOC != 0 {
			nload++
		}
	}
	off := uint64(ehsize + nload*phentsize)
	offsets := make([]uint64, len(secs))
	var body bytes.Buffer
	for i, s := range secs {
		for (off+uint64(body.Len()))%16 != 0 {
			body.WriteByte(0)
		}
		offsets[i] = off + uint64(body.Len())
		body.Write(s.data)
	}
	shstrOff := off + uint64(body.Len())
	body.Write(shstr.Bytes())
	for (off+uint64(body.Len()))%8 != 0 {
		body.WriteByte(0)
	}
	shoff := off + uint64(body.Len())
	var b bytes.Buffer
	le := binary.LittleEndian
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), 1}
	b.Write(ident[:])
	binary.Write(&b, le, uint16(typ))
	binary.Write(&b, le, uint16(elf.EM_X86_64))
	binary.Write(&b, le, uint32(1))
	binary.Write(&b, le, uint64(0x401000)) // entry
	binary.Write(&b, le, uint64(ehsize))   // phoff
	binary.Write(&b, le, shoff)
	binary.Write(&b, le, uint32(0))
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(phentsize))
	binary.Write(&b, le, uint16(nload))
	binary.Write(&b, le, uint16(shentsize))
	binary.Write(&b, le, uint16(len(secs)+2))
	binary.Write(&b, le, uint16(len(secs)+1))
	for i, s := range secs {
		if s.flags&elf.SHF_ALLOC == 0 {
			continue
		}
		flags := elf.PF_R
		if s.flags&elf.SHF_WRITE != 0 {
			flags |= elf.PF_W
		}
		binary.Write(&b, le, uint32(elf.PT_LOAD))
		binary.Write(&b, le, uint32(flags))
		binary.Write(&b, le, offsets[i])
		binary.Write(&b, le, offsets[i]+0x400000)
		binary.Write(&b, le, offsets[i]+0x400000)
		binary.Write(&b, le, uint64(len(s.data)))
		binary.Write(&b, le, uint64(len(s.data)))
		binary.Write(&b, le, uint64(0x1000))
	}
	b.Write(body.Bytes())
	sh := func(name uint32, typ elf.SectionType, flags elf.SectionFlag, addr, off, size uint64, link uint32, entsize uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, uint32(typ))
		binary.Write(&b, le, uint64(flags))
		binary.Write(&b, le, addr)
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, link)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(1))
		binary.Write(&b, le, entsize)
	}
	sh(0, elf.SHT_NULL, 0, 0, 0, 0, 0, 0)
	for i, s := range secs {
		var addr uint64
		if s.flags&elf.SHF_ALLOC != 0 {
			addr = offsets[i] + 0x400000
		}
		var ent uint64
		if s.typ == elf.SHT_DYNAMIC {
			ent = 16
		}
		sh(nameOff[i], s.typ, s.flags, addr, offsets[i], uint64(len(s.data)), s.link, ent)
	}
	sh(nameOff[len(secs)], elf.SHT_STRTAB, 0, 0, shstrOff, uint64(shstr.Len()), 0, 0)
	return b.Bytes()
}

// dynamic builds .dynamic and .dynstr contents.
func dynamic(entries ...any) (dyn, str []byte) {
	var s bytes.Buffer
	s.WriteByte(0)
	var d bytes.Buffer
	for i := 0; i+1 < len(entries); i += 2 {
		tag := entries[i].(elf.DynTag)
		var val uint64
		switch v := entries[i+1].(type) {
		case string:
			val = uint64(s.Len())
			s.WriteString(v)
			s.WriteByte(0)
		case int:
			val = uint64(v)
		}
		binary.Write(&d, binary.LittleEndian, uint64(tag))
		binary.Write(&d, binary.LittleEndian, val)
	}
	d.Write(make([]byte, 16)) // DT_NULL
	return d.Bytes(), s.Bytes()
}

// goBuildInfo builds a Go 1.18+ .go.buildinfo section.
func goBuildInfo(version, mod string) []byte {
	var b bytes.Buffer
	b.WriteString("\xff Go buildinf:")
	b.WriteByte(8)
	b.WriteByte(2)
	b.Write(make([]byte, 16))
	var n [binary.MaxVarintLen64]byte
	b.Write(n[:binary.PutUvarint(n[:], uint64(len(version)))])
	b.WriteString(version)
	wrapped := strings.Repeat("\x30", 16) + mod + "\n" + strings.Repeat("\x31", 16)
	b.Write(n[:binary.PutUvarint(n[:], uint64(len(wrapped)))])
	b.WriteString(wrapped)
	return b.Bytes()
}

// pclntab120 builds a Go 1.20 function table header with the names.
func pclntab120(names ...string) []byte {
	var blob bytes.Buffer
	for _, n := range names {
		blob.WriteString(n)
		blob.WriteByte(0)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&b, le, uint32(pcln120))
	b.Write([]byte{0, 0, 1, 8})
	hdr := 8 + 8*8
	binary.Write(&b, le, uint64(len(names))) // nfunc
	binary.Write(&b, le, uint64(0))          // nfiles
	binary.Write(&b, le, uint64(0x401000))   // textStart
	binary.Write(&b, le, uint64(hdr))        // funcnameOffset
	binary.Write(&b, le, uint64(hdr+blob.Len()))
	binary.Write(&b, le, uint64(hdr+blob.Len()))
	binary.Write(&b, le, uint64(hdr+blob.Len()))
	binary.Write(&b, le, uint64(hdr+blob.Len()))
	b.Write(blob.Bytes())
	return b.Bytes()
}

func sampleGo() []byte {
	dyn, str := dynamic(elf.DT_NEEDED, "libc.so.6", elf.DT_RUNPATH, "$ORIGIN/../lib:/opt/lib", elf.DT_FLAGS_1, int(elf.DF_1_PIE))
	return buildELF(elf.ET_DYN, []section{
		{name: ".dynstr", typ: elf.SHT_STRTAB, flags: elf.SHF_ALLOC, data: str},
		{name: ".dynamic", typ: elf.SHT_DYNAMIC, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: dyn, link: 1},
		{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: []byte("xx\x00OpenSSL 3.0.19 27 Jan 2026\x00../crypto/evp/digest.c\x00")},
		{name: ".gopclntab", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: pclntab120("main.main", "crypto/internal/fips140/v1.0.0-c2097c7c/sha256.New", "runtime.main")},
		{name: ".go.buildinfo", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: goBuildInfo("go1.26.8-X:boringcrypto",
			"path\texample.com/x\nmod\texample.com/x\t(devel)\t\nbuild\t-tags=fips140v1.0\nbuild\t\"DefaultGODEBUG\"=\"fips140=on\"\nbuild\tGOFIPS140=v1.0.0-c2097c7c\n")},
	})
}

func TestSynthetic(t *testing.T) {
	data := sampleGo()
	f, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	want := Dynamic{Needed: []string{"libc.so.6"}, RunPath: []string{"$ORIGIN/../lib", "/opt/lib"}, PIE: true}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Dynamic (-want +got):\n%s", diff)
	}
	bi, err := f.BuildInfo()
	if err != nil {
		t.Fatal(err)
	}
	wantBI := &BuildInfo{GoVersion: "go1.26.8-X:boringcrypto", Path: "example.com/x", Main: "example.com/x (devel) ",
		Settings: []Setting{{"-tags", "fips140v1.0"}, {"DefaultGODEBUG", "fips140=on"}, {"GOFIPS140", "v1.0.0-c2097c7c"}}}
	if diff := cmp.Diff(wantBI, bi); diff != "" {
		t.Errorf("BuildInfo (-want +got):\n%s", diff)
	}
	var names []string
	if err := f.FuncNames(func(n []byte) bool { names = append(names, string(n)); return true }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"main.main", "crypto/internal/fips140/v1.0.0-c2097c7c/sha256.New", "runtime.main"}, names); diff != "" {
		t.Errorf("FuncNames (-want +got):\n%s", diff)
	}
	var found []string
	err = f.ScanStrings([][]byte{[]byte("OpenSSL "), []byte("crypto/evp/")}, 1<<20, func(i int, at []byte) bool {
		found = append(found, string(at[:bytes.IndexByte(at, 0)]))
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"OpenSSL 3.0.19 27 Jan 2026", "crypto/evp/digest.c"}, found); diff != "" {
		t.Errorf("ScanStrings (-want +got):\n%s", diff)
	}
}

func TestNotELF(t *testing.T) {
	for _, in := range []string{"", "#!/bin/sh\n", "\x7fELF"} {
		_, err := Open(strings.NewReader(in), int64(len(in)))
		if err == nil {
			t.Errorf("Open(%q) = nil error", in)
		}
	}
}

// TestHostileHeaders checks claims that would make a naive reader
// allocate or read far beyond the file: whatever the headers claim, the
// readers allocate no more than maxHostileAlloc for a file of a few KiB
// (a naive reader would ask for 2^40 bytes, or 65,535 headers).
func TestHostileHeaders(t *testing.T) {
	base := sampleGo()
	le := binary.LittleEndian
	tests := []struct {
		name string
		edit func(b []byte)
	}{
		{"huge shnum", func(b []byte) { le.PutUint16(b[60:], 0xffff) }},
		{"shoff beyond end", func(b []byte) { le.PutUint64(b[40:], 1<<40) }},
		{"huge phnum", func(b []byte) { le.PutUint16(b[56:], 0xffff) }},
		{"shstrtab huge", func(b []byte) {
			shoff := le.Uint64(b[40:])
			idx := le.Uint16(b[62:])
			le.PutUint64(b[shoff+uint64(idx)*64+32:], 1<<40)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), base...)
			tt.edit(b)
			got := allocated(func() {
				f, err := Open(bytes.NewReader(b), int64(len(b)))
				if err == nil {
					exercise(f)
				}
			})
			clean := allocated(func() {
				f, err := Open(bytes.NewReader(base), int64(len(base)))
				if err == nil {
					exercise(f)
				}
			})
			t.Logf("%d bytes allocated (%d for the file unedited)", got, clean)
			if got > maxHostileAlloc {
				t.Errorf("%d bytes allocated for a %d-byte file whose headers lie; want at most %d", got, len(b), maxHostileAlloc)
			}
		})
	}
}

// maxHostileAlloc bounds what the readers allocate for the few-KiB file
// of TestHostileHeaders: at most two read buffers' worth (chunkSize each),
// never a size a header claims. (The unedited file, read whole, takes
// about 87 KiB; the lying ones a few KiB, as their reads stop early.)
const maxHostileAlloc = 2 * chunkSize

// allocated returns the bytes fn allocates (on this goroutine's run; the
// test runs nothing else meanwhile).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// exercise runs every reader on f, as Inspect does.
func exercise(f *File) {
	f.Dynamic()
	f.BuildInfo()
	f.FuncNames(func([]byte) bool { return true })
	f.ScanStrings([][]byte{[]byte("OpenSSL "), []byte("DIR: \"")}, 1<<20, func(int, []byte) bool { return true })
	f.Symbols(true, func([]byte, bool) bool { return true })
}

func addSeeds(f *testing.F) {
	f.Add(sampleGo())
	// Small real files of the machine, if any.
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libdl.so.2", "/usr/bin/true"} {
		if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	// Files built here, one per reader: a relocatable with symbols, a
	// Go executable whose build information and function table sit in a
	// RELRO section, and an executable with no sections at all. (Bugs the
	// fuzzer finds are kept under testdata/fuzz, which go test replays.)
	f.Add(buildELF(elf.ET_REL, []section{
		{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: []byte("GnuTLS 3.8.9\x00wolfSSL\x00")},
	}))
	f.Add(buildELF(elf.ET_EXEC, []section{
		{name: ".go.buildinfo", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: []byte(goBuildInfo("go1.26.8", "path\tx\nbuild\tGOFIPS140=v1.0.0\n"))},
		{name: ".data.rel.ro", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: pclntab120("main.main", "crypto/tls.Dial")},
	}))
	f.Add(buildELF(elf.ET_EXEC, nil))
}

// FuzzOpen feeds arbitrary bytes to the ELF reader and every section
// reader: none may panic, hang or allocate by the file's claims.
func FuzzOpen(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		exercise(ef)
	})
}

// FuzzBuildInfo fuzzes the build information inside a valid ELF file.
func FuzzBuildInfo(f *testing.F) {
	f.Add([]byte(goBuildInfo("go1.26.8", "path\tx\nbuild\tGOFIPS140=latest\n")))
	f.Add([]byte("\xff Go buildinf:\x08\x00" + strings.Repeat("\x00", 16) + "\x00\x00\x40\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, sec []byte) {
		data := buildELF(elf.ET_EXEC, []section{{name: ".go.buildinfo", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: sec}})
		ef, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Open of a valid wrapper: %v", err)
		}
		bi, err := ef.BuildInfo()
		if err == nil && len(bi.Settings) > 256 {
			t.Fatalf("%d settings", len(bi.Settings))
		}
	})
}

// FuzzPclntab fuzzes the function table inside a valid ELF file, under
// both section names kensa reads.
func FuzzPclntab(f *testing.F) {
	f.Add(pclntab120("main.main", "crypto/sha256.New"), false)
	f.Add(pclntab120("crypto/internal/fips140/v1%2e0%2e0-c2097c7c.CAST"), true)
	f.Fuzz(func(t *testing.T, sec []byte, relro bool) {
		name := ".gopclntab"
		if relro {
			name = ".data.rel.ro"
		}
		data := buildELF(elf.ET_EXEC, []section{{name: name, typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: sec}})
		ef, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Open of a valid wrapper: %v", err)
		}
		total := 0
		ef.FuncNames(func(n []byte) bool {
			if len(n) > maxNameCarry+chunkSize {
				t.Fatalf("name of %d bytes", len(n))
			}
			total += len(n)
			return true
		})
		if total > len(sec) {
			t.Fatalf("names total %d bytes from a %d-byte table", total, len(sec))
		}
	})
}

// FuzzCrateList: the .dep-v0 decoder never panics and stays bounded.
func FuzzCrateList(f *testing.F) {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(`{"packages":[{"name":"ring","version":"0.17.14","source":"crates.io","kind":"runtime"}]}`))
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte{0x78, 0x9c})
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseCrateList(bytes.NewReader(data))
		if err == nil && len(cs) > maxCrates {
			t.Fatalf("%d crates", len(cs))
		}
	})
}

// pclnOnlyELF is a Go binary without build information: a function
// table, a static symbol table whose runtime.buildVersion points at a
// Go string header in .data, and the string itself.
func pclnOnlyELF(pcln, sym, data []byte) []byte {
	return buildELF(elf.ET_EXEC, []section{
		{name: ".gopclntab", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, data: pcln},
		{name: ".data", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_WRITE, data: data},
		{name: ".strtab", typ: elf.SHT_STRTAB, data: []byte("\x00runtime.buildVersion\x00")},
		{name: ".symtab", typ: elf.SHT_SYMTAB, data: sym, link: 3},
	})
}

// goVersionSym is a .symtab with a null symbol and runtime.buildVersion
// at value.
func goVersionSym(value uint64) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 24))
	le := binary.LittleEndian
	binary.Write(&b, le, uint32(1))
	b.Write([]byte{0x11, 0})
	binary.Write(&b, le, uint16(2))
	binary.Write(&b, le, value)
	binary.Write(&b, le, uint64(16))
	return b.Bytes()
}

// TestGoVersionSymbol: the version comes from runtime.buildVersion's
// string header, and the pclntab magic names the release range.
func TestGoVersionSymbol(t *testing.T) {
	pcln := pclntab120("main.main", "crypto/sha256.New")
	// .data sits after .gopclntab: find its address from the built file.
	probe := pclnOnlyELF(pcln, goVersionSym(0), make([]byte, 32))
	ef, err := Open(bytes.NewReader(probe), int64(len(probe)))
	if err != nil {
		t.Fatal(err)
	}
	addr := ef.Section(".data").Addr
	data := make([]byte, 32)
	binary.LittleEndian.PutUint64(data, addr+16)
	binary.LittleEndian.PutUint64(data[8:], 9)
	copy(data[16:], "go1.15.15")
	file := pclnOnlyELF(pcln, goVersionSym(addr), data)
	ef, err = Open(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if v := ef.GoVersionSymbol(); v != "go1.15.15" {
		t.Errorf("GoVersionSymbol = %q, want go1.15.15", v)
	}
	if m, err := ef.PclnMagic(); err != nil || m != pcln120 || PclnRelease(m) != "Go 1.20 or later" {
		t.Errorf("PclnMagic = %#x, %v", m, err)
	}
	if !ef.GoSections() {
		t.Error("GoSections = false for a file with .gopclntab")
	}
}

// FuzzPclnOnly fuzzes the path for Go binaries without build
// information: the function table, the symbol table and the data the
// version symbol points into.
func FuzzPclnOnly(f *testing.F) {
	f.Add(pclntab120("main.main", "crypto/sha256.New"), goVersionSym(0x400100), []byte("go1.15.15"))
	f.Fuzz(func(t *testing.T, pcln, sym, data []byte) {
		file := pclnOnlyELF(pcln, sym, data)
		ef, err := Open(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		_, _ = ef.PclnMagic()
		if v := ef.GoVersionSymbol(); len(v) > 64 {
			t.Fatalf("version of %d bytes", len(v))
		}
		ef.FuncNames(func([]byte) bool { return true })
	})
}
