package fips

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/testenv"
)

// TestGoPclntabMagics: the Go 1.16–1.17 (0xfffffffa) and Go 1.18–1.19
// (0xfffffff0) function table layouts, on the release toolchains' own
// binaries from the Go module proxy (golang.org/toolchain, cached in the
// module cache; never run). With build information, without it and
// stripped without it, `go` is Go with crypto (go-std: `go tool nm`
// lists crypto/sha256, crypto/tls… in it) and gofmt Go without crypto.
// The magic the reasons name is checked against the first word of
// .gopclntab as debug/elf reads it.
func TestGoPclntabMagics(t *testing.T) {
	strip := testenv.NeedCommand(t, "strip")
	for _, tt := range []struct {
		release string
		magic   uint32
		era     string
	}{
		{"go1.16.15", 0xfffffffa, "Go 1.16–1.17"},
		{"go1.17.13", 0xfffffffa, "Go 1.16–1.17"},
		{"go1.18.10", 0xfffffff0, "Go 1.18–1.19"},
		{"go1.19.13", 0xfffffff0, "Go 1.18–1.19"},
	} {
		t.Run(tt.release, func(t *testing.T) {
			dir := goToolchain(t, tt.release)
			goBin, gofmt := filepath.Join(dir, "bin", "go"), filepath.Join(dir, "bin", "gofmt")
			if got := pclnMagicOf(t, goBin); got != tt.magic {
				t.Fatalf("%s: .gopclntab starts with %#x, the test expects %#x", goBin, got, tt.magic)
			}
			stripped := copyWith(t, goBin, func(b []byte) []byte { return b })
			if out, err := exec.Command(strip, "-o", stripped+".s", stripped).CombinedOutput(); err != nil {
				t.Fatalf("strip: %v\n%s", err, out)
			}
			pcln := fmt.Sprintf("pclntab magic %#x, %s", tt.magic, tt.era)
			for _, c := range []struct {
				name, path, version string
				crypto              []string
				verdict             Verdict
				reason              string
			}{
				{"go", goBin, tt.release, []string{BackendGoStd}, Noncompliant, "Go standard library crypto"},
				{"gofmt", gofmt, tt.release, []string{}, NotApplicable, "Go binary without crypto packages"},
				{"go without build info", copyWith(t, goBin, noBuildInfo(t)), tt.release, []string{BackendGoStd}, Noncompliant,
					pcln + `) and runtime.buildVersion "` + tt.release + `"`},
				{"gofmt without build info", copyWith(t, gofmt, noBuildInfo(t)), tt.release, []string{}, NotApplicable, pcln},
				{"go stripped, without build info", copyWith(t, stripped+".s", noBuildInfo(t)), "", []string{BackendGoStd}, Noncompliant, pcln + "); its toolchain version is unknown"},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := classifyAlone(t, c.path)
					if r.Kind != KindExecutable || r.Language != "go" || r.GoVersion != c.version {
						t.Errorf("kind %s, language %q, go_version %q; want executable, go, %q (%q)", r.Kind, r.Language, r.GoVersion, c.version, r.Reasons)
					}
					if diff := cmp.Diff(c.crypto, r.Crypto); diff != "" || r.Verdict != c.verdict {
						t.Errorf("verdict %s, crypto (-want +got):\n%s (want %s)", r.Verdict, diff, c.verdict)
					}
					if !hasReason(r, c.reason) {
						t.Errorf("reasons %q, want one containing %q", r.Reasons, c.reason)
					}
				})
			}
		})
	}
}

// pclnMagicOf reads the magic number of the file's .gopclntab with the
// standard library (an independent check of what elfx finds).
func pclnMagicOf(t *testing.T, p string) uint32 {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".gopclntab")
	if s == nil {
		t.Fatalf("%s has no .gopclntab", p)
	}
	var b [4]byte
	if _, err := s.ReadAt(b[:], 0); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint32(b[:])
}
