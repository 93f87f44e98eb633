//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fipstest

import "errors"

// LockFile: the tests' per-machine caches are built on Unix only.
func LockFile(name string) (unlock func(), err error) {
	return nil, errors.New("locking " + name + ": not supported on this platform")
}
