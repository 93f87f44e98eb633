package fips

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"maps"
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
//
// fips host maps its processes the same way (internal/fips/host): each
// process is an "application" user nested in an "operating-system"
// component for its host, depending on its modules and on the crypto
// libraries its maps show loaded ("library" components).

// CBOMOptions describe the run a CBOM is made from.
type CBOMOptions struct {
	ToolName, ToolVersion string
	// Command is the kensa command ("fips scan").
	Command string
	// GeneratedAt is when the run happened, At the evaluation time of
	// the validation statuses.
	GeneratedAt, At time.Time
}

// CBOMUser is something that uses crypto modules, as a CBOM component: a
// file fips scan examined, or (for fips host) a running process. CBOM
// maps scan results to users; another command maps its own results and
// calls CBOMOf, so the modules, their validation and the dependencies are
// written one way.
type CBOMUser struct {
	// Ref is the component's bom-ref, unique in the BOM.
	Ref  string
	Type cdx.ComponentType
	// Name and Version name the component; Location is where it is (a
	// path), written as evidence.
	Name, Version, Location string
	Properties              []cdx.Property
	// Modules are the crypto modules it uses. A module with a Path (a
	// shared library) is one asset shared by every user of that file; one
	// without is embedded in the user (Location).
	Modules []Module
	// Loaded are files with crypto the user has loaded (fips host: the
	// libraries and providers a process's maps show): "library"
	// components, shared like modules, that the user depends on.
	Loaded []CBOMFile
	// Scope, when set, names the filesystem Location and the paths of
	// Modules and Loaded are in when it is not the group's own (fips
	// host: "container:ID" for a process in a container). Files are
	// shared only within one scope: /usr/lib/libcrypto.so.3 of two
	// containers are two files.
	Scope string
	// Group, when set, is what the user is in (an image and platform, or
	// a host): its component nests the user.
	Group CBOMGroup
}

// CBOMFile is a file a user has loaded, with what is known of it.
type CBOMFile struct {
	Path       string
	Properties []cdx.Property
}

// CBOMGroup is what users are nested in: an image (a "container"
// component: reference, digest, platform) or, when Host is set, a host
// (an "operating-system" component named Host, with Description and
// Properties).
type CBOMGroup struct {
	Name, Version, Platform string
	Host, Description       string
	Properties              []cdx.Property
}

func (g CBOMGroup) zero() bool {
	return g.Name == "" && g.Version == "" && g.Platform == "" && g.Host == ""
}

func (g CBOMGroup) ref() string {
	switch {
	case g.Host != "":
		return "node:" + g.Host
	case g.zero():
		return "host"
	}
	return "image:" + g.Name + "@" + g.Version + "#" + g.Platform
}

// component is the group's component, nesting comps.
func (g CBOMGroup) component(comps []cdx.Component) cdx.Component {
	if g.Host != "" {
		props := slices.Clone(g.Properties)
		c := cdx.Component{BOMRef: g.ref(), Type: cdx.ComponentTypeOS, Name: g.Host, Description: g.Description, Components: &comps}
		if len(props) > 0 {
			c.Properties = &props
		}
		return c
	}
	props := []cdx.Property{}
	addProp(&props, "kensa:image", g.Name)
	addProp(&props, "kensa:digest", g.Version)
	addProp(&props, "kensa:platform", g.Platform)
	return cdx.Component{
		BOMRef:     g.ref(),
		Type:       cdx.ComponentTypeContainer,
		Name:       g.Name,
		Version:    g.Version,
		Properties: &props,
		Components: &comps,
	}
}

// CBOM returns the CycloneDX BOM of fips scan results: each result a
// user (see fileUser). It decides nothing the results do not say.
func CBOM(results []Result, o CBOMOptions) *cdx.BOM {
	users := make([]CBOMUser, 0, len(results))
	for _, r := range results {
		users = append(users, fileUser(r))
	}
	return CBOMOf(users, o)
}

// CBOMOf returns the CycloneDX BOM of users and the modules they use. It
// is deterministic (the serial number is derived from the content), so
// the same scan gives the same BOM byte for byte.
func CBOMOf(users []CBOMUser, o CBOMOptions) *cdx.BOM {
	b := cbomBuilder{assets: map[string]bool{}, deps: map[string][]string{}}
	var groups []CBOMGroup
	nested := map[string][]cdx.Component{}
	var top []cdx.Component
	for _, u := range users {
		c := b.component(u)
		if u.Group.zero() {
			top = append(top, c)
			continue
		}
		ref := u.Group.ref()
		if _, ok := nested[ref]; !ok {
			groups = append(groups, u.Group)
		}
		nested[ref] = append(nested[ref], c)
	}
	for _, g := range groups {
		top = append(top, g.component(nested[g.ref()]))
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
	if len(groups) == 1 && len(top) == 1+len(b.assetList) {
		// One image (or host) and nothing else: the BOM is about it.
		g := groups[0].component(nil)
		bom.Metadata.Component = &cdx.Component{BOMRef: "subject", Type: g.Type, Name: g.Name, Version: g.Version}
	}
	if len(top) > 0 {
		bom.Components = &top // the schema wants no empty array
	}
	var deps []cdx.Dependency
	for _, ref := range slices.Sorted(maps.Keys(b.deps)) {
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

// fileUser is the CBOM user of one fips scan result.
func fileUser(r Result) CBOMUser {
	g := CBOMGroup{Name: r.Image, Version: r.Digest, Platform: r.Platform}
	u := CBOMUser{Ref: g.ref() + ":file:" + r.Path, Type: cdx.ComponentTypeFile, Name: baseName(r.Path),
		Location: r.Path, Modules: r.Modules}
	if r.Image == "" {
		u.Ref, g = "file:"+r.Path, CBOMGroup{}
	}
	u.Group = g
	switch r.Kind {
	case KindExecutable:
		u.Type = cdx.ComponentTypeApplication
	case KindSharedLibrary:
		u.Type = cdx.ComponentTypeLibrary
	}
	if r.Language == "go" {
		u.Version = r.GoVersion
	}
	addProp(&u.Properties, "kensa:path", r.Path)
	addProp(&u.Properties, "kensa:kind", r.Kind)
	addProp(&u.Properties, "kensa:verdict", string(r.Verdict))
	for _, c := range r.Crypto {
		addProp(&u.Properties, "kensa:crypto", c)
	}
	addProp(&u.Properties, "kensa:language", r.Language)
	addProp(&u.Properties, "kensa:go_version", r.GoVersion)
	for _, v := range r.Via {
		addProp(&u.Properties, "kensa:via", v)
	}
	for _, why := range r.Reasons {
		addProp(&u.Properties, "kensa:reason", why)
	}
	return u
}

// component is the component of one user; it records the module assets
// the user depends on.
func (b *cbomBuilder) component(u CBOMUser) cdx.Component {
	props := slices.Clone(u.Properties)
	c := cdx.Component{
		BOMRef:     u.Ref,
		Type:       u.Type,
		Name:       u.Name,
		Version:    u.Version,
		Properties: &props,
	}
	if len(props) == 0 {
		c.Properties = nil
	}
	if u.Location != "" {
		c.Evidence = u.evidence(u.Location)
	}
	var uses []string
	for _, m := range u.Modules {
		a := b.asset(u, m)
		if !slices.Contains(uses, a) {
			uses = append(uses, a)
		}
	}
	for _, f := range u.Loaded {
		a := b.library(u, f)
		if !slices.Contains(uses, a) {
			uses = append(uses, a)
		}
	}
	if len(uses) > 0 {
		slices.Sort(uses)
		b.deps[u.Ref] = uses
	}
	return c
}

// asset returns the bom-ref of module m as used by u, adding its
// component the first time.
func (b *cbomBuilder) asset(u CBOMUser, m Module) string {
	// A module with a library file is shared by the users that load it;
	// one without (embedded) belongs to the user itself.
	where := cmp.Or(m.Path, u.Location, u.Ref)
	ref := "crypto:" + u.scope() + ":" + where + ":" + m.Backend + "/" + m.Name + "@" + m.Version
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
		ImplementationPlatform: implementationPlatform(u.Group.Platform),
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
		Evidence:         u.evidence(where),
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

// library returns the bom-ref of the loaded file f of u, adding its
// component the first time.
func (b *cbomBuilder) library(u CBOMUser, f CBOMFile) string {
	ref := "library:" + u.scope() + ":" + f.Path
	if b.assets[ref] {
		return ref
	}
	b.assets[ref] = true
	props := slices.Clone(f.Properties)
	c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: baseName(f.Path), Evidence: u.evidence(f.Path)}
	if len(props) > 0 {
		c.Properties = &props
	}
	b.assetList = append(b.assetList, c)
	return ref
}

// scope is where u's files are: its group, and its own scope in it.
func (u CBOMUser) scope() string {
	if u.Scope != "" {
		return u.Group.ref() + ":" + u.Scope
	}
	return u.Group.ref()
}

// evidence is the occurrence of path in u's filesystem; a scope of its
// own is said in additionalContext.
func (u CBOMUser) evidence(path string) *cdx.Evidence {
	o := cdx.EvidenceOccurrence{Location: path}
	if u.Scope != "" {
		o.AdditionalContext = "in " + u.Scope
	}
	return &cdx.Evidence{Occurrences: &[]cdx.EvidenceOccurrence{o}}
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
