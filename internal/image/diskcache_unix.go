//go:build unix

package image

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkOwner refuses a cache directory owned by another user.
func checkOwner(dir string, st fs.FileInfo) error {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("cache directory %s belongs to user %d, not to this user (%d)", dir, sys.Uid, os.Geteuid())
	}
	return nil
}
