//go:build unix

package fips

import (
	"os"
	"syscall"
)

// openScan opens a file for scanning without blocking: a FIFO swapped in
// for a regular file must not hang the run.
func openScan(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
