package elfx

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kensa-project/kensa/internal/testenv"
)

// TestCodeRangeToolchains: on binaries of real linkers, the range is the
// code segment (after the headers when it starts with them), no section
// kensa may read (anything not executable, and the section headers) is
// inside it, and the old layout that mixes code and constants is refused.
func TestCodeRangeToolchains(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "m.c")
	if err := os.WriteFile(c, []byte("#include <stdio.h>\nconst char banner[] = \"kensa\";\nint main(void) { puts(banner); return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	goSrc := filepath.Join(dir, "main.go")
	if err := os.WriteFile(goSrc, []byte("package main\n\nimport \"crypto/sha256\"\n\nfunc main() { println(sha256.Sum256(nil)[0]) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		build  []string
		wantOK bool
	}{
		{"go", []string{testenv.NeedCommand(t, "go"), "build", "-o", "OUT", goSrc}, true},
		{"go-pie", []string{"go", "build", "-buildmode=pie", "-o", "OUT", goSrc}, true},
		{"gcc-separate-code", []string{"gcc", "-O1", "-Wl,-z,separate-code", "-o", "OUT", c}, true},
		{"gcc-noseparate-code", []string{"gcc", "-O1", "-Wl,-z,noseparate-code", "-o", "OUT", c}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.build[0] == "gcc" {
				testenv.NeedCommand(t, "gcc")
			}
			out := filepath.Join(dir, tc.name)
			args := append([]string(nil), tc.build...)
			for i := range args {
				if args[i] == "OUT" {
					args[i] = out
				}
			}
			cmd := exec.Command(args[0], args[1:]...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GO111MODULE=off")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			off, end, ok := CodeRange(data[:min(len(data), 64<<10)], int64(len(data)))
			if ok != tc.wantOK {
				t.Fatalf("CodeRange ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			ef, err := elf.NewFile(bytesReaderAt(data))
			if err != nil {
				t.Fatal(err)
			}
			var text bool
			for _, s := range ef.Sections {
				if s.Type == elf.SHT_NOBITS || s.Size == 0 {
					continue
				}
				in := int64(s.Offset) < end && int64(s.Offset+s.Size) > off
				exec := s.Flags&elf.SHF_EXECINSTR != 0
				if in && !exec {
					t.Errorf("section %s [%#x, %#x) is inside the code range [%#x, %#x)", s.Name, s.Offset, s.Offset+s.Size, off, end)
				}
				if s.Name == ".text" {
					text = int64(s.Offset) >= off && int64(s.Offset+s.Size) <= end
				}
			}
			if !text {
				t.Errorf(".text is not within the code range [%#x, %#x)", off, end)
			}
			if shoff := int64(binary.LittleEndian.Uint64(data[40:])); shoff >= off && shoff < end {
				t.Errorf("the section headers (at %#x) are inside the code range [%#x, %#x)", shoff, off, end)
			}
		})
	}
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, os.ErrClosed
	}
	return copy(p, b[off:]), nil
}

// TestCodeRangeRefuses: headers that do not allow leaving code out.
func TestCodeRangeRefuses(t *testing.T) {
	// A 64-bit little-endian header with program headers at 64: an R
	// segment [0, 4096), an RX segment [4096, 8192), the file 12288 bytes.
	base := func() []byte {
		h := make([]byte, 4096)
		copy(h, "\x7fELF\x02\x01\x01")
		le := binary.LittleEndian
		le.PutUint64(h[32:], 64) // phoff
		le.PutUint16(h[54:], 56) // phentsize
		le.PutUint16(h[56:], 2)  // phnum
		seg := func(i int, flags uint32, off, n uint64) {
			p := h[64+56*i:]
			le.PutUint32(p, uint32(elf.PT_LOAD))
			le.PutUint32(p[4:], flags)
			le.PutUint64(p[8:], off)
			le.PutUint64(p[32:], n)
		}
		seg(0, uint32(elf.PF_R), 0, 4096)
		seg(1, uint32(elf.PF_R|elf.PF_X), 4096, 4096)
		return h
	}
	if off, end, ok := CodeRange(base(), 12288); !ok || off != 4096 || end != 8192 {
		t.Fatalf("the well-formed header: %d, %d, %v; want 4096, 8192, true", off, end, ok)
	}
	le := binary.LittleEndian
	tests := []struct {
		name string
		edit func(h []byte)
		size int64
	}{
		{"no read-only segment", func(h []byte) { le.PutUint32(h[64+4:], uint32(elf.PF_R|elf.PF_W)) }, 12288},
		{"segment beyond the file", func(h []byte) {}, 6000},
		{"code overlaps the other segment", func(h []byte) { le.PutUint64(h[64+32:], 5000) }, 12288},
		{"section headers inside the code", func(h []byte) {
			le.PutUint64(h[40:], 5000)
			le.PutUint16(h[58:], 64)
			le.PutUint16(h[60:], 3)
		}, 12288},
		{"program headers beyond head", func(h []byte) { le.PutUint64(h[32:], 4090) }, 12288},
		{"huge program header count", func(h []byte) { le.PutUint16(h[56:], 65535) }, 12288},
		{"short program header entries", func(h []byte) { le.PutUint16(h[54:], 8) }, 12288},
		{"unknown class", func(h []byte) { h[elf.EI_CLASS] = 9 }, 12288},
		{"unknown byte order", func(h []byte) { h[elf.EI_DATA] = 9 }, 12288},
		{"not ELF", func(h []byte) { h[0] = 'M' }, 12288},
	}
	for _, tc := range tests {
		h := base()
		tc.edit(h)
		if off, end, ok := CodeRange(h, tc.size); ok {
			t.Errorf("%s: CodeRange = %d, %d, true; want refused", tc.name, off, end)
		}
	}
}

// FuzzCodeRange: never panics, and a range it gives is within the file,
// after the headers it was given.
func FuzzCodeRange(f *testing.F) {
	f.Add(sampleGo(), int64(len(sampleGo())))
	f.Fuzz(func(t *testing.T, head []byte, size int64) {
		off, end, ok := CodeRange(head, size)
		if ok && (off < 64 || off >= end || end > size) {
			t.Fatalf("CodeRange = %d, %d for a file of %d bytes", off, end, size)
		}
	})
}
