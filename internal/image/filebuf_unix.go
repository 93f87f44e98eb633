//go:build unix

package image

import (
	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the platforms that
// have them; mappings are rounded up to it.
const hugePage = 2 << 20

func roundHuge(n int64) int { return int((n + hugePage - 1) &^ (hugePage - 1)) }

// mapBytes maps n bytes (rounded up to whole huge pages) of private
// anonymous memory, asking for transparent huge pages where the system
// offers them on request.
func mapBytes(n int64) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, roundHuge(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	adviseHuge(b)
	return b, nil
}

func unmapBytes(b []byte) { _ = unix.Munmap(b) }
