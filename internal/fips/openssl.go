package fips

import (
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/kensa-project/kensa/internal/elfx"
	"github.com/kensa-project/kensa/internal/lazyre"
)

// An OpenSSL installation is judged by the libcrypto the loader would
// load: OpenSSL 3 is FIPS-capable only with a FIPS provider (an
// ossl-modules/fips.so that really is one) and the configuration that
// loads it; OpenSSL 1.x only as a FIPS build (see fips1Evidence).

type osslEntry struct {
	once sync.Once
	h    hit
}

// opensslDirs are where distributions keep openssl.cnf and fipsmodule.cnf,
// after the libcrypto's own compiled-in OPENSSLDIR.
var opensslDirs = []string{"/usr/lib/ssl", "/etc/ssl", "/etc/pki/tls", "/usr/local/ssl"}

var reFIPSConf = lazyre.New(`(?im)^[ \t]*[^#;\s][^\n]*fips`)

// opensslHit evaluates the OpenSSL installation of the library lib (a
// libcrypto or libssl path in the root). The result is cached per path.
func (c *Classifier) opensslHit(lib string, lf *Facts) hit {
	v, _ := c.ossl.LoadOrStore(lib, &osslEntry{})
	e := v.(*osslEntry)
	e.once.Do(func() { e.h = c.evalOpenSSL(lib, lf) })
	h := e.h
	h.reasons = append([]string(nil), h.reasons...)
	return h
}

func (c *Classifier) evalOpenSSL(lib string, lf *Facts) hit {
	base := path.Base(lib)
	if lf != nil && lf.Dynamic.SOName != "" && !strings.Contains(lf.Dynamic.SOName, "/") {
		base = lf.Dynamic.SOName
	}
	// libssl: judge the libcrypto it uses.
	if strings.HasPrefix(base, "libssl") && lf != nil {
		for _, n := range lf.Dynamic.Needed {
			if strings.HasPrefix(n, "libcrypto") {
				if p, cf := c.findLibrary(lib, lf, n, nil); p != "" {
					return c.opensslHit(p, cf)
				}
			}
		}
	}
	ver := ""
	if lf != nil && lf.OpenSSLVersion != "" {
		ver = strings.Fields(lf.OpenSSLVersion)[1]
	}
	label := base
	if ver != "" {
		label = fmt.Sprintf("%s (OpenSSL %s)", base, ver)
	}
	mod := Module{Name: "OpenSSL", Version: ver, Status: StatusNotValidated, Path: lib}
	major := ver
	if major == "" {
		_, major, _ = strings.Cut(base, ".so.")
	}
	if major != "" && major[0] < '3' && major[0] >= '0' && !strings.HasPrefix(major, "3") {
		// OpenSSL 0.9.x, 1.0.x, 1.1.x: FIPS only as a FIPS build.
		if ev := c.fips1Evidence(lib, base, lf); ev != "" {
			mod.Name, mod.Status = "OpenSSL FIPS build", StatusUnknown
			return hit{verdict: Conditional, module: mod, reasons: []string{fmt.Sprintf("%s is a FIPS build (%s): compliant when the host runs in FIPS mode and the build is a validated one", label, ev)}}
		}
		return hit{verdict: Noncompliant, module: mod, reasons: []string{fmt.Sprintf("%s is not a FIPS build", label)}}
	}
	// OpenSSL 3: look for the FIPS provider.
	var modDirs []string
	if lf != nil && lf.ModulesDir != "" {
		modDirs = append(modDirs, lf.ModulesDir)
	}
	modDirs = append(modDirs, path.Join(path.Dir(lib), "ossl-modules"))
	var prov, provName, notProv string
	for _, d := range modDirs {
		for _, pname := range []string{"fips.so", "symcryptprovider.so"} {
			p, pf := c.tryLibrary(path.Join(d, pname), lfOr(lf))
			if p == "" {
				continue
			}
			if pf.ProviderInit && nonCompliantProvider(pf.ProviderName) {
				return hit{verdict: Noncompliant, module: Module{Name: pf.ProviderName, Version: ver, Status: StatusNotValidated, Path: p},
					reasons: []string{fmt.Sprintf("%s: %s is the %q: %s", label, p, pf.ProviderName, nonCompliantReason)}}
			}
			if pf.ProviderInit && (strings.Contains(pf.ProviderName, "FIPS") || pname == "symcryptprovider.so") {
				prov, provName = p, pf.ProviderName
				if provName == "" {
					provName = "SymCrypt provider"
				}
				break
			}
			notProv = p
		}
		if prov != "" {
			break
		}
	}
	if prov == "" {
		if notProv != "" {
			return hit{verdict: Noncompliant, module: mod, reasons: []string{fmt.Sprintf("%s: %s is not an OpenSSL FIPS provider", label, notProv)}}
		}
		return hit{verdict: Noncompliant, module: mod, reasons: []string{fmt.Sprintf("%s has no FIPS provider (no ossl-modules/fips.so)", label)}}
	}
	pf, _ := c.factsOf(prov)
	h, ok := c.providerRow(label+": its FIPS provider ("+prov+")", provName, pf, prov)
	if !ok {
		return h
	}
	conf := c.fipsConfig(lf)
	if conf == "" && c.kernelFIPSSwitch(lib) {
		h.reasons[0] = fmt.Sprintf("%s has a FIPS provider (%s) and loads it by itself when the kernel runs in FIPS mode (%s, Red Hat's kernel-fips patch): %s; compliant when the host runs in FIPS mode", label, prov, kernelFIPSFile, h.reasons[0])
		return h
	}
	if conf == "" {
		return hit{verdict: Noncompliant, module: h.module, reasons: []string{fmt.Sprintf("%s has a FIPS provider (%s) but no configuration loads it (no fipsmodule.cnf, no fips section in openssl.cnf)", label, prov)}}
	}
	h.reasons[0] = fmt.Sprintf("%s has a FIPS provider (%s, configured in %s): %s; compliant when the host runs in FIPS mode", label, prov, conf, h.reasons[0])
	return h
}

// providerRow places a FIPS provider build (name, version from its
// facts pf) in the module table. ok is true when the build is under a
// certificate that is acceptable at the evaluation time: the hit is then
// conditional (the host's FIPS mode and the configuration decide) and
// its first reason names the certificate. Otherwise the hit is the
// noncompliant verdict, its first reason starting with what.
func (c *Classifier) providerRow(what, name string, pf *Facts, path string) (hit, bool) {
	ver := ""
	if pf != nil {
		ver = pf.ProviderVersion
		if ver == "" && pf.OpenSSLVersion != "" {
			ver = strings.Fields(pf.OpenSSLVersion)[1]
		}
	}
	mod := Module{Name: name, Version: ver, Status: StatusNotValidated, Path: path}
	row := lookupProvider(name, ver)
	if row == nil {
		shown := ver
		if shown == "" {
			shown = "of unknown version"
		}
		why := fmt.Sprintf("%s is %q %s, a build kensa's module table places under no CMVP certificate", what, name, shown)
		if vs := providerVersions(name); len(vs) > 0 {
			why += fmt.Sprintf(" (validated %s builds: %s)", name, strings.Join(vs, ", "))
		}
		return hit{verdict: Noncompliant, module: mod, reasons: []string{why + ": not a validated module"}}, false
	}
	m, v, reasons := c.evalRow(row, ver)
	m.Path = path
	if v != Compliant {
		reasons[0] = what + ": " + reasons[0]
		return hit{verdict: Noncompliant, module: m, reasons: reasons}, false
	}
	return hit{verdict: Conditional, module: m, reasons: reasons}, true
}

// fips1Evidence says why an OpenSSL 1.x libcrypto is a FIPS build, or ""
// when it is not one: "FIPS" in its version string (RHEL 7's
// "1.0.2k-fips", RHEL 8's "1.1.1k  FIPS"), the FIPS module's entry points,
// or the integrity file its FIPS self-test checks beside it
// (.libcrypto.so.1.1.hmac on RHEL and Ubuntu Pro FIPS).
func (c *Classifier) fips1Evidence(lib, base string, lf *Facts) string {
	if lf != nil && strings.Contains(strings.ToUpper(lf.OpenSSLVersion), "FIPS") {
		return "its version says FIPS"
	}
	if lf != nil && lf.FIPSModule {
		return "it defines FIPS_module_mode_set or FIPS_selftest"
	}
	for _, n := range []string{base, path.Base(lib)} {
		hmac := path.Join(path.Dir(lib), "."+n+".hmac")
		if fi, err := c.root.Lstat(hmac); err == nil && !fi.IsDir() {
			return "its integrity file " + path.Base(hmac) + " is beside it"
		}
	}
	return ""
}

// OpenSSL's build can name the FIPS provider "OpenSSL non-compliant FIPS
// Provider" (its FIPS_VENDOR setting), which marks a build that is not a
// validated one; validated builds say "OpenSSL FIPS Provider" (vendors
// put their name in front: "Red Hat Enterprise Linux 9 - OpenSSL FIPS
// Provider").
const nonCompliantReason = "a FIPS provider built from an OpenSSL release that is not validated (it names itself non-compliant)"

func nonCompliantProvider(name string) bool { return strings.Contains(name, "non-compliant") }

func lfOr(f *Facts) *Facts {
	if f == nil {
		return &Facts{}
	}
	return f
}

// fipsConfig returns the file that configures the FIPS provider, or "".
func (c *Classifier) fipsConfig(lf *Facts) string {
	dirs := opensslDirs
	if lf != nil && lf.OpenSSLDir != "" {
		dirs = append([]string{lf.OpenSSLDir}, dirs...)
	}
	for _, d := range dirs {
		if data, err := c.readSmall(path.Join(d, "fipsmodule.cnf"), maxConfBytes); err == nil && len(data) > 0 {
			return path.Join(d, "fipsmodule.cnf")
		}
	}
	for _, d := range dirs {
		if data, err := c.readSmall(path.Join(d, "openssl.cnf"), maxConfBytes); err == nil && reFIPSConf.Match(data) {
			return path.Join(d, "openssl.cnf")
		}
	}
	return ""
}

// kernelFIPSFile is what a libcrypto patched to follow the kernel's FIPS
// flag reads (Red Hat's kernel-fips patch, FIPS_MODE_SWITCH_FILE in
// crypto/context.c): with it, RHEL 9 and Fedora load the FIPS provider on
// a FIPS host with no fipsmodule.cnf and no fips section in openssl.cnf
// (the provider's integrity check is built into fips.so). Upstream
// OpenSSL 3 never reads it.
const kernelFIPSFile = "/proc/sys/crypto/fips_enabled"

// kernelFIPSSwitch reports whether the libcrypto at lib carries
// kernelFIPSFile in its read-only data. It is asked only for a FIPS
// provider without configuration, once per libcrypto (opensslHit caches).
func (c *Classifier) kernelFIPSSwitch(lib string) bool {
	fl, err := c.root.Open(lib)
	if err != nil {
		return false
	}
	defer fl.Close()
	ef, err := elfx.Open(fl, fl.Size())
	if err != nil {
		return false
	}
	found := false
	_ = ef.ScanStrings([][]byte{[]byte(kernelFIPSFile)}, maxScan, func(int, []byte) bool {
		found = true
		return false
	})
	return found
}
