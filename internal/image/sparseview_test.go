package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

// separateCodeELF is a file of size bytes laid out as current linkers do:
// a read-only segment with the headers at [0, 4096), the code segment at
// [codeOff, codeOff+codeLen), read-only data after it. Every byte says
// where it is: 'H'eaders page, 'C'ode, 'D'ata.
func separateCodeELF(codeOff, codeLen, size int) []byte {
	b := bytes.Repeat([]byte{'D'}, size)
	copy(b[64+2*56:4096], bytes.Repeat([]byte{'H'}, 4096))
	copy(b[codeOff:codeOff+codeLen], bytes.Repeat([]byte{'C'}, codeLen))
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	for i := 7; i < 64; i++ {
		b[i] = 0
	}
	le.PutUint64(b[32:], 64)
	le.PutUint16(b[54:], 56)
	le.PutUint16(b[56:], 2)
	seg := func(i int, flags elf.ProgFlag, off, n int) {
		p := b[64+56*i : 64+56*(i+1)]
		clear(p)
		le.PutUint32(p, uint32(elf.PT_LOAD))
		le.PutUint32(p[4:], uint32(flags))
		le.PutUint64(p[8:], uint64(off))
		le.PutUint64(p[32:], uint64(n))
	}
	seg(0, elf.PF_R, 0, 4096)
	seg(1, elf.PF_R|elf.PF_X, codeOff, codeLen)
	return b
}

// examineOutsideCode reads every byte that is not code ('C') of a file
// made by separateCodeELF, as kensa's Examiner reads only headers, data
// and tables; it returns their digest.
func examineOutsideCode(codeOff, codeLen int) Examiner {
	return func(_ string, r io.ReaderAt, size int64) any {
		h := sha256.New()
		for _, part := range [][2]int64{{0, int64(codeOff)}, {int64(codeOff + codeLen), size}} {
			b := make([]byte, part[1]-part[0])
			if _, err := r.ReadAt(b, part[0]); err != nil && !errors.Is(err, io.EOF) {
				return "error: " + err.Error()
			}
			h.Write(b)
		}
		return fmt.Sprintf("%x", h.Sum(nil))
	}
}

// TestRecordLeavesCodeOut: a layer record holds an ELF file without its
// code segment, and the Examiner's outcome is that of the whole file;
// an Examiner that reads the code makes the file unexamined in the record
// and the image is read from its streams, with the same tree.
func TestRecordLeavesCodeOut(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name                   string
		codeOff, codeLen, size int
	}{
		{"code after the head", 128 << 10, mib, mib + 256<<10},
		{"code starts in the head", 8 << 10, mib, mib + 64<<10},
		{"code within the head", 8 << 10, 16 << 10, mib},
		{"code to the end", 4096, mib, 4096 + mib},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := separateCodeELF(tc.codeOff, tc.codeLen, tc.size)
			layer := tarBytes(t, ent{name: "bin/app", body: string(file)}, ent{name: "bin/small", body: fakeELF})
			ex := examineOutsideCode(tc.codeOff, tc.codeLen)
			want := ex("", bytes.NewReader(file), int64(len(file)))

			rec, err := recordLayer(bytes.NewReader(layer), flattenDefaults(FlattenOptions{Examine: ex}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.holeMisses != 0 || !rec.files[0].examined || rec.files[0].value != want {
				t.Errorf("record: misses %d, examined %v, value %v; want 0, true, %v", rec.holeMisses, rec.files[0].examined, rec.files[0].value, want)
			}
			flattenBoth(t, newTestCache(t, CacheOptions{}), [][]byte{layer}, FlattenOptions{Examine: ex})

			// Reading everything touches the code: left unexamined, and
			// the cached flattening gives way to the streams.
			rec, err = recordLayer(bytes.NewReader(layer), flattenDefaults(FlattenOptions{Examine: examineBodies}), nil)
			if err != nil {
				t.Fatal(err)
			}
			if rec.holeMisses != 1 || rec.files[0].examined {
				t.Errorf("whole-file Examiner: misses %d, examined %v; want 1, false", rec.holeMisses, rec.files[0].examined)
			}
			_, err = flattenCached(context.Background(), newTestCache(t, CacheOptions{}), cachedLayersOf(layer), FlattenOptions{Examine: examineBodies, CacheKey: "k"})
			if !errors.Is(err, errRecordIncomplete) {
				t.Errorf("whole-file Examiner through the cache: %v, want errRecordIncomplete", err)
			}
		})
	}
}

// TestHoleView: offsets map around the hole, reads into it fail and are
// noted, reads past the end give io.EOF.
func TestHoleView(t *testing.T) {
	file := []byte("0123456789abcdefghij")
	v := &holeView{b: append(append([]byte(nil), file[:5]...), file[12:]...), off: 5, n: 7, size: int64(len(file))}
	tests := []struct {
		off, n  int64
		want    string
		err     error
		touched bool
	}{
		{0, 5, "01234", nil, false},
		{12, 8, "cdefghij", nil, false},
		{15, 10, "fghij", io.EOF, false},
		{20, 1, "", io.EOF, false},
		{3, 3, "", errHole, true},
		{11, 2, "", errHole, true},
	}
	for _, tc := range tests {
		v.touched = false
		p := make([]byte, tc.n)
		n, err := v.ReadAt(p, tc.off)
		if string(p[:n]) != tc.want || !errors.Is(err, tc.err) || v.touched != tc.touched {
			t.Errorf("ReadAt(%d bytes at %d) = %q, %v, touched %v; want %q, %v, %v", tc.n, tc.off, p[:n], err, v.touched, tc.want, tc.err, tc.touched)
		}
	}
}
