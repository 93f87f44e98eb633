package image

import "golang.org/x/sys/unix"

// adviseHuge asks for transparent huge pages (THP "madvise" mode, the
// default of most distributions); where THP is off it is a no-op.
func adviseHuge(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }

// growBytes grows a mapping of mapBytes to n bytes (rounded up to whole
// huge pages), in place or moved, keeping its pages; b is invalid after.
func growBytes(b []byte, n int64) ([]byte, error) {
	return unix.Mremap(b, int(mappedSize(n)), unix.MREMAP_MAYMOVE)
}
