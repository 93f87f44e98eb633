//go:build !unix

package host

import "io/fs"

// A host scan reads a Linux root and procfs; built elsewhere (kensa's
// other commands run on Windows too), files have no device and inode to
// tell them apart and processes no owner.

func keyOf(fs.FileInfo) (fileKey, bool) { return fileKey{}, false }

func ownerUID(fs.FileInfo) (int, bool) { return 0, false }
