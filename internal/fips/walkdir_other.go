//go:build !unix

package fips

import (
	"io/fs"
	"os"
)

// executableAt reports whether the regular file e (of the directory d)
// has an execute bit.
func executableAt(_ *os.File, e fs.DirEntry) bool {
	info, err := e.Info()
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
