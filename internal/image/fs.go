package image

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// FS is the final filesystem of a flattened image, held in memory: the
// metadata of every path a container would see, the contents of the small
// configuration files that were retained, and for each examined ELF file
// the value its [Examiner] returned. It implements [rootfs.FS] and is
// safe for concurrent reads once [Flatten] has returned it.
type FS struct {
	nodes    map[string]*node
	children map[string][]string // directory → sorted base names
	// Problems are what was skipped or could not be examined, in the
	// order they were met.
	Problems []Problem
	// Stats describe the work done.
	Stats Stats
}

// Problem is one thing in a layer that kensa skipped or could not
// examine: an unsafe path, a hard link whose target is missing, a file
// above the examination limit.
type Problem struct {
	Layer  int    // index of the layer, 0 is the bottom one; -1 for the image
	Path   string // the path as the layer names it
	Reason string
}

// Stats count what flattening read.
type Stats struct {
	Layers           int
	Entries          int   // tar entries read, across layers
	UncompressedSize int64 // bytes of layer tar streams read
	Files            int   // regular files in the final tree
	Examined         int   // files handed to the Examiner
	RetainedBytes    int64 // bytes of retained configuration files
}

// node is one path of the final tree. It is kept small: an image has up
// to a few hundred thousand of them.
type node struct {
	typ byte // tar.TypeDir, TypeReg, TypeSymlink, TypeChar, TypeBlock, TypeFifo
	// implicit marks a directory no layer listed, created because a
	// layer had entries below it; a lower layer's entry gives its
	// metadata.
	implicit bool
	mode     fs.FileMode
	layer    int32 // the layer that put it there (-1: none)
	mtime    int64 // Unix seconds
	size     int64
	link     string // symbolic link target, verbatim
	// ino holds what kensa kept of a regular file's contents, nil when
	// it kept nothing (not ELF, not retained); hard links share it.
	ino *inode
}

// fileSize is a regular file's size; a hard link resolved from a lower
// layer knows it from the shared inode.
func (n *node) fileSize() int64 {
	if n.ino != nil && n.ino.size > n.size {
		return n.ino.size
	}
	return n.size
}

// inode is a regular file's contents as far as kensa keeps them.
type inode struct {
	size     int64
	data     []byte // retained contents, nil otherwise
	retained bool
	examined bool
	value    any    // what the Examiner returned
	note     string // why the contents were not examined, if they were not
	// linkTo is the target of a hard link waiting for it in a lower layer.
	linkTo string
}

// File describes one regular file of the flattened tree.
type File struct {
	Name string
	Size int64
	Mode fs.FileMode
	// Examined reports that the file's contents were handed to the
	// Examiner; Value is what it returned.
	Examined bool
	Value    any
	// Note says why an ELF file was not examined (too large, hard link
	// to contents that were not seen); empty otherwise.
	Note string
}

// Files returns the regular files of the tree that were examined or
// could not be, sorted by name. Hard links appear under each name.
func (f *FS) Files() []File {
	var out []File
	for _, name := range slices.Sorted(mapsKeys(f.nodes)) {
		n := f.nodes[name]
		if n.typ != typeReg || n.ino == nil || (!n.ino.examined && n.ino.note == "") {
			continue
		}
		out = append(out, File{Name: name, Size: n.fileSize(), Mode: n.mode, Examined: n.ino.examined, Value: n.ino.value, Note: n.ino.note})
	}
	return out
}

func mapsKeys(m map[string]*node) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Len is the number of paths in the tree, directories included.
func (f *FS) Len() int { return len(f.nodes) }

var _ rootfs.FS = (*FS)(nil)

func (f *FS) lookup(op, name string) (*node, error) {
	if !path.IsAbs(name) || path.Clean(name) != name {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, ok := f.nodes[name]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Lstat describes name without following a final symbolic link.
func (f *FS) Lstat(name string) (fs.FileInfo, error) {
	n, err := f.lookup("lstat", name)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: path.Base(name), n: n}, nil
}

// ReadLink returns the target of the symbolic link name, verbatim.
func (f *FS) ReadLink(name string) (string, error) {
	n, err := f.lookup("readlink", name)
	if err != nil {
		return "", err
	}
	if n.typ != typeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.link, nil
}

// ReadDir lists the directory name, sorted by file name.
func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.typ != typeDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	kids := f.children[name]
	out := make([]fs.DirEntry, 0, len(kids))
	for _, k := range kids {
		out = append(out, fs.FileInfoToDirEntry(fileInfo{name: k, n: f.nodes[path.Join(name, k)]}))
	}
	return out, nil
}

var errNotDir = fmt.Errorf("not a directory")

// Open opens the regular file name. Only retained configuration files
// can be read; the others give an error wrapping [rootfs.ErrNotRetained].
func (f *FS) Open(name string) (rootfs.File, error) {
	n, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.typ != typeReg {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not a regular file")}
	}
	if n.ino == nil || !n.ino.retained {
		return nil, &fs.PathError{Op: "open", Path: name, Err: rootfs.ErrNotRetained}
	}
	return memFile{bytes.NewReader(n.ino.data)}, nil
}

type memFile struct{ *bytes.Reader }

func (memFile) Close() error { return nil }

var _ io.ReaderAt = memFile{}

// fileInfo is the fs.FileInfo of a node.
type fileInfo struct {
	name string
	n    *node
}

func (fi fileInfo) Name() string { return fi.name }
func (fi fileInfo) Size() int64 {
	switch fi.n.typ {
	case typeReg:
		return fi.n.fileSize()
	case typeSymlink:
		return int64(len(fi.n.link))
	}
	return 0
}
func (fi fileInfo) Mode() fs.FileMode  { return fi.n.mode }
func (fi fileInfo) ModTime() time.Time { return time.Unix(fi.n.mtime, 0) }
func (fi fileInfo) IsDir() bool        { return fi.n.typ == typeDir }
func (fi fileInfo) Sys() any           { return nil }

// index builds the directory listings once the tree is final.
func (f *FS) index() {
	f.children = make(map[string][]string)
	for name := range f.nodes {
		if name == "/" {
			continue
		}
		dir := path.Dir(name)
		f.children[dir] = append(f.children[dir], path.Base(name))
	}
	for _, kids := range f.children {
		slices.Sort(kids)
	}
}

// String summarises the tree for debugging.
func (f *FS) String() string {
	var b strings.Builder
	for _, name := range slices.Sorted(mapsKeys(f.nodes)) {
		n := f.nodes[name]
		fmt.Fprintf(&b, "%s %s", n.mode, name)
		if n.typ == typeSymlink {
			fmt.Fprintf(&b, " -> %s", n.link)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
