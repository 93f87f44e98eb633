//go:build linux

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kensa-project/kensa/internal/testenv"
)

// TestFipsScanUnreadableDirectory: a directory kensa cannot read, given
// or met in the walk, is an error the user sees: exit 2 with
// "kensa: error: cannot read …" and a hint, never a pass. Root reads
// every directory, so as root the test runs kensa as the user nobody
// (syscall.Credential); as another user it runs kensa as that user.
func TestFipsScanUnreadableDirectory(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			testenv.Missing(t, "running as root, the test needs the user nobody to read as: "+err.Error())
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	// A directory nobody can enter, holding kensa (the test binary, which
	// runs kensa under that name) and the trees to scan.
	dir, err := os.MkdirTemp("", "kensa-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	kensa := filepath.Join(dir, "kensa")
	if err := copyFile(self, kensa); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"locked", "tree/ok", "tree/sub"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"locked", "tree/sub"} {
		if err := os.Chmod(filepath.Join(dir, d), 0); err != nil {
			t.Fatal(err)
		}
	}
	if cred == nil {
		// A user with CAP_DAC_READ_SEARCH reads it anyway.
		if _, err := os.ReadDir(filepath.Join(dir, "locked")); err == nil {
			testenv.Missing(t, "this user reads a directory of mode 000: no unreadable directory to test with")
		}
	}
	for _, tt := range []struct{ name, arg, unreadable string }{
		{"given", "locked", "locked"},
		{"in the walk", "tree", "tree/sub"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(kensa, "fips", "scan", tt.arg)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HOME="+dir, "KENSA_EXIT_FILE=")
			if cred != nil {
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("kensa fips scan %s: %v, want exit 2\nstdout:\n%s\nstderr:\n%s", tt.arg, err, stdout.String(), stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			want := "kensa: error: cannot read " + tt.unreadable + ": permission denied"
			if len(lines) < 2 || !strings.HasPrefix(lines[0], want) || !strings.HasPrefix(lines[1], "kensa: hint: ") {
				t.Errorf("stderr:\n%s\nwant a line starting %q and a hint", stderr.String(), want)
			}
			if !strings.Contains(stdout.String(), "1 unreadable") {
				t.Errorf("stdout:\n%s\nwant the report to count the unreadable directory", stdout.String())
			}
		})
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
