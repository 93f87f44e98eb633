package fips

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/rootfs"
)

// Crypto backends: the names of DESIGN.md.
const (
	BackendGoStd          = "go-std"
	BackendGoBoringCrypto = "go-boringcrypto"
	BackendGoFIPS140      = "go-fips140"
	BackendGoOpenSSL      = "go-openssl"
	BackendOpenSSL        = "openssl"
	BackendOpenSSLStatic  = "openssl-static"
	BackendBoringSSL      = "boringssl"
	BackendAWSLC          = "aws-lc"
	// BackendK5Crypto is MIT Kerberos' libk5crypto: its own builtin
	// crypto (Debian, Ubuntu) or OpenSSL's (RHEL, Fedora link it to
	// libcrypto).
	BackendK5Crypto    = "k5crypto"
	BackendLibsodium   = "libsodium"
	BackendLibtomcrypt = "libtomcrypt"
	BackendGnuTLS      = "gnutls"
	BackendNSS         = "nss"
	BackendLibgcrypt   = "libgcrypt"
	BackendWolfSSL     = "wolfssl"
	BackendMbedTLS     = "mbedtls"
	// BackendStrongSwan is a strongSwan plugin with strongSwan's own
	// implementation of an algorithm (libstrongswan-aes.so …).
	BackendStrongSwan = "strongswan"
)

// strongSwanOwnCrypto are the strongSwan plugins (libstrongswan-NAME.so,
// loaded by charon from its plugin directory) that implement algorithms
// in strongSwan's own code, from strongSwan's plugin list. The plugins
// that wrap a library (openssl, gcrypt, botan, wolfssl) are judged
// through the library they need; af-alg hands the work to the kernel's
// crypto API; random and nonce only read the kernel's generator.
var strongSwanOwnCrypto = map[string]string{
	"aes": "AES", "aesni": "AES-NI AES", "des": "DES/3DES", "blowfish": "Blowfish", "rc2": "RC2",
	"md4": "MD4", "md5": "MD5", "sha1": "SHA-1", "sha2": "SHA-2", "sha3": "SHA-3",
	"gmp": "RSA (on libgmp)", "curve25519": "X25519/Ed25519", "chapoly": "ChaCha20-Poly1305",
	"xcbc": "AES-XCBC", "cmac": "AES-CMAC", "ctr": "CTR mode", "ccm": "CCM mode", "gcm": "GCM mode",
	"hmac": "HMAC", "kdf": "KDF", "drbg": "DRBG", "mgf1": "MGF1", "fips-prf": "FIPS 186 PRF",
	"ml": "ML-KEM", "newhope": "NewHope", "ntru": "NTRU", "bliss": "BLISS", "padlock": "VIA PadLock",
}

// Verdict is a file's FIPS 140 verdict.
type Verdict string

// The verdicts, from the best to the worst (see [Verdict.Rank]).
const (
	NotApplicable Verdict = "not-applicable" // no crypto
	Compliant     Verdict = "compliant"
	Conditional   Verdict = "conditional" // compliant when the host runs in FIPS mode
	// Unknown: no crypto was found in what kensa could see, but needed
	// libraries are missing from the root filesystem, so what they
	// bring is unknown. Never a pass: it comes with a warning finding.
	Unknown      Verdict = "unknown"
	Noncompliant Verdict = "noncompliant"
	// Unreadable: the file could not be read (permissions, truncated,
	// corrupt, packed), so its crypto is unknown; an error finding.
	Unreadable Verdict = "unreadable"
)

// Verdicts lists every verdict, worst first (for summaries).
var Verdicts = []Verdict{Unreadable, Noncompliant, Unknown, Conditional, Compliant, NotApplicable}

// Rank orders verdicts: a file's verdict is its worst module's.
func (v Verdict) Rank() int {
	switch v {
	case Compliant:
		return 1
	case Conditional:
		return 2
	case Unknown:
		return 3
	case Noncompliant:
		return 4
	case Unreadable:
		return 5
	}
	return 0
}

// Accept widens the default policy.
type Accept struct {
	// InProcess accepts modules on the CMVP Modules In Process list
	// (Go Cryptographic Module v1.26.0).
	InProcess bool
	// Historical accepts modules whose certificate is on the CMVP
	// Historical list (FIPS 140-2 BoringCrypto since 2026-09-21).
	Historical bool
}

// Options are the evaluation settings.
type Options struct {
	// At is the evaluation time (--at). The caller sets it: the package
	// never reads the clock, so a scan is reproducible.
	At     time.Time
	Accept Accept
}

// Module is one crypto module a file uses, as reported.
type Module struct {
	Backend     string `json:"backend"`
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Standard    string `json:"standard,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	// Status is the validation status at the evaluation time: active,
	// historical, in-process, not-validated or unknown.
	Status string `json:"status"`
	// AsOf is the date of the data the status comes from.
	AsOf string `json:"as_of,omitempty"`
	// Path is the library file in the root filesystem, where one was used.
	Path string `json:"path,omitempty"`
}

// Result is the classification of one file. The JSON field names are the
// DESIGN.md contract.
type Result struct {
	Path      string   `json:"path"`
	Kind      string   `json:"kind"`
	Language  string   `json:"language,omitempty"`
	GoVersion string   `json:"go_version,omitempty"`
	Crypto    []string `json:"crypto"`
	Modules   []Module `json:"modules"`
	Via       []string `json:"via,omitempty"`
	// Missing are the needed libraries the loader would not find in the
	// root filesystem (sonames), whose crypto is therefore unchecked.
	Missing []string `json:"missing_libraries,omitempty"`
	Verdict Verdict  `json:"verdict"`
	Reasons []string `json:"reasons"`
	// Image scans fill these.
	Image    string `json:"image,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform,omitempty"`

	// envFix is the remediation when the verdict comes from a setting of
	// the environment (an image's Env), not from the binary.
	envFix string
}

// Classifier resolves the dependencies of files inside one root
// filesystem and gives verdicts. It caches the facts of every library it
// reads and is safe for concurrent use.
type Classifier struct {
	root rootfs.FS
	opts Options

	facts   sync.Map // path → *factsEntry
	lookups sync.Map // search key → lookupResult
	ossl    sync.Map // libcrypto path → *osslEntry
	dirs    sync.Map // directory → resolvedDir (see resolve)

	confOnce sync.Once
	confDirs []string

	osOnce sync.Once
	osr    OSRelease // the root's os-release (distro.go)
}

type factsEntry struct {
	once  sync.Once
	facts *Facts
	err   error
}

// NewClassifier returns a Classifier over root.
func NewClassifier(root rootfs.FS, opts Options) *Classifier {
	return &Classifier{root: root, opts: opts}
}

// Add seeds the cache with facts already read for name.
func (c *Classifier) Add(name string, f *Facts) {
	e := &factsEntry{facts: f}
	e.once.Do(func() {})
	c.facts.Store(path.Clean("/"+name), e)
}

// seed caches facts for name unless they are cached already.
func (c *Classifier) seed(name string, f *Facts) {
	e := &factsEntry{facts: f}
	e.once.Do(func() {})
	c.facts.LoadOrStore(name, e)
}

// factsOf returns the facts of the regular file name (already resolved),
// reading them through the root filesystem once.
func (c *Classifier) factsOf(name string) (*Facts, error) {
	v, _ := c.facts.LoadOrStore(name, &factsEntry{})
	e := v.(*factsEntry)
	e.once.Do(func() {
		fl, err := c.root.Open(name)
		if err != nil {
			e.err = err
			return
		}
		defer fl.Close()
		e.facts, _ = Inspect(fl, fl.Size())
	})
	return e.facts, e.err
}

// hit is one crypto backend a file reaches, with its evaluation.
type hit struct {
	backend string
	module  Module
	verdict Verdict
	reasons []string
	via     string
}

// Classify gives the result for the file name (a path inside the root,
// or the path as the user named it) with facts f.
func (c *Classifier) Classify(name string, f *Facts) (res Result) {
	res = Result{Path: name, Crypto: []string{}, Modules: []Module{}, Reasons: []string{}}
	defer func() {
		if p := recover(); p != nil {
			res = Result{Path: name, Kind: KindUnreadable, Crypto: []string{}, Modules: []Module{},
				Verdict: Unreadable, Reasons: []string{fmt.Sprintf("internal error while classifying: %v", p)}}
		}
	}()
	if f == nil {
		f = &Facts{Kind: KindUnreadable, Reason: "no facts"}
	}
	switch f.Kind {
	case KindNotELF:
		res.Kind, res.Verdict = KindNotApplicable, NotApplicable
		res.Reasons = []string{"not an ELF executable or shared library"}
		return res
	case KindUnreadable:
		res.Kind, res.Verdict = KindUnreadable, Unreadable
		res.Reasons = []string{"unreadable: " + f.Reason}
		return res
	case KindRelocatable, KindOtherELF:
		res.Kind, res.Verdict = f.Kind, NotApplicable
		res.Reasons = []string{"not a loadable program or library"}
		return res
	}
	res.Kind = f.Kind
	switch {
	case f.Go != nil:
		res.Language, res.GoVersion = "go", f.Go.Version
	case f.Rust != nil && (len(f.Rust.Crates) > 0 || f.Rust.FromCrateList || !needsLib(f, "libstdc++.so")):
		// A C++ program with a few Rust parts (Node.js 26 and its
		// Temporal code) stays C/C++.
		res.Language = "rust"
	default:
		res.Language = "c"
	}
	var hits []hit
	var notes []string
	if f.Go != nil && f.Go.Evidence != "" {
		notes = append(notes, f.Go.Evidence)
	}
	if f.Go != nil {
		h, n := c.goHit(name, f)
		notes = append(notes, n...)
		if h != nil {
			hits = append(hits, *h)
		}
	}
	hits = append(hits, c.ownHits(name, f)...)
	dh, missing := c.depHits(name, f)
	hits = append(hits, dh...)
	res.Missing = missing
	var missingNote string
	if len(missing) > 0 {
		missingNote = fmt.Sprintf("%d needed librar%s not in the root filesystem (%s), so %s crypto was not checked",
			len(missing), report.Plural(len(missing), "y is", "ies are"), strings.Join(missing, ", "), report.Plural(len(missing), "its", "their"))
	}

	if len(hits) == 0 {
		res.Verdict = NotApplicable
		switch {
		case len(missing) > 0:
			// What cannot be seen never passes: the first reason says
			// what is missing.
			res.Verdict = Unknown
			res.Reasons = append(res.Reasons, "no crypto found, but "+missingNote)
		case f.Go != nil && f.Go.NoFuncTable:
			res.Reasons = append(res.Reasons, "no crypto found (the Go function table could not be read)")
		case f.Go != nil:
			res.Reasons = append(res.Reasons, "Go binary without crypto packages")
		default:
			res.Reasons = append(res.Reasons, "no crypto library linked or embedded")
		}
		res.Reasons = append(res.Reasons, notes...)
		return res
	}
	if missingNote != "" {
		notes = append(notes, missingNote)
	}
	// Worst first, so the first reason explains the verdict.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(b.verdict.Rank(), a.verdict.Rank()) })
	res.Verdict = hits[0].verdict
	seenMod := map[Module]bool{}
	for _, h := range hits {
		if !slices.Contains(res.Crypto, h.backend) {
			res.Crypto = append(res.Crypto, h.backend)
		}
		if !seenMod[h.module] {
			seenMod[h.module] = true
			res.Modules = append(res.Modules, h.module)
		}
		for _, r := range h.reasons {
			if !slices.Contains(res.Reasons, r) {
				res.Reasons = append(res.Reasons, r)
			}
		}
		if h.via != "" && !slices.Contains(res.Via, h.via) {
			res.Via = append(res.Via, h.via)
		}
	}
	slices.Sort(res.Crypto)
	res.Reasons = append(res.Reasons, notes...)
	return res
}

// familyOf names the crypto family of a library by its file name or
// soname: libcrypto.so.3 → openssl, libssl3.so → nss, … or "".
func familyOf(name string) string {
	base := path.Base(name)
	stem, _, ok := strings.Cut(base, ".so")
	if !ok {
		return ""
	}
	// Vendored copies: libcrypto-1a2b3c4d.so.3 (Python wheels).
	if i := strings.IndexByte(stem, '-'); i > 0 && (strings.HasPrefix(stem, "libcrypto-") || strings.HasPrefix(stem, "libssl-")) {
		stem = stem[:i]
	}
	switch stem {
	case "libcrypto", "libssl":
		return BackendOpenSSL
	case "libgnutls", "libnettle", "libhogweed":
		return BackendGnuTLS
	case "libnss3", "libssl3", "libsoftokn3", "libfreeblpriv3", "libfreebl3", "libsmime3":
		return BackendNSS
	case "libgcrypt":
		return BackendLibgcrypt
	case "libwolfssl":
		return BackendWolfSSL
	case "libmbedcrypto", "libmbedtls", "libmbedx509", "libtfpsacrypto":
		return BackendMbedTLS
	case "libk5crypto":
		return BackendK5Crypto
	case "libsodium":
		return BackendLibsodium
	case "libtomcrypt":
		return BackendLibtomcrypt
	}
	if plugin, ok := strings.CutPrefix(stem, "libstrongswan-"); ok && strongSwanOwnCrypto[plugin] != "" {
		return BackendStrongSwan
	}
	return ""
}

// ownHits are the backends a file is or embeds itself.
func (c *Classifier) ownHits(name string, f *Facts) []hit {
	var hits []hit
	fam := familyOf(name)
	if f.Dynamic.SOName != "" && fam == "" {
		fam = familyOf(f.Dynamic.SOName)
	}
	if fam != "" {
		hits = append(hits, c.libraryHit(fam, name, f, ""))
	}
	if fam == "" && f.ProviderInit && f.ProviderName != "" {
		// An OpenSSL 3 provider module (ossl-modules/*.so) is OpenSSL's
		// crypto itself.
		fam = BackendOpenSSL
		m := Module{Backend: BackendOpenSSL, Name: f.ProviderName, Status: StatusUnknown, Path: name}
		switch {
		case nonCompliantProvider(f.ProviderName):
			hits = append(hits, hit{backend: fam, module: m, verdict: Noncompliant,
				reasons: []string{fmt.Sprintf("%s: %s", f.ProviderName, nonCompliantReason)}})
		case strings.Contains(f.ProviderName, "FIPS"):
			h, ok := c.providerRow(path.Base(name), f.ProviderName, f, name)
			if ok {
				h.reasons[0] = h.reasons[0] + "; compliant when a configured OpenSSL loads it on a host in FIPS mode"
			}
			h.backend, h.module.Backend = fam, fam
			hits = append(hits, h)
		default:
			hits = append(hits, hit{backend: fam, module: m, verdict: Noncompliant,
				reasons: []string{fmt.Sprintf("%s is an OpenSSL provider outside the FIPS module", f.ProviderName)}})
		}
	}
	hits = append(hits, c.staticHits(f, fam, "")...)
	return hits
}

// staticHits are the crypto libraries linked into f statically.
func (c *Classifier) staticHits(f *Facts, ownFamily, via string) []hit {
	var hits []hit
	boringGo := f.Go != nil && goBackend(f.Go) == BackendGoBoringCrypto
	// OpenSSL vendored beside BoringSSL or AWS-LC (which carry
	// OpenSSL-like source paths and EVP_ functions of their own) needs
	// OpenSSL's own dated version string.
	if ownFamily != BackendOpenSSL && staticOpenSSL(f) && (f.BoringSSL == "" || f.OpenSSLVersion != "" && f.OpenSSLSourcePaths >= 2) {
		ver, what := "", "OpenSSL"
		if f.OpenSSLVersion != "" {
			ver, what = strings.Fields(f.OpenSSLVersion)[1], f.OpenSSLVersion
		}
		reasons := []string{fmt.Sprintf("%sembeds its own copy of %s (static link, %s): not a validated module", viaPrefix(via), what, staticEvidence(f))}
		if ver != "" && ver[0] >= '3' && ver[0] <= '9' {
			// Node.js and other programs with OpenSSL 3 inside can still
			// load a FIPS provider (fips.so) through their OpenSSL
			// configuration (node --openssl-config, --enable-fips).
			reasons = append(reasons, fmt.Sprintf("OpenSSL %s can load a FIPS provider (fips.so) at run time through its configuration (Node.js: --openssl-config and --enable-fips); only such a provider, from a validated OpenSSL release, would give validated crypto", ver))
		}
		hits = append(hits, hit{
			backend: BackendOpenSSLStatic,
			module:  Module{Backend: BackendOpenSSLStatic, Name: "OpenSSL (linked in statically)", Version: ver, Status: StatusNotValidated},
			verdict: Noncompliant,
			reasons: reasons,
			via:     via,
		})
	}
	if f.BoringSSL == "AWS-LC" && !boringGo {
		hits = append(hits, awslcHit(f, via, c))
	}
	if f.BoringSSL == "BoringSSL" && !boringGo {
		hits = append(hits, hit{
			backend: BackendBoringSSL,
			module:  Module{Backend: BackendBoringSSL, Name: f.BoringSSL + " (embedded)", Status: StatusUnknown},
			verdict: Noncompliant,
			reasons: []string{fmt.Sprintf("%sembeds %s: unvalidated unless it is a FIPS build of a certified tag", viaPrefix(via), f.BoringSSL)},
			via:     via,
		})
	}
	hits = append(hits, c.rustHits(f, via)...)
	hits = append(hits, embeddedHits(f, ownFamily, via)...)
	if f.WolfSSL && ownFamily != BackendWolfSSL {
		hits = append(hits, embeddedHit(BackendWolfSSL, "wolfSSL", via))
	}
	if f.MbedTLS && ownFamily != BackendMbedTLS {
		name := "Mbed TLS"
		if f.MbedTLSVersion != "" {
			name = "M" + f.MbedTLSVersion
		}
		hits = append(hits, embeddedHit(BackendMbedTLS, name, via))
	}
	return hits
}

// staticOpenSSL decides whether f carries a copy of OpenSSL: its version
// string with source paths, many source paths, or defined entry points.
// A mere mention of "OpenSSL" (build options, headers) is not enough.
func staticOpenSSL(f *Facts) bool {
	return f.OpenSSLVersion != "" && f.OpenSSLSourcePaths >= 2 ||
		f.OpenSSLSourcePaths >= 4 ||
		f.OpenSSLSymbols >= 20
}

func staticEvidence(f *Facts) string {
	var ev []string
	if f.OpenSSLSourcePaths > 0 {
		ev = append(ev, fmt.Sprintf("%d OpenSSL source directories in its strings", f.OpenSSLSourcePaths))
	}
	if f.OpenSSLSymbols > 0 {
		ev = append(ev, fmt.Sprintf("%d EVP_/OPENSSL_ functions defined", f.OpenSSLSymbols))
	}
	return strings.Join(ev, ", ")
}

func embeddedHit(backend, name, via string) hit {
	return hit{
		backend: backend,
		module:  Module{Backend: backend, Name: name + " (embedded)", Status: StatusUnknown},
		verdict: Noncompliant,
		reasons: []string{fmt.Sprintf("%sembeds %s: not a validated module", viaPrefix(via), name)},
		via:     via,
	}
}

func viaPrefix(via string) string {
	if via == "" {
		return ""
	}
	parts := strings.Split(via, " → ")
	return parts[len(parts)-1] + " "
}

// libraryHit evaluates a crypto library of family fam at lib (a path in
// the root) with facts lf.
func (c *Classifier) libraryHit(fam, lib string, lf *Facts, via string) hit {
	base := path.Base(lib)
	if lf != nil && lf.Dynamic.SOName != "" && !strings.Contains(lf.Dynamic.SOName, "/") {
		base = lf.Dynamic.SOName
	}
	switch fam {
	case BackendOpenSSL:
		h := c.opensslHit(lib, lf)
		h.backend, h.module.Backend, h.via = BackendOpenSSL, BackendOpenSSL, via
		return h
	case BackendK5Crypto:
		if lf != nil {
			for _, n := range lf.Dynamic.Needed {
				if strings.HasPrefix(n, "libcrypto.so") {
					if p, cf := c.findLibrary(lib, lf, n, nil); p != "" {
						h := c.opensslHit(p, cf)
						h.reasons[0] = fmt.Sprintf("%s takes its crypto from OpenSSL's %s (a build like RHEL's): %s", base, n, h.reasons[0])
						h.backend, h.module.Backend, h.via = fam, fam, via
						return h
					}
				}
			}
		}
		return hit{backend: fam, verdict: Noncompliant, via: via,
			module:  Module{Backend: fam, Name: base + " (builtin crypto)", Status: StatusNotValidated, Path: lib},
			reasons: []string{fmt.Sprintf("%s uses MIT Kerberos' own builtin crypto (not linked to libcrypto, as Debian builds it): not a validated module", base)}}
	case BackendStrongSwan:
		plugin, _, _ := strings.Cut(strings.TrimPrefix(path.Base(lib), "libstrongswan-"), ".so")
		alg := strongSwanOwnCrypto[plugin]
		return hit{backend: fam, verdict: Noncompliant, via: via,
			module:  Module{Backend: fam, Name: "strongSwan " + plugin + " plugin (" + alg + ")", Status: StatusNotValidated, Path: lib},
			reasons: []string{fmt.Sprintf("%s is strongSwan's own %s implementation: not a validated module (for FIPS, charon loads only the openssl plugin, with a FIPS provider and plugins.openssl.fips_mode)", base, alg)}}
	case BackendLibsodium, BackendLibtomcrypt:
		return hit{backend: fam, verdict: Noncompliant, via: via,
			module:  Module{Backend: fam, Name: base, Status: StatusNotValidated, Path: lib},
			reasons: []string{fmt.Sprintf("%s is %s, a crypto library with no FIPS 140 validation", base, fam)}}
	case BackendWolfSSL, BackendMbedTLS:
		return hit{
			backend: fam,
			module:  Module{Backend: fam, Name: base, Status: StatusUnknown, Path: lib},
			verdict: Noncompliant,
			reasons: []string{fmt.Sprintf("%s is not a FIPS-validated module kensa can recognise", base)},
			via:     via,
		}
	}
	// GnuTLS, NSS, libgcrypt: FIPS builds ship integrity files beside the
	// library; without them the FIPS self-test cannot pass.
	dir := path.Dir(lib)
	var want []string
	switch fam {
	case BackendNSS:
		want = []string{"libsoftokn3.chk", "libfreeblpriv3.chk"}
	default:
		want = []string{"." + base + ".hmac"}
		if real := path.Base(lib); real != base {
			want = append(want, "."+real+".hmac")
		}
	}
	var found string
	for _, w := range want {
		if fi, err := c.root.Lstat(path.Join(dir, w)); err == nil && !fi.IsDir() {
			found = path.Join(dir, w)
			break
		}
	}
	m := Module{Backend: fam, Name: base, Status: StatusNotValidated, Path: lib}
	if found == "" && fam == BackendLibgcrypt && lf != nil && lf.HMACSection {
		found = "the HMAC in its .rodata1 section, from libgcrypt's --enable-hmac-binary-check"
	} else if found != "" {
		found = path.Base(found)
	}
	if found != "" {
		if h, ok := c.distroHit(fam, lib, base, found, lf, via); ok {
			return h
		}
	}
	if found != "" {
		// Debian and upstream ship the integrity files too: they make a
		// build able to run its FIPS self-test, not a validated module.
		h := hit{backend: fam, module: m, verdict: Noncompliant, via: via,
			reasons: []string{fmt.Sprintf("%s has its FIPS integrity file (%s), but kensa's module table places no %s build under a CMVP certificate (distributions such as Debian ship these files for builds that are not validated): not a validated module", base, found, fam)}}
		if note := debianNote(c.osRelease()); note != "" {
			h.reasons = append(h.reasons, note)
		}
		return h
	}
	return hit{backend: fam, module: m, verdict: Noncompliant, via: via,
		reasons: []string{fmt.Sprintf("%s has no FIPS integrity file (%s) beside it: not a FIPS build", base, strings.Join(want, " or "))}}
}

// awslcHit evaluates an embedded AWS-LC: a FIPS build ("AWS-LC FIPS
// 2.0.13") by the module table's row for its major version; any other
// build is not a validated module.
func awslcHit(f *Facts, via string, c *Classifier) hit {
	ver, fipsBuild := "", false
	if v, ok := strings.CutPrefix(f.AWSLCVersion, "AWS-LC FIPS "); ok {
		ver, fipsBuild = v, true
	} else if v, ok := strings.CutPrefix(f.AWSLCVersion, "AWS-LC "); ok {
		ver = v
	}
	m := Module{Backend: BackendAWSLC, Name: "AWS-LC (embedded)", Version: ver, Status: StatusNotValidated}
	h := hit{backend: BackendAWSLC, module: m, verdict: Noncompliant, via: via}
	switch {
	case f.AWSLCVersion == "":
		h.module.Status = StatusUnknown
		h.reasons = []string{viaPrefix(via) + "embeds AWS-LC of unknown version (no \"AWS-LC …\" version string): not a FIPS build kensa can place"}
	case !fipsBuild:
		h.reasons = []string{fmt.Sprintf("%sembeds %s, not a FIPS build of AWS-LC (a FIPS build says \"AWS-LC FIPS …\"; in Rust, aws-lc-fips-sys): not a validated module", viaPrefix(via), f.AWSLCVersion)}
	default:
		row := lookupVersions(BackendAWSLC, "", ver)
		if row == nil {
			h.module.Status = StatusUnknown
			h.reasons = []string{fmt.Sprintf("%sembeds %s, a FIPS build kensa's module table places under no certificate", viaPrefix(via), f.AWSLCVersion)}
			break
		}
		mod, v, reasons := c.evalRow(row, ver)
		mod.Backend, h.module, h.verdict = BackendAWSLC, mod, v
		reasons[0] = viaPrefix(via) + "embeds " + f.AWSLCVersion + ", " + reasons[0]
		if v == Compliant {
			reasons = append(reasons, "a certificate covers named releases of its FIPS branch and operating environments: check the security policy for this release")
		}
		h.reasons = reasons
	}
	return h
}

// needsLib reports whether f names a library starting with prefix in
// DT_NEEDED.
func needsLib(f *Facts, prefix string) bool {
	for _, n := range f.Dynamic.Needed {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}
