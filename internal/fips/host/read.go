package host

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// readFS reads at most max bytes of name inside fsys, following symbolic
// links inside the root.
func readFS(fsys rootfs.FS, name string, max int64) ([]byte, error) {
	p, err := rootfs.Resolve(fsys, name)
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := min(f.Size(), max)
	buf := make([]byte, n)
	k, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf[:k], nil
}

// existsFS reports whether name exists inside fsys (links followed).
func existsFS(fsys rootfs.FS, name string) bool {
	p, err := rootfs.Resolve(fsys, name)
	if err != nil {
		return false
	}
	_, err = fsys.Lstat(p)
	return err == nil
}

// statFS describes name inside fsys, links followed.
func statFS(fsys rootfs.FS, name string) (fs.FileInfo, error) {
	p, err := rootfs.Resolve(fsys, name)
	if err != nil {
		return nil, err
	}
	return fsys.Lstat(p)
}

// readProc reads at most max bytes of a /proc file (whose size is 0 in
// stat, so it is read until EOF or the bound). It reports whether the
// bound cut it.
func readProc(name string, max int) ([]byte, bool, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	buf := make([]byte, 0, min(max, 64<<10))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= max {
				return buf, true, nil
			}
			nb := make([]byte, len(buf), min(max, 2*cap(buf)))
			copy(nb, buf)
			buf = nb
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

// oneLine makes a file's content fit one evidence value.
func oneLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// evidenceOf reads name (inside fsys) for evidence: its first line, or
// "(absent)" / "(unreadable: …)".
func evidenceOf(fsys rootfs.FS, name string) (Evidence, []byte, error) {
	data, err := readFS(fsys, name, maxSmallFile)
	switch {
	case err == nil:
		return Evidence{Path: name, Value: oneLine(data)}, data, nil
	case errors.Is(err, fs.ErrNotExist):
		return Evidence{Path: name, Value: "(absent)"}, nil, err
	default:
		return Evidence{Path: name, Value: fmt.Sprintf("(unreadable: %v)", unwrapPath(err))}, nil, err
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
