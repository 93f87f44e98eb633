package host

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// debianLibs are Debian's real GnuTLS, NSS softoken and libgcrypt, with
// the integrity file each FIPS build carries beside it. Debian ships
// libsoftokn3.chk (and libfreeblpriv3.chk) with an NSS that is not a
// validated module; for GnuTLS and libgcrypt, which Debian ships without
// one, the test writes the integrity file itself (its content is not
// read: its presence makes the build's shape).
var debianLibs = []struct {
	check, backend, lib, integrity, pkg string
	shipped                             bool // Debian ships the integrity file
}{
	{CheckNSS, fips.BackendNSS, "/usr/lib/x86_64-linux-gnu/libsoftokn3.so", "/usr/lib/x86_64-linux-gnu/libsoftokn3.chk", "libnss3", true},
	{CheckGnuTLS, fips.BackendGnuTLS, "/usr/lib/x86_64-linux-gnu/libgnutls.so.30", "/usr/lib/x86_64-linux-gnu/.libgnutls.so.30.hmac", "libgnutls30", false},
	{CheckLibgcrypt, fips.BackendLibgcrypt, "/usr/lib/x86_64-linux-gnu/libgcrypt.so.20", "/usr/lib/x86_64-linux-gnu/.libgcrypt.so.20.hmac", "libgcrypt20", false},
}

// libRoot writes a host root with Debian's real crypto libraries (and
// their integrity files when integrity is set) and the kernel flag given.
func libRoot(t *testing.T, kernel string, integrity bool) string {
	t.Helper()
	root := t.TempDir()
	put := func(dst string, data []byte) {
		t.Helper()
		p := filepath.Join(root, dst)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range debianLibs {
		testenv.NeedFile(t, l.lib, l.pkg)
		data, err := os.ReadFile(l.lib)
		if err != nil {
			t.Fatal(err)
		}
		put(l.lib, data)
		if !integrity {
			continue
		}
		chk := []byte("integrity file written by the test\n")
		if l.shipped {
			testenv.NeedFile(t, l.integrity, l.pkg)
			if chk, err = os.ReadFile(l.integrity); err != nil {
				t.Fatal(err)
			}
		}
		put(l.integrity, chk)
	}
	put("/etc/os-release", []byte("ID=debian\nVERSION_ID=\"12\"\n"))
	put("/proc/sys/crypto/fips_enabled", []byte(kernel+"\n"))
	return root
}

// TestLibrariesAgreeWithScan: fips host says of GnuTLS, NSS and libgcrypt
// what fips scan's module table says of the same files. An integrity file
// is the mode's evidence, never a validation: on a FIPS kernel a library
// the table does not validate fails (crypto-library-noncompliant), and a
// process that maps it is noncompliant.
func TestLibrariesAgreeWithScan(t *testing.T) {
	opts := fips.Options{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name      string
		kernel    string
		integrity bool
		status    string // of every library's check
		id        string // the finding each library gets
	}{
		{"FIPS kernel, integrity files", "1", true, StatusFail, IDLibraryNoncompliant},
		{"kernel not in FIPS mode, integrity files", "0", true, StatusInfo, ""},
		{"FIPS kernel, no integrity files", "1", false, StatusWarn, IDLibraryFIPSOff},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := libRoot(t, c.kernel, c.integrity)
			s, err := Run(context.Background(), Options{Root: root, Proc: filepath.Join(root, "proc"), NoProcesses: true, FIPS: opts})
			if err != nil {
				t.Fatal(err)
			}
			checks := map[string]Result{}
			for _, r := range s.Results {
				checks[r.Check] = r
			}
			cl := fips.NewClassifier(rootfs.Dir(root), opts)
			for _, l := range debianLibs {
				f, err := os.Open(filepath.Join(root, l.lib))
				if err != nil {
					t.Fatal(err)
				}
				st, _ := f.Stat()
				facts, _ := fips.Inspect(f, st.Size())
				f.Close()
				scan := cl.Classify(l.lib, facts)
				if scan.Verdict != fips.Noncompliant {
					// The module table has no row for these Debian
					// builds; if one is added, this test's premise goes.
					t.Fatalf("fips scan %s: %s %q, want noncompliant", l.lib, scan.Verdict, scan.Reasons)
				}
				r := checks[l.check]
				if r.Status != c.status {
					t.Errorf("%s: status %s, want %s (%q)", l.check, r.Status, c.status, r.Value)
				}
				if strings.Contains(r.Value, "FIPS build") || !strings.Contains(r.Value, "not a validated module") {
					t.Errorf("%s: %q must say it is not a validated module, never that it is a FIPS build", l.check, r.Value)
				}
				var got []string
				for _, f := range s.Findings {
					if f.Subject == l.lib {
						got = append(got, f.ID)
					}
				}
				if want := []string{c.id}; c.id == "" && len(got) > 0 || c.id != "" && !slices.Equal(got, want) {
					t.Errorf("%s: findings %v, want %q", l.check, got, c.id)
				}
			}
		})
	}
}

// TestProcessLibraryVerdict: a process that maps Debian's NSS softoken,
// integrity file present, on a FIPS kernel, is noncompliant as fips scan
// says, not compliant because it would run in FIPS mode.
func TestProcessLibraryVerdict(t *testing.T) {
	opts := fips.Options{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	root := libRoot(t, "1", true)
	rv := newRootView(rootfs.Dir(root), opts, fileKey{})
	for _, l := range debianLibs {
		role := map[string]string{fips.BackendNSS: "nss-softokn"}[l.backend]
		if role == "" {
			role = l.backend
		}
		in := procInput{bin: fips.Result{Verdict: fips.NotApplicable}, mapped: []Mapped{{Path: l.lib, Role: role}}, kernel: "1", hostKernel: "1", rt: rv}
		v, reasons, crypto, _, finds := evaluate(in, opts)
		if v != Noncompliant || !strings.Contains(reasons[0], "is not a validated module") || !strings.Contains(reasons[0], path.Base(l.lib)) {
			t.Errorf("%s: %s %q, want noncompliant: not a validated module", l.lib, v, reasons)
		}
		if len(finds) != 1 || finds[0].id != IDProcBinary {
			t.Errorf("%s: findings %v, want %s", l.lib, finds, IDProcBinary)
		}
		if !slices.Contains(crypto, l.backend) {
			t.Errorf("%s: crypto %v lacks %s", l.lib, crypto, l.backend)
		}
	}
}
