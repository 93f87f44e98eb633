package fips_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/schematest"
)

func cbomSample() []fips.Result {
	libcrypto := fips.Module{Backend: "openssl", Name: "OpenSSL", Version: "3.0.9", Standard: "FIPS 140-3", Certificate: "4282",
		Status: "active", AsOf: "2026-11-24", Path: "/usr/lib64/libcrypto.so.3"}
	return []fips.Result{
		{Path: "/usr/bin/curl", Kind: fips.KindExecutable, Language: "c", Crypto: []string{"openssl"}, Modules: []fips.Module{libcrypto},
			Via: []string{"curl → libcurl.so.4 → libssl.so.3 → libcrypto.so.3"}, Verdict: fips.Conditional, Reasons: []string{"validated when the host is in FIPS mode"}},
		{Path: "/usr/bin/wget", Kind: fips.KindExecutable, Language: "c", Crypto: []string{"openssl"}, Modules: []fips.Module{libcrypto},
			Verdict: fips.Conditional, Reasons: []string{"r"}},
		{Path: "/usr/bin/app", Kind: fips.KindExecutable, Language: "go", GoVersion: "go1.26.1", Crypto: []string{"go-std"},
			Modules: []fips.Module{{Backend: "go-std", Name: "Go standard library crypto", Version: "go1.26.1", Status: "not-validated"}},
			Verdict: fips.Noncompliant, Reasons: []string{"Go's own crypto, not a validated module"},
			Image: "registry:org/app:1.2", Digest: "sha256:" + strings.Repeat("a", 64), Platform: "linux/arm64"},
		{Path: "/usr/lib/libz.so.1", Kind: fips.KindSharedLibrary, Crypto: []string{}, Modules: []fips.Module{}, Verdict: fips.NotApplicable, Reasons: []string{}},
		{Path: "/opt/broken", Kind: fips.KindUnreadable, Crypto: []string{}, Verdict: fips.Noncompliant, Reasons: []string{"truncated"}},
	}
}

func encodeCBOM(t *testing.T, rs []fips.Result) []byte {
	t.Helper()
	bom := fips.CBOM(rs, fips.CBOMOptions{ToolName: "kensa", ToolVersion: "v0.1.0", Command: "fips scan",
		GeneratedAt: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), At: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)})
	var buf bytes.Buffer
	if err := report.WriteCycloneDX(&buf, bom); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCBOMValidates: the CBOM of files, a file in an image, a module
// shared by two files, a file without crypto and an unreadable file
// validates against the CycloneDX 1.6 schema; so does an empty one.
func TestCBOMValidates(t *testing.T) {
	schema := schematest.Official(t, schematest.CycloneDX)
	schematest.Validate(t, schema, "CBOM", encodeCBOM(t, cbomSample()))
	schematest.Validate(t, schema, "empty CBOM", encodeCBOM(t, nil))
	// The check has teeth: an asset type the schema does not know fails.
	bad := bytes.Replace(encodeCBOM(t, cbomSample()), []byte(`"assetType": "algorithm"`), []byte(`"assetType": "module"`), 1)
	if err := schematest.Check(schema, bad); err == nil {
		t.Error("an unknown assetType validated; the schema check is not effective")
	}
}

type cbomDoc struct {
	SerialNumber string `json:"serialNumber"`
	Components   []cbomComponent
	Dependencies []struct {
		Ref       string
		DependsOn []string `json:"dependsOn"`
	}
}

type cbomComponent struct {
	BOMRef           string `json:"bom-ref"`
	Type, Name       string
	Version          string
	Properties       []struct{ Name, Value string }
	Components       []cbomComponent
	CryptoProperties *struct {
		AssetType           string `json:"assetType"`
		AlgorithmProperties struct {
			CertificationLevel     []string `json:"certificationLevel"`
			ImplementationPlatform string   `json:"implementationPlatform"`
		} `json:"algorithmProperties"`
	} `json:"cryptoProperties"`
	ExternalReferences []struct{ Type, URL string } `json:"externalReferences"`
}

func (c cbomComponent) props(name string) []string {
	var out []string
	for _, p := range c.Properties {
		if p.Name == name {
			out = append(out, p.Value)
		}
	}
	return out
}

func TestCBOMMapping(t *testing.T) {
	out := encodeCBOM(t, cbomSample())
	var doc cbomDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	byRef := map[string]cbomComponent{}
	var walk func([]cbomComponent)
	walk = func(cs []cbomComponent) {
		for _, c := range cs {
			if _, dup := byRef[c.BOMRef]; dup {
				t.Errorf("bom-ref %q twice", c.BOMRef)
			}
			byRef[c.BOMRef] = c
			walk(c.Components)
		}
	}
	walk(doc.Components)
	curl := byRef["file:/usr/bin/curl"]
	if curl.Type != "application" || curl.Name != "curl" ||
		!cmp.Equal(curl.props("kensa:via"), []string{"curl → libcurl.so.4 → libssl.so.3 → libcrypto.so.3"}) ||
		!cmp.Equal(curl.props("kensa:verdict"), []string{"conditional"}) {
		t.Errorf("curl = %+v", curl)
	}
	if byRef["file:/usr/lib/libz.so.1"].Type != "library" || byRef["file:/opt/broken"].Type != "file" {
		t.Error("library and unreadable file types")
	}
	// One asset for the shared libcrypto, used by curl and wget.
	var assets []cbomComponent
	for _, c := range byRef {
		if c.Type == "cryptographic-asset" {
			assets = append(assets, c)
		}
	}
	if len(assets) != 2 {
		t.Fatalf("%d crypto assets, want 2 (shared libcrypto, the Go binary's own)", len(assets))
	}
	ossl := byRef["crypto:host:/usr/lib64/libcrypto.so.3:openssl/OpenSSL@3.0.9"]
	if ossl.CryptoProperties == nil || ossl.CryptoProperties.AssetType != "algorithm" ||
		!cmp.Equal(ossl.CryptoProperties.AlgorithmProperties.CertificationLevel, []string{"other"}) ||
		!cmp.Equal(ossl.props("kensa:cmvp:certificate"), []string{"4282"}) ||
		!cmp.Equal(ossl.props("kensa:cmvp:status"), []string{"active"}) ||
		len(ossl.ExternalReferences) != 1 || ossl.ExternalReferences[0].Type != "certification-report" {
		t.Errorf("libcrypto asset = %+v", ossl)
	}
	deps := map[string][]string{}
	for _, d := range doc.Dependencies {
		deps[d.Ref] = d.DependsOn
	}
	if !cmp.Equal(deps["file:/usr/bin/curl"], deps["file:/usr/bin/wget"]) || len(deps["file:/usr/bin/curl"]) != 1 {
		t.Errorf("curl and wget should depend on the one libcrypto asset: %v", deps)
	}
	// The image's file is nested in its container, on its platform.
	var image cbomComponent
	for _, c := range doc.Components {
		if c.Type == "container" {
			image = c
		}
	}
	if image.Name != "registry:org/app:1.2" || len(image.Components) != 1 || image.Components[0].Name != "app" {
		t.Errorf("image = %+v", image)
	}
	for _, a := range assets {
		if strings.Contains(a.BOMRef, "registry:org/app") {
			if a.CryptoProperties.AlgorithmProperties.ImplementationPlatform != "armv8-a" ||
				!cmp.Equal(a.CryptoProperties.AlgorithmProperties.CertificationLevel, []string{"none"}) {
				t.Errorf("Go asset = %+v", a.CryptoProperties)
			}
		}
	}
	// Deterministic: the same scan, the same bytes (serial number too).
	if again := encodeCBOM(t, cbomSample()); !bytes.Equal(out, again) {
		t.Error("two CBOMs of the same results differ")
	}
}
