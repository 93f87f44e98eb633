//go:build unix

package fips

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// executableAt reports whether the regular file e of the open directory
// d has an execute bit. It asks relative to d's descriptor without
// following a link: a walk does this for every file of the tree, and a
// full path would make the kernel look up every directory above it again.
func executableAt(d *os.File, e fs.DirEntry) bool {
	var st unix.Stat_t
	if err := unix.Fstatat(int(d.Fd()), e.Name(), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&0o111 != 0
}
