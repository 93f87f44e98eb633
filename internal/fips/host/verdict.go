package host

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
)

// procFinding is a finding of one process before its subject is set.
type procFinding struct {
	id, msg, fix string
	sev          report.Severity
}

// finding makes a process finding (sev "" = the catalog's, or warning
// for an undetermined verdict).
func finding(id string, sev report.Severity, msg, fix string) *procFinding {
	return &procFinding{id: id, sev: sev, msg: msg, fix: fix}
}

// finding is the report.Finding of f, its subject left to the caller;
// an empty severity is the catalog's.
func (f *procFinding) finding() report.Finding {
	rf := report.Finding{ID: f.id, Severity: f.sev, Message: f.msg, Remediation: f.fix}
	if c, ok := report.Lookup(Checks, f.id); ok {
		rf.Citation = c.Citation
		if rf.Severity == "" {
			rf.Severity = c.Severity
		}
	}
	return rf
}

// judgement is one backend's contribution to a process verdict.
type judgement struct {
	verdict Verdict
	reason  string
	find    *procFinding
}

// procInput is everything the verdict of one process is decided from.
type procInput struct {
	bin    fips.Result
	facts  *fips.Facts
	mapped []Mapped
	env    map[string]string
	// kernel is fips_enabled as the process sees it; hostKernel as the
	// host's /proc shows it.
	kernel, hostKernel string
	// rt answers questions about files in the process's root.
	rt *rootView
}

// distroOpenSSLPaths are the distributions' own OpenSSL configuration
// files and module directories: OPENSSL_CONF or OPENSSL_MODULES naming one
// of them overrides nothing.
var distroOpenSSLPaths = []string{
	"/etc/pki/tls/openssl.cnf", "/usr/lib/ssl/openssl.cnf", "/etc/ssl/openssl.cnf",
	"/usr/lib64/ossl-modules", "/usr/lib/x86_64-linux-gnu/ossl-modules", "/usr/lib/aarch64-linux-gnu/ossl-modules",
}

// godebugFIPS returns the fips140 value of a GODEBUG string (the last
// setting wins, nothing trimmed, as Go's internal/godebug parses it).
func godebugFIPS(s string) (string, bool) {
	val, found := "", false
	for kv := range strings.SplitSeq(s, ",") {
		if v, ok := strings.CutPrefix(kv, "fips140="); ok {
			val, found = v, true
		}
	}
	return val, found
}

func isMicrosoftGo(g *fips.GoFacts) bool {
	if g == nil {
		return false
	}
	if v, _ := g.Setting("microsoft_systemcrypto"); v == "1" {
		return true
	}
	return g.MicrosoftOpenSSL || g.HasExperiment("systemcrypto") || g.HasExperiment("opensslcrypto") || strings.Contains(g.Vendor, "microsoft")
}

func moduleOf(r fips.Result, backend string) *fips.Module {
	for i := range r.Modules {
		if r.Modules[i].Backend == backend {
			return &r.Modules[i]
		}
	}
	return nil
}

// evaluate decides the verdict of one process.
func evaluate(in procInput, opts fips.Options) (Verdict, []string, []string, []Module, []procFinding) {
	kernelOn := in.kernel == "1"
	var js []judgement
	add := func(v Verdict, reason string, f *procFinding) { js = append(js, judgement{v, reason, f}) }
	crypto := slices.Clone(in.bin.Crypto)
	var modules []Module
	for _, m := range in.bin.Modules {
		modules = append(modules, m)
	}
	has := func(role string) bool {
		return slices.ContainsFunc(in.mapped, func(m Mapped) bool { return m.Role == role })
	}
	addCrypto := func(b string) {
		if !slices.Contains(crypto, b) {
			crypto = append(crypto, b)
		}
	}
	if in.hostKernel == "1" && (in.kernel == "0" || in.kernel == "absent") {
		add(Noncompliant, fmt.Sprintf("the host's kernel is in FIPS mode but this process reads fips_enabled = %s (its container masks the flag)", in.kernel),
			finding(IDProcMasked, "", "the kernel is in FIPS mode but this process sees fips_enabled = "+in.kernel+": libraries keyed on the flag run outside FIPS mode", "remove the container's FIPS opt-out (CRI-O pod label FIPS_DISABLE=true) and restart it"))
	}

	g := (*fips.GoFacts)(nil)
	if in.facts != nil {
		g = in.facts.Go
	}
	goBackendUsed := ""
	for _, b := range in.bin.Crypto {
		switch b {
		case fips.BackendGoFIPS140, fips.BackendGoStd, fips.BackendGoBoringCrypto, fips.BackendGoOpenSSL:
			goBackendUsed = b
		}
	}
	// Go's own module (GODEBUG fips140).
	if goBackendUsed == fips.BackendGoFIPS140 || goBackendUsed == fips.BackendGoStd {
		mode, fromEnv := godebugFIPS(in.env["GODEBUG"])
		where := "GODEBUG=fips140=" + mode + " in its start environment"
		if !fromEnv && g != nil {
			mode, _ = godebugFIPS(g.DefaultGODEBUG)
			where = "fips140=" + mode + " compiled in (DefaultGODEBUG)"
			if mode == "" {
				where = "no fips140 setting compiled in or in the environment"
			}
		}
		on := false
		switch mode {
		case "on", "only", "debug":
			on = true
		case "auto":
			// golang-fips Go 1.27: follow the host's flag.
			on = kernelOn || in.env["GOLANG_NATIVE_HOSTFIPS_OVERRIDE"] == "1"
			where += fmt.Sprintf(" (follows the kernel flag, which this process sees as %s)", in.kernel)
		}
		m := moduleOf(in.bin, fips.BackendGoFIPS140)
		switch {
		case on && goBackendUsed == fips.BackendGoFIPS140 && m != nil && (m.Status == fips.StatusActive || (m.Status == fips.StatusInProcess && opts.Accept.InProcess) || (m.Status == fips.StatusHistorical && opts.Accept.Historical)):
			add(Compliant, fmt.Sprintf("Go FIPS 140-3 mode on (%s) with the %s %s (%s)", where, m.Name, m.Version, m.Status), nil)
		case on:
			ver := "the toolchain's in-tree module"
			if m != nil {
				ver = fmt.Sprintf("%s %s (%s)", m.Name, m.Version, m.Status)
			}
			add(Noncompliant, fmt.Sprintf("Go FIPS 140-3 mode on (%s) but with %s, not a validated module", where, ver),
				finding(IDProcGoUnvalidated, "", fmt.Sprintf("Go FIPS mode is on (%s) with %s, which is not validated", where, ver), "rebuild with GOFIPS140=v1.0.0"))
		case fromEnv && mode == "off":
			add(Noncompliant, "GODEBUG=fips140=off in its start environment turns Go's FIPS 140-3 mode off",
				finding(IDProcDisabledByEnv, "", "started with GODEBUG=fips140=off: Go's cryptographic module runs outside FIPS mode", "remove fips140=off from GODEBUG and restart the process"))
		case goBackendUsed == fips.BackendGoFIPS140:
			add(Noncompliant, "Go FIPS 140-3 mode is off ("+where+")", finding(IDProcBinary, "", "Go's FIPS 140-3 mode is off ("+where+")", "set GODEBUG=fips140=on or build with GOFIPS140=v1.0.0"))
		default:
			add(Noncompliant, "Go's standard crypto, FIPS mode off ("+where+")", finding(IDProcBinary, "", "the executable uses Go's standard crypto, which is not a validated module in FIPS mode", "rebuild with GOFIPS140=v1.0.0"))
		}
	}
	if goBackendUsed == fips.BackendGoBoringCrypto {
		switch in.bin.Verdict {
		case fips.Compliant:
			add(Compliant, firstReason(in.bin.Reasons), nil)
		case fips.Noncompliant, fips.Conditional:
			add(Noncompliant, firstReason(in.bin.Reasons), finding(IDProcBinary, "", firstReason(in.bin.Reasons), "rebuild with GOFIPS140=v1.0.0"))
		default:
			add(Undetermined, fmt.Sprintf("BoringCrypto build not settled (fips scan verdict %s): %s", in.bin.Verdict, firstReason(in.bin.Reasons)), nil)
		}
	}
	opensslOff := false
	if goBackendUsed == fips.BackendGoOpenSSL {
		ms := isMicrosoftGo(g)
		requested, why := kernelOn, "the kernel flag is 1"
		for _, name := range []string{"GOLANG_FIPS", "GOFIPS"} {
			v, ok := in.env[name]
			if !ok || (name == "GOFIPS" && !ms) {
				continue
			}
			switch {
			case v == "1":
				requested, why = true, name+"=1"
			case !ms && v == "0", ms && g != nil && fips.GoMinor(g.Release) < 27:
				opensslOff = true
				add(Noncompliant, fmt.Sprintf("%s=%s in its start environment turns FIPS mode off", name, v),
					finding(IDProcDisabledByEnv, "", fmt.Sprintf("started with %s=%s: Go's OpenSSL backend runs outside FIPS mode", name, v), "remove "+name+" from the environment and restart"))
			}
		}
		if mode, ok := godebugFIPS(in.env["GODEBUG"]); ok && ms {
			switch mode {
			case "on", "only", "debug":
				requested, why = true, "GODEBUG=fips140="+mode
			case "off":
				opensslOff = true
				add(Noncompliant, "GODEBUG=fips140=off turns Microsoft Go's FIPS mode off", finding(IDProcDisabledByEnv, "", "started with GODEBUG=fips140=off", "remove fips140=off from GODEBUG and restart"))
			}
		}
		if !requested && !opensslOff {
			opensslOff = true
			add(Noncompliant, "Go calls OpenSSL, but FIPS mode is not requested (the kernel flag as seen is "+in.kernel+", no GOLANG_FIPS=1): it runs outside FIPS mode",
				finding(IDProcBinary, "", "a Go program with the OpenSSL backend on a host (or container) not in FIPS mode runs outside FIPS mode", "run it on a FIPS host, or set GOLANG_FIPS=1 with a FIPS provider configured"))
		} else if requested {
			_ = why
		}
	}

	// OpenSSL: what the maps show.
	usesOpenSSL := has("libcrypto") || slices.Contains(in.bin.Crypto, fips.BackendOpenSSL) || goBackendUsed == fips.BackendGoOpenSSL
	if usesOpenSSL && !opensslOff {
		if goBackendUsed != fips.BackendGoOpenSSL {
			addCrypto(fips.BackendOpenSSL)
		}
		js = append(js, in.judgeOpenSSL(opts, &modules)...)
	}
	if has("legacy-provider") {
		add(Compliant, "OpenSSL's legacy provider is loaded: non-approved algorithms (MD4, RC4, DES) are available",
			finding(IDProcLegacyProvider, report.Warning, "OpenSSL's legacy provider (ossl-modules/legacy.so) is loaded", "remove the legacy provider from the process's OpenSSL configuration"))
	}
	for _, v := range []string{"OPENSSL_CONF", "OPENSSL_MODULES"} {
		if val, ok := in.env[v]; ok && usesOpenSSL && !slices.Contains(distroOpenSSLPaths, path.Clean(val)) {
			add(Compliant, fmt.Sprintf("%s=%s in its start environment: OpenSSL takes its configuration from there", v, val),
				finding(IDProcConfigOverride, report.Warning, fmt.Sprintf("started with %s=%s: what OpenSSL loads is decided there", v, val), "check that the file activates the validated FIPS provider"))
		}
	}
	// Other libraries with their own FIPS mode.
	for _, lib := range []struct{ role, backend, name, integrity, force string }{
		{"gnutls", fips.BackendGnuTLS, "GnuTLS", ".libgnutls.so.30.hmac", "GNUTLS_FORCE_FIPS_MODE"},
		{"nss-softokn", fips.BackendNSS, "NSS", "libsoftokn3.chk", "NSS_FIPS"},
		{"libgcrypt", fips.BackendLibgcrypt, "libgcrypt", ".libgcrypt.so.20.hmac", "LIBGCRYPT_FORCE_FIPS_MODE"},
	} {
		var m *Mapped
		for i := range in.mapped {
			if in.mapped[i].Role == lib.role {
				m = &in.mapped[i]
				break
			}
		}
		if m == nil && !slices.Contains(in.bin.Crypto, lib.backend) {
			continue
		}
		addCrypto(lib.backend)
		// Two facts, as in the host posture: the mode (a FIPS build
		// carries its integrity file; the kernel flag or the library's
		// own switch turns it on) and the validation, which only the
		// module table fips scan uses says.
		fipsBuild := false
		var table fips.Result
		if m != nil {
			fipsBuild = in.rt.exists(path.Join(path.Dir(m.Path), lib.integrity))
			if lib.role == "libgcrypt" && !fipsBuild {
				// libgcrypt 1.10+ on RHEL 9 keeps the HMAC in a section.
				if f := in.rt.facts(m.Path); f != nil && f.HMACSection {
					fipsBuild = true
				}
			}
			table = in.rt.classify(m.Path)
		}
		judged, validated, why := tableJudgement(table, lib.backend)
		on := kernelOn || in.env[lib.force] == "1"
		if lib.role == "libgcrypt" && in.rt.exists("/etc/gcrypt/fips_enabled") {
			on = true
		}
		switch {
		case !fipsBuild:
			add(Noncompliant, lib.name+" is loaded and is not a FIPS build (no "+lib.integrity+" beside it)",
				finding(IDProcBinary, "", lib.name+" is loaded and is not a FIPS build of a validated module", "use the distribution's FIPS build of "+lib.name+" or a validated module"))
		case judged && !validated:
			add(Noncompliant, lib.name+" is loaded and is not a validated module: "+why,
				finding(IDProcBinary, "", lib.name+" is loaded and is not a validated module ("+why+")", "use the vendor's validated build of "+lib.name+" or a validated module"))
		case !on:
			add(Noncompliant, lib.name+" has its FIPS integrity file but is not in FIPS mode (kernel flag "+in.kernel+", no "+lib.force+"=1)",
				finding(IDProcBinary, "", lib.name+" is loaded outside FIPS mode", "run the host in FIPS mode"))
		case !judged:
			add(Undetermined, lib.name+" has its FIPS integrity file and is in FIPS mode, but kensa could not classify the library loaded, so whether it is a validated module is not settled", nil)
		default:
			add(Compliant, lib.name+" is a validated module in FIPS mode ("+why+")", nil)
		}
	}
	// Backends the executable carries that nothing above judged (embedded
	// OpenSSL, BoringSSL/AWS-LC, wolfSSL, Rust crates …): the binary's
	// own verdict, with the host's switch for a conditional one.
	judged := []string{fips.BackendGoStd, fips.BackendGoFIPS140, fips.BackendGoBoringCrypto, fips.BackendGoOpenSSL,
		fips.BackendOpenSSL, fips.BackendGnuTLS, fips.BackendNSS, fips.BackendLibgcrypt}
	if slices.ContainsFunc(in.bin.Crypto, func(b string) bool { return !slices.Contains(judged, b) }) {
		reason := firstReason(in.bin.Reasons)
		switch in.bin.Verdict {
		case fips.Noncompliant:
			add(Noncompliant, reason, finding(IDProcBinary, "", reason, "rebuild against a validated module"))
		case fips.Conditional:
			if kernelOn {
				add(Compliant, reason, nil)
			} else {
				add(Noncompliant, reason+" (the kernel flag as seen is "+in.kernel+")", finding(IDProcBinary, "", reason, "run the host in FIPS mode"))
			}
		case fips.Compliant:
			add(Compliant, reason, nil)
		case fips.NotApplicable:
		default:
			// A verdict fips scan could not settle (unknown, unreadable).
			add(Undetermined, fmt.Sprintf("the executable's crypto could not be settled (fips scan verdict %s): %s", in.bin.Verdict, reason), nil)
		}
	}
	for _, m := range in.mapped {
		switch m.Role {
		case "wolfssl", "mbedtls":
			addCrypto(m.Role)
			add(Noncompliant, path.Base(m.Path)+" is loaded: an embedded library kensa does not know as validated", finding(IDProcBinary, "", path.Base(m.Path)+" is loaded", "use a validated module"))
		}
	}

	if len(js) == 0 {
		return NotApplicable, []string{"no crypto in the executable and none loaded"}, crypto, modules, nil
	}
	worst := NotApplicable
	for _, j := range js {
		if j.verdict.Rank() > worst.Rank() {
			worst = j.verdict
		}
	}
	var reasons []string
	var finds []procFinding
	// The decisive reasons first.
	for _, want := range []Verdict{worst, Noncompliant, Undetermined, Compliant} {
		for _, j := range js {
			if j.verdict == want && j.reason != "" && !slices.Contains(reasons, j.reason) {
				reasons = append(reasons, j.reason)
			}
		}
	}
	for _, j := range js {
		if j.find != nil {
			f := *j.find
			if f.sev == "" {
				f.sev = report.Error
				if j.verdict == Undetermined {
					f.sev = report.Warning
				}
			}
			finds = append(finds, f)
		}
	}
	slices.Sort(crypto)
	return worst, reasons, crypto, modules, finds
}

// judgeOpenSSL judges a process that uses OpenSSL from its maps.
func (in procInput) judgeOpenSSL(opts fips.Options, modules *[]Module) []judgement {
	var prov *Mapped
	var lib string
	for i, m := range in.mapped {
		switch m.Role {
		case "fips-provider", "symcrypt-provider":
			if f := in.rt.facts(m.Path); f != nil && f.Kind != fips.KindNotELF && f.Kind != fips.KindUnreadable && !f.ProviderInit {
				continue // an ELF file named fips.so that is no OpenSSL provider
			}
			if prov == nil {
				prov = &in.mapped[i]
			}
		case "libcrypto":
			if lib == "" {
				lib = m.Path
			}
		}
	}
	if prov != nil {
		f := in.rt.facts(prov.Path)
		name := prov.Role
		ver := ""
		if f != nil && f.ProviderName != "" {
			name = f.ProviderName
		}
		if f != nil && f.OpenSSLVersion != "" {
			if fl := strings.Fields(f.OpenSSLVersion); len(fl) > 1 {
				ver = fl[1]
			}
		}
		prov.Module = strings.TrimSpace(name + " " + ver)
		r := in.rt.classify(prov.Path)
		status := fips.StatusUnknown
		for _, m := range r.Modules {
			status = m.Status
			mm := m
			mm.Path = prov.Path
			*modules = append(*modules, mm)
			break
		}
		if len(r.Modules) == 0 {
			*modules = append(*modules, Module{Backend: fips.BackendOpenSSL, Name: name, Version: ver, Status: status, Path: prov.Path})
		}
		switch {
		// The module table's verdict, as fips scan gives it for the
		// provider file (an in-process module without --accept is not
		// validated either).
		case strings.Contains(name, "non-compliant") || r.Verdict == fips.Noncompliant || status == fips.StatusNotValidated || (status == fips.StatusHistorical && !opts.Accept.Historical):
			return []judgement{{Noncompliant, fmt.Sprintf("the FIPS provider loaded (%s, %s) is not a validated build (%s)", prov.Module, prov.Path, status),
				finding(IDProcBinary, "", "the OpenSSL FIPS provider loaded is not a validated build: "+prov.Module, "install the vendor's validated FIPS provider")}}
		case prov.Deleted:
			return []judgement{{Compliant, fmt.Sprintf("the FIPS provider %s is loaded from %s, which was since deleted or replaced", prov.Module, prov.Path), nil}}
		}
		return []judgement{{Compliant, fmt.Sprintf("the FIPS provider is loaded: %s (%s; module table status %s); maps cannot show whether the default provider is also used", prov.Module, prov.Path, status), nil}}
	}
	// No provider mapped: would one be loaded at OpenSSL's first use?
	libName := cmp.Or(lib, "libcrypto")
	how, will := in.rt.opensslWillLoadFIPS(lib, in.env, in.kernel)
	if will {
		return []judgement{{Undetermined, fmt.Sprintf("%s is loaded and %s, but no FIPS provider is mapped yet: OpenSSL loads providers at its first use, so the maps cannot prove which provider it uses", libName, how),
			finding(IDProcProviderNotLoaded, report.Warning, libName+" is loaded, configured to load the FIPS provider ("+how+"), but none is mapped yet", "check again after the program has used TLS or crypto; if it stays so, check its OpenSSL configuration")}}
	}
	return []judgement{{Noncompliant, fmt.Sprintf("%s is loaded and no FIPS provider is, nor would be: %s", libName, how),
		finding(IDProcProviderNotLoaded, "", libName+" is loaded without a FIPS provider: "+how, "activate the FIPS provider in the OpenSSL configuration the process reads, or run the host in FIPS mode with a distribution OpenSSL that follows the kernel flag")}}
}
