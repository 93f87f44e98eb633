package fips

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/rootfs"
)

var (
	now          = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	beforeSunset = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
)

func fixtures(t *testing.T) *fipstest.Set {
	t.Helper()
	s, err := fipstest.Build()
	if err != nil {
		t.Fatalf("building fixtures: %v", err)
	}
	return s
}

func inspectFile(t *testing.T, p string) *Facts {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	facts, err := Inspect(f, st.Size())
	if err != nil {
		t.Fatalf("Inspect(%s): %v", p, err)
	}
	return facts
}

func classifyFixture(t *testing.T, s *fipstest.Set, name string, opts Options) Result {
	t.Helper()
	p := s.Path(t, name)
	c := NewClassifier(rootfs.Dir("/"), opts)
	return c.Classify(p, inspectFile(t, p))
}

// TestFixtures checks every fixture binary's backends and verdict against
// what `go version -m`, readelf -d and the build settings say it is.
func TestFixtures(t *testing.T) {
	s := fixtures(t)
	tests := []struct {
		name    string
		opts    Options
		crypto  []string
		verdict Verdict
		module  string // module version expected among Modules
		reason  string // substring of some reason
	}{
		{"go_std", Options{At: now}, []string{"go-std"}, Noncompliant, "", "without GOFIPS140"},
		{"go_nocrypto", Options{At: now}, []string{}, NotApplicable, "", "without crypto"},
		{"go_fips_v100", Options{At: now}, []string{"go-fips140"}, Compliant, "v1.0.0-c2097c7c", "#5247"},
		{"go_fips_certified", Options{At: now}, []string{"go-fips140"}, Compliant, "v1.0.0-c2097c7c", "#5247"},
		{"go_fips_v100_stripped", Options{At: now}, []string{"go-fips140"}, Compliant, "v1.0.0-c2097c7c", "#5247"},
		{"go_fips_v100", Options{At: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}, []string{"go-fips140"}, Noncompliant, "v1.0.0-c2097c7c", "not yet validated"},
		{"go_fips_inprocess", Options{At: now}, []string{"go-fips140"}, Noncompliant, "v1.26.0", "Modules In Process"},
		{"go_fips_inprocess", Options{At: now, Accept: Accept{InProcess: true}}, []string{"go-fips140"}, Compliant, "v1.26.0", "--accept in-process"},
		{"go_fips_latest", Options{At: now}, []string{"go-fips140"}, Noncompliant, "", "GOFIPS140=latest"},
		{"go_godebug_only", Options{At: now}, []string{"go-fips140"}, Noncompliant, "", "without GOFIPS140"},
		{"go_boring", Options{At: now}, []string{"go-boringcrypto"}, Compliant, "fips-20220613", "fipsonly is not linked"},
		{"go_boring_stripped", Options{At: now}, []string{"go-boringcrypto"}, Compliant, "fips-20220613", "#4735"},
		{"go_boring_tag", Options{At: now}, []string{"go-boringcrypto"}, Compliant, "fips-20220613", "#4735"},
		{"go_boring_old", Options{At: now}, []string{"go-boringcrypto"}, Noncompliant, "fips-20210429", "Historical list since 2026-09-21"},
		{"go_boring_old", Options{At: beforeSunset}, []string{"go-boringcrypto"}, Compliant, "fips-20210429", "#4407"},
		{"go_boring_old", Options{At: now, Accept: Accept{Historical: true}}, []string{"go-boringcrypto"}, Compliant, "fips-20210429", "--accept historical"},
		{"go_cgo_openssl", Options{At: now}, []string{"go-std", "openssl"}, Noncompliant, "", "no FIPS provider"},
		{"c_dyn", Options{At: now}, []string{"openssl"}, Noncompliant, "", "no FIPS provider"},
		{"c_static", Options{At: now}, []string{"openssl-static"}, Noncompliant, "", "embeds its own copy of OpenSSL"},
		{"c_static_stripped", Options{At: now}, []string{"openssl-static"}, Noncompliant, "", "source directories"},
		{"libfoo.so", Options{At: now}, []string{"openssl-static"}, Noncompliant, "", "embeds"},
		{"c_uses_libfoo", Options{At: now}, []string{"openssl-static"}, Noncompliant, "", "libfoo.so embeds"},
		{"c_gnutls", Options{At: now}, []string{"gnutls"}, Noncompliant, "", "no FIPS integrity file"},
		{"c_mention", Options{At: now}, []string{}, NotApplicable, "", ""},
		{"c_full_static", Options{At: now}, []string{}, NotApplicable, "", ""},
		{"libbar.so", Options{At: now}, []string{}, NotApplicable, "", ""},
		{"fips.so", Options{At: now}, []string{"openssl"}, Conditional, "", "OpenSSL FIPS Provider"},
		{"legacy_as_fips.so", Options{At: now}, []string{"openssl"}, Noncompliant, "", "outside the FIPS module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := classifyFixture(t, s, tt.name, tt.opts)
			if diff := cmp.Diff(tt.crypto, r.Crypto); diff != "" {
				t.Errorf("crypto (-want +got):\n%s\nreasons: %q", diff, r.Reasons)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (reasons %q)", r.Verdict, tt.verdict, r.Reasons)
			}
			if tt.module != "" && !slices.ContainsFunc(r.Modules, func(m Module) bool { return m.Version == tt.module }) {
				t.Errorf("modules %+v, want version %s", r.Modules, tt.module)
			}
			if tt.reason != "" && !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, tt.reason) }) {
				t.Errorf("reasons %q, want one containing %q", r.Reasons, tt.reason)
			}
		})
	}
}

// TestFixtureFacts checks the evidence Inspect reads.
func TestFixtureFacts(t *testing.T) {
	s := fixtures(t)
	t.Run("boring old version form", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "go_boring_old"))
		if f.Go == nil || f.Go.Release != fipstest.OldGo || !f.Go.HasExperiment("boringcrypto") || !f.Go.BoringCgo {
			t.Errorf("Go facts = %+v", f.Go)
		}
	})
	t.Run("boring -X: form", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "go_boring"))
		if f.Go == nil || !strings.HasSuffix(f.Go.Version, "-X:boringcrypto") || f.Go.Vendor != "" {
			t.Errorf("Go facts = %+v", f.Go)
		}
	})
	t.Run("fipsonly", func(t *testing.T) {
		if f := inspectFile(t, s.Path(t, "go_boring_fipsonly")); !f.Go.FIPSOnly {
			t.Error("FIPSOnly = false")
		}
		if f := inspectFile(t, s.Path(t, "go_boring")); f.Go.FIPSOnly {
			t.Error("FIPSOnly = true without crypto/tls/fipsonly")
		}
	})
	t.Run("stripped keeps module paths", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "go_fips_v100_stripped"))
		if diff := cmp.Diff([]string{"v1.0.0-c2097c7c"}, f.Go.FIPSModules); diff != "" {
			t.Errorf("FIPSModules (-want +got):\n%s", diff)
		}
	})
	t.Run("c_dyn needs libcrypto", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "c_dyn"))
		if !f.LinksOpenSSL() || f.Kind != KindExecutable || f.Dynamic.Interp == "" {
			t.Errorf("facts = %+v", f)
		}
	})
	t.Run("runpath origin", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "c_uses_libfoo"))
		if diff := cmp.Diff([]string{"$ORIGIN"}, f.Dynamic.RunPath); diff != "" {
			t.Errorf("RunPath (-want +got):\n%s", diff)
		}
	})
	t.Run("provider", func(t *testing.T) {
		f := inspectFile(t, s.Path(t, "fips.so"))
		if !f.ProviderInit || f.ProviderName != "OpenSSL FIPS Provider" || f.Kind != KindSharedLibrary {
			t.Errorf("facts = %+v", f)
		}
	})
	t.Run("section headers stripped", func(t *testing.T) {
		// sstrip-style: no section headers, so the dynamic section is
		// found through PT_DYNAMIC and DT_STRTAB.
		data, err := os.ReadFile(s.Path(t, "c_dyn"))
		if err != nil {
			t.Fatal(err)
		}
		if data[4] != 2 || data[5] != 1 {
			t.Skip("not a little-endian ELF64 host")
		}
		clear(data[40:48]) // e_shoff
		clear(data[60:64]) // e_shnum, e_shstrndx
		facts, _ := Inspect(strings.NewReader(string(data)), int64(len(data)))
		if !slices.Contains(facts.Dynamic.Needed, "libcrypto.so.3") {
			t.Errorf("Needed = %q, want libcrypto.so.3 (kind %s %s)", facts.Dynamic.Needed, facts.Kind, facts.Reason)
		}
	})
	t.Run("upx", func(t *testing.T) {
		data, err := os.ReadFile(s.Path(t, "go_std"))
		if err != nil {
			t.Fatal(err)
		}
		copy(data[1000:], "UPX!") // where the packer's header would be
		facts, _ := Inspect(strings.NewReader(string(data)), int64(len(data)))
		if facts.Kind != KindUnreadable || !strings.Contains(facts.Reason, "UPX") {
			t.Errorf("facts = %s %q, want unreadable: packed with UPX", facts.Kind, facts.Reason)
		}
	})
	t.Run("not elf", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "script")
		os.WriteFile(p, []byte("#!/bin/sh\necho hi\n"), 0o755)
		f, _ := os.Open(p)
		defer f.Close()
		facts, err := Inspect(f, 18)
		if err == nil || facts.Kind != KindNotELF {
			t.Errorf("Inspect = %+v, %v", facts, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		data, err := os.ReadFile(s.Path(t, "c_dyn"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{20, 64, 200, 4096, len(data) / 2} {
			facts, _ := Inspect(strings.NewReader(string(data[:n])), int64(n))
			if facts.Kind != KindUnreadable && facts.Kind != KindExecutable {
				t.Errorf("truncated to %d: kind %s", n, facts.Kind)
			}
		}
	})
}

// TestRoot checks dependency resolution inside a fake root (ld.so.conf
// with an include naming /opt/ssl/lib) and the FIPS provider rules.
func TestRoot(t *testing.T) {
	s := fixtures(t)
	tests := []struct {
		provider string
		verdict  Verdict
		reason   string
	}{
		{"", Noncompliant, "has no FIPS provider"},
		{"fake", Noncompliant, "is not an OpenSSL FIPS provider"},
		{"unconfigured", Noncompliant, "no configuration loads it"},
		{"fips", Conditional, "configured in /usr/lib/ssl/fipsmodule.cnf"},
	}
	for _, tt := range tests {
		t.Run("provider="+tt.provider, func(t *testing.T) {
			root := t.TempDir()
			if err := fipstest.MakeRoot(s, root, tt.provider); err != nil {
				fipstestMissing(t, err)
			}
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/usr/bin/c_dyn", inspectFile(t, filepath.Join(root, "usr/bin/c_dyn")))
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (%q)", r.Verdict, tt.verdict, r.Reasons)
			}
			if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], tt.reason) {
				t.Errorf("reasons = %q, want the first to contain %q", r.Reasons, tt.reason)
			}
			if !slices.ContainsFunc(r.Modules, func(m Module) bool { return strings.HasPrefix(m.Path, "/opt/ssl/lib/") }) {
				t.Errorf("modules %+v: want the libcrypto of /opt/ssl/lib (from ld.so.conf.d)", r.Modules)
			}
			if diff := cmp.Diff([]string{"c_dyn → libcrypto.so.3"}, r.Via); diff != "" {
				t.Errorf("via (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGoOpenSSL checks Go binaries that dlopen OpenSSL (golang-fips, Microsoft
// Go): the libcrypto the toolchain would load in the root decides. No such
// toolchain is at hand, so the Go facts are written out; the ELF facts are a
// real fixture's.
func TestGoOpenSSL(t *testing.T) {
	s := fixtures(t)
	tests := []struct {
		name     string
		provider string
		g        GoFacts
		verdict  Verdict
		reasons  []string
	}{
		{"red hat strict, fips root", "fips", GoFacts{Version: "go1.22.7 (Red Hat 1.22.7-1.el9) X:strictfipsruntime", HasCrypto: true, GolangFIPSOpenSSL: true, BoringCgo: true, CGO: true},
			Conditional, []string{"Go calls OpenSSL via golang-fips (Red Hat go-toolset): libcrypto.so.3"}},
		{"red hat, no provider", "", GoFacts{Version: "go1.22.7 (Red Hat 1.22.7-1.el9)", HasCrypto: true, GolangFIPSOpenSSL: true, CGO: true},
			Noncompliant, []string{"has no FIPS provider", "built without strictfipsruntime"}},
		{"microsoft 1.25 default", "fips", GoFacts{Version: "go1.25.3", HasCrypto: true, GOFIPS140: "latest", CGO: true},
			Conditional, []string{"Microsoft Go systemcrypto", "without -tags requirefips"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := fipstest.MakeRoot(s, root, tt.provider); err != nil {
				fipstestMissing(t, err)
			}
			f := *inspectFile(t, filepath.Join(root, "usr/bin/c_dyn"))
			f.Dynamic.Needed = []string{"libc.so.6"}
			g := tt.g
			g.Release, g.Vendor, g.Experiments = splitGoVersion(g.Version)
			if strings.HasPrefix(tt.name, "microsoft") {
				g.Settings = settings("microsoft_systemcrypto", "1")
			}
			f.Go = &g
			c := NewClassifier(rootfs.Dir(root), Options{At: now})
			r := c.Classify("/usr/bin/app", &f)
			if diff := cmp.Diff([]string{"go-openssl"}, r.Crypto); diff != "" {
				t.Errorf("crypto (-want +got):\n%s", diff)
			}
			if r.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s (%q)", r.Verdict, tt.verdict, r.Reasons)
			}
			for _, want := range tt.reasons {
				if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, want) }) {
					t.Errorf("reasons %q, want one containing %q", r.Reasons, want)
				}
			}
			if diff := cmp.Diff([]string{"app → dlopen libcrypto.so.3"}, r.Via); diff != "" {
				t.Errorf("via (-want +got):\n%s", diff)
			}
		})
	}
}

func fipstestMissing(t *testing.T, err error) {
	t.Helper()
	t.Skipf("cannot make the test root: %v", err)
}

// TestMissingLibraries: a C program whose libraries are absent from the
// root has unknown crypto: verdict unknown (never a silent
// not-applicable), the first reason names the missing library, and a
// fips-library-missing warning lists it.
func TestMissingLibraries(t *testing.T) {
	s := fixtures(t)
	root := t.TempDir()
	if err := fipstest.LinkOrCopy(filepath.Join(root, "usr/bin/c_mention"), s.Path(t, "c_mention")); err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	r := c.Classify("/usr/bin/c_mention", inspectFile(t, filepath.Join(root, "usr/bin/c_mention")))
	if r.Verdict != Unknown {
		t.Errorf("verdict = %s, want %s", r.Verdict, Unknown)
	}
	if want := "no crypto found, but 1 needed library is not in the root filesystem (libc.so.6)"; len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], want) {
		t.Errorf("reasons = %q, want the first to contain %q", r.Reasons, want)
	}
	var ids []string
	for _, f := range Findings(r) {
		ids = append(ids, f.ID+"/"+string(f.Severity))
	}
	if diff := cmp.Diff([]string{"fips-library-missing/warning"}, ids); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestMissingCryptoLibrary: a missing library of a known crypto family
// is certainly crypto: noncompliant (an error), with its family.
func TestMissingCryptoLibrary(t *testing.T) {
	s := fixtures(t)
	root := t.TempDir()
	if err := fipstest.LinkOrCopy(filepath.Join(root, "usr/bin/c_dyn"), s.Path(t, "c_dyn")); err != nil {
		t.Fatal(err)
	}
	c := NewClassifier(rootfs.Dir(root), Options{At: now})
	r := c.Classify("/usr/bin/c_dyn", inspectFile(t, filepath.Join(root, "usr/bin/c_dyn")))
	if r.Verdict != Noncompliant || !slices.Contains(r.Crypto, BackendOpenSSL) {
		t.Errorf("verdict = %s, crypto %v, want noncompliant with openssl (%q)", r.Verdict, r.Crypto, r.Reasons)
	}
	if want := "libcrypto.so.3 (openssl) is needed but not in the root filesystem"; len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], want) {
		t.Errorf("reasons = %q, want the first to contain %q", r.Reasons, want)
	}
}
