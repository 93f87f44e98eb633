// Package rootfs is a read-only view of a root filesystem: a directory on
// disk (the host, or a mounted image under --root) or a container image's
// layers flattened in memory. The FIPS classifier resolves shared
// libraries and reads OpenSSL configuration through it, so the same rules
// work on a host and inside an image.
//
// Names are absolute, clean, slash-separated paths inside the filesystem
// ("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"). No method follows a
// symbolic link in the last element; [Resolve] follows links the way the
// kernel would inside a chroot, so an absolute link target never escapes
// to the host.
package rootfs

import (
	"errors"
	"io"
	"io/fs"
)

// FS is a read-only root filesystem.
type FS interface {
	// Lstat describes name without following a final symbolic link.
	Lstat(name string) (fs.FileInfo, error)
	// ReadLink returns the target of the symbolic link name.
	ReadLink(name string) (string, error)
	// ReadDir lists the directory name, sorted by file name.
	ReadDir(name string) ([]fs.DirEntry, error)
	// Open opens the regular file name for reading. A filesystem that
	// does not keep every file's contents (a flattened image keeps only
	// small configuration files) returns an error wrapping
	// [ErrNotRetained] for the others.
	Open(name string) (File, error)
}

// File is an open regular file.
type File interface {
	io.ReaderAt
	io.Closer
	// Size is the file's length in bytes.
	Size() int64
}

// ErrNotRetained means the filesystem knows the file exists but did not
// keep its contents.
var ErrNotRetained = errors.New("file contents not retained")
