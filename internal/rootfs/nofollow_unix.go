//go:build unix

package rootfs

import (
	"os"
	"syscall"
)

func openNoFollow(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
