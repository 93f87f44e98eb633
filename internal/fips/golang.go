package fips

import (
	"fmt"
	"strings"
)

// goBackend decides which crypto a Go binary uses, or "" for none. The
// order matters: an OpenSSL-backed toolchain (golang-fips, Microsoft Go)
// also links crypto/internal/boring/sig.BoringCrypto and may record
// GOFIPS140=latest, so it is recognised first.
func goBackend(g *GoFacts) string {
	if !g.HasCrypto && !g.NoFuncTable {
		return ""
	}
	if usesGoOpenSSL(g) {
		return BackendGoOpenSSL
	}
	if boringLinked(g) {
		return BackendGoBoringCrypto
	}
	if m := fipsMode(g); m != "" && m != "off" || len(g.FIPSModules) > 0 || (g.GOFIPS140 != "" && g.GOFIPS140 != "off") {
		return BackendGoFIPS140
	}
	if g.NoFuncTable {
		return ""
	}
	return BackendGoStd
}

// boringAsked reports whether the build asked for GOEXPERIMENT=boringcrypto.
func boringAsked(g *GoFacts) bool {
	return g.HasExperiment("boringcrypto") || g.HasTag("goexperiment.boringcrypto")
}

// boringLinked reports whether Google's BoringCrypto is linked in: its
// cgo calls (_Cfunc__goboringcrypto_…) are in the function table. Asking
// for the experiment is not enough: crypto/internal/boring needs cgo (and
// linux/amd64 or arm64), and without it the binary uses Go's own crypto.
// Without a readable function table, CGO_ENABLED=1 with the experiment
// is taken as linked.
func boringLinked(g *GoFacts) bool {
	if g.BoringCgo {
		return true
	}
	return g.NoFuncTable && g.CGO && boringAsked(g)
}

func usesGoOpenSSL(g *GoFacts) bool {
	if g.HasTag("no_openssl") || g.HasExperiment("nosystemcrypto") {
		return false
	}
	if g.GolangFIPSOpenSSL || g.MicrosoftOpenSSL {
		return true
	}
	for _, x := range []string{"systemcrypto", "opensslcrypto", "ms_nocgo_opensslcrypto"} {
		if g.HasExperiment(x) {
			return true
		}
	}
	if v, _ := g.Setting("microsoft_systemcrypto"); v == "1" {
		return true
	}
	return false
}

// fipsMode returns the fips140 value compiled into DefaultGODEBUG ("on",
// "only", "debug", "auto", "off") or "".
func fipsMode(g *GoFacts) string {
	for kv := range strings.SplitSeq(g.DefaultGODEBUG, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "fips140="); ok {
			return v
		}
	}
	return ""
}

// goHit evaluates the Go crypto of a Go binary.
func (c *Classifier) goHit(name string, f *Facts) (*hit, []string) {
	g := f.Go
	var notes []string
	if g.NoFuncTable {
		notes = append(notes, "the Go function table could not be read; the verdict rests on the build settings")
	}
	switch goBackend(g) {
	case "":
		return nil, notes
	case BackendGoStd:
		reason := "Go standard library crypto: not a validated module (built without GOFIPS140)"
		if g.HasTag("no_openssl") {
			reason = "Go standard library crypto (-tags no_openssl turned the OpenSSL backend off): not a validated module"
		}
		if boringAsked(g) {
			reason = "Go standard library crypto: built with GOEXPERIMENT=boringcrypto, but BoringCrypto is not linked in (it needs cgo and linux/amd64 or arm64): not a validated module"
		}
		return &hit{backend: BackendGoStd, verdict: Noncompliant, reasons: []string{reason},
			module: Module{Backend: BackendGoStd, Name: "Go standard library crypto", Version: g.Release, Status: StatusNotValidated}}, notes
	case BackendGoFIPS140:
		h := c.goFIPS140Hit(g)
		return &h, notes
	case BackendGoBoringCrypto:
		h := c.goBoringHit(g)
		return &h, notes
	case BackendGoOpenSSL:
		h := c.goOpenSSLHit(name, f)
		return &h, notes
	}
	return nil, notes
}

func (c *Classifier) goFIPS140Hit(g *GoFacts) hit {
	mode := fipsMode(g)
	v := g.GOFIPS140
	if (v == "" || v == "latest") && len(g.FIPSModules) > 0 {
		v = g.FIPSModules[0]
	}
	h := hit{backend: BackendGoFIPS140}
	if v == "" || v == "latest" || v == "off" {
		what := "GOFIPS140=latest"
		if g.GOFIPS140 == "" {
			what = "DefaultGODEBUG=fips140=" + mode + " without GOFIPS140"
		}
		return noncompliant(BackendGoFIPS140, "Go Cryptographic Module", "in-tree ("+g.Release+")", StatusNotValidated,
			fmt.Sprintf("FIPS 140-3 mode on, but the module is the toolchain's in-tree code (%s), not a validated snapshot", what))
	}
	row := lookupModule(BackendGoFIPS140, v)
	if row == nil {
		return noncompliant(BackendGoFIPS140, "Go Cryptographic Module", v, StatusUnknown,
			fmt.Sprintf("Go Cryptographic Module %s is not in kensa's module table: no known validation", v))
	}
	h.module, h.verdict, h.reasons = c.evalRow(row, v)
	switch mode {
	case "off":
		h.verdict = Noncompliant
		h.reasons = append([]string{"built with the validated module but DefaultGODEBUG=fips140=off: FIPS mode is off"}, h.reasons...)
	case "auto":
		if h.verdict == Compliant {
			h.verdict = Conditional
		}
		h.reasons = append(h.reasons, "fips140=auto: FIPS mode turns on only on a host running in FIPS mode")
	case "only":
		h.reasons = append(h.reasons, "fips140=only is documented upstream as not intended for production")
	}
	if h.verdict == Compliant {
		h.reasons = append(h.reasons, "a runtime GODEBUG=fips140=off would turn FIPS mode off: check the environment")
	}
	return h
}

// noncompliant is the hit of a module kensa cannot accept.
func noncompliant(backend, name, version, status string, reasons ...string) hit {
	return hit{backend: backend, verdict: Noncompliant, reasons: reasons,
		module: Module{Backend: backend, Name: name, Version: version, Status: status}}
}

// evalRow turns a module-table row into a module, verdict and reason at
// the evaluation time, under the accept policy.
func (c *Classifier) evalRow(row *ModuleRow, version string) (Module, Verdict, []string) {
	m := Module{Backend: row.Backend, Name: row.Name, Version: version, Standard: row.Standard, Certificate: row.Certificate, AsOf: row.AsOf}
	ev := row.statusAt(c.opts.At)
	at := c.opts.At.Format("2006-01-02")
	cert := ""
	if row.Certificate != "" {
		cert = fmt.Sprintf(" (%s certificate #%s)", row.Standard, row.Certificate)
	}
	label := fmt.Sprintf("%s %s%s", row.Name, version, cert)
	if ev == nil {
		m.Status = StatusNotValidated
		return m, Noncompliant, []string{fmt.Sprintf("%s: not yet validated on %s", label, at)}
	}
	m.Status = ev.Status
	switch ev.Status {
	case StatusActive:
		return m, Compliant, []string{fmt.Sprintf("%s: validated, active on %s", label, at)}
	case StatusInProcess:
		if c.opts.Accept.InProcess {
			return m, Compliant, []string{fmt.Sprintf("%s: on the CMVP Modules In Process list on %s, accepted by --accept in-process", label, at)}
		}
		return m, Noncompliant, []string{fmt.Sprintf("%s: only on the CMVP Modules In Process list on %s, not yet validated (--accept in-process allows it)", label, at)}
	case StatusHistorical:
		if c.opts.Accept.Historical {
			return m, Compliant, []string{fmt.Sprintf("%s: on the CMVP Historical list since %s, accepted by --accept historical", label, ev.From)}
		}
		return m, Noncompliant, []string{fmt.Sprintf("%s: on the CMVP Historical list since %s (%s; --accept historical allows it)", label, ev.From, ev.Note)}
	}
	return m, Noncompliant, []string{fmt.Sprintf("%s: status %s on %s", label, ev.Status, at)}
}

func (c *Classifier) goBoringHit(g *GoFacts) hit {
	h := hit{backend: BackendGoBoringCrypto}
	tag := boringTagFor(g.Release)
	var notes []string
	if g.Vendor != "" {
		notes = append(notes, fmt.Sprintf("vendor toolchain %q: the BoringCrypto module is assumed to be upstream %s's", g.Version, g.Release))
	}
	if tag == "" {
		return noncompliant(BackendGoBoringCrypto, "BoringCrypto", "", StatusUnknown,
			append([]string{fmt.Sprintf("cannot tell which BoringCrypto module toolchain %q embeds", g.Version)}, notes...)...)
	}
	row := lookupModule(BackendGoBoringCrypto, tag)
	if row == nil {
		return noncompliant(BackendGoBoringCrypto, "BoringCrypto", tag, StatusUnknown, fmt.Sprintf("BoringCrypto %s is not in kensa's module table", tag))
	}
	h.module, h.verdict, h.reasons = c.evalRow(row, tag)
	h.reasons[0] = fmt.Sprintf("%s builds in %s", g.Release, h.reasons[0])
	h.reasons = append(h.reasons, notes...)
	if h.verdict == Compliant {
		h.reasons = append(h.reasons, "GOEXPERIMENT=boringcrypto is not supported by the Go project and is to be removed; move to GOFIPS140")
		if !g.FIPSOnly {
			h.reasons = append(h.reasons, "crypto/tls/fipsonly is not linked: algorithms outside the module fall back to Go's own code")
		}
	}
	return h
}

// goOpenSSLHit evaluates a Go binary that calls OpenSSL through dlopen:
// the libcrypto the loader would find in the root decides.
func (c *Classifier) goOpenSSLHit(name string, f *Facts) hit {
	g := f.Go
	toolset := "golang-fips (Red Hat go-toolset)"
	if g.MicrosoftOpenSSL || g.HasExperiment("systemcrypto") || g.HasExperiment("opensslcrypto") {
		toolset = "Microsoft Go systemcrypto"
	} else if v, _ := g.Setting("microsoft_systemcrypto"); v == "1" {
		toolset = "Microsoft Go systemcrypto"
	}
	lib, lf, via := c.dlopenLibcrypto(name, f)
	var h hit
	if lib == "" {
		h = hit{verdict: Noncompliant, module: Module{Name: "OpenSSL", Status: StatusUnknown},
			reasons: []string{"Go calls OpenSSL via " + toolset + ", but no libcrypto it would load was found in the root filesystem"}}
	} else {
		h = c.opensslHit(lib, lf)
		h.reasons[0] = fmt.Sprintf("Go calls OpenSSL via %s: %s", toolset, h.reasons[0])
		h.via = via
	}
	h.backend, h.module.Backend = BackendGoOpenSSL, BackendGoOpenSSL
	if toolset != "Microsoft Go systemcrypto" && !g.HasExperiment("strictfipsruntime") && !g.HasTag("strictfipsruntime") {
		h.reasons = append(h.reasons, "built without strictfipsruntime: it may fall back to Go crypto silently when OpenSSL cannot be loaded")
	}
	if !g.HasTag("requirefips") && toolset == "Microsoft Go systemcrypto" {
		h.reasons = append(h.reasons, "without -tags requirefips, FIPS mode depends on GOFIPS/GODEBUG or the host's FIPS flag at run time")
	}
	return h
}
