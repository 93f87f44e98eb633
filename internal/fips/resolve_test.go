package fips

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// TestResolveMatchesRootfs checks the cached resolution against
// rootfs.Resolve on a root with the links real systems have (usr-merge,
// soname chains, relative and absolute targets, "..") and broken ones.
func TestResolveMatchesRootfs(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	file := func(p string) {
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mk("usr/lib/x86_64-linux-gnu")
	mk("opt/app/lib")
	mk("opt/app/bin")
	link("usr/lib", "lib")
	link("/usr/lib", "lib64")
	file("usr/lib/x86_64-linux-gnu/libssl.so.3.0.19")
	link("libssl.so.3.0.19", "usr/lib/x86_64-linux-gnu/libssl.so.3")
	link("libssl.so.3", "usr/lib/x86_64-linux-gnu/libssl.so")
	link("../../../usr/lib/x86_64-linux-gnu/libssl.so.3", "opt/app/lib/libssl.so.3")
	link("/usr/lib/x86_64-linux-gnu/libssl.so.3", "opt/app/lib/abs.so")
	link("../bin/../lib/x", "opt/app/lib/dotdot.so")
	link("../../../../../../../etc", "opt/app/lib/escape")
	link("loop2", "opt/app/lib/loop1")
	link("loop1", "opt/app/lib/loop2")
	link("missing.so.1", "opt/app/lib/dangling.so")
	file("opt/app/bin/tool")
	link("bin", "opt/app/binlink")
	// ".." after a link climbs from the link's target, not lexically.
	link("/usr/lib/x86_64-linux-gnu", "opt/app/far")
	link("../far/../x86_64-linux-gnu/libssl.so.3", "opt/app/lib/far.so")
	mk("opt/app/x86_64-linux-gnu") // what a lexical ".." would wrongly reach
	file("opt/app/x86_64-linux-gnu/libssl.so.3")

	names := []string{
		"/usr/lib/x86_64-linux-gnu/libssl.so",
		"/lib/x86_64-linux-gnu/libssl.so.3",
		"/lib64/x86_64-linux-gnu/libssl.so.3",
		"/opt/app/lib/libssl.so.3",
		"/opt/app/lib/abs.so",
		"/opt/app/lib/dotdot.so",
		"/opt/app/lib/escape",
		"/opt/app/lib/loop1",
		"/opt/app/lib/dangling.so",
		"/opt/app/lib/none.so",
		"/opt/none/lib/x.so",
		"/opt/app/bin/tool/x",
		"/opt/app/binlink/tool",
		"/opt/app/binlink/../lib/libssl.so.3",
		"/opt/app/lib/far.so",
		"/",
		"relative/name",
	}
	fsys := rootfs.Dir(root)
	c := NewClassifier(fsys, Options{})
	for pass := range 2 { // the second pass answers from the cache
		for _, n := range names {
			want, werr := rootfs.Resolve(fsys, n)
			got, fi, gerr := c.resolve(n)
			if got != want || (werr == nil) != (gerr == nil) {
				t.Errorf("pass %d: resolve(%q) = %q, %v; rootfs.Resolve = %q, %v", pass, n, got, gerr, want, werr)
			}
			if fi != nil {
				if st, err := fsys.Lstat(got); err != nil || st.Mode() != fi.Mode() {
					t.Errorf("resolve(%q): info %v, Lstat %v, %v", n, fi.Mode(), st, err)
				}
			}
		}
	}
}
