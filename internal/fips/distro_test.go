package fips

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

func TestParseOSRelease(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want OSRelease
	}{
		{"NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n",
			OSRelease{Dist: "rhel", VersionID: "9.4", PrettyName: "Red Hat Enterprise Linux 9.4 (Plow)"}},
		{"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n", OSRelease{Dist: "debian", VersionID: "12", PrettyName: "Debian GNU/Linux 12 (bookworm)"}},
		{"ID='alpine'\nVERSION_ID=3.20.3\n# comment\nbroken line\n", OSRelease{Dist: "alpine", VersionID: "3.20.3"}},
		{"", OSRelease{}},
	} {
		if got := parseOSRelease(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("parseOSRelease(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("ID=rhel\nVERSION_ID=\"9.4\"\n"))
	f.Add([]byte("ID=\"\nVERSION_ID='\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := parseOSRelease(strings.NewReader(string(data)))
		if len(o.Dist) > 200 || len(o.VersionID) > 200 || len(o.PrettyName) > 200 {
			t.Fatalf("unbounded field: %+v", o)
		}
	})
}

// withRow adds a module table row for the test's duration.
func withRow(t *testing.T, row ModuleRow) {
	t.Helper()
	old := table().Modules
	table().Modules = append(slices.Clone(old), row)
	t.Cleanup(func() { table().Modules = old })
}

// TestDistributionBuilds: a GnuTLS, NSS or libgcrypt library with its
// integrity file is placed by the module table's rows for the root's
// distribution (os-release) and the library's own version: Debian's real
// libraries (GnuTLS 3.7.9, libgcrypt 1.10.1 and NSS 3.87.1 on bookworm,
// read with `strings`: "Enabled GnuTLS 3.7.9 logging...", "This is
// Libgcrypt 1.10.1", "Version: NSS 3.87.1") in a root that says it is
// Debian stay noncompliant whatever files sit beside them; in a root
// that says RHEL 9 they are matched against RHEL 9's rows: the row of
// RHEL 9's validated GnuTLS covers 3.7.6 only, and only a row with a
// certificate (a test row here: kensa's table confirms none yet) makes
// the library conditional.
func TestDistributionBuilds(t *testing.T) {
	const libdir = "/usr/lib/x86_64-linux-gnu"
	libs := map[string]string{BackendGnuTLS: "libgnutls.so.30", BackendLibgcrypt: "libgcrypt.so.20", BackendNSS: "libsoftokn3.so"}
	for fam, l := range libs {
		testenv.NeedFile(t, filepath.Join(libdir, l), "the "+fam+" library (libgnutls30, libgcrypt20, libnss3)")
	}
	osRelease := map[string]string{
		"rhel":   "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.2\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\n",
		"debian": "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
	}
	// root makes a root filesystem of distribution distro with the three
	// libraries and their integrity files.
	root := func(t *testing.T, distro string) string {
		dir := t.TempDir()
		lib := filepath.Join(dir, "usr/lib64")
		if err := os.MkdirAll(lib, 0o755); err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
		os.MkdirAll(filepath.Join(dir, "usr/lib"), 0o755)
		// As distributions do: /etc/os-release links to /usr/lib/os-release.
		if err := os.WriteFile(filepath.Join(dir, "usr/lib/os-release"), []byte(osRelease[distro]), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Symlink("../usr/lib/os-release", filepath.Join(dir, "etc/os-release"))
		for _, l := range libs {
			data, err := os.ReadFile(filepath.Join(libdir, l))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(lib, l), data, 0o755)
		}
		for _, f := range []string{".libgnutls.so.30.hmac", ".libgcrypt.so.20.hmac", "libsoftokn3.chk", "libfreeblpriv3.chk"} {
			os.WriteFile(filepath.Join(lib, f), []byte("0123456789abcdef\n"), 0o644)
		}
		return dir
	}
	classify := func(t *testing.T, dir, fam string) Result {
		t.Helper()
		p := filepath.Join(dir, "usr/lib64", libs[fam])
		c := NewClassifier(rootfs.Dir(dir), Options{At: now})
		return c.Classify("/usr/lib64/"+libs[fam], inspectFile(t, p))
	}
	ver := regexp.MustCompile(`^\d+\.\d+(\.\d+)?$`)

	t.Run("versions", func(t *testing.T) {
		for fam, l := range libs {
			f := inspectFile(t, filepath.Join(libdir, l))
			if v := libraryVersion(fam, f); !ver.MatchString(v) {
				t.Errorf("%s: version %q", l, v)
			}
		}
	})
	t.Run("debian", func(t *testing.T) {
		dir := root(t, "debian")
		for fam := range libs {
			r := classifyAlone(t, filepath.Join(dir, "usr/lib64", libs[fam])) // no root: the file alone
			if r.Verdict != Noncompliant {
				t.Errorf("%s alone: verdict %s", fam, r.Verdict)
			}
			r = classify(t, dir, fam)
			if r.Verdict != Noncompliant || !hasReason(r, "has its FIPS integrity file") || !hasReason(r, "Debian GNU/Linux 12 (bookworm) builds these libraries without a FIPS 140 validation") {
				t.Errorf("%s: verdict %s, reasons %q", fam, r.Verdict, r.Reasons)
			}
		}
	})
	t.Run("rhel, a version no row covers", func(t *testing.T) {
		r := classify(t, root(t, "rhel"), BackendGnuTLS)
		if r.Verdict != Noncompliant || !hasReason(r, "on Red Hat Enterprise Linux 9.2 (Plow) has its FIPS integrity file") || !hasReason(r, "rows cover 3.7.6") {
			t.Errorf("verdict %s, reasons %q", r.Verdict, r.Reasons)
		}
	})
	t.Run("rhel, no row for the family", func(t *testing.T) {
		r := classify(t, root(t, "rhel"), BackendLibgcrypt)
		if r.Verdict != Noncompliant || !hasReason(r, "places no libgcrypt build under a CMVP certificate") {
			t.Errorf("verdict %s, reasons %q", r.Verdict, r.Reasons)
		}
	})
	v := libraryVersion(BackendGnuTLS, inspectFile(t, filepath.Join(libdir, libs[BackendGnuTLS])))
	t.Run("rhel, a row without a confirmed certificate", func(t *testing.T) {
		withRow(t, ModuleRow{ID: "test/nocert", Backend: BackendGnuTLS, Name: "Test Linux gnutls", Version: v + "-test", Standard: "FIPS 140-3",
			Distribution: "rhel", DistributionVersions: []string{"9.*"}, Versions: []string{v}, Sources: []string{"test row"}, AsOf: "2026-12-04"})
		r := classify(t, root(t, "rhel"), BackendGnuTLS)
		if r.Verdict != Noncompliant || !hasReason(r, "no confirmed CMVP certificate") {
			t.Errorf("verdict %s, reasons %q", r.Verdict, r.Reasons)
		}
	})
	t.Run("rhel, a row with a certificate", func(t *testing.T) {
		row := ModuleRow{ID: "test/cert", Backend: BackendGnuTLS, Name: "Test Linux gnutls", Version: v + "-test", Standard: "FIPS 140-3", Certificate: "TEST",
			Distribution: "rhel", DistributionVersions: []string{"9.*"}, Versions: []string{v}, Sources: []string{"test row"}, AsOf: "2026-12-04",
			Events: []StatusEvent{{From: "2024-01-01", Status: StatusActive, Note: "test"}, {From: "2029-01-01", Status: StatusHistorical, Note: "test sunset"}}}
		for i := range row.Events {
			row.Events[i].from, _ = time.Parse(time.DateOnly, row.Events[i].From)
		}
		withRow(t, row)
		dir := root(t, "rhel")
		// The library's own module (its dependencies libnettle and
		// libhogweed are not in this root, which makes the file's
		// verdict noncompliant).
		c := NewClassifier(rootfs.Dir(dir), Options{At: now})
		h := c.libraryHit(BackendGnuTLS, "/usr/lib64/libgnutls.so.30", inspectFile(t, filepath.Join(dir, "usr/lib64/libgnutls.so.30")), "")
		if h.verdict != Conditional || len(h.reasons) == 0 || !strings.Contains(h.reasons[0], "certificate #TEST): validated, active on 2026-11-24; compliant when the host runs in FIPS mode") {
			t.Errorf("verdict %s, reasons %q", h.verdict, h.reasons)
		}
		want := Module{Backend: BackendGnuTLS, Name: "Test Linux gnutls", Version: v, Standard: "FIPS 140-3", Certificate: "TEST", Status: StatusActive, AsOf: "2026-12-04", Path: "/usr/lib64/libgnutls.so.30"}
		if diff := cmp.Diff(want, h.module); diff != "" {
			t.Errorf("module (-want +got):\n%s", diff)
		}
		r := classify(t, dir, BackendGnuTLS)
		if !slices.Contains(r.Modules, want) || r.Verdict != Noncompliant || !hasReason(r, "libnettle.so.8 (gnutls) is needed but not in the root filesystem") {
			t.Errorf("file: verdict %s, modules %+v, reasons %q", r.Verdict, r.Modules, r.Reasons)
		}
		// The same build in a Debian root is not RHEL's.
		deb := root(t, "debian")
		if h := NewClassifier(rootfs.Dir(deb), Options{At: now}).libraryHit(BackendGnuTLS, "/usr/lib64/libgnutls.so.30", inspectFile(t, filepath.Join(deb, "usr/lib64/libgnutls.so.30")), ""); h.verdict != Noncompliant {
			t.Errorf("debian root: verdict %s (%q)", h.verdict, h.reasons)
		}
		// After the sunset, historical.
		c = NewClassifier(rootfs.Dir(dir), Options{At: time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC)})
		if h := c.libraryHit(BackendGnuTLS, "/usr/lib64/libgnutls.so.30", inspectFile(t, filepath.Join(dir, "usr/lib64/libgnutls.so.30")), ""); h.verdict != Noncompliant || h.module.Status != StatusHistorical {
			t.Errorf("after the sunset: verdict %s, status %s (%q)", h.verdict, h.module.Status, h.reasons)
		}
	})
}
