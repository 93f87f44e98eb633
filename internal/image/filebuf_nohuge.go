//go:build unix && !linux

package image

import "errors"

func adviseHuge([]byte) {}

// growBytes is Linux's mremap; elsewhere a larger file is mapped afresh.
func growBytes([]byte, int64) ([]byte, error) { return nil, errors.New("no mremap") }
