package fips

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// This file maps fips results to a CycloneDX 1.6 CBOM (cryptography bill
// of materials). docs/cbom.md describes the mapping for readers of the
// BOM; in short:
//
//   - every scanned file is a component: "application" (an executable),
//     "library" (a shared library) or "file" (anything else), with its
//     path as evidence and kensa's verdict, backends, reasons and via
//     chains as "kensa:" properties;
//   - every crypto module a file uses is a "cryptographic-asset"
//     component (assetType "algorithm": the module's implementations of
//     its approved algorithms), named and versioned as the module, with
//     its CMVP standard, certificate, status and as-of date as
//     properties, its validation as certificationLevel, a link to the
//     CMVP certificate, and the library file it lives in as evidence. A
//     module embedded in a binary (Go, static OpenSSL, BoringSSL) is one
//     asset per binary; a shared library's module is one asset per
//     library file, shared by every file that loads it;
//   - a file depends on the modules it uses (dependencies);
//   - the files of a container image are nested in a "container"
//     component (the reference, its digest and platform).

// CBOMOptions describe the run a CBOM is made from.
type CBOMOptions struct {
	ToolName, ToolVersion string
	// Command is the kensa command ("fips scan").
	Command string
	// GeneratedAt is when the run happened, At the evaluation time of
	// the validation statuses.
	GeneratedAt, At time.Time
}

// CBOM returns the CycloneDX BOM of results. It decides nothing the
// results do not say; it is deterministic (the serial number is derived
// from the content), so the same scan gives the same BOM byte for byte.
func CBOM(results []Result, o CBOMOptions) *cdx.BOM {
	b := cbomBuilder{assets: map[string]bool{}, deps: map[string][]string{}}
	type imageKey struct{ image, digest, platform string }
	var images []imageKey
	nested := map[imageKey][]cdx.Component{}
	var top []cdx.Component
	for _, r := range results {
		c := b.fileComponent(r)
		if r.Image == "" {
			top = append(top, c)
			continue
		}
		k := imageKey{r.Image, r.Digest, r.Platform}
		if _, ok := nested[k]; !ok {
			images = append(images, k)
		}
		nested[k] = append(nested[k], c)
	}
	for _, k := range images {
		props := []cdx.Property{}
		addProp(&props, "kensa:image", k.image)
		addProp(&props, "kensa:digest", k.digest)
		addProp(&props, "kensa:platform", k.platform)
		comps := nested[k]
		top = append(top, cdx.Component{
			BOMRef:     imageRef(k.image, k.digest, k.platform),
			Type:       cdx.ComponentTypeContainer,
			Name:       k.image,
			Version:    k.digest,
			Properties: &props,
			Components: &comps,
		})
	}
	top = append(top, b.assetList...)

	bom := cdx.NewBOM()
	bom.Metadata = &cdx.Metadata{
		Timestamp: o.GeneratedAt.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: cmp.Or(o.ToolName, "kensa"), Version: o.ToolVersion,
		}}},
		Properties: &[]cdx.Property{
			{Name: "kensa:command", Value: o.Command},
			{Name: "kensa:at", Value: o.At.UTC().Format(time.RFC3339)},
		},
	}
	if len(images) == 1 && len(top) == 1+len(b.assetList) {
		// One image and nothing else: the BOM is about that image.
		bom.Metadata.Component = &cdx.Component{
			BOMRef: "subject", Type: cdx.ComponentTypeContainer, Name: images[0].image, Version: images[0].digest,
		}
	}
	if len(top) > 0 {
		bom.Components = &top // the schema wants no empty array
	}
	var deps []cdx.Dependency
	for _, ref := range slices.Sorted(func(yield func(string) bool) {
		for k := range b.deps {
			if !yield(k) {
				return
			}
		}
	}) {
		on := b.deps[ref]
		deps = append(deps, cdx.Dependency{Ref: ref, Dependencies: &on})
	}
	if len(deps) > 0 {
		bom.Dependencies = &deps
	}
	bom.SerialNumber = serialNumber(bom, o)
	return bom
}

type cbomBuilder struct {
	assets    map[string]bool
	assetList []cdx.Component
	deps      map[string][]string
}

// fileComponent is the component of one result; it records the module
// assets the file uses.
func (b *cbomBuilder) fileComponent(r Result) cdx.Component {
	ref := fileRef(r)
	typ := cdx.ComponentTypeFile
	switch r.Kind {
	case KindExecutable:
		typ = cdx.ComponentTypeApplication
	case KindSharedLibrary:
		typ = cdx.ComponentTypeLibrary
	}
	props := []cdx.Property{}
	addProp(&props, "kensa:path", r.Path)
	addProp(&props, "kensa:kind", r.Kind)
	addProp(&props, "kensa:verdict", string(r.Verdict))
	for _, c := range r.Crypto {
		addProp(&props, "kensa:crypto", c)
	}
	addProp(&props, "kensa:language", r.Language)
	addProp(&props, "kensa:go_version", r.GoVersion)
	for _, v := range r.Via {
		addProp(&props, "kensa:via", v)
	}
	for _, why := range r.Reasons {
		addProp(&props, "kensa:reason", why)
	}
	c := cdx.Component{
		BOMRef:     ref,
		Type:       typ,
		Name:       baseName(r.Path),
		Properties: &props,
		Evidence:   &cdx.Evidence{Occurrences: &[]cdx.EvidenceOccurrence{{Location: r.Path}}},
	}
	if r.Language == "go" && r.GoVersion != "" {
		c.Version = r.GoVersion
	}
	var uses []string
	for _, m := range r.Modules {
		a := b.asset(r, m)
		if !slices.Contains(uses, a) {
			uses = append(uses, a)
		}
	}
	if len(uses) > 0 {
		slices.Sort(uses)
		b.deps[ref] = uses
	}
	return c
}

// asset returns the bom-ref of module m as used by r, adding its
// component the first time.
func (b *cbomBuilder) asset(r Result, m Module) string {
	// A module with a library file is shared by the files that load it;
	// one without (embedded) belongs to the file itself.
	where := cmp.Or(m.Path, r.Path)
	ref := "crypto:" + imageRef(r.Image, r.Digest, r.Platform) + ":" + where + ":" + m.Backend + "/" + m.Name + "@" + m.Version
	if b.assets[ref] {
		return ref
	}
	b.assets[ref] = true
	props := []cdx.Property{}
	addProp(&props, "kensa:backend", m.Backend)
	addProp(&props, "kensa:cmvp:standard", m.Standard)
	addProp(&props, "kensa:cmvp:certificate", m.Certificate)
	addProp(&props, "kensa:cmvp:status", m.Status)
	addProp(&props, "kensa:cmvp:as_of", m.AsOf)
	alg := &cdx.CryptoAlgorithmProperties{
		ExecutionEnvironment:   cdx.CryptoExecutionEnvironmentSoftwarePlainRAM,
		ImplementationPlatform: implementationPlatform(r.Platform),
		CertificationLevel:     &[]cdx.CryptoCertificationLevel{certificationLevel(m)},
	}
	c := cdx.Component{
		BOMRef:           ref,
		Type:             cdx.ComponentTypeCryptographicAsset,
		Name:             cmp.Or(m.Name, m.Backend),
		Version:          m.Version,
		Description:      moduleDescription(m),
		CryptoProperties: &cdx.CryptoProperties{AssetType: cdx.CryptoAssetTypeAlgorithm, AlgorithmProperties: alg},
		Properties:       &props,
		Evidence:         &cdx.Evidence{Occurrences: &[]cdx.EvidenceOccurrence{{Location: where}}},
	}
	if m.Certificate != "" {
		c.ExternalReferences = &[]cdx.ExternalReference{{
			Type:    cdx.ERTypeCertificationReport,
			URL:     "https://csrc.nist.gov/projects/cryptographic-module-validation-program/certificate/" + m.Certificate,
			Comment: m.Standard + " certificate #" + m.Certificate,
		}}
	}
	b.assetList = append(b.assetList, c)
	return ref
}

// certificationLevel is the CycloneDX certificationLevel of a module:
// "none" for a module that is not validated (or only in process),
// "unknown" where kensa cannot tell, and "other" for a validated module:
// kensa's module table records the standard and certificate (in the
// properties) but not the security level, which CycloneDX's
// fips140-N-lM values would need.
func certificationLevel(m Module) cdx.CryptoCertificationLevel {
	switch m.Status {
	case "active", "historical":
		if m.Certificate != "" {
			return cdx.CryptoCertificationLevelOther
		}
	case "not-validated", "in-process":
		return cdx.CryptoCertificationLevelNone
	}
	return cdx.CryptoCertificationLevelUnknown
}

func moduleDescription(m Module) string {
	var b strings.Builder
	b.WriteString(cmp.Or(m.Name, m.Backend))
	if m.Version != "" {
		b.WriteString(" " + m.Version)
	}
	switch {
	case m.Certificate != "":
		fmt.Fprintf(&b, ": %s certificate #%s, %s", cmp.Or(m.Standard, "FIPS 140"), m.Certificate, m.Status)
	case m.Status != "":
		b.WriteString(": " + m.Status)
	}
	if m.AsOf != "" {
		b.WriteString(" (as of " + m.AsOf + ")")
	}
	return b.String()
}

// implementationPlatform maps an image platform ("linux/arm64") to
// CycloneDX's names; "" (a plain file, whose platform kensa does not
// record) leaves the field out.
func implementationPlatform(platform string) cdx.ImplementationPlatform {
	if platform == "" {
		return ""
	}
	parts := strings.Split(platform, "/")
	arch := ""
	if len(parts) > 1 {
		arch = parts[1]
	}
	switch arch {
	case "amd64":
		return cdx.ImplementationPlatformX86_64
	case "386":
		return cdx.ImplementationPlatformX86_32
	case "arm64":
		return cdx.ImplementationPlatformARMv8A
	case "arm":
		return cdx.ImplementationPlatformARMv7A
	case "s390x":
		return cdx.ImplementationPlatformS390x
	case "ppc64le":
		return cdx.ImplementationPlatformPPC64LE
	case "ppc64":
		return cdx.ImplementationPlatformPPC64
	}
	return cdx.ImplementationPlatformOther
}

func fileRef(r Result) string {
	if r.Image == "" {
		return "file:" + r.Path
	}
	return imageRef(r.Image, r.Digest, r.Platform) + ":file:" + r.Path
}

func imageRef(image, digest, platform string) string {
	if image == "" {
		return "host"
	}
	return "image:" + image + "@" + digest + "#" + platform
}

func baseName(p string) string {
	if i := strings.LastIndexByte(strings.TrimSuffix(p, "/"), '/'); i >= 0 {
		return strings.TrimSuffix(p, "/")[i+1:]
	}
	return cmp.Or(p, "(unnamed)")
}

func addProp(ps *[]cdx.Property, name, value string) {
	if value != "" {
		*ps = append(*ps, cdx.Property{Name: name, Value: value})
	}
}

// serialNumber derives a version-5-shaped urn:uuid from the BOM's
// content and times, so the same scan gives the same serial number.
func serialNumber(bom *cdx.BOM, o CBOMOptions) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", o.Command, o.GeneratedAt.UTC().Format(time.RFC3339Nano), o.At.UTC().Format(time.RFC3339Nano))
	var walk func([]cdx.Component)
	walk = func(cs []cdx.Component) {
		for _, c := range cs {
			fmt.Fprintf(h, "%s\x00", c.BOMRef)
			if c.Properties != nil {
				for _, p := range *c.Properties {
					fmt.Fprintf(h, "%s=%s\x00", p.Name, p.Value)
				}
			}
			if c.Components != nil {
				walk(*c.Components)
			}
		}
	}
	if bom.Components != nil {
		walk(*bom.Components)
	}
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
