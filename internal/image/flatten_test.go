package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// ent is one tar entry of a test layer.
type ent struct {
	name string
	typ  byte // 0 means a regular file
	body string
	link string
}

func tarBytes(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: 0o644, Format: tar.FormatPAX}
		switch e.typ {
		case 0:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.body))
		case tar.TypeDir:
			h.Mode = 0o755
		case tar.TypeChar:
			h.Devmajor, h.Devminor = 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func layerOf(b []byte) LayerOpener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func layers(t testing.TB, ls ...[]ent) []LayerOpener {
	var out []LayerOpener
	for _, l := range ls {
		out = append(out, layerOf(tarBytes(t, l...)))
	}
	return out
}

const fakeELF = "\x7fELF fake binary"

// examineBodies is an Examiner that returns the file's contents.
func examineBodies(_ string, r io.ReaderAt, size int64) any {
	b := make([]byte, size)
	r.ReadAt(b, 0)
	return string(b)
}

// tree lists the regular files (with the examined contents), symbolic
// links and directories of f.
func tree(f *FS) map[string]string {
	out := map[string]string{}
	for name, n := range f.nodes {
		switch n.typ {
		case typeReg:
			switch {
			case n.ino == nil:
				out[name] = "file"
			case n.ino.examined:
				out[name] = "elf:" + n.ino.value.(string)
			case n.ino.retained:
				out[name] = "kept:" + string(n.ino.data)
			case n.ino.note != "":
				out[name] = "note"
			default:
				out[name] = "file"
			}
		case typeSymlink:
			out[name] = "-> " + n.link
		case typeDir:
			out[name] = "dir"
		default:
			out[name] = "special"
		}
	}
	return out
}

// flattenCase is an image of test layers and the tree it flattens to.
type flattenCase struct {
	name   string
	layers [][]ent // bottom first
	want   map[string]string
}

// flattenCases are the tree cases of TestFlatten; the layer cache's
// tests replay them too.
var flattenCases = []flattenCase{
	{
		name: "upper file replaces lower",
		layers: [][]ent{
			{{name: "bin/app", body: fakeELF + " v1"}, {name: "etc/app.conf", body: "a=1"}},
			{{name: "bin/app", body: fakeELF + " v2"}},
		},
		want: map[string]string{"/": "dir", "/bin": "dir", "/bin/app": "elf:" + fakeELF + " v2", "/etc": "dir", "/etc/app.conf": "kept:a=1"},
	},
	{
		name: "whiteout deletes a lower file and a lower directory",
		layers: [][]ent{
			{{name: "usr/bin/gone", body: fakeELF}, {name: "opt/tool/", typ: tar.TypeDir}, {name: "opt/tool/bin", body: fakeELF}, {name: "usr/bin/kept", body: fakeELF + "k"}},
			{{name: "usr/bin/.wh.gone"}, {name: "opt/.wh.tool"}},
		},
		want: map[string]string{"/": "dir", "/usr": "dir", "/usr/bin": "dir", "/usr/bin/kept": "elf:" + fakeELF + "k", "/opt": "dir"},
	},
	{
		name: "whiteout applies to lower layers only, whatever the order in its own layer",
		layers: [][]ent{
			{{name: "a", body: fakeELF + "old"}},
			{{name: "a", body: fakeELF + "new"}, {name: ".wh.a"}},
		},
		want: map[string]string{"/": "dir", "/a": "elf:" + fakeELF + "new"},
	},
	{
		name: "opaque directory hides lower entries but not its own layer's",
		layers: [][]ent{
			{{name: "lib/", typ: tar.TypeDir}, {name: "lib/old.so", body: fakeELF}, {name: "lib/sub/x.so", body: fakeELF}, {name: "libx/y", body: "y"}},
			{{name: "lib/", typ: tar.TypeDir}, {name: "lib/.wh..wh..opq"}, {name: "lib/new.so", body: fakeELF + "n"}},
		},
		want: map[string]string{"/": "dir", "/lib": "dir", "/lib/new.so": "elf:" + fakeELF + "n", "/libx": "dir", "/libx/y": "file"},
	},
	{
		name: "a file replacing a directory hides what was under it",
		layers: [][]ent{
			{{name: "d/x", body: fakeELF}},
			{{name: "d", body: "now a file"}},
		},
		want: map[string]string{"/": "dir", "/d": "file"},
	},
	{
		name: "deleted and added again in a higher layer",
		layers: [][]ent{
			{{name: "x", body: fakeELF + "1"}},
			{{name: ".wh.x"}},
			{{name: "x", body: fakeELF + "3"}},
		},
		want: map[string]string{"/": "dir", "/x": "elf:" + fakeELF + "3"},
	},
	{
		name: "hard links share contents, in a layer and across layers",
		layers: [][]ent{
			{{name: "usr/bin/base", body: fakeELF + "base"}},
			{{name: "usr/bin/one", body: fakeELF + "one"}, {name: "usr/bin/two", typ: tar.TypeLink, link: "usr/bin/one"}, {name: "usr/bin/alias", typ: tar.TypeLink, link: "usr/bin/base"}},
		},
		want: map[string]string{"/": "dir", "/usr": "dir", "/usr/bin": "dir",
			"/usr/bin/base": "elf:" + fakeELF + "base", "/usr/bin/alias": "elf:" + fakeELF + "base",
			"/usr/bin/one": "elf:" + fakeELF + "one", "/usr/bin/two": "elf:" + fakeELF + "one"},
	},
	{
		name: "hard link to a lower file that an upper layer deleted keeps the contents",
		layers: [][]ent{
			{{name: "a", body: fakeELF + "a"}},
			{{name: "b", typ: tar.TypeLink, link: "a"}},
			{{name: ".wh.a"}},
		},
		want: map[string]string{"/": "dir", "/b": "elf:" + fakeELF + "a"},
	},
	{
		name: "duplicate entries in one layer: the last wins, ./ prefixes and trailing slashes are the same name",
		layers: [][]ent{
			{{name: "./bin/", typ: tar.TypeDir}, {name: "bin/tool", body: fakeELF + "1"}, {name: "./bin/tool", body: fakeELF + "2"}, {name: "bin/link", typ: tar.TypeSymlink, link: "tool"}, {name: "bin/link", body: fakeELF + "3"}},
		},
		want: map[string]string{"/": "dir", "/bin": "dir", "/bin/tool": "elf:" + fakeELF + "2", "/bin/link": "elf:" + fakeELF + "3"},
	},
	{
		name: "hard link to a lower hard link shares its target",
		layers: [][]ent{
			{{name: "a", body: fakeELF + "a"}, {name: "b", typ: tar.TypeLink, link: "a"}, {name: "h", body: fakeELF + "h"}, {name: "g", typ: tar.TypeLink, link: "h"}, {name: ".wh.h"}},
			{{name: "c", typ: tar.TypeLink, link: "b"}, {name: "d", typ: tar.TypeLink, link: "c"}, {name: "f", typ: tar.TypeLink, link: "g"}},
			{{name: ".wh.g"}},
		},
		want: map[string]string{"/": "dir", "/a": "elf:" + fakeELF + "a", "/b": "elf:" + fakeELF + "a", "/c": "elf:" + fakeELF + "a", "/d": "elf:" + fakeELF + "a",
			"/f": "elf:" + fakeELF + "h", "/h": "elf:" + fakeELF + "h"},
	},
	{
		name: "hard link to a file an upper layer replaced is listed without contents",
		layers: [][]ent{
			{{name: "a", body: fakeELF + "old"}, {name: "b", typ: tar.TypeLink, link: "a"}},
			{{name: "a", body: fakeELF + "new"}},
		},
		want: map[string]string{"/": "dir", "/a": "elf:" + fakeELF + "new", "/b": "note"},
	},
	{
		name: "hard links to configuration files keep their contents",
		layers: [][]ent{
			{{name: "etc/ssl/openssl.cnf", body: "[fips]"}, {name: "usr/lib/ssl/openssl.cnf", typ: tar.TypeLink, link: "etc/ssl/openssl.cnf"}},
		},
		want: map[string]string{"/": "dir", "/etc": "dir", "/etc/ssl": "dir", "/etc/ssl/openssl.cnf": "kept:[fips]",
			"/usr": "dir", "/usr/lib": "dir", "/usr/lib/ssl": "dir", "/usr/lib/ssl/openssl.cnf": "kept:[fips]"},
	},
	{
		name: "hostile names, links and devices",
		layers: [][]ent{{
			{name: "../../etc/passwd", body: "x"},
			{name: "etc/../../escape", body: "x"},
			{name: "/abs/file", body: fakeELF + "abs"},
			{name: "./dot/file", body: "d"},
			{name: "loop1", typ: tar.TypeSymlink, link: "loop2"},
			{name: "loop2", typ: tar.TypeSymlink, link: "loop1"},
			{name: "out", typ: tar.TypeSymlink, link: "../../../../etc/shadow"},
			{name: "hl", typ: tar.TypeLink, link: "../outside"},
			{name: "dev/null", typ: tar.TypeChar},
		}},
		want: map[string]string{"/": "dir", "/abs": "dir", "/abs/file": "elf:" + fakeELF + "abs", "/dot": "dir", "/dot/file": "file",
			"/loop1": "-> loop2", "/loop2": "-> loop1", "/out": "-> ../../../../etc/shadow", "/dev": "dir", "/dev/null": "special"},
	},
	{
		name: "entries written through a lower symbolic link land where it points",
		layers: [][]ent{
			{{name: "usr/lib/", typ: tar.TypeDir}, {name: "lib", typ: tar.TypeSymlink, link: "usr/lib"}},
			{{name: "lib/libz.so.1", body: fakeELF + "z"}},
		},
		want: map[string]string{"/": "dir", "/usr": "dir", "/usr/lib": "dir", "/lib": "-> usr/lib", "/usr/lib/libz.so.1": "elf:" + fakeELF + "z"},
	},
}

func TestFlatten(t *testing.T) {
	tests := flattenCases
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Flatten(context.Background(), layers(t, tt.layers...), FlattenOptions{Examine: examineBodies})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tree(f)); diff != "" {
				t.Errorf("tree (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlattenExaminesEachInodeOnce(t *testing.T) {
	ls := layers(t,
		[]ent{{name: "a", body: fakeELF + "a"}, {name: "b", typ: tar.TypeLink, link: "a"}, {name: "c", typ: tar.TypeLink, link: "a"}},
		[]ent{{name: "d", body: fakeELF + "d"}},
	)
	var seen []string
	f, err := Flatten(context.Background(), ls, FlattenOptions{Examine: func(name string, r io.ReaderAt, size int64) any {
		seen = append(seen, name)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/d", "/a"}, seen); diff != "" {
		t.Errorf("examined (-want +got):\n%s", diff)
	}
	var names []string
	for _, file := range f.Files() {
		names = append(names, file.Name)
	}
	if diff := cmp.Diff([]string{"/a", "/b", "/c", "/d"}, names); diff != "" {
		t.Errorf("Files (-want +got):\n%s", diff)
	}
}

func TestFlattenProblems(t *testing.T) {
	ls := layers(t, []ent{
		{name: "../x", body: "x"},
		{name: "big", body: fakeELF + strings.Repeat("x", 100)},
		{name: "hl", typ: tar.TypeLink, link: "missing"},
	})
	lim := DefaultLimits
	lim.MaxExamine = 50
	f, err := Flatten(context.Background(), ls, FlattenOptions{Limits: lim, Examine: examineBodies})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, p := range f.Problems {
		reasons = append(reasons, p.Path+": "+p.Reason)
	}
	want := []string{
		"../x: unsafe path skipped",
		"/big: ELF file of 116 bytes, above the 50-byte examination limit",
		"/hl: hard link to /missing, which is not in the image",
	}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	files := f.Files()
	if len(files) != 2 || files[0].Note == "" || files[1].Note == "" {
		t.Errorf("Files = %+v, want big and hl with notes", files)
	}
}

func TestFlattenLimits(t *testing.T) {
	many := make([]ent, 50)
	for i := range many {
		many[i] = ent{name: strings.Repeat("d/", i) + "f", body: "x"}
	}
	big := []ent{{name: "zeros", body: strings.Repeat("\x00", 1<<20)}}
	tests := []struct {
		name   string
		layers []LayerOpener
		lim    Limits
	}{
		{"entries", layers(t, many), Limits{MaxUncompressed: 1 << 30, MaxEntries: 10, MaxExamine: 1 << 20}},
		{"bytes", layers(t, big), Limits{MaxUncompressed: 64 << 10, MaxEntries: 10, MaxExamine: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Flatten(context.Background(), tt.layers, FlattenOptions{Limits: tt.lim})
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("err = %v, want ErrLimit", err)
			}
		})
	}
}

func TestFlattenCorruptLayer(t *testing.T) {
	good := tarBytes(t, ent{name: "a", body: strings.Repeat("hello", 400)})
	ls := []LayerOpener{layerOf(good), layerOf(good[:1000])}
	if _, err := Flatten(context.Background(), ls, FlattenOptions{}); err == nil {
		t.Fatal("truncated layer: no error")
	}
}

func TestFS(t *testing.T) {
	f, err := Flatten(context.Background(), layers(t, []ent{
		{name: "etc/ld.so.conf", body: "include /etc/ld.so.conf.d/*.conf\n"},
		{name: "usr/lib/libcrypto.so.3", body: fakeELF},
		{name: "usr/lib/libcrypto.so", typ: tar.TypeSymlink, link: "libcrypto.so.3"},
		{name: "usr/share/doc/readme", body: "not kept"},
	}), FlattenOptions{Examine: examineBodies})
	if err != nil {
		t.Fatal(err)
	}
	var _ rootfs.FS = f
	file, err := f.Open("/etc/ld.so.conf")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, file.Size())
	file.ReadAt(b, 0)
	if string(b) != "include /etc/ld.so.conf.d/*.conf\n" {
		t.Errorf("ld.so.conf = %q", b)
	}
	for _, name := range []string{"/usr/lib/libcrypto.so.3", "/usr/share/doc/readme"} {
		if _, err := f.Open(name); !errors.Is(err, rootfs.ErrNotRetained) {
			t.Errorf("Open(%s) = %v, want ErrNotRetained", name, err)
		}
	}
	if l, err := f.ReadLink("/usr/lib/libcrypto.so"); err != nil || l != "libcrypto.so.3" {
		t.Errorf("ReadLink = %q, %v", l, err)
	}
	fi, err := f.Lstat("/usr/lib/libcrypto.so")
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat symlink = %v, %v", fi, err)
	}
	ents, err := f.ReadDir("/usr/lib")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"libcrypto.so", "libcrypto.so.3"}, names); diff != "" {
		t.Errorf("ReadDir (-want +got):\n%s", diff)
	}
	if _, err := f.Lstat("/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Lstat missing = %v", err)
	}
	if _, err := f.Lstat("usr/lib"); err == nil {
		t.Error("Lstat of a relative name succeeded")
	}
}

// TestFlattenDeepPaths: a hostile layer of many entries at the deepest
// paths Linux allows must cost work linear in its size (the parents of
// an entry are looked at once per layer, not once per entry).
func TestFlattenDeepPaths(t *testing.T) {
	deep := strings.Repeat("d/", 2000)
	var lower, upper []ent
	for i := range 3000 {
		lower = append(lower, ent{name: fmt.Sprintf("%sf%d", deep, i), body: "x"})
		upper = append(upper, ent{name: fmt.Sprintf("%sg%d", deep, i), body: "y"})
	}
	upper = append(upper, ent{name: deep + "sub/.wh..wh..opq"})
	f, err := Flatten(context.Background(), layers(t, lower, upper), FlattenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Stats.Files != 6000 || f.Len() != 6000+2000+1 {
		t.Errorf("files %d, paths %d; want 6000 files and 8001 paths", f.Stats.Files, f.Len())
	}
}

// TestFlattenSparseBomb: a sparse ELF file is a few KiB of tar that reads
// as hundreds of MiB of zeros; the expansion counts against the image's
// byte budget, so many of them stop the image instead of keeping kensa
// busy reading zeros.
func TestFlattenSparseBomb(t *testing.T) {
	testenv.NeedCommand(t, "tar")
	dir := t.TempDir()
	names := []string{"-C", dir}
	for i := range 8 {
		big := filepath.Join(dir, fmt.Sprint("big", i))
		if err := os.WriteFile(big, []byte("\x7fELF"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(big, 100<<20); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(big))
	}
	for _, format := range []string{"gnu", "pax"} {
		t.Run(format, func(t *testing.T) {
			out, err := exec.Command("tar", append([]string{"--sparse", "--format=" + format, "-cf", "-"}, names...)...).Output()
			if err != nil {
				t.Fatal(err)
			}
			if len(out) > 1<<20 {
				t.Skipf("tar wrote %d bytes: the file system has no holes", len(out))
			}
			ls := []LayerOpener{layerOf(out)}
			lim := DefaultLimits
			lim.MaxUncompressed = 256 << 20
			_, err = Flatten(context.Background(), ls, FlattenOptions{Limits: lim, Examine: func(string, io.ReaderAt, int64) any { return nil }})
			if !errors.Is(err, ErrLimit) {
				t.Errorf("Flatten of 8 sparse files of 100 MiB, 256 MiB budget: error %v, want ErrLimit", err)
			}
		})
	}
}

// TestFlattenMemoryBoundedByLargestFile: while a file is examined, the
// buffers of smaller files examined before it are no longer resident.
// Measured as the process's resident set once the heap's garbage is
// collected and returned, since the large buffers live outside the heap
// (fileBuf).
func TestFlattenMemoryBoundedByLargestFile(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 160 MiB")
	}
	if _, err := residentBytes(); err != nil {
		t.Skipf("no resident set size on this system: %v", err)
	}
	small := fakeELF + strings.Repeat("s", 64<<20)
	large := fakeELF + strings.Repeat("l", 96<<20)
	ls := layers(t, []ent{{name: "small", body: small}, {name: "large", body: large}})
	small, large = "", ""
	debug.FreeOSMemory()
	before, _ := residentBytes()
	var during uint64
	_, err := Flatten(context.Background(), ls, FlattenOptions{
		Examine: func(name string, _ io.ReaderAt, size int64) any {
			if name == "/large" {
				debug.FreeOSMemory()
				during, _ = residentBytes()
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	grown := int64(during) - int64(before)
	t.Logf("resident %d MiB before the scan, %d MiB while examining the 96 MiB file", before>>20, during>>20)
	if limit := int64(96<<20 + 32<<20); grown > limit {
		t.Errorf("the resident set grew by %d MiB while examining the 96 MiB file after a 64 MiB one, want at most %d MiB", grown>>20, limit>>20)
	}
}

// residentBytes is the process's resident set size (Linux).
func residentBytes() (uint64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, err
	}
	var size, rss uint64
	if _, err := fmt.Sscan(string(b), &size, &rss); err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return rss * uint64(os.Getpagesize()), nil
}

// TestFlattenProblemsCapped: past maxProblems, problems are counted, and
// the count is the last problem, so a hostile image's warnings are
// bounded but never silently cut.
func TestFlattenProblemsCapped(t *testing.T) {
	var ents []ent
	for i := range maxProblems + 5 {
		ents = append(ents, ent{name: fmt.Sprintf("../x%d", i), body: "x"})
	}
	f, err := Flatten(context.Background(), layers(t, ents), FlattenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Problems); n != maxProblems+1 {
		t.Fatalf("%d problems, want %d", n, maxProblems+1)
	}
	if last := f.Problems[maxProblems]; last.Layer != -1 || !strings.Contains(last.Reason, "5 more entries were skipped") {
		t.Errorf("last problem %+v, want the count of the 5 unlisted", last)
	}
}
