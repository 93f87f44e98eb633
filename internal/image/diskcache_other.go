//go:build !unix

package image

import "io/fs"

func checkOwner(string, fs.FileInfo) error { return nil }
