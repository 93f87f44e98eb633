//go:build unix

package rootfs

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestOpenFIFO: a FIFO where a configuration file is expected (a hostile
// or odd root, /etc/ld.so.conf made a pipe) must be refused at once, not
// block the scan waiting for a writer.
func TestOpenFIFO(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "ld.so.conf"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		f, err := Dir(root).Open("/ld.so.conf")
		if err == nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Open of a FIFO succeeded; want an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open of a FIFO blocked")
	}
}
