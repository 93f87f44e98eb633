//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fipstest

import (
	"fmt"
	"os"
	"syscall"
)

// LockFile takes an exclusive lock on name (created if need be), waiting
// for another process that holds it; unlock releases it.
func LockFile(name string) (unlock func(), err error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
