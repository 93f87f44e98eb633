//go:build !unix

package image

import "errors"

func mapBytes(int64) ([]byte, error) { return nil, errors.New("not mapped on this platform") }

func growBytes([]byte, int64) ([]byte, error) { return nil, errors.New("not mapped on this platform") }

func unmapBytes([]byte) {}
