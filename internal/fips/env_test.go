package fips

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/rootfs"
)

func TestApplyEnv(t *testing.T) {
	validated := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.26.8", HasCrypto: true,
		GOFIPS140: "v1.0.0-c2097c7c", DefaultGODEBUG: "fips140=on", FIPSModules: []string{"v1.0.0-c2097c7c"}}}
	std := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.26.8", HasCrypto: true}}
	redhat := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.27.1", Vendor: "(Red Hat 1.27.1-1.el10)", HasCrypto: true,
		GOFIPS140: "v1.0.0-c2097c7c", DefaultGODEBUG: "fips140=auto", FIPSModules: []string{"v1.0.0-c2097c7c"}}}
	ms26 := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.26.2", HasCrypto: true, MicrosoftOpenSSL: true}}
	ms27 := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.27.0", HasCrypto: true, MicrosoftOpenSSL: true}}
	golangFIPS := &Facts{Kind: KindExecutable, Go: &GoFacts{Release: "go1.22.7", HasCrypto: true, GolangFIPSOpenSSL: true}}
	cProgram := &Facts{Kind: KindExecutable}

	compliant := func(backend string) Result {
		return Result{Crypto: []string{backend}, Verdict: Compliant, Reasons: []string{"validated", envReminder}}
	}
	with := func(backend string, v Verdict) Result {
		return Result{Crypto: []string{backend}, Verdict: v, Reasons: []string{"from Classify"}}
	}
	tests := []struct {
		name        string
		facts       *Facts
		in          Result
		env         map[string]string
		wantVerdict Verdict
		wantReason  string // a reason that must be present ("" none)
		wantFirst   bool   // ... as the first reason
	}{
		{"GODEBUG off turns the validated module off", validated, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "http2client=0,fips140=off"}, Noncompliant, "image Env GODEBUG=fips140=off turns FIPS 140-3 mode off", true},
		{"the last fips140 setting wins", validated, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "fips140=off,fips140=on"}, Compliant, "image Env GODEBUG=fips140=on keeps FIPS 140-3 mode on", false},
		{"Go does not trim GODEBUG: a spaced setting is another key", validated, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "http2client=0, fips140=off"}, Compliant, "", false},
		{"only is noted", validated, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "fips140=only"}, Compliant, "not intended for production", false},
		{"on with the in-tree module stays noncompliant", std, with(BackendGoStd, Noncompliant),
			map[string]string{"GODEBUG": "fips140=on"}, Noncompliant, "in-tree module, which is not validated", false},
		{"auto panics upstream", validated, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "fips140=auto"}, Compliant, "panics at start-up", false},
		{"auto follows the host on Red Hat", redhat, compliant(BackendGoFIPS140),
			map[string]string{"GODEBUG": "fips140=auto"}, Conditional, "follows the host's FIPS flag", false},
		{"no GODEBUG in the image: the reminder stays", validated, compliant(BackendGoFIPS140),
			map[string]string{"PATH": "/bin"}, Compliant, envReminder, false},
		{"Microsoft Go 1.26: GOFIPS=0 turns FIPS mode off", ms26, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GOFIPS": "0"}, Noncompliant, "Microsoft Go before 1.27", true},
		{"Microsoft Go 1.27 ignores GOFIPS=0", ms27, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GOFIPS": "0"}, Conditional, "", false},
		{"Microsoft Go: fips140=off", ms27, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GODEBUG": "fips140=off"}, Noncompliant, "turns FIPS mode off in Microsoft Go", true},
		{"golang-fips: GOLANG_FIPS=0 opts out", golangFIPS, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GOLANG_FIPS": "0"}, Noncompliant, "opts out of FIPS mode", true},
		{"golang-fips: GOLANG_FIPS=1 requires it", golangFIPS, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GOLANG_FIPS": "1"}, Conditional, "requires FIPS mode", false},
		{"golang-fips ignores GOFIPS", golangFIPS, with(BackendGoOpenSSL, Conditional),
			map[string]string{"GOFIPS": "0"}, Conditional, "", false},
		{"OPENSSL_FORCE_FIPS_MODE is noted for OpenSSL users", cProgram, with(BackendOpenSSL, Conditional),
			map[string]string{"OPENSSL_FORCE_FIPS_MODE": "1"}, Conditional, "Red Hat build of OpenSSL enters FIPS mode", false},
		{"Go variables do not touch C programs", cProgram, with(BackendOpenSSL, Conditional),
			map[string]string{"GODEBUG": "fips140=off", "GOLANG_FIPS": "0"}, Conditional, "", false},
		{"files without crypto are left alone", std, Result{Crypto: []string{}, Verdict: NotApplicable, Reasons: []string{"Go binary without crypto packages"}},
			map[string]string{"GODEBUG": "fips140=off"}, NotApplicable, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.in
			r.Reasons = append([]string(nil), tt.in.Reasons...)
			ApplyEnv(&r, tt.facts, tt.env)
			if r.Verdict != tt.wantVerdict {
				t.Errorf("verdict %s, want %s (reasons %q)", r.Verdict, tt.wantVerdict, r.Reasons)
			}
			if tt.wantReason == "" {
				if len(r.Reasons) != len(tt.in.Reasons) {
					t.Errorf("reasons changed: %q", r.Reasons)
				}
				return
			}
			found := -1
			for i, s := range r.Reasons {
				if strings.Contains(s, tt.wantReason) {
					found = i
				}
			}
			if found < 0 || (tt.wantFirst && found != 0) {
				t.Errorf("reasons %q: want %q (first: %v)", r.Reasons, tt.wantReason, tt.wantFirst)
			}
		})
	}
}

// memRoot flattens one layer of files (name → contents) into an image
// filesystem.
func memRoot(t *testing.T, files map[string]string) *image.FS {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, body := range files {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(body)), Mode: 0o644})
		io.WriteString(tw, body)
	}
	tw.Close()
	fsys, err := image.Flatten(context.Background(), []image.LayerOpener{func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b.Bytes())), nil
	}}, image.FlattenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func TestApplyEnvOpenSSLConf(t *testing.T) {
	root := memRoot(t, map[string]string{
		"etc/app/openssl.cnf":   "openssl_conf = init\n[init]\nproviders = prov\n[prov]\ndefault = def\n",
		"etc/app/fips.cnf":      ".include /usr/lib/ssl/fipsmodule.cnf\n[provider_sect]\nfips = fips_sect\n",
		"etc/app/commented.cnf": "# fips = fips_sect\n",
	})
	c := NewClassifier(root, Options{At: now})
	tests := []struct {
		conf        string
		wantVerdict Verdict
		wantReason  string
	}{
		{"/etc/app/openssl.cnf", Noncompliant, "does not mention the FIPS provider"},
		{"/etc/app/commented.cnf", Noncompliant, "does not mention the FIPS provider"},
		{"/etc/app/missing.cnf", Noncompliant, "names a file that is not in the image"},
		{"/etc/app/fips.cnf", Conditional, "mentions the FIPS provider"},
		{"app.cnf", Conditional, "relative path"},
	}
	for _, tt := range tests {
		t.Run(tt.conf, func(t *testing.T) {
			r := Result{Crypto: []string{BackendOpenSSL}, Verdict: Conditional, Reasons: []string{"has a FIPS provider"}}
			c.ApplyEnv(&r, &Facts{Kind: KindExecutable}, map[string]string{"OPENSSL_CONF": tt.conf})
			if r.Verdict != tt.wantVerdict || !strings.Contains(strings.Join(r.Reasons, "|"), tt.wantReason) {
				t.Errorf("verdict %s reasons %q, want %s and %q", r.Verdict, r.Reasons, tt.wantVerdict, tt.wantReason)
			}
		})
	}
}

func TestEnvMap(t *testing.T) {
	// The process sees the first of duplicate entries.
	m := EnvMap([]string{"A=1", "B=x=y", "A=2", "EMPTY="})
	if m["A"] != "1" || m["B"] != "x=y" || m["EMPTY"] != "" || len(m) != 3 {
		t.Errorf("EnvMap = %v", m)
	}
}

// TestEnvOffRemediation: a binary built for the validated module but
// turned off by the image's Env is fixed by removing the setting, not by
// rebuilding; a binary noncompliant by itself keeps the rebuild advice.
func TestEnvOffRemediation(t *testing.T) {
	c := NewClassifier(rootfs.Dir(t.TempDir()), Options{At: now})
	for _, tt := range []struct {
		name, gofips, want string
	}{
		{"validated module", "v1.0.0-c2097c7c", "remove fips140=off from GODEBUG in the image's Env"},
		{"in-tree module", "latest", "rebuild with GOFIPS140=v1.0.0"},
	} {
		f := &Facts{Kind: KindExecutable, Go: &GoFacts{Version: "go1.26.8", Release: "go1.26.8", HasCrypto: true,
			GOFIPS140: tt.gofips, DefaultGODEBUG: "fips140=on"}}
		r := c.Classify("/app", f)
		c.ApplyEnv(&r, f, EnvMap([]string{"GODEBUG=fips140=off"}))
		fs := Findings(r)
		if r.Verdict != Noncompliant || len(fs) == 0 || !strings.Contains(fs[0].Remediation, tt.want) {
			t.Errorf("%s: verdict %s, findings %+v; want noncompliant with a remediation containing %q", tt.name, r.Verdict, fs, tt.want)
		}
	}
}
