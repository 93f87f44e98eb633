package fips

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/image"
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
	// FindingLibraryMissing: libraries the file needs are not in the
	// root filesystem, so the crypto they would bring was not checked. A
	// missing library of a known crypto family (libcrypto, libgnutls …)
	// makes the file noncompliant instead: that is certainly crypto.
	FindingLibraryMissing = "fips-library-missing"
	// FindingImageUnreadable: an image could not be scanned (network,
	// authentication, a missing platform, a corrupt or oversized blob).
	// The run then exits 2 whatever --fail-on says.
	FindingImageUnreadable = "image-unreadable"
	// FindingImageEntrySkipped: a layer entry kensa skipped or could not
	// examine (unsafe path, dangling hard link, file above the limit).
	FindingImageEntrySkipped = "image-entry-skipped"
)

// Checks is the catalog of fips scan's findings: every ID it emits, once.
var Checks = []report.Check{
	{ID: FindingNoncompliant, Severity: report.Error,
		Title:    "the file uses crypto that is not FIPS 140 validated as of --at",
		Citation: "FIPS 140-3; NIST CMVP validated modules list (kensa data modules.json, per row with its source and as-of date)",
		Help:     "The file's worst crypto module is not validated (or only historical, or in process) at the evaluation time. Rebuild or relink it against a validated module; the finding's remediation names how for its backend."},
	{ID: FindingConditional, Severity: report.Warning,
		Title:    "compliant only when the host runs in FIPS mode",
		Citation: "FIPS 140-3 approved mode of operation; the module's security policy",
		Help:     "The module is validated and present, but whether it runs in its approved mode is decided outside the file: the host's FIPS switch (kernel fips=1, the OpenSSL FIPS provider configured). Check the host with its FIPS mode on."},
	{ID: FindingUnreadable, Severity: report.Error,
		Title:    "the file or directory could not be read, so its crypto is unknown",
		Citation: "kensa: what cannot be inspected never passes for compliant",
		Help:     "A truncated, packed (UPX) or unreadable file, or a directory kensa may not list. Run as a user that can read it, or unpack it and scan the result."},
	{ID: FindingLibraryMissing, Severity: report.Warning,
		Title:    "needed libraries are missing from the root filesystem, so their crypto was not checked",
		Citation: "kensa: what cannot be inspected never passes for compliant; ld.so(8) search order",
		Help:     "The loader would not find these DT_NEEDED libraries inside --root (or the image). Scan with --root set to the filesystem the program runs in, or add the libraries; a missing library of a known crypto family is a fips-noncompliant error instead."},
	{ID: FindingImageUnreadable, Severity: report.Error,
		Title:    "the image could not be scanned",
		Citation: "kensa: a target that could not be scanned never passes",
		Help:     "The reference could not be pulled or read whole (network, credentials, a missing platform, a corrupt or oversized blob, a limit of docs/fips-images.md). kensa exits 2 after writing the report."},
	{ID: FindingImageEntrySkipped, Severity: report.Warning,
		Title:    "an image layer entry was skipped",
		Citation: "OCI image spec, layer changesets (what a runtime unpacks)",
		Help:     "An entry with an unsafe path, a dangling hard link or a size above kensa's limit was not examined. Rebuild the image with a standard tool (docker, buildah, ko)."},
}

// Severity is the severity of a finding about a file with verdict v: the
// one mapping of verdicts to severities, which --fail-on uses too.
func (v Verdict) Severity() report.Severity {
	switch v {
	case Noncompliant, Unreadable:
		return report.Error
	case Conditional, Unknown:
		return report.Warning
	}
	return ""
}

// FailOnVerdicts are the verdicts --fail-on takes besides severities,
// with the severity each stands for.
func FailOnVerdicts() map[string]report.Severity {
	return map[string]report.Severity{string(Noncompliant): Noncompliant.Severity(), string(Conditional): Conditional.Severity()}
}

// Findings returns the findings of one result: one per noncompliant or
// conditional file, one per unreadable file, and one for the libraries a
// file needs that are missing.
func Findings(r Result) []report.Finding {
	out := verdictFindings(r)
	if len(r.Missing) > 0 {
		out = append(out, report.Finding{
			ID: FindingLibraryMissing, Severity: report.Warning, Subject: r.Path,
			Message: fmt.Sprintf("%s needs %s, not in the root filesystem: %s crypto was not checked",
				r.Path, strings.Join(r.Missing, ", "), report.Plural(len(r.Missing), "its", "their")),
			Remediation: "scan with --root set to the filesystem the program runs in (or the image it ships in), where the loader finds these libraries",
		})
	}
	return out
}

func verdictFindings(r Result) []report.Finding {
	switch {
	case r.Kind == KindUnreadable:
		return []report.Finding{{
			ID: FindingUnreadable, Severity: report.Error, Subject: r.Path, Path: r.Path,
			Message:     firstOr(r.Reasons, "unreadable") + ": its crypto cannot be checked",
			Remediation: "check the file's permissions (run as a user that can read it), whether it is truncated, or unpack it (upx -d) and scan the result",
		}}
	case r.Verdict == Noncompliant:
		return []report.Finding{{
			ID: FindingNoncompliant, Severity: r.Verdict.Severity(), Subject: r.Path, Path: r.Path,
			Message:     fmt.Sprintf("%s (%s): %s", r.Path, strings.Join(r.Crypto, ", "), firstOr(r.Reasons, "")),
			Citation:    citation(r),
			Remediation: remediation(r),
		}}
	case r.Verdict == Conditional:
		return []report.Finding{{
			ID: FindingConditional, Severity: r.Verdict.Severity(), Subject: r.Path, Path: r.Path,
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

// ImageUnreadableFinding is the finding of an image reference that could
// not be scanned.
func ImageUnreadableFinding(ref image.Reference, err error) report.Finding {
	return report.Finding{
		ID: FindingImageUnreadable, Severity: report.Error, Subject: ref.String(),
		Message:     fmt.Sprintf("%s could not be scanned: %v", ref, err),
		Remediation: "check the reference, the network and the credentials (docker login, credential helpers), or --platform",
	}
}

// imageEntrySkipped is the finding of a layer entry kensa did not examine.
func imageEntrySkipped(imageName string, p image.Problem) report.Finding {
	msg := fmt.Sprintf("layer %d, %s: %s", p.Layer+1, p.Path, p.Reason)
	if p.Layer < 0 {
		msg = p.Reason // about the image, not one layer
	}
	return report.Finding{
		ID: FindingImageEntrySkipped, Severity: report.Warning, Subject: imageName + " " + p.Path, Message: msg,
		Path: p.Path, Image: imageName,
		Remediation: "rebuild the image with a standard tool (docker, buildah, ko); this entry is not what a runtime would unpack as is",
	}
}

// ImageSubject names a file of an image in findings:
// "registry:org/app:1.2 /usr/bin/app", with the platform when several
// were scanned.
func ImageSubject(ref, platform string, multi bool, p string) string {
	return ImageName(ref, platform, multi) + " " + p
}

// ImageName names an image in findings (Finding.Image): its reference,
// with the platform when several were scanned.
func ImageName(ref, platform string, multi bool) string {
	if multi {
		return fmt.Sprintf("%s [%s]", ref, platform)
	}
	return ref
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
	if r.envFix != "" {
		return r.envFix
	}
	has := func(b string) bool { return slices.Contains(r.Crypto, b) }
	switch {
	case has(BackendGoBoringCrypto):
		return "rebuild with Go 1.24 or later and GOFIPS140=v1.0.0 (Go Cryptographic Module, certificate 5247), or with a Go release whose BoringCrypto is fips-20220613"
	case has(BackendGoStd), has(BackendGoFIPS140):
		return "rebuild with GOFIPS140=v1.0.0 (Go 1.24 or later) to use the validated Go Cryptographic Module"
	case has(BackendAWSLC):
		return "build with a FIPS build of AWS-LC whose release a CMVP certificate covers (in Rust: aws-lc-rs with its fips feature, aws-lc-fips-sys)"
	case has(BackendBusyBoxTLS):
		return "fetch over TLS with a client that uses a validated module (curl or wget linked to the system's OpenSSL with its FIPS provider), not busybox's own TLS client (wget https://, ssl_client)"
	case has(BackendStrongSwan):
		return "load only strongSwan's openssl plugin (with a validated FIPS provider and plugins.openssl.fips_mode) for crypto, and none of its own crypto plugins (aes, sha1, sha2, md5, hmac, gmp …)"
	case has(BackendHaskellCrypton):
		return "Haskell's cryptonite/crypton are not validated: use bindings to the system's OpenSSL with a validated FIPS provider (HsOpenSSL), or terminate TLS outside the program"
	case has(BackendOpenSSLStatic), has(BackendBoringSSL), has(BackendWolfSSL), has(BackendMbedTLS):
		return "link the system's OpenSSL dynamically and use a validated FIPS provider instead of an embedded copy"
	case has(BackendOpenSSL), has(BackendGoOpenSSL):
		return "install the distribution's validated OpenSSL FIPS provider (ossl-modules/fips.so) and configure it (openssl fipsinstall, fipsmodule.cnf)"
	}
	return "use a FIPS-validated build of the library, with its integrity files, on a host in FIPS mode"
}

// SortResults orders results by image (files of paths first) and
// platform, then worst verdict first, then by path.
func SortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		return cmp.Or(cmp.Compare(a.Image, b.Image), cmp.Compare(a.Platform, b.Platform),
			cmp.Compare(b.Verdict.Rank(), a.Verdict.Rank()), cmp.Compare(a.Path, b.Path))
	})
}

// Summary is the "summary" of a fips scan report.
type Summary struct {
	// Files counts the files examined (walked, or in the images'
	// filesystems), Results the results listed.
	Files    int64          `json:"files_examined"`
	Results  int            `json:"results"`
	Verdicts map[string]int `json:"verdicts"`
	Backends map[string]int `json:"backends"`
	// Unreadable counts unreadable files and directories (the
	// "unreadable" findings).
	Unreadable int `json:"unreadable"`
	// Images counts the images (one per platform) scanned, ImagesFailed
	// the references that could not be.
	Images       int `json:"images,omitempty"`
	ImagesFailed int `json:"images_failed,omitempty"`
}

// Examined is what a scan read that its results do not show.
type Examined struct {
	Files  int64 // files examined
	Images int   // images (platforms) scanned
}

// Summarize counts a scan's results and findings.
func Summarize(results []Result, findings []report.Finding, ex Examined) Summary {
	s := Summary{Files: ex.Files, Images: ex.Images, Results: len(results), Verdicts: map[string]int{}, Backends: map[string]int{}}
	for _, r := range results {
		s.Verdicts[string(r.Verdict)]++
		for _, b := range r.Crypto {
			s.Backends[b]++
		}
	}
	for _, f := range findings {
		switch f.ID {
		case FindingUnreadable:
			s.Unreadable++
		case FindingImageUnreadable:
			s.ImagesFailed++
		}
	}
	return s
}

// Add adds o's counts to s (merging the reports of shards or nodes).
func (s *Summary) Add(o Summary) {
	s.Files += o.Files
	s.Results += o.Results
	s.Unreadable += o.Unreadable
	s.Images += o.Images
	s.ImagesFailed += o.ImagesFailed
	s.Verdicts = report.AddCounts(s.Verdicts, o.Verdicts)
	s.Backends = report.AddCounts(s.Backends, o.Backends)
}

// WithoutCrypto reports whether r has nothing to say: no crypto found and
// nothing left unchecked (no missing library, no unreadable function
// table, no note). The text view counts such files instead of listing
// them; the JSON report lists every result.
func (r Result) WithoutCrypto() bool {
	return r.Verdict == NotApplicable && r.Kind != KindUnreadable && len(r.Reasons) == 1 &&
		!strings.HasPrefix(r.Reasons[0], "no crypto found")
}
