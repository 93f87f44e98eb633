package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/rootfs"
)

// TestEvaluate decides verdicts from evidence the tests cannot produce
// with real processes on this machine: Red Hat's golang-fips and
// Microsoft Go binaries (toolchains not available here), a FIPS kernel,
// distribution OpenSSL that follows the kernel flag. The executable's
// classification is given as fips scan would report it (backend go-openssl
// for both toolchains; fips.md rows 8 and 10).
func TestEvaluate(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"etc/os-release":                 "ID=rhel\nVERSION_ID=\"9.4\"\n",
		"usr/lib64/libcrypto.so.3":       "placeholder /proc/sys/crypto/fips_enabled\n",
		"usr/lib64/ossl-modules/fips.so": "placeholder\n",
		"etc/pki/tls/openssl.cnf":        "openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n[p]\ndefault = d\n[d]\nactivate = 1\n",
	}
	for n, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(root, n)), 0o755)
		os.WriteFile(filepath.Join(root, n), []byte(c), 0o644)
	}
	opts := fips.Options{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	rv := newRootView(rootfs.Dir(root), opts, fileKey{})
	goOpenSSL := fips.Result{Crypto: []string{fips.BackendGoOpenSSL}, Verdict: fips.Conditional, Reasons: []string{"go-openssl"}}
	golangFIPS := &fips.Facts{Go: &fips.GoFacts{Release: "go1.25.3", Vendor: "(Red Hat 1.25.3-1.el9)", GolangFIPSOpenSSL: true, HasCrypto: true}}
	msGo := &fips.Facts{Go: &fips.GoFacts{Release: "go1.26.2", Vendor: "-microsoft", MicrosoftOpenSSL: true, HasCrypto: true,
		Settings: nil}}
	libcrypto := Mapped{Path: "/usr/lib64/libcrypto.so.3", Role: "libcrypto"}
	provider := Mapped{Path: "/usr/lib64/ossl-modules/fips.so", Role: "fips-provider"}
	for _, c := range []struct {
		name    string
		facts   *fips.Facts
		bin     fips.Result
		mapped  []Mapped
		env     map[string]string
		kernel  string
		host    string
		verdict Verdict
		reason  string
		ids     []string
	}{
		{"golang-fips, FIPS host, libcrypto and fips.so mapped", golangFIPS, goOpenSSL, []Mapped{libcrypto, provider}, nil, "1", "1", Compliant, "the FIPS provider is loaded", nil},
		{"golang-fips, kernel flag off", golangFIPS, goOpenSSL, []Mapped{libcrypto}, nil, "0", "0", Noncompliant, "FIPS mode is not requested", []string{IDProcBinary}},
		{"golang-fips, GOLANG_FIPS=0 on a FIPS host", golangFIPS, goOpenSSL, []Mapped{libcrypto, provider}, map[string]string{"GOLANG_FIPS": "0"}, "1", "1", Noncompliant, "GOLANG_FIPS=0", []string{IDProcDisabledByEnv}},
		{"golang-fips, FIPS host, provider not mapped yet", golangFIPS, goOpenSSL, []Mapped{libcrypto}, nil, "1", "1", Undetermined, "loads the FIPS provider by itself on a FIPS kernel", []string{IDProcProviderNotLoaded}},
		{"Microsoft Go 1.26, GOFIPS=0", msGo, goOpenSSL, []Mapped{libcrypto}, map[string]string{"GOFIPS": "0"}, "1", "1", Noncompliant, "GOFIPS=0", []string{IDProcDisabledByEnv}},
		{"Microsoft Go 1.26, GOFIPS=1 off-FIPS host with a provider forced", msGo, goOpenSSL, []Mapped{libcrypto, provider}, map[string]string{"GOFIPS": "1", "OPENSSL_FORCE_FIPS_MODE": "1"}, "0", "0", Compliant, "the FIPS provider is loaded", nil},
		{"container masked on a FIPS host", golangFIPS, goOpenSSL, []Mapped{libcrypto}, nil, "0", "1", Noncompliant, "masks the flag", []string{IDProcMasked, IDProcBinary}},
		{"C OpenSSL, RHEL patch, OPENSSL_FORCE_FIPS_MODE set (any value)", nil, fips.Result{Crypto: []string{fips.BackendOpenSSL}}, []Mapped{libcrypto}, map[string]string{"OPENSSL_FORCE_FIPS_MODE": ""}, "0", "0", Undetermined, "OPENSSL_FORCE_FIPS_MODE is set", []string{IDProcProviderNotLoaded}},
		{"C OpenSSL with the legacy provider", nil, fips.Result{Crypto: []string{fips.BackendOpenSSL}}, []Mapped{libcrypto, provider, {Path: "/usr/lib64/ossl-modules/legacy.so", Role: "legacy-provider"}}, nil, "1", "1", Compliant, "the FIPS provider is loaded", []string{IDProcLegacyProvider}},
		{"OPENSSL_CONF naming the distribution's own file is no override", nil, fips.Result{Crypto: []string{fips.BackendOpenSSL}}, []Mapped{libcrypto, provider}, map[string]string{"OPENSSL_CONF": "/etc/pki/tls/openssl.cnf"}, "1", "1", Compliant, "the FIPS provider is loaded", nil},
		{"OPENSSL_CONF elsewhere", nil, fips.Result{Crypto: []string{fips.BackendOpenSSL}}, []Mapped{libcrypto, provider}, map[string]string{"OPENSSL_CONF": "/opt/app/ssl.cnf"}, "1", "1", Compliant, "the FIPS provider is loaded", []string{IDProcConfigOverride}},
		{"no crypto", nil, fips.Result{Verdict: fips.NotApplicable}, nil, nil, "1", "1", NotApplicable, "no crypto", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := procInput{bin: c.bin, facts: c.facts, mapped: append([]Mapped(nil), c.mapped...), env: c.env, kernel: c.kernel, hostKernel: c.host, rt: rv}
			v, reasons, _, _, finds := evaluate(in, opts)
			if v != c.verdict {
				t.Errorf("verdict %s, want %s; reasons %q", v, c.verdict, reasons)
			}
			if len(reasons) == 0 || !strings.Contains(reasons[0], c.reason) {
				t.Errorf("first reason %q, want %q in it", reasons, c.reason)
			}
			var ids []string
			for _, f := range finds {
				ids = append(ids, f.id)
			}
			if strings.Join(ids, ",") != strings.Join(c.ids, ",") {
				t.Errorf("findings %v, want %v", ids, c.ids)
			}
		})
	}
}
