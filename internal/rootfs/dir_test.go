package rootfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestResolve checks that links resolve as in a chroot: absolute targets
// start again at the root, ".." stops at it, loops end.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/lib/x86_64-linux-gnu"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/lib/x86_64-linux-gnu/libcrypto.so.3"), []byte("lib"), 0o644))
	must(os.Symlink("usr/lib", filepath.Join(root, "lib")))                                     // relative
	must(os.Symlink("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", filepath.Join(root, "abs.so"))) // absolute, inside the root
	must(os.Symlink("../../../../../../etc/passwd", filepath.Join(root, "usr/lib/escape")))     // climbs above the root
	must(os.Symlink("/etc/passwd", filepath.Join(root, "hostpasswd")))                          // absolute host path
	must(os.Symlink("loop2", filepath.Join(root, "loop1")))
	must(os.Symlink("loop1", filepath.Join(root, "loop2")))
	fsys := Dir(root)
	tests := []struct {
		in, want string
		err      error
	}{
		{"/lib/x86_64-linux-gnu/libcrypto.so.3", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", nil},
		{"/abs.so", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", nil},
		// Both stay inside the root, where there is no /etc.
		{"/usr/lib/escape", "", os.ErrNotExist},
		{"/hostpasswd", "", os.ErrNotExist},
		{"/../../usr/./lib/../lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", nil},
		{"/missing/file", "/missing", os.ErrNotExist},
		{"/usr/none", "/usr/none", nil},
		{"/loop1", "", ErrLoop},
	}
	for _, tt := range tests {
		got, err := Resolve(fsys, tt.in)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Resolve(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	// /etc/passwd does not exist inside the root: the host's is never read.
	if _, err := fsys.Open("/etc/passwd"); err == nil {
		t.Error("Open(/etc/passwd) inside the root succeeded")
	}
	// Open refuses a link as the last element.
	if _, err := fsys.Open("/abs.so"); err == nil {
		t.Error("Open of a symbolic link succeeded")
	}
	f, err := fsys.Open("/usr/lib/x86_64-linux-gnu/libcrypto.so.3")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size())); string(b) != "lib" {
		t.Errorf("read %q", b)
	}
}
