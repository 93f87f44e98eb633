package fips

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/elfx"
)

// codeHole is a file whose code segment (elfx.CodeRange) must not be
// read.
type codeHole struct {
	b       []byte
	lo, hi  int64
	touched bool
}

func (c *codeHole) ReadAt(p []byte, off int64) (int, error) {
	if off < c.hi && off+int64(len(p)) > c.lo {
		c.touched = true
	}
	if off >= int64(len(c.b)) {
		return 0, io.EOF
	}
	n := copy(p, c.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestInspectReadsNoCode: image scans record an ELF file without its code
// segment and read the image again whole if Inspect reads inside it
// (internal/image, holeView). Inspect must therefore never read code: on
// this machine's large ELF files (system libraries and programs, the Go
// toolchain's programs), none of its reads reaches the range
// elfx.CodeRange leaves out.
func TestInspectReadsNoCode(t *testing.T) {
	dirs := []string{"/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec"}
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		dirs = append(dirs, filepath.Join(strings.TrimSpace(string(out)), "pkg", "tool"))
	}
	var files, holed int
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || files >= 400 {
				return nil
			}
			if fi, err := d.Info(); err != nil || fi.Size() < 1<<20 {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil || !elfx.Magic(b) {
				return nil
			}
			files++
			lo, hi, ok := elfx.CodeRange(b[:min(len(b), 64<<10)], int64(len(b)))
			if !ok {
				return nil
			}
			holed++
			r := &codeHole{b: b, lo: lo, hi: hi}
			if _, err := Inspect(r, int64(len(b))); err != nil && !errors.Is(err, io.EOF) {
				t.Logf("%s: %v", p, err)
			}
			if r.touched {
				t.Errorf("%s: Inspect read inside its code segment [%#x, %#x)", p, lo, hi)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d ELF files of 1 MiB or more, %d with a code range", files, holed)
	if holed == 0 {
		t.Skip("no ELF file on this machine has a code segment apart from its data")
	}
}
