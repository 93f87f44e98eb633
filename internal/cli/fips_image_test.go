package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/image/imagetest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// imageReport is the part of a fips scan JSON report the image tests read.
type imageReport struct {
	Results []struct {
		Path     string   `json:"path"`
		Kind     string   `json:"kind"`
		Crypto   []string `json:"crypto"`
		Verdict  string   `json:"verdict"`
		Reasons  []string `json:"reasons"`
		Image    string   `json:"image"`
		Digest   string   `json:"digest"`
		Platform string   `json:"platform"`
	} `json:"results"`
	Findings []struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Message string `json:"message"`
	} `json:"findings"`
	Summary struct {
		Images       int `json:"images"`
		ImagesFailed int `json:"images_failed"`
	} `json:"summary"`
}

// verdicts lists "image path verdict" for each result, for comparison.
func (r imageReport) verdicts() []string {
	var out []string
	for _, res := range r.Results {
		out = append(out, res.Platform+" "+res.Path+" "+res.Verdict)
	}
	slices.Sort(out)
	return out
}

func (r imageReport) reasons(p string) string {
	for _, res := range r.Results {
		if res.Path == p {
			return strings.Join(res.Reasons, " | ")
		}
	}
	return ""
}

func (r imageReport) findingIDs() []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, f.ID)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func scanJSON(t *testing.T, args ...string) (int, imageReport, string) {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"fips", "scan", "--format", "json"}, args...)...)
	var rep imageReport
	if stdout != "" {
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("report is not JSON: %v\n%s", err, stdout)
		}
	}
	return code, rep, stderr
}

// fixtures are the files the test images are built from: Go binaries
// built by the real toolchain (GOFIPS140=v1.0.0 and plain), this
// machine's OpenSSL command with the libraries it loads, and a stand-in
// FIPS provider built by gcc.
type fixtures struct {
	goFIPS, goPlain string
	libdir          string // this machine's directory of libcrypto.so.3
	provider        string
}

// needFixtures gets the fixtures of the fips tests (internal/fipstest:
// real toolchain builds, cached) and this machine's OpenSSL.
func needFixtures(t *testing.T) fixtures {
	t.Helper()
	testenv.NeedFile(t, "/usr/bin/openssl", "the openssl command (Debian package openssl)")
	s, err := fipstest.Build()
	if err != nil {
		testenv.Missing(t, "building the fips fixtures: "+err.Error())
	}
	lib := fipstest.HostLibcrypto()
	if lib == "" {
		testenv.Missing(t, "no libcrypto.so.3 on this machine (Debian package libssl3)")
	}
	return fixtures{
		goFIPS:   s.Path(t, "go_fips_v100"),
		goPlain:  s.Path(t, "go_std"),
		provider: s.Path(t, "fips.so"),
		libdir:   filepath.Dir(lib),
	}
}

// hostOpenSSL is the OpenSSL command with its libraries and the loader
// configuration, at the paths they have on this machine.
func hostOpenSSL(f fixtures) []imagetest.Entry {
	lib := strings.TrimPrefix(f.libdir, "/")
	es := []imagetest.Entry{
		imagetest.HostFile("usr/bin/openssl", "/usr/bin/openssl"),
		imagetest.HostFile(lib+"/libssl.so.3", filepath.Join(f.libdir, "libssl.so.3")),
		imagetest.HostFile(lib+"/libcrypto.so.3", filepath.Join(f.libdir, "libcrypto.so.3")),
		imagetest.HostFile(lib+"/libc.so.6", filepath.Join(f.libdir, "libc.so.6")),
		imagetest.File("etc/ld.so.conf", []byte("include /etc/ld.so.conf.d/*.conf\n")),
		imagetest.File("etc/ld.so.conf.d/libc.conf", []byte("/usr/local/lib\n")),
		imagetest.File("usr/lib/ssl/openssl.cnf", []byte("openssl_conf = openssl_init\n[openssl_init]\n")),
	}
	return es
}

func TestFipsScanImages(t *testing.T) {
	f := needFixtures(t)
	lib := strings.TrimPrefix(f.libdir, "/")
	host := "linux/" + runtime.GOARCH
	other := "linux/s390x"
	if runtime.GOARCH == "s390x" {
		other = "linux/ppc64le"
	}

	goLayer := imagetest.Layer(t,
		imagetest.HostFile("app/fips", f.goFIPS),
		imagetest.HostFile("app/plain", f.goPlain),
		imagetest.Hardlink("app/fips-link", "app/fips"),
	)
	goImg := imagetest.Image(t, host, nil, goLayer)
	goOff := imagetest.Image(t, host, []string{"PATH=/bin", "GODEBUG=http2client=0,fips140=off"}, goLayer)
	// The upper layer deletes /app/plain and makes /opt opaque.
	whiteouts := imagetest.Image(t, host, nil,
		imagetest.Layer(t, imagetest.HostFile("app/fips", f.goFIPS), imagetest.HostFile("app/plain", f.goPlain), imagetest.HostFile("opt/tool/plain", f.goPlain)),
		imagetest.ZstdLayer(t, imagetest.Whiteout("app/plain"), imagetest.Opaque("opt"), imagetest.HostFile("opt/fips", f.goFIPS)),
	)
	cNoFIPS := imagetest.Image(t, host, nil, imagetest.Layer(t, hostOpenSSL(f)...))
	providerLayer := imagetest.Layer(t,
		imagetest.HostFile(lib+"/ossl-modules/fips.so", f.provider),
		imagetest.File("usr/lib/ssl/fipsmodule.cnf", []byte("[fips_sect]\nactivate = 1\n")),
		imagetest.File("etc/app/openssl.cnf", []byte("openssl_conf = default_conf\n")),
	)
	cFIPS := imagetest.Image(t, host, nil, imagetest.Layer(t, hostOpenSSL(f)...), providerLayer)
	cFIPSConf := imagetest.Image(t, host, []string{"OPENSSL_CONF=/etc/app/openssl.cnf"}, imagetest.Layer(t, hostOpenSSL(f)...), providerLayer)
	otherImg := imagetest.Image(t, other, nil, imagetest.Layer(t, imagetest.HostFile("app/plain", f.goPlain)))

	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/go:1", goImg)
	imagetest.Push(t, reg+"/go:off", goOff)
	imagetest.Push(t, reg+"/wh:1", whiteouts)
	imagetest.Push(t, reg+"/c:nofips", cNoFIPS)
	imagetest.Push(t, reg+"/c:fips", cFIPS)
	imagetest.Push(t, reg+"/c:fipsconf", cFIPSConf)
	imagetest.Push(t, reg+"/multi:1", imagetest.Index(t, goImg, otherImg))
	dir := t.TempDir()
	archive := filepath.Join(dir, "go.tar")
	imagetest.Archive(t, archive, "example.com/go:1", goImg)
	layout := filepath.Join(dir, "layout")
	imagetest.Layout(t, layout, "go", goImg)
	digest := func(img v1.Image) string { d, _ := img.Digest(); return d.String() }

	goWant := []string{host + " /app/fips compliant", host + " /app/fips-link compliant", host + " /app/plain noncompliant"}
	tests := []struct {
		name    string
		args    []string
		want    []string
		reasons map[string]string // path → substring of its reasons
	}{
		{"registry", []string{"registry:" + reg + "/go:1"}, goWant, nil},
		{"docker archive", []string{"docker-archive:" + archive}, goWant, nil},
		{"oci layout", []string{"oci-layout:" + layout + ":go"}, goWant, nil},
		{"env turns the Go module off", []string{"registry:" + reg + "/go:off"},
			[]string{host + " /app/fips noncompliant", host + " /app/fips-link noncompliant", host + " /app/plain noncompliant"},
			map[string]string{"/app/fips": "image Env GODEBUG=fips140=off turns FIPS 140-3 mode off"}},
		{"whiteout and opaque directory", []string{"registry:" + reg + "/wh:1"},
			[]string{host + " /app/fips compliant", host + " /opt/fips compliant"}, nil},
		{"openssl without a FIPS provider", []string{"registry:" + reg + "/c:nofips"},
			[]string{host + " /" + lib + "/libc.so.6 unknown", host + " /" + lib + "/libcrypto.so.3 noncompliant", host + " /" + lib + "/libssl.so.3 noncompliant", host + " /usr/bin/openssl noncompliant"},
			map[string]string{"/usr/bin/openssl": "no FIPS provider"}},
		{"openssl with a FIPS provider", []string{"registry:" + reg + "/c:fips"},
			[]string{host + " /" + lib + "/libc.so.6 unknown", host + " /" + lib + "/libcrypto.so.3 conditional", host + " /" + lib + "/libssl.so.3 conditional", host + " /" + lib + "/ossl-modules/fips.so conditional", host + " /usr/bin/openssl conditional"},
			map[string]string{"/usr/bin/openssl": "configured in /usr/lib/ssl/fipsmodule.cnf"}},
		{"OPENSSL_CONF without the provider", []string{"registry:" + reg + "/c:fipsconf"},
			[]string{host + " /" + lib + "/libc.so.6 unknown", host + " /" + lib + "/libcrypto.so.3 noncompliant", host + " /" + lib + "/libssl.so.3 noncompliant", host + " /" + lib + "/ossl-modules/fips.so noncompliant", host + " /usr/bin/openssl noncompliant"},
			map[string]string{"/usr/bin/openssl": "image Env OPENSSL_CONF=/etc/app/openssl.cnf replaces the default configuration"}},
		{"index, default platform", []string{"registry:" + reg + "/multi:1"}, goWant, nil},
		{"index, other platform", []string{"--platform", other, "registry:" + reg + "/multi:1"}, []string{other + " /app/plain noncompliant"}, nil},
		{"index, all platforms", []string{"--all-platforms", "registry:" + reg + "/multi:1"}, append(slices.Clone(goWant), other+" /app/plain noncompliant"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, rep, stderr := scanJSON(t, append([]string{"--fail-on", "never"}, tt.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			slices.Sort(tt.want)
			if diff := cmp.Diff(tt.want, rep.verdicts()); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			for p, want := range tt.reasons {
				if got := rep.reasons(p); !strings.Contains(got, want) {
					t.Errorf("reasons of %s = %q, want %q", p, got, want)
				}
			}
			for _, r := range rep.Results {
				if r.Image != tt.args[len(tt.args)-1] || !strings.HasPrefix(r.Digest, "sha256:") || r.Platform == "" {
					t.Errorf("result %s names image %q digest %q platform %q", r.Path, r.Image, r.Digest, r.Platform)
				}
			}
		})
	}

	t.Run("digest of the scanned platform", func(t *testing.T) {
		_, rep, _ := scanJSON(t, "--platform", other, "registry:"+reg+"/multi:1")
		if len(rep.Results) == 0 || rep.Results[0].Digest != digest(otherImg) {
			t.Errorf("digest %v, want %s", rep.Results, digest(otherImg))
		}
	})

	t.Run("a failing image does not stop the others", func(t *testing.T) {
		list := filepath.Join(dir, "images.txt")
		body := "# fleet\nregistry:" + reg + "/go:1\n\nregistry:" + reg + "/missing:1   # gone\ndocker-archive:" + archive + "\n"
		if err := os.WriteFile(list, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		code, rep, stderr := scanJSON(t, "--fail-on", "never", "--images", list)
		if code != ExitError {
			t.Errorf("exit %d, want %d (a target that could not be scanned)", code, ExitError)
		}
		if !strings.Contains(stderr, "1 of 3 images could not be scanned") {
			t.Errorf("stderr = %q", stderr)
		}
		if rep.Summary.Images != 2 || rep.Summary.ImagesFailed != 1 || len(rep.Results) != 6 {
			t.Errorf("summary %+v with %d results, want 2 images, 1 failed, 6 results", rep.Summary, len(rep.Results))
		}
		if !slices.Contains(rep.findingIDs(), "image-unreadable") {
			t.Errorf("findings %v lack image-unreadable", rep.findingIDs())
		}
	})
}

func TestFipsScanHostileImage(t *testing.T) {
	f := needFixtures(t)
	host := "linux/" + runtime.GOARCH
	hostile := imagetest.Image(t, host, nil, imagetest.Layer(t,
		imagetest.File("../../../tmp/kensa-escape", []byte("x")),
		imagetest.HostFile("app/fips", f.goFIPS),
		imagetest.Symlink("app/loop1", "loop2"),
		imagetest.Symlink("app/loop2", "loop1"),
		imagetest.Symlink("lib", "/../../../../usr/lib"),
		imagetest.Hardlink("app/dangling", "app/nothing"),
		imagetest.Entry{Name: "dev/sda", Type: '4'},
		imagetest.File("app/notelf", []byte("#!/bin/sh\n")),
		imagetest.File("app/broken", []byte("\x7fELF\x02\x01\x01 truncated")),
	))
	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/hostile:1", hostile)
	code, rep, stderr := scanJSON(t, "--fail-on", "never", "registry:"+reg+"/hostile:1")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := []string{host + " /app/broken unreadable", host + " /app/dangling unreadable", host + " /app/fips compliant"}
	if diff := cmp.Diff(want, rep.verdicts()); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"image-entry-skipped", "unreadable"}, rep.findingIDs()); diff != "" {
		t.Errorf("finding ids (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("/tmp/kensa-escape"); err == nil {
		t.Error("a layer entry was written to disk")
	}
}

// TestFipsScanOnePlatformBroken: with --all-platforms, a platform whose
// layer is corrupt is reported and the reference counts as failed (exit
// 2), but the platforms that could be read keep their results.
func TestFipsScanOnePlatformBroken(t *testing.T) {
	f := needFixtures(t)
	host := "linux/" + runtime.GOARCH
	other := "linux/s390x"
	if runtime.GOARCH == "s390x" {
		other = "linux/ppc64le"
	}
	good := imagetest.Image(t, host, nil, imagetest.Layer(t, imagetest.HostFile("app/fips", f.goFIPS)))
	// Valid gzip of bytes that are not a tar stream.
	junk, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(strings.Repeat("not a tar stream ", 100))), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	broken := imagetest.Image(t, other, nil, junk)
	reg := imagetest.Registry(t)
	for _, order := range [][]v1.Image{{broken, good}, {good, broken}} {
		imagetest.Push(t, reg+"/multi:1", imagetest.Index(t, order...))
		code, rep, stderr := scanJSON(t, "--fail-on", "never", "--all-platforms", "registry:"+reg+"/multi:1")
		if code != ExitError {
			t.Errorf("exit %d, want %d: %s", code, ExitError, stderr)
		}
		if diff := cmp.Diff([]string{host + " /app/fips compliant"}, rep.verdicts()); diff != "" {
			t.Errorf("verdicts (-want +got):\n%s", diff)
		}
		if rep.Summary.Images != 1 || rep.Summary.ImagesFailed != 1 {
			t.Errorf("summary images %d, failed %d, want 1 and 1", rep.Summary.Images, rep.Summary.ImagesFailed)
		}
		if !slices.Contains(rep.findingIDs(), "image-unreadable") || !strings.Contains(stderr, other) {
			t.Errorf("findings %v, stderr %q: want image-unreadable naming %s", rep.findingIDs(), stderr, other)
		}
	}
}

// TestFipsScanInsecureFlag: --insecure takes registry names as they are
// written in references; a URL is a usage error, not a name that would
// silently never match.
func TestFipsScanInsecureFlag(t *testing.T) {
	for _, v := range []string{"http://reg.example:5000", "reg.example:5000/org"} {
		code, _, stderr := run(t, "fips", "scan", "--insecure", v, "registry:reg.example:5000/org/app:1")
		if code != ExitError || !strings.Contains(stderr, "not a registry host[:port]") {
			t.Errorf("--insecure %s: exit %d, stderr %q; want a usage error", v, code, stderr)
		}
	}
}
