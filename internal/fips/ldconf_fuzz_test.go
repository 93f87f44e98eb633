package fips

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// memFS is an in-memory root filesystem: regular files and symbolic
// links, directories implied by their contents.
type memFS struct {
	files map[string][]byte
	links map[string]string
}

type memInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

func (m *memFS) isDir(name string) bool {
	if name == "/" {
		return true
	}
	for p := range m.files {
		if strings.HasPrefix(p, name+"/") {
			return true
		}
	}
	for p := range m.links {
		if strings.HasPrefix(p, name+"/") {
			return true
		}
	}
	return false
}

func (m *memFS) Lstat(name string) (fs.FileInfo, error) {
	switch {
	case m.links[name] != "":
		return memInfo{path.Base(name), fs.ModeSymlink | 0o777, 0}, nil
	case m.files[name] != nil:
		return memInfo{path.Base(name), 0o644, int64(len(m.files[name]))}, nil
	case m.isDir(name):
		return memInfo{path.Base(name), fs.ModeDir | 0o755, 0}, nil
	}
	return nil, fs.ErrNotExist
}

func (m *memFS) ReadLink(name string) (string, error) {
	if t, ok := m.links[name]; ok {
		return t, nil
	}
	return "", fs.ErrInvalid
}

func (m *memFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if !m.isDir(name) {
		return nil, fs.ErrNotExist
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	add := func(p string) {
		rest, ok := strings.CutPrefix(p, strings.TrimSuffix(name, "/")+"/")
		if !ok {
			return
		}
		child, _, _ := strings.Cut(rest, "/")
		if child != "" && !seen[child] {
			seen[child] = true
			fi, _ := m.Lstat(path.Join(name, child))
			out = append(out, fs.FileInfoToDirEntry(fi))
		}
	}
	for p := range m.files {
		add(p)
	}
	for p := range m.links {
		add(p)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (m *memFS) Open(name string) (rootfs.File, error) {
	data, ok := m.files[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return memFile{bytes.NewReader(data)}, nil
}

func (f memFile) Size() int64 { return f.Reader.Size() }

// FuzzLdSoConf feeds arbitrary ld.so.conf files (with includes, globs
// and links between them) to the loader's search path: it must end,
// stay bounded (at most 256 directories, each absolute and clean) and
// never panic.
func FuzzLdSoConf(f *testing.F) {
	f.Add([]byte("include /etc/ld.so.conf.d/*.conf\n"), []byte("/usr/local/lib\n# comment\n/opt/lib:/opt/lib2,/x\n"), []byte("include ../ld.so.conf\nhwcap 0 x\n"), "")
	f.Add([]byte("include ld.so.conf.d/*\ninclude ld.so.conf\n"), []byte("include /etc/ld.so.conf.d/b.conf"), []byte("include /etc/ld.so.conf.d/a.conf"), "/etc/ld.so.conf")
	f.Add([]byte("include /etc/ld.so.conf.d/[a-\n/lib\t/usr/lib\x00/\xff"), []byte(strings.Repeat("/d\n", 300)), []byte(""), "../../..")
	f.Fuzz(func(t *testing.T, conf, a, b []byte, link string) {
		m := &memFS{
			files: map[string][]byte{"/etc/ld.so.conf": conf, "/etc/ld.so.conf.d/a.conf": a, "/etc/ld.so.conf.d/b.conf": b},
			links: map[string]string{},
		}
		if link != "" {
			m.links["/etc/ld.so.conf.d/c.conf"] = link
		}
		c := NewClassifier(m, Options{At: now})
		dirs := c.searchDirs(&Facts{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64})
		if len(c.confDirs) > 256 {
			t.Fatalf("%d directories from ld.so.conf", len(c.confDirs))
		}
		for _, d := range c.confDirs {
			if !strings.HasPrefix(d, "/") || path.Clean(d) != d {
				t.Fatalf("directory %q is not absolute and clean", d)
			}
		}
		if len(dirs) < len(c.confDirs) {
			t.Fatalf("search path %v lost ld.so.conf's %v", dirs, c.confDirs)
		}
	})
}
