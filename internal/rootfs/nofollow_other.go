//go:build !unix

package rootfs

import "os"

func openNoFollow(name string) (*os.File, error) { return os.Open(name) }
