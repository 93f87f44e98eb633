package elfx

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// naiveNeedles is what findNeedles must equal: one bytes.Index pass per
// needle, non-overlapping matches from the left, starting before end.
func naiveNeedles(b []byte, end int, needles [][]byte) []needleHit {
	var hits []needleHit
	for i, nd := range needles {
		if len(nd) == 0 {
			continue
		}
		for from := 0; from < end; {
			j := bytes.Index(b[from:], nd)
			if j < 0 || from+j >= end {
				break
			}
			hits = append(hits, needleHit{i, from + j})
			from += j + len(nd)
		}
	}
	return hits
}

// cScanNeedles are the needles of the C crypto scan (internal/fips) and
// of its second pass over OpenSSL's source paths.
var cScanNeedles = [][]byte{
	[]byte("OpenSSL "), []byte("DIR: \""), []byte("BoringSSL"), []byte("AWS-LC"), []byte("/evp/"), []byte("/boringssl"),
	[]byte("/aws-lc/"), []byte("bed TLS "), []byte("/registry/"), []byte("/library/std/src/"), []byte("GnuTLS "), []byte("BusyBox v"),
}

func TestFindNeedles(t *testing.T) {
	paths := [][]byte{[]byte("crypto/evp/"), []byte("crypto/err/"), []byte("providers/common/"), []byte("ssl/statem/")}
	tests := []struct {
		name    string
		data    string
		end     int // 0: len(data)
		needles [][]byte
	}{
		{"none", "nothing to see", 0, cScanNeedles},
		{"openssl", "\x00OpenSSL 3.0.19 27 Jan 2026\x00OPENSSLDIR: \"/usr/lib/ssl\"\x00crypto/evp/digest.c\x00", 0, cScanNeedles},
		{"order by needle", "/evp/ OpenSSL /evp/ BoringSSL /boringssl/crypto/ AWS-LC OpenSSL ", 0, cScanNeedles},
		{"same anchor, many needles", "crypto/err/crypto/evp/ssl/statem/crypto/evp/providers/common/", 0, paths},
		{"overlapping matches", "aaaaaa", 0, [][]byte{[]byte("aa"), []byte("aaa")}},
		{"anchor not first", "xxDIR: \"/a\"", 0, cScanNeedles},
		{"match at the very start", "OpenSSL ", 0, cScanNeedles},
		{"start before end, needle past it", "....OpenSSL ", 6, cScanNeedles},
		{"start at end is the next chunk's", "....OpenSSL ", 4, cScanNeedles},
		{"cut off", "OpenSS", 0, cScanNeedles},
		{"empty needle", "abc", 0, [][]byte{{}, []byte("b")}},
		{"repeated needle", "abab", 0, [][]byte{[]byte("ab"), []byte("ab")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.data)
			end := tt.end
			if end == 0 {
				end = len(b)
			}
			got := findNeedles(b, end, tt.needles, planAnchors(tt.needles), make([]int, len(tt.needles)), nil)
			if diff := cmp.Diff(naiveNeedles(b, end, tt.needles), got, cmp.AllowUnexported(needleHit{})); diff != "" {
				t.Errorf("findNeedles (-naive +got):\n%s", diff)
			}
		})
	}
}

func TestPlanAnchors(t *testing.T) {
	// The C scan's dozen needles take four passes: '/' (source paths),
	// 'L' (OpenSSL, BoringSSL, AWS-LC, Mbed TLS, GnuTLS), and one each
	// for OPENSSLDIR and BusyBox.
	var got []string
	for _, g := range planAnchors(cScanNeedles) {
		got = append(got, string(g.c))
	}
	if diff := cmp.Diff([]string{"/", "L", "\"", "B"}, got); diff != "" {
		t.Errorf("anchors (-want +got):\n%s", diff)
	}
}

// FuzzFindNeedles checks the one-pass search against bytes.Index.
func FuzzFindNeedles(f *testing.F) {
	f.Add([]byte("\x00OpenSSL 3.0.2 15 Mar 2022\x00/evp/"), "OpenSSL \x00/evp/\x00L", 0)
	f.Add([]byte("aaaaaaaa"), "aa\x00aaa\x00", 3)
	f.Fuzz(func(t *testing.T, data []byte, spec string, cut int) {
		var needles [][]byte
		for s := range strings.SplitSeq(spec, "\x00") {
			needles = append(needles, []byte(s))
		}
		if len(needles) > 32 {
			return
		}
		end := len(data)
		if cut > 0 && cut < end {
			end = cut
		}
		got := findNeedles(data, end, needles, planAnchors(needles), make([]int, len(needles)), nil)
		if diff := cmp.Diff(naiveNeedles(data, end, needles), got, cmp.AllowUnexported(needleHit{})); diff != "" {
			t.Errorf("findNeedles (-naive +got):\n%s", diff)
		}
	})
}

// readOnlyData returns the .rodata of the ELF files in dir (up to max
// bytes), for the benchmarks.
func readOnlyData(b *testing.B, dir string, max int) [][]byte {
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var out [][]byte
	total := 0
	for _, p := range files {
		if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		ef, err := elf.Open(p)
		if err != nil {
			continue
		}
		if s := ef.Section(".rodata"); s != nil && s.Type == elf.SHT_PROGBITS {
			if d, err := s.Data(); err == nil {
				out = append(out, d)
				total += len(d)
			}
		}
		ef.Close()
		if total > max {
			break
		}
	}
	if total == 0 {
		b.Skipf("no ELF files with read-only data in %s", dir)
	}
	b.SetBytes(int64(total))
	return out
}

// BenchmarkScanStrings compares the one-pass search with one bytes.Index
// pass per needle over real read-only data.
func BenchmarkScanStrings(b *testing.B) {
	data := readOnlyData(b, "/usr/lib/x86_64-linux-gnu", 64<<20)
	b.Run("anchors", func(b *testing.B) {
		groups := planAnchors(cScanNeedles)
		next := make([]int, len(cScanNeedles))
		var hits []needleHit
		for b.Loop() {
			for _, d := range data {
				hits = findNeedles(d, len(d), cScanNeedles, groups, next, hits[:0])
			}
		}
	})
	b.Run("per-needle", func(b *testing.B) {
		for b.Loop() {
			for _, d := range data {
				naiveNeedles(d, len(d), cScanNeedles)
			}
		}
	})
}

// TestSymbolWindows checks that a symbol name table read a window at a
// time gives the same symbols as one read whole, on the test binary's
// the C library's dynamic symbols (thousands), with windows and overlaps
// small enough that names straddle them and some outrun the overlap.
func TestSymbolWindows(t *testing.T) {
	var fl *os.File
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6", "/usr/lib/aarch64-linux-gnu/libc.so.6"} {
		if f, err := os.Open(p); err == nil {
			fl = f
			break
		}
	}
	if fl == nil {
		t.Skip("no libc.so.6 found")
	}
	defer fl.Close()
	st, _ := fl.Stat()
	f, err := Open(fl, st.Size())
	if err != nil {
		t.Skipf("libc.so.6 is not ELF: %v", err)
	}
	collect := func() []string {
		var out []string
		f.Symbols(true, func(name []byte, dyn bool) bool {
			out = append(out, fmt.Sprint(dyn, " ", string(name)))
			return true
		})
		slices.Sort(out)
		return out
	}
	whole := collect()
	if len(whole) < 1000 {
		t.Skipf("only %d symbols in libc.so.6", len(whole))
	}
	defer func(w, o int) { symWindow, symOverlap = w, o }(symWindow, symOverlap)
	for _, w := range []struct{ window, overlap int }{{4096, 64}, {1000, 7}, {64 << 10, 4 << 10}} {
		symWindow, symOverlap = w.window, w.overlap
		if diff := cmp.Diff(whole, collect()); diff != "" {
			t.Errorf("window %d, overlap %d (-whole +windowed):\n%s", w.window, w.overlap, diff)
		}
	}
}
