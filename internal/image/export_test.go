package image

import (
	"bytes"
	"io"
)

// OpenArchiveBytes opens a docker-save archive held in memory, as Open
// does a file: the fuzz target feeds it without a file per input.
func OpenArchiveBytes(data []byte) ([]*Image, error) {
	return openArchiveFrom("docker-archive:fuzz.tar", func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, nil)
}
