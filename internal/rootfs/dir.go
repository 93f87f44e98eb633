package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Dir returns the directory root on disk as an FS: "/" for the host, or a
// mounted image. Names inside it are absolute ("/usr/lib/…"); a ".." never
// climbs above root.
func Dir(root string) FS {
	return dirFS{root: filepath.Clean(root)}
}

type dirFS struct{ root string }

func (d dirFS) host(name string) string {
	return filepath.Join(d.root, filepath.FromSlash(path.Clean("/"+name)))
}

func (d dirFS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(d.host(name)) }

func (d dirFS) ReadLink(name string) (string, error) { return os.Readlink(d.host(name)) }

func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(d.host(name)) }

func (d dirFS) Open(name string) (File, error) {
	h := d.host(name)
	// O_NOFOLLOW: the last element must not be a link (Resolve first).
	f, err := openNoFollow(h)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file", name)
	}
	return osFile{f, st.Size()}, nil
}

type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// maxLinks is how many symbolic links Resolve follows, like the kernel's
// limit.
const maxLinks = 40

// ErrLoop means a name has too many levels of symbolic links.
var ErrLoop = errors.New("too many levels of symbolic links")

// Resolve follows the symbolic links in every element of name inside
// fsys, the way the kernel would with fsys as the root directory: an
// absolute link target starts again at fsys's root and ".." stops there,
// so nothing resolves outside it. It returns the clean final name, which
// may not exist (check with Lstat).
func Resolve(fsys FS, name string) (string, error) {
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+name), "/"), "/")
	cur := "/"
	links := 0
	for len(rest) > 0 {
		el := rest[0]
		rest = rest[1:]
		switch el {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, el)
		fi, err := fsys.Lstat(next)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && len(rest) == 0 {
				return next, nil
			}
			return next, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		links++
		if links > maxLinks {
			return next, fmt.Errorf("resolving %s: %w", name, ErrLoop)
		}
		target, err := fsys.ReadLink(next)
		if err != nil {
			return next, err
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}
