//go:build unix

package rootfs

import (
	"os"
	"syscall"
)

// openNoFollow opens name without following a final symbolic link and
// without blocking: O_NONBLOCK makes a FIFO (or a device) found where a
// regular file was expected open at once, so Open can refuse it instead
// of waiting for a writer; reads of regular files are not affected.
func openNoFollow(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
