package fips

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
)

// Finding IDs of fips scan. They are stable: pipelines key on them.
const (
	// FindingNoncompliant: the file uses a crypto module that is not
	// validated (or not validated any more) at the evaluation time.
	FindingNoncompliant = "fips-noncompliant"
	// FindingConditional: compliant only when the host runs in FIPS mode.
	FindingConditional = "fips-conditional"
	// FindingUnreadable: the file or directory could not be read, so its
	// crypto is unknown. It is an error: in a compliance gate what cannot
	// be inspected (a packed, truncated or unreadable binary) must never
	// pass for compliant.
	FindingUnreadable = "unreadable"
)

// Findings returns the findings of one result: one per noncompliant or
// conditional file, one per unreadable file.
func Findings(r Result) []report.Finding {
	switch {
	case r.Kind == KindUnreadable:
		return []report.Finding{{
			ID: FindingUnreadable, Severity: report.Error, Subject: r.Path, Path: r.Path,
			Message:     firstOr(r.Reasons, "unreadable") + ": its crypto cannot be checked",
			Remediation: "check the file's permissions (run as a user that can read it), whether it is truncated, or unpack it (upx -d) and scan the result",
		}}
	case r.Verdict == Noncompliant:
		return []report.Finding{{
			ID: FindingNoncompliant, Severity: report.Error, Subject: r.Path, Path: r.Path,
			Message:     fmt.Sprintf("%s (%s): %s", r.Path, strings.Join(r.Crypto, ", "), firstOr(r.Reasons, "")),
			Citation:    citation(r),
			Remediation: remediation(r),
		}}
	case r.Verdict == Conditional:
		return []report.Finding{{
			ID: FindingConditional, Severity: report.Warning, Subject: r.Path, Path: r.Path,
			Message:     fmt.Sprintf("%s (%s): %s", r.Path, strings.Join(r.Crypto, ", "), firstOr(r.Reasons, "")),
			Citation:    citation(r),
			Remediation: "run the host in FIPS mode (kernel fips=1) and check that the module build is the validated one",
		}}
	}
	return nil
}

// UnreadableFinding is the finding of a directory or file a walk could
// not read.
func UnreadableFinding(e WalkError) report.Finding {
	return report.Finding{ID: FindingUnreadable, Severity: report.Error, Subject: e.Path, Path: e.Path,
		Message: fmt.Sprintf("%s could not be read: %v", e.Path, e.cause()), Remediation: "run kensa as a user that can read it"}
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func citation(r Result) string {
	for _, m := range r.Modules {
		if m.Certificate != "" {
			return fmt.Sprintf("kensa modules.json: %s %s, %s certificate #%s (as of %s)", m.Name, m.Version, m.Standard, m.Certificate, m.AsOf)
		}
	}
	return "FIPS 140-3: cryptography must come from a validated module (CMVP), used in its approved mode"
}

// remediation suggests the fix for the worst backend of a noncompliant
// result.
func remediation(r Result) string {
	has := func(b string) bool { return slices.Contains(r.Crypto, b) }
	switch {
	case has(BackendGoBoringCrypto):
		return "rebuild with Go 1.24 or later and GOFIPS140=v1.0.0 (Go Cryptographic Module, certificate 5247), or with a Go release whose BoringCrypto is fips-20220613"
	case has(BackendGoStd), has(BackendGoFIPS140):
		return "rebuild with GOFIPS140=v1.0.0 (Go 1.24 or later) to use the validated Go Cryptographic Module"
	case has(BackendOpenSSLStatic), has(BackendBoringSSL), has(BackendWolfSSL), has(BackendMbedTLS):
		return "link the system's OpenSSL dynamically and use a validated FIPS provider instead of an embedded copy"
	case has(BackendOpenSSL), has(BackendGoOpenSSL):
		return "install the distribution's validated OpenSSL FIPS provider (ossl-modules/fips.so) and configure it (openssl fipsinstall, fipsmodule.cnf)"
	}
	return "use a FIPS-validated build of the library, with its integrity files, on a host in FIPS mode"
}
