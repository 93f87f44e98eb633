package fips

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/elfx"
)

func TestSplitGoVersion(t *testing.T) {
	tests := []struct {
		in, release, vendor string
		exps                []string
	}{
		{"go1.26.8", "go1.26.8", "", nil},
		{"go1.26.8-X:boringcrypto", "go1.26.8", "", []string{"boringcrypto"}},
		{"go1.22.12 X:boringcrypto", "go1.22.12", "", []string{"boringcrypto"}},
		{"go1.24.4 X:systemcrypto", "go1.24.4", "", []string{"systemcrypto"}},
		{"go1.21.9 (Red Hat 1.21.9-1.module+el8.10.0+21671+b35c3b78) X:strictfipsruntime", "go1.21.9", "(Red Hat 1.21.9-1.module+el8.10.0+21671+b35c3b78)", []string{"strictfipsruntime"}},
		{"go1.26.0-microsoft", "go1.26.0", "-microsoft", nil},
		{"go1.22-20231128-RC02 cl/586117301 +6111acc8e6 X:fieldtrack,boringcrypto", "go1.22", "-20231128-RC02 cl/586117301 +6111acc8e6", []string{"fieldtrack", "boringcrypto"}},
		{"devel go1.27-abcdef", "devel", "go1.27-abcdef", nil},
	}
	for _, tt := range tests {
		r, v, x := splitGoVersion(tt.in)
		if r != tt.release || v != tt.vendor || !cmp.Equal(x, tt.exps) {
			t.Errorf("splitGoVersion(%q) = %q, %q, %q; want %q, %q, %q", tt.in, r, v, x, tt.release, tt.vendor, tt.exps)
		}
	}
}

// TestBoringTag checks the release → BoringCrypto module map against
// the Dockerfiles read in the toolchain zips (see modules.json).
func TestBoringTag(t *testing.T) {
	tests := map[string]string{
		"go1.19.13": "ae223d61", "go1.19": "ae223d61", "go1.18.10": "", "go1.20.1": "fips-20210429", "go1.20.12": "fips-20210429", "go1.20.13": "fips-20220613",
		"go1.20.14": "fips-20210429", "go1.21.5": "fips-20210429", "go1.21.6": "fips-20220613",
		"go1.21.7": "fips-20210429", "go1.21.13": "fips-20210429", "go1.22rc1": "fips-20220613",
		"go1.22rc2": "fips-20220613", "go1.22.0": "fips-20210429", "go1.22.12": "fips-20210429",
		"go1.23.12": "fips-20210429", "go1.24rc1": "fips-20210429", "go1.24.0": "fips-20220613",
		"go1.26.8": "fips-20220613", "go1.22": "fips-20210429", "gofoo": "", "devel": "",
	}
	for rel, want := range tests {
		if got := boringTagFor(rel); got != want {
			t.Errorf("boringTagFor(%q) = %q, want %q", rel, got, want)
		}
	}
}

func TestModuleStatusAt(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		id, at, want string
	}{
		{"go-boringcrypto/ae223d61", "2024-01-01", StatusActive},
		{"go-boringcrypto/ae223d61", "2026-01-01", StatusHistorical},
		{"go-boringcrypto/fips-20210429", "2026-09-20", StatusActive},
		{"go-boringcrypto/fips-20210429", "2026-09-21", StatusHistorical},
		{"go-boringcrypto/fips-20220613", "2024-01-01", StatusInProcess},
		{"go-boringcrypto/fips-20220613", "2026-11-24", StatusActive},
		{"go-fips140/v1.0.0", "2026-11-24", StatusActive},
		{"go-fips140/v1.0.0", "2025-06-01", StatusInProcess},
		{"go-fips140/v1.26.0", "2026-11-24", StatusInProcess},
		// Dates read from the CMVP certificate pages (modules.json).
		{"go-boringcrypto/fips-20220613", "2024-07-22", StatusInProcess},
		{"go-boringcrypto/fips-20220613", "2024-07-23", StatusActive},
		{"go-boringcrypto/fips-20220613", "2029-07-22", StatusHistorical},
		{"go-boringcrypto/fips-20210429", "2023-01-03", ""},
		{"openssl-fips-provider/3.0.9", "2024-01-21", ""},
		{"openssl-fips-provider/3.0.9", "2024-01-22", StatusActive},
		{"openssl-fips-provider/3.0.8", "2023-05-23", StatusActive},
		{"bc-fips/1.0.2.4", "2024-06-01", StatusActive},
		{"bc-fips/1.0.2.4", "2024-09-10", StatusHistorical},
		{"bc-fips/2.0.0", "2026-11-24", StatusActive},
		{"bc-fips/2.1", "2027-01-16", StatusHistorical},
		{"aws-lc/fips-3", "2026-06-04", ""},
		{"aws-lc/fips-3", "2026-06-05", StatusActive},
	}
	for _, tt := range tests {
		var row *ModuleRow
		for i := range table().Modules {
			if table().Modules[i].ID == tt.id {
				row = &table().Modules[i]
			}
		}
		if row == nil {
			t.Fatalf("no row %s", tt.id)
		}
		got := ""
		if ev := row.statusAt(day(tt.at)); ev != nil {
			got = ev.Status
		}
		if got != tt.want {
			t.Errorf("%s at %s: %q, want %q", tt.id, tt.at, got, tt.want)
		}
	}
	for _, m := range Modules() {
		if len(m.Sources) == 0 || m.AsOf == "" {
			t.Errorf("row %s has no source or as-of date", m.ID)
		}
	}
}

// TestModuleSunsets: every row that names a CMVP certificate says when
// it was validated and when it goes (or went) to the Historical list, in
// that order, and each date's note cites where it comes from.
func TestModuleSunsets(t *testing.T) {
	for _, m := range Modules() {
		if m.Certificate == "" {
			continue
		}
		var active, historical string
		for _, ev := range m.Events {
			if ev.Note == "" {
				t.Errorf("row %s: event %s %s has no note", m.ID, ev.From, ev.Status)
			}
			switch ev.Status {
			case StatusActive:
				active = ev.From
			case StatusHistorical:
				historical = ev.From
			}
		}
		if active == "" || historical == "" || historical <= active {
			t.Errorf("row %s (certificate #%s): active from %q, historical from %q; want both, in order", m.ID, m.Certificate, active, historical)
		}
	}
}

// TestModuleVersions: a certificate covers the releases it names, and
// no others (bc-fips 1.0.2.5 was never certified; AWS-LC's v3
// certificates name 3.1.0, not 3.0.x).
func TestModuleVersions(t *testing.T) {
	tests := []struct{ backend, version, cert string }{
		{BackendBCFIPS, "1.0.2.4", "4616"},
		{BackendBCFIPS, "1.0.2.5", ""},
		{BackendBCFIPS, "2.0.0", "4743"},
		{BackendBCFIPS, "2.1.0", "4943"},
		{BackendAWSLC, "3.1.0", "5314"},
		{BackendAWSLC, "3.0.0", ""},
		{BackendAWSLC, "2.0.13", "4816"},
	}
	for _, tt := range tests {
		got := ""
		if row := lookupVersions(tt.backend, "", tt.version); row != nil {
			got = row.Certificate
		}
		if got != tt.cert {
			t.Errorf("%s %s: certificate %q, want %q", tt.backend, tt.version, got, tt.cert)
		}
	}
	for _, v := range []string{"3.0.0", "3.0.8", "3.0.9", "3.1.2"} {
		if row := lookupProvider("OpenSSL FIPS Provider", v); row == nil || row.Version != v {
			t.Errorf("OpenSSL FIPS Provider %s: row %v", v, row)
		}
	}
}

func TestFamilyOf(t *testing.T) {
	tests := map[string]string{
		"libcrypto.so.3": BackendOpenSSL, "libssl.so.1.1": BackendOpenSSL, "libssl3.so": BackendNSS,
		"libcrypto-a1b2c3d4.so.3": BackendOpenSSL, "libgnutls.so.30": BackendGnuTLS, "libnss3.so": BackendNSS,
		"libgcrypt.so.20": BackendLibgcrypt, "libwolfssl.so.35": BackendWolfSSL, "libmbedcrypto.so.7": BackendMbedTLS,
		"libc.so.6": "", "libcryptsetup.so.12": "", "libk5crypto.so.3": "k5crypto", "libsodium.so.23": "libsodium", "libtomcrypt.so.1": "libtomcrypt", "crypto.py": "",
	}
	for in, want := range tests {
		if got := familyOf(in); got != want {
			t.Errorf("familyOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGoBackend(t *testing.T) {
	tests := []struct {
		name string
		g    GoFacts
		want string
	}{
		{"no crypto", GoFacts{}, ""},
		{"std", GoFacts{HasCrypto: true}, BackendGoStd},
		{"golang-fips", GoFacts{HasCrypto: true, GolangFIPSOpenSSL: true, BoringCgo: true}, BackendGoOpenSSL},
		{"no_openssl", GoFacts{HasCrypto: true, GolangFIPSOpenSSL: true, Tags: []string{"no_openssl"}}, BackendGoStd},
		{"ms 1.25 default", GoFacts{HasCrypto: true, Settings: settings("microsoft_systemcrypto", "1"), GOFIPS140: "latest"}, BackendGoOpenSSL},
		{"ms systemcrypto experiment", GoFacts{HasCrypto: true, Experiments: []string{"systemcrypto"}}, BackendGoOpenSSL},
		{"ms opt-out", GoFacts{HasCrypto: true, Experiments: []string{"nosystemcrypto"}, Settings: settings("microsoft_systemcrypto", "1")}, BackendGoStd},
		{"boring tag", GoFacts{HasCrypto: true, CGO: true, BoringCgo: true, Tags: []string{"goexperiment.boringcrypto"}}, BackendGoBoringCrypto},
		// crypto/internal/boring needs cgo: GOEXPERIMENT=boringcrypto with
		// CGO_ENABLED=0 links Go's own crypto (sig.StandardCrypto, no
		// _Cfunc__goboringcrypto_), as Google Cloud SDK's go-app-stager.
		{"boring experiment without cgo", GoFacts{HasCrypto: true, Experiments: []string{"fieldtrack", "boringcrypto"}}, BackendGoStd},
		{"boring tag without cgo", GoFacts{HasCrypto: true, Tags: []string{"goexperiment.boringcrypto"}}, BackendGoStd},
		{"boring, stripped of its function table", GoFacts{NoFuncTable: true, CGO: true, Experiments: []string{"boringcrypto"}}, BackendGoBoringCrypto},
		{"boring without cgo, no function table", GoFacts{NoFuncTable: true, Experiments: []string{"boringcrypto"}}, ""},
		{"fips140 auto", GoFacts{HasCrypto: true, DefaultGODEBUG: "fips140=auto"}, BackendGoFIPS140},
		{"fips140 off only", GoFacts{HasCrypto: true, DefaultGODEBUG: "fips140=off"}, BackendGoStd},
		{"GOFIPS140 with fips140=off", GoFacts{HasCrypto: true, GOFIPS140: "v1.0.0-c2097c7c", DefaultGODEBUG: "fips140=off"}, BackendGoFIPS140},
	}
	for _, tt := range tests {
		if got := goBackend(&tt.g); got != tt.want {
			t.Errorf("%s: goBackend = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func settings(kv ...string) (s []elfx.Setting) {
	for i := 0; i+1 < len(kv); i += 2 {
		s = append(s, elfx.Setting{Key: kv[i], Value: kv[i+1]})
	}
	return s
}

func TestRustSymbolCrate(t *testing.T) {
	for sym, want := range map[string]string{
		"_ZN4ring6digest7Context3new17h0123456789abcdefE": "ring",
		"_ZN9aws_lc_rs6digest4init17h0123456789abcdefE":   "aws-lc-rs",
		"_ZN3std2io5stdio6_print17h0123456789abcdefE":     "",
		"_RNvNtCs1a2b3c_4ring6digest4init":                "ring",
		"_RNvNtCsd4xPkt2gS7L_6rustls6client3new":          "rustls",
		"_RNvCs123_4sha24init":                            "sha2",
		"_RNvNtCs1a2b3c_5serde2de4next":                   "",
		"_R":                                              "",
		"_ZN99999":                                        "",
		"EVP_DigestInit":                                  "",
	} {
		if got := rustSymbolCrate([]byte(sym)); got != want {
			t.Errorf("rustSymbolCrate(%q) = %q, want %q", sym, got, want)
		}
	}
}

// TestRustRegistryPath: a crate path in a panic string names the crate
// and its version; crates outside the crypto list are ignored.
func TestRustRegistryPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want map[string]string
	}{
		{"/home/runner/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/argon2-rust-1.1.0/src/core.rs",
			map[string]string{"argon2-rust": "1.1.0"}},
		{"/root/.cargo/registry/src/github.com-1ecc6299db9ec823/ring-0.16.20/src/rsa.rs",
			map[string]string{"ring": "0.16.20"}},
		{"/usr/share/cargo/registry/blake3-1.5.4/src/lib.rs", map[string]string{"blake3": "1.5.4"}},
		{"/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/napi-3.12.1/src/error.rs", map[string]string{}},
		{"/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/digest-0.10.7/src/lib.rs", map[string]string{}},
		{"/registry/", map[string]string{}},
	} {
		rf := &RustFacts{Crates: map[string]string{}}
		at := []byte(tc.path)
		rf.noteString(0, at[bytes.Index(at, anchorRegistry):])
		if diff := cmp.Diff(tc.want, rf.Crates); diff != "" {
			t.Errorf("%s: crates (-want +got):\n%s", tc.path, diff)
		}
	}
}
