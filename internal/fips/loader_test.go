package fips

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestRunPathLIB: $LIB in a RUNPATH is what the root's glibc was built
// with: lib/x86_64-linux-gnu on Debian and Ubuntu (multiarch), lib64 on
// Fedora and RHEL. `ldd` on this machine resolves $ORIGIN/../$LIB to
// ../lib/x86_64-linux-gnu; kensa must find the same libcrypto.
func TestRunPathLIB(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	lib := fipstest.HostLibcrypto()
	if lib == "" || !strings.Contains(lib, "x86_64-linux-gnu") {
		testenv.Missing(t, "a Debian-style x86_64 libcrypto.so.3")
	}
	for _, tt := range []struct {
		name, multiarchDir, want string
	}{
		{"debian", "usr/lib/x86_64-linux-gnu", "/opt/app/lib/x86_64-linux-gnu/libcrypto.so.3"},
		{"redhat", "", "/opt/app/lib64/libcrypto.so.3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			src := filepath.Join(t.TempDir(), "m.c")
			if err := os.WriteFile(src, []byte("int OPENSSL_init_crypto(unsigned long long, const void *);\nint main(void) { return OPENSSL_init_crypto(0, 0); }\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(root, "opt/app/bin/m")
			if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(gcc, "-o", exe, src, "-lcrypto", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../$LIB").CombinedOutput(); err != nil {
				testenv.Missing(t, "gcc -lcrypto: "+err.Error()+"\n"+string(out))
			}
			if tt.multiarchDir != "" {
				if err := os.MkdirAll(filepath.Join(root, tt.multiarchDir), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := fipstest.LinkOrCopy(filepath.Join(root, tt.want), lib); err != nil {
				t.Fatal(err)
			}
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/opt/app/bin/m", inspectFile(t, exe))
			if !slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Path == tt.want }) {
				t.Errorf("modules %+v, reasons %q: want the libcrypto at %s", r.Modules, r.Reasons, tt.want)
			}
		})
	}
}

// TestInheritedRPath: glibc searches the DT_RPATH of every object up the
// chain of loaders (not only the executable's) when the asking object has
// no DT_RUNPATH. A bundle whose middle library carries RPATH $ORIGIN
// finds its own libcrypto for a leaf library without one; kensa must
// judge that libcrypto, as `ldd` shows.
func TestInheritedRPath(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	lib := fipstest.HostLibcrypto()
	if lib == "" {
		testenv.Missing(t, "libcrypto.so.3 on this host")
	}
	root := t.TempDir()
	app := filepath.Join(root, "opt/app")
	libDir := filepath.Join(app, "lib")
	for _, d := range []string{libDir, filepath.Join(app, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write, run := cBuilder(t, gcc)
	run("-shared", "-fPIC", "-o", filepath.Join(libDir, "libleaf.so"),
		write("leaf.c", "int OPENSSL_init_crypto(unsigned long long, const void *);\nint leaf(void) { return OPENSSL_init_crypto(0, 0); }\n"), "-lcrypto")
	run("-shared", "-fPIC", "-o", filepath.Join(libDir, "libmid.so"),
		write("mid.c", "int leaf(void);\nint mid(void) { return leaf(); }\n"), "-L"+libDir, "-lleaf", "-Wl,--disable-new-dtags,-rpath,$ORIGIN")
	exe := filepath.Join(app, "bin/m")
	run("-o", exe, write("m.c", "int mid(void);\nint main(void) { return mid(); }\n"), "-L"+libDir, "-lmid",
		"-Wl,-rpath-link,"+libDir, "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")
	want := "/opt/app/lib/libcrypto.so.3"
	if err := fipstest.LinkOrCopy(filepath.Join(root, want), lib); err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	r := c.Classify("/opt/app/bin/m", inspectFile(t, exe))
	if !slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Path == want }) {
		t.Errorf("modules %+v, reasons %q: want the libcrypto at %s (through libmid.so's RPATH)", r.Modules, r.Reasons, want)
	}
	if diff := cmp.Diff([]string{"m → libmid.so → libleaf.so → libcrypto.so.3"}, r.Via); diff != "" {
		t.Errorf("via (-want +got):\n%s", diff)
	}
}

// TestNoUsrLocalByDefault: glibc's built-in search path is the multiarch
// or lib64 directories and /lib, /usr/lib; /usr/local/lib is searched
// only when ld.so.conf names it (Debian's libc.conf does, RHEL's does
// not). A libcrypto there, unconfigured, is not what the loader loads.
func TestNoUsrLocalByDefault(t *testing.T) {
	s := fixtures(t)
	lib := fipstest.HostLibcrypto()
	if lib == "" || !s.Has("c_dyn") {
		testenv.Missing(t, "libcrypto.so.3 and the c_dyn fixture")
	}
	for _, tt := range []struct {
		name, conf string
		found      bool
	}{
		{"unconfigured", "", false},
		{"in ld.so.conf", "/usr/local/lib\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := fipstest.LinkOrCopy(filepath.Join(root, "usr/local/lib/libcrypto.so.3"), lib); err != nil {
				t.Fatal(err)
			}
			if err := fipstest.LinkOrCopy(filepath.Join(root, "usr/bin/c_dyn"), s.Path(t, "c_dyn")); err != nil {
				t.Fatal(err)
			}
			if tt.conf != "" {
				if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(root, "etc/ld.so.conf"), []byte(tt.conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/usr/bin/c_dyn", inspectFile(t, filepath.Join(root, "usr/bin/c_dyn")))
			found := slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Path == "/usr/local/lib/libcrypto.so.3" })
			if found != tt.found {
				t.Errorf("libcrypto in /usr/local/lib used = %v, want %v (modules %+v, reasons %q)", found, tt.found, r.Modules, r.Reasons)
			}
		})
	}
}

// TestExpandTokens: the loader's $ORIGIN and $LIB, with and without
// braces, anywhere in an element and more than once; any other $ stays.
func TestExpandTokens(t *testing.T) {
	c := NewClassifier(rootfs.Dir(t.TempDir()), Options{}) // no multiarch directory: $LIB is lib
	f := &Facts{}
	for _, tt := range []struct{ in, want string }{
		{"/usr/lib", "/usr/lib"},
		{"$ORIGIN", "/opt/app/bin"},
		{"${ORIGIN}/../lib", "/opt/app/bin/../lib"},
		{"$ORIGIN/../$LIB", "/opt/app/bin/../lib"},
		{"/x/${LIB}/y:$ORIGIN$ORIGIN", "/x/lib/y:/opt/app/bin/opt/app/bin"},
		{"$PLATFORM/$", "$PLATFORM/$"},
		{"${ORIGIN", "${ORIGIN"},
	} {
		if got := c.expand(tt.in, "/opt/app/bin", f); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestJDKLibjvm: a JDK's libraries need libjvm.so with no path that
// leads to it (lib/libjava.so has RPATH $ORIGIN, libjvm.so is in
// lib/server/): the java launcher loads the VM first and the loader
// reuses it. kensa must follow the JDK's layout, or every JDK library is
// "unknown" (Debian's openjdk-17-jre-headless had 24 such files).
func TestJDKLibjvm(t *testing.T) {
	gcc := testenv.NeedCommand(t, "gcc")
	lib := fipstest.HostLibcrypto()
	if lib == "" {
		testenv.Missing(t, "libcrypto.so.3 on this host")
	}
	root := t.TempDir()
	jdk := filepath.Join(root, "usr/lib/jvm/jdk")
	if err := os.MkdirAll(filepath.Join(jdk, "lib/server"), 0o755); err != nil {
		t.Fatal(err)
	}
	write, run := cBuilder(t, gcc)
	run("-shared", "-fPIC", "-o", filepath.Join(jdk, "lib/server/libjvm.so"), "-Wl,-soname,libjvm.so",
		write("jvm.c", "int OPENSSL_init_crypto(unsigned long long, const void *);\nint JVM_Init(void) { return OPENSSL_init_crypto(0, 0); }\n"), "-lcrypto")
	libjava := filepath.Join(jdk, "lib/libjava.so")
	run("-shared", "-fPIC", "-o", libjava, write("java.c", "int JVM_Init(void);\nint java(void) { return JVM_Init(); }\n"),
		"-L"+filepath.Join(jdk, "lib/server"), "-ljvm", "-Wl,--disable-new-dtags,-rpath,$ORIGIN")
	want := "/usr/lib/jvm/jdk/lib/libcrypto.so.3" // found through libjava's RPATH, inherited by libjvm
	if err := fipstest.LinkOrCopy(filepath.Join(root, want), lib); err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	r := c.Classify("/usr/lib/jvm/jdk/lib/libjava.so", inspectFile(t, libjava))
	if !slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Path == want }) {
		t.Errorf("modules %+v, reasons %q: want the libcrypto at %s", r.Modules, r.Reasons, want)
	}
	if diff := cmp.Diff([]string{"libjava.so → libjvm.so → libcrypto.so.3"}, r.Via); diff != "" {
		t.Errorf("via (-want +got):\n%s\nreasons %q", diff, r.Reasons)
	}
	if slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, "libjvm.so") && strings.Contains(s, "not in") }) {
		t.Errorf("reasons %q: libjvm.so is in lib/server", r.Reasons)
	}
}

// cBuilder returns a function that writes a C source file into a
// temporary directory and one that runs gcc (a failure is a missing
// toolchain piece: skipped outside CI).
func cBuilder(t *testing.T, gcc string) (write func(name, code string) string, run func(args ...string)) {
	src := t.TempDir()
	write = func(name, code string) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run = func(args ...string) {
		t.Helper()
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
			testenv.Missing(t, "gcc "+strings.Join(args, " ")+": "+err.Error()+"\n"+string(out))
		}
	}
	return write, run
}
