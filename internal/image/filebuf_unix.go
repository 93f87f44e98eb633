//go:build unix

package image

import (
	"golang.org/x/sys/unix"
)

// mapBytes maps n bytes (rounded up to whole huge pages) of private
// anonymous memory, asking for transparent huge pages where the system
// offers them on request.
func mapBytes(n int64) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, int(mappedSize(n)), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	adviseHuge(b)
	return b, nil
}

func unmapBytes(b []byte) { _ = unix.Munmap(b) }
