// Package fips classifies ELF executables and shared libraries by the
// crypto module they really use and gives a FIPS 140 verdict as of a date.
//
// The model has two steps. [Inspect] reads the evidence of one file,
// bounded and without running it: its ELF kind, dynamic section, Go build
// information and Go function names, and marker strings and symbols of
// crypto libraries linked in statically. That is [Facts]: what the file
// says about itself. A [Classifier] then places the file in a root
// filesystem: it resolves the shared libraries the loader would load
// (DT_NEEDED through RPATH, RUNPATH, ld.so.conf and the default
// directories), finds which crypto libraries they reach, looks at the
// OpenSSL installation that would be loaded (is there a FIPS provider?),
// and applies the verdict rules with the module table (modules.json),
// which dates every validation status. That is a [Result].
package fips

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kensa-project/kensa/internal/elfx"
	"github.com/kensa-project/kensa/internal/lazyre"
)

// Kinds of file.
const (
	KindExecutable    = "executable"
	KindSharedLibrary = "shared-library"
	KindRelocatable   = "relocatable"    // .o, .ko: never loaded as is
	KindOtherELF      = "other-elf"      // core dumps and other ELF types
	KindNotELF        = "not-elf"        // Facts only; a Result says not-applicable
	KindUnreadable    = "unreadable"     // permissions, truncated or corrupt
	KindNotApplicable = "not-applicable" // Result kind of a non-ELF file named directly
)

// Facts is the evidence one file gives about itself.
type Facts struct {
	Kind string
	// Reason says why a file is unreadable.
	Reason string
	// Class and Machine must match for a library to satisfy a dependency.
	Class   elf.Class
	Machine elf.Machine
	// Size is the file's size in bytes.
	Size int64

	Dynamic elfx.Dynamic
	// Go is set for a Go binary.
	Go *GoFacts
	// Rust is set for a Rust binary (its standard library's paths, or
	// crates found).
	Rust *RustFacts

	// Static crypto evidence from read-only data and symbols.
	//
	// OpenSSLVersion is the version string of an OpenSSL copy ("OpenSSL
	// 3.0.19 27 Jan 2026"), OpenSSLSourcePaths how many distinct OpenSSL
	// source directories its error strings name, OpenSSLSymbols how many
	// EVP_/OPENSSL_ entry points the file defines.
	OpenSSLVersion     string
	OpenSSLSourcePaths int
	OpenSSLSymbols     int
	// OpenSSLDir and ModulesDir are the compiled-in OPENSSLDIR and
	// MODULESDIR of a libcrypto.
	OpenSSLDir string
	ModulesDir string
	// FIPSModule: the file defines the entry points of OpenSSL 1.x's FIPS
	// code (FIPS_module_mode_set, FIPS_selftest: the FIPS Object Module
	// or Red Hat's in-core FIPS patch). FIPS_mode_set is no evidence:
	// every 1.0.2 and 1.1.x libcrypto defines it, as a failing stub
	// unless built for FIPS.
	FIPSModule bool
	// ProviderInit: the file defines OSSL_provider_init (an OpenSSL 3
	// provider); ProviderName is its name string when recognised
	// ("OpenSSL FIPS Provider").
	ProviderInit bool
	ProviderName string
	// ProviderVersion is the version a FIPS provider reports ("3.0.9",
	// "3.0.7-395c1a240fbfffd8"): the string its code keeps beside its
	// name. The module table places a provider build by name and version.
	ProviderVersion string
	// BoringSSL is "BoringSSL" or "AWS-LC" when the file carries a copy
	// of one: decided (see decideBoring) by source paths
	// (BoringSSLSources: third_party/boringssl/…, external/boringssl+/…;
	// AWSLCSources: aws-lc/…), AWS-LC's version string (AWSLCVersion,
	// "AWS-LC FIPS 2.0.13" for a FIPS build) or defined entry points
	// (BORINGSSL_bcm_power_on_self_test, awslc_version_string). A mere
	// mention (BoringMention: Node's "openssl_is_boringssl") is no copy.
	BoringSSL        string
	BoringSSLSources bool
	AWSLCSources     bool
	AWSLCVersion     string
	BoringMention    bool
	boringSymbols    bool
	awslcSymbols     bool
	// HMACSection: the file has a .rodata1 section, where libgcrypt 1.10
	// and later built with --enable-hmac-binary-check (RHEL 9) keep their
	// FIPS integrity HMAC instead of a .hmac file beside the library.
	HMACSection bool
	// WolfSSL and MbedTLS: the file defines their entry points.
	WolfSSL bool
	MbedTLS bool
	// MbedTLSVersion is Mbed TLS's version string, when present.
	MbedTLSVersion string
	// Embedded: a static GnuTLS, busybox's TLS client (embedded.go).
	Embedded EmbeddedFacts
}

// GoFacts is what a Go binary records about its build.
type GoFacts struct {
	// Version is the toolchain version as recorded ("go1.26.8-X:boringcrypto").
	Version string
	// Release is the upstream release part ("go1.26.8"); Vendor is the
	// text after it that names a vendor build ("(Red Hat 1.21.9-1.el9)",
	// "-microsoft"), empty for an upstream toolchain.
	Release string
	Vendor  string
	// Experiments are the GOEXPERIMENTs named in the version ("X:a,b")
	// and the GOEXPERIMENT setting.
	Experiments []string
	// Settings are the "build" lines of `go version -m`.
	Settings []elfx.Setting
	Path     string

	Tags           []string
	GOFIPS140      string
	DefaultGODEBUG string
	CGO            bool

	// From the function names (.gopclntab):
	NoFuncTable bool // the table could not be read
	// HasCrypto: some function of crypto/… or golang.org/x/crypto/….
	HasCrypto bool
	// FIPSModules are the frozen module versions whose packages are
	// linked in ("v1.0.0-c2097c7c").
	FIPSModules []string
	// BoringCgo: calls into Google's BoringCrypto (_Cfunc__goboringcrypto_…).
	BoringCgo bool
	// FIPSOnly: crypto/tls/fipsonly is linked in.
	FIPSOnly bool
	// GolangFIPSOpenSSL: the golang-fips/openssl dlopen backend (Red Hat
	// go-toolset); MicrosoftOpenSSL: microsoft/go-crypto-openssl.
	GolangFIPSOpenSSL bool
	MicrosoftOpenSSL  bool

	// NoBuildInfo: the binary was recognised as Go by its function table
	// alone (Go before 1.13, or build information missing or damaged);
	// Evidence says how, for the reasons. Version then comes from the
	// runtime.buildVersion symbol, or is empty when it is stripped, and
	// CGO from the function names.
	NoBuildInfo bool
	Evidence    string
	// cgoFuncs: runtime/cgo or _Cfunc_ functions are in the table.
	cgoFuncs bool
}

// Setting returns a Go build setting.
func (g *GoFacts) Setting(key string) (string, bool) {
	for _, s := range g.Settings {
		if s.Key == key {
			return s.Value, true
		}
	}
	return "", false
}

// HasTag reports whether the binary was built with -tags including tag.
func (g *GoFacts) HasTag(tag string) bool { return slices.Contains(g.Tags, tag) }

// HasExperiment reports whether GOEXPERIMENT x was on.
func (g *GoFacts) HasExperiment(x string) bool { return slices.Contains(g.Experiments, x) }

// IsGo reports whether the file is a Go binary.
func (f *Facts) IsGo() bool { return f != nil && f.Go != nil }

// LinksOpenSSL reports whether the file names an OpenSSL library in
// DT_NEEDED (directly; the Classifier follows the whole closure).
func (f *Facts) LinksOpenSSL() bool {
	if f == nil {
		return false
	}
	for _, n := range f.Dynamic.Needed {
		if familyOf(n) == BackendOpenSSL {
			return true
		}
	}
	return false
}

// Caps on how much one file's scan reads.
const (
	maxScan = 256 << 20
)

// Inspect reads the evidence of one file from r (size bytes). It never
// panics and never runs anything. A file that is not ELF gives Kind
// "not-elf" and [elfx.ErrNotELF]; a broken one Kind "unreadable" with
// the reason (and a nil error: that is a fact about the file).
func Inspect(r io.ReaderAt, size int64) (f *Facts, err error) {
	f = &Facts{Size: size}
	defer func() {
		if p := recover(); p != nil {
			f = &Facts{Size: size, Kind: KindUnreadable, Reason: fmt.Sprintf("corrupt ELF file (%v)", p)}
			err = nil
		}
	}()
	ef, err := elfx.Open(r, size)
	if errors.Is(err, elfx.ErrNotELF) {
		f.Kind = KindNotELF
		return f, err
	}
	if err != nil {
		f.Kind, f.Reason = KindUnreadable, err.Error()
		return f, nil
	}
	f.Class, f.Machine = ef.Class, ef.Machine
	f.HMACSection = ef.Section(".rodata1") != nil
	if f.Dynamic, err = ef.Dynamic(); err != nil {
		f.Kind, f.Reason = KindUnreadable, err.Error()
		return f, nil
	}
	switch ef.Type {
	case elf.ET_REL:
		f.Kind = KindRelocatable
		return f, nil
	case elf.ET_EXEC:
		f.Kind = KindExecutable
	case elf.ET_DYN:
		if f.Dynamic.PIE || (f.Dynamic.Interp != "" && f.Dynamic.SOName == "") {
			f.Kind = KindExecutable
		} else {
			f.Kind = KindSharedLibrary
		}
	default:
		f.Kind = KindOtherELF
		return f, nil
	}
	if packedUPX(r, size) {
		f.Kind, f.Reason = KindUnreadable, "packed with UPX: its contents are hidden until unpacked (upx -d), so kensa cannot classify it"
		return f, nil
	}
	bi, err := ef.BuildInfo()
	switch {
	case err == nil:
		f.Go = goFacts(ef, bi)
	case !errors.Is(err, elfx.ErrNoBuildInfo):
		// Damaged build information: the function table may still say
		// it is Go and which crypto it links.
		if f.Go = goFactsFromPcln(ef, "its Go build information is unreadable ("+err.Error()+")"); f.Go == nil {
			f.Kind, f.Reason = KindUnreadable, err.Error()
			return f, nil
		}
	case ef.GoSections():
		// Go before 1.13 records no build information; some packers and
		// post-link tools drop it.
		f.Go = goFactsFromPcln(ef, "it has no Go build information")
	}
	// A pure Go binary carries no C crypto; a cgo one may.
	if f.Go == nil || f.Go.CGO || len(f.Dynamic.Needed) > 0 {
		if err := scanC(ef, f); err != nil {
			f.Kind, f.Reason = KindUnreadable, err.Error()
			return f, nil
		}
	}
	return f, nil
}

// packedUPX reports whether the file carries UPX's packer header, which
// sits in the first kilobytes of a packed ELF file.
func packedUPX(r io.ReaderAt, size int64) bool {
	hp := headPool.Get().(*[4096]byte)
	defer headPool.Put(hp)
	n, _ := r.ReadAt(hp[:min(size, int64(len(hp)))], 0)
	return bytes.Contains(hp[:n], []byte("UPX!"))
}

// headPool holds packedUPX's buffers: it reads the head of every ELF file
// a scan meets.
var headPool = sync.Pool{New: func() any { return new([4096]byte) }}

// goFactsFromPcln recognises a Go binary without usable build
// information by its function table, or returns nil. why says what is
// wrong with the build information.
func goFactsFromPcln(ef *elfx.File, why string) *GoFacts {
	magic, err := ef.PclnMagic()
	if err != nil {
		return nil
	}
	g := &GoFacts{NoBuildInfo: true, Version: ef.GoVersionSymbol()}
	ev := fmt.Sprintf("Go binary recognised by its function table (pclntab magic %#x, %s)", magic, elfx.PclnRelease(magic))
	if g.Version != "" {
		ev += " and runtime.buildVersion " + strconv.Quote(g.Version)
		g.Release, g.Vendor, g.Experiments = splitGoVersion(g.Version)
	} else {
		ev += "; its toolchain version is unknown (runtime.buildVersion is stripped)"
	}
	g.Evidence = ev + ": " + why + ", so crypto is judged from its function names"
	if err := ef.FuncNames(func(name []byte) bool { g.noteFunc(name); return true }); err != nil {
		g.NoFuncTable = true
	}
	g.CGO = g.cgoFuncs
	return g
}

// goFacts reads the build settings and the function names of a Go binary.
func goFacts(ef *elfx.File, bi *elfx.BuildInfo) *GoFacts {
	g := &GoFacts{Version: bi.GoVersion, Settings: bi.Settings, Path: bi.Path}
	g.Release, g.Vendor, g.Experiments = splitGoVersion(bi.GoVersion)
	for _, s := range bi.Settings {
		switch s.Key {
		case "-tags":
			for t := range strings.SplitSeq(s.Value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					g.Tags = append(g.Tags, t)
				}
			}
		case "GOFIPS140":
			g.GOFIPS140 = s.Value
		case "DefaultGODEBUG":
			g.DefaultGODEBUG = s.Value
		case "CGO_ENABLED":
			g.CGO = s.Value == "1"
		case "GOEXPERIMENT":
			for x := range strings.SplitSeq(s.Value, ",") {
				if x = strings.TrimSpace(x); x != "" && !slices.Contains(g.Experiments, x) {
					g.Experiments = append(g.Experiments, x)
				}
			}
		}
	}
	err := ef.FuncNames(func(name []byte) bool {
		g.noteFunc(name)
		return true
	})
	if err != nil {
		g.NoFuncTable = true
	}
	return g
}

var (
	pfxCrypto       = []byte("crypto/")
	pfxXCrypto      = []byte("golang.org/x/crypto/")
	pfxVendXCrypto  = []byte("vendor/golang.org/x/crypto/")
	pfxFIPSModule   = []byte("crypto/internal/fips140/v")
	subBoringCgo    = []byte("_Cfunc__goboringcrypto_")
	subDlopenOpenSS = []byte("_goboringcrypto_DLOPEN_OPENSSL")
	subGolangFIPS   = []byte("github.com/golang-fips/openssl")
	subMSOpenSSL    = []byte("github.com/microsoft/go-crypto-openssl")
	pfxFIPSOnly     = []byte("crypto/tls/fipsonly.")
	sigFIPSOnly     = []byte("crypto/internal/boring/sig.FIPSOnly")
	pfxRuntimeCgo   = []byte("runtime/cgo.")
	subCfunc        = []byte("._Cfunc_")
	subGitHub       = []byte("github.com/")
	reModuleVersion = lazyre.New(`^v\d+\.\d+\.\d+(?:-[0-9a-f]{6,40})?`)
)

// noteFunc records what one function name tells. It is called for every
// function of every Go binary a scan meets (tens of thousands per
// binary): the substring searches run only on names that can hold them
// (an underscore, "github.com/").
func (g *GoFacts) noteFunc(name []byte) {
	// Names before Go 1.16 may carry bytes of the table in front: start
	// at the first letter.
	i := 0
	for i < len(name) && !(name[i] >= 'a' && name[i] <= 'z' || name[i] == '_') {
		i++
	}
	if i < len(name) {
		name = name[i:]
	}
	if bytes.HasPrefix(name, pfxCrypto) || bytes.HasPrefix(name, pfxXCrypto) || bytes.HasPrefix(name, pfxVendXCrypto) {
		g.HasCrypto = true
	}
	if bytes.HasPrefix(name, pfxFIPSModule) && len(g.FIPSModules) < 8 {
		// crypto/internal/fips140/v1.0.0-c2097c7c/sha256.…, and the
		// package's own symbols with escaped dots: v1%2e0%2e0-c2097c7c.CAST
		rest := bytes.ReplaceAll(name[len(pfxFIPSModule)-1:], []byte("%2e"), []byte("."))
		if m := reModuleVersion.Find(rest); m != nil && !slices.Contains(g.FIPSModules, string(m)) {
			g.FIPSModules = append(g.FIPSModules, string(m))
		}
	}
	underscore := bytes.IndexByte(name, '_') >= 0
	github := bytes.Contains(name, subGitHub)
	switch {
	case underscore && bytes.Contains(name, subDlopenOpenSS), github && bytes.Contains(name, subGolangFIPS):
		g.GolangFIPSOpenSSL = true
	case underscore && bytes.Contains(name, subBoringCgo):
		g.BoringCgo = true
	}
	if github && bytes.Contains(name, subMSOpenSSL) {
		g.MicrosoftOpenSSL = true
	}
	if bytes.HasPrefix(name, pfxFIPSOnly) || bytes.HasPrefix(name, sigFIPSOnly) {
		g.FIPSOnly = true
	}
	if bytes.HasPrefix(name, pfxRuntimeCgo) || underscore && bytes.Contains(name, subCfunc) {
		g.cgoFuncs = true
	}
}

// splitGoVersion splits a recorded toolchain version into the upstream
// release, vendor text and experiments:
//
//	go1.26.8-X:boringcrypto                    → go1.26.8, "", [boringcrypto]
//	go1.24.4 X:systemcrypto                    → go1.24.4, "", [systemcrypto]
//	go1.21.9 (Red Hat 1.21.9-1.el9) X:strictfipsruntime → go1.21.9, "(Red Hat 1.21.9-1.el9)", [strictfipsruntime]
//	go1.26.0-microsoft                         → go1.26.0, "-microsoft", []
func splitGoVersion(v string) (release, vendor string, exps []string) {
	rest := v
	if i := strings.Index(rest, "X:"); i >= 0 && (i == 0 || rest[i-1] == ' ' || rest[i-1] == '-') {
		for x := range strings.SplitSeq(strings.Fields(rest[i+2:] + " ")[0], ",") {
			if x != "" {
				exps = append(exps, x)
			}
		}
		rest = strings.TrimRight(rest[:i], " -")
	}
	end := len(rest)
	if i := strings.IndexAny(rest, " -"); i >= 0 {
		end = i
	}
	return rest[:end], strings.TrimSpace(rest[end:]), exps
}

// OpenSSL source directories whose names appear in its error strings
// (OPENSSL_FILE). Two distinct ones, with a version string, mean a copy of
// OpenSSL is linked in: a mere mention of "OpenSSL" does not.
var opensslPaths = [][]byte{
	[]byte("crypto/evp/"), []byte("crypto/err/"), []byte("crypto/x509/"), []byte("crypto/rsa/"),
	[]byte("crypto/bn/"), []byte("crypto/ec/"), []byte("crypto/asn1/"), []byte("providers/implementations/"),
	[]byte("providers/common/"), []byte("ssl/statem/"), []byte("crypto/rand/"), []byte("crypto/pem/"),
}

var (
	anchorOpenSSL = []byte("OpenSSL ")
	anchorDirs    = []byte("DIR: \"")
	anchorBoring  = []byte("BoringSSL")
	anchorAWSLC   = []byte("AWS-LC")
	// Source paths of an embedded copy: third_party/boringssl/…,
	// external/boringssl/src/… (Bazel), aws-lc/crypto/….
	anchorBoringSrc = []byte("/boringssl")
	anchorAWSLCSrc  = []byte("/aws-lc/")
	// "/evp/" finds OpenSSL's crypto/evp/ source paths. Anchors start
	// with a byte that is rare in read-only data: bytes.Index is slowest
	// when the first byte is common but not dominant.
	anchorEVP    = []byte("/evp/")
	reOpenSSLVer = lazyre.New(`^OpenSSL (\d+\.\d+\.\d+[a-z]{0,2})(?:-[A-Za-z0-9.+~-]+)?(?:\s+FIPS)?\s+\d{1,2} [A-Z][a-z]{2} \d{4}`)
	// Mbed TLS's MBEDTLS_VERSION_STRING_FULL: "Mbed TLS 3.6.2" (older
	// releases "mbed TLS 2.28.3"); the anchor skips the first letter.
	anchorMbedTLS = []byte("bed TLS ")
	reMbedTLSVer  = lazyre.New(`^bed TLS \d+\.\d+\.\d+`)
	reAWSLCVer    = lazyre.New(`^AWS-LC (?:FIPS )?\d+\.\d+\.\d+`)
	reProvider    = lazyre.New(`^OpenSSL (?:non-compliant )?(?:FIPS|Base|Default|Legacy) Provider`)
)

// scanC looks for C crypto linked into the file: OpenSSL's version and
// source-path strings, BoringSSL/AWS-LC markers, and defined entry points.
func scanC(ef *elfx.File, f *Facts) error {
	anchors := [][]byte{anchorOpenSSL, anchorDirs, anchorBoring, anchorAWSLC, anchorEVP, anchorBoringSrc, anchorAWSLCSrc, anchorMbedTLS,
		anchorRegistry, anchorRustStd, anchorGnuTLS, anchorBusyBox, anchorCrypton}
	rf := &RustFacts{Crates: map[string]string{}}
	evp := false
	err := ef.ScanStrings(anchors, maxScan, func(i int, at []byte) bool {
		switch i {
		case 0:
			if m := reOpenSSLVer.Find(at); m != nil && f.OpenSSLVersion == "" {
				f.OpenSSLVersion = string(m)
			} else if m := reProvider.Find(at); m != nil && f.ProviderName == "" {
				f.ProviderName = string(m)
			}
		case 1:
			// OPENSSLDIR: "/usr/lib/ssl", MODULESDIR: "/usr/lib/…/ossl-modules"
			s := string(at[len(anchorDirs):])
			if j := strings.IndexAny(s, "\"\x00"); j >= 0 {
				s = s[:j]
			}
			f.noteDir(s)
		case 2:
			f.BoringMention = true
		case 3:
			f.BoringMention = true
			if m := reAWSLCVer.Find(at); m != nil && f.AWSLCVersion == "" {
				f.AWSLCVersion = string(m)
			}
		case 4:
			evp = true
		case 5:
			// third_party/boringssl/…, and Bazel's external/boringssl+/…
			// (bzlmod) or external/boringssl~/…
			// (bzlmod; older bzlmod: external/boringssl~0.20240913.0/…).
			rest := at[len(anchorBoringSrc):]
			if j := bytes.IndexByte(rest, '/'); j >= 0 && j <= 40 && (j == 0 || rest[0] == '+' || rest[0] == '~') && sourceTree(rest[j+1:]) {
				f.BoringSSLSources = true
			}
		case 8, 9:
			rf.noteString(i-8, at)
		case 10, 11, 12:
			f.Embedded.noteEmbedded(i-10, at)
		case 7:
			if m := reMbedTLSVer.Find(at); m != nil {
				f.MbedTLS = true
				if f.MbedTLSVersion == "" {
					f.MbedTLSVersion = string(m)
				}
			}
		case 6:
			if sourceTree(at[len(anchorAWSLCSrc):]) {
				f.AWSLCSources = true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	if f.OpenSSLVersion != "" || evp {
		seen := make([]bool, len(opensslPaths))
		_ = ef.ScanStrings(opensslPaths, maxScan, func(i int, _ []byte) bool {
			if !seen[i] {
				seen[i] = true
				f.OpenSSLSourcePaths++
			}
			return f.OpenSSLSourcePaths < len(opensslPaths)
		})
	}
	// Symbols only when the strings hint at a crypto library: reading
	// every library's symbol table would cost more than the scan.
	if f.OpenSSLVersion != "" || f.OpenSSLSourcePaths > 0 || f.BoringMention || f.BoringSSLSources || f.AWSLCSources || f.ProviderName != "" || f.MbedTLS {
		readSymbols(ef, f)
	}
	f.decideBoring()
	f.Embedded.scanEmbedded(ef)
	f.Embedded.scanLibraryVersion(ef, f.Dynamic.SOName)
	finishRust(ef, f, rf)
	if f.ProviderInit && strings.Contains(f.ProviderName, "FIPS") {
		providerIdentity(ef, f)
	}
	return nil
}

var reProviderVersion = lazyre.New(`^\d+\.\d+\.\d+(?:-[0-9A-Za-z.+~]{1,40})?$`)

// providerIdentity reads a FIPS provider's full name (vendors put theirs
// in front: "Red Hat Enterprise Linux 9 - OpenSSL FIPS Provider") and the
// version string OpenSSL's fipsprov.c keeps a few strings after it
// ("OpenSSL FIPS Provider\0buildinfo\03.0.22\0").
func providerIdentity(ef *elfx.File, f *Facts) {
	str, after, ok := ef.StringAround([]byte("FIPS Provider"), maxScan)
	if !ok || len(str) > 128 {
		return
	}
	if reProvider.Match(str) || bytes.HasSuffix(str, []byte(" OpenSSL FIPS Provider")) {
		f.ProviderName = string(str)
	}
	for i, tok := range bytes.SplitN(after, []byte{0}, 6) {
		if i < 5 && reProviderVersion.Match(tok) {
			f.ProviderVersion = string(tok)
			return
		}
	}
}

// sourceTree reports whether rest (what follows ".../boringssl/" or
// ".../aws-lc/") is a path into the library's source tree, not a URL or
// prose that names it: crypto/, ssl/, include/openssl/, decrepit/,
// third_party/ or generated-src/, possibly under src/.
func sourceTree(rest []byte) bool {
	rest = bytes.TrimPrefix(rest, []byte("src/"))
	for _, d := range []string{"crypto/", "ssl/", "include/openssl/", "decrepit/", "third_party/", "generated-src/"} {
		if bytes.HasPrefix(rest, []byte(d)) {
			return true
		}
	}
	return false
}

// decideBoring sets BoringSSL from the evidence: AWS-LC (its version
// string, source paths or entry points) before BoringSSL (its source
// paths or self-test entry points, which AWS-LC shares).
func (f *Facts) decideBoring() {
	switch {
	case f.AWSLCVersion != "" || f.AWSLCSources || f.awslcSymbols:
		f.BoringSSL = "AWS-LC"
	case f.BoringSSLSources || f.boringSymbols:
		f.BoringSSL = "BoringSSL"
	}
}

// noteDir records OPENSSLDIR and MODULESDIR (libcrypto's "…DIR: \"/path\""
// strings), told apart by their values; ENGINESDIR is ignored.
func (f *Facts) noteDir(val string) {
	if strings.Contains(val, "ossl-modules") || strings.HasSuffix(val, "/modules") {
		if f.ModulesDir == "" {
			f.ModulesDir = val
		}
		return
	}
	if strings.HasPrefix(val, "/") && !strings.Contains(val, "engines") && f.OpenSSLDir == "" {
		f.OpenSSLDir = val
	}
}

// readSymbols counts the crypto entry points the file defines.
func readSymbols(ef *elfx.File, f *Facts) {
	static := f.OpenSSLVersion != "" || f.OpenSSLSourcePaths > 0 || f.BoringMention || f.BoringSSLSources || f.AWSLCSources
	_ = ef.Symbols(static, func(name []byte, _ bool) bool {
		switch {
		case bytes.HasPrefix(name, []byte("EVP_")), bytes.HasPrefix(name, []byte("OPENSSL_init_")):
			f.OpenSSLSymbols++
		case bytes.Equal(name, []byte("FIPS_module_mode_set")), bytes.Equal(name, []byte("FIPS_selftest")):
			f.FIPSModule = true
		case bytes.Equal(name, []byte("OSSL_provider_init")):
			f.ProviderInit = true
		case bytes.Equal(name, []byte("BORINGSSL_bcm_power_on_self_test")), bytes.Equal(name, []byte("BORINGSSL_self_test")):
			f.boringSymbols = true
		case bytes.Equal(name, []byte("awslc_version_string")), bytes.HasPrefix(name, []byte("AWSLC_")):
			f.awslcSymbols = true
		case bytes.HasPrefix(name, []byte("wolfSSL_Init")):
			f.WolfSSL = true
		case bytes.Contains(name, []byte("mbedtls_ssl_init")), bytes.Contains(name, []byte("mbedtls_md_init")):
			// Also prefixed copies (myproj_mbedtls_md_init), as projects
			// that embed Mbed TLS rename its symbols.
			f.MbedTLS = true
		}
		return true
	})
}
