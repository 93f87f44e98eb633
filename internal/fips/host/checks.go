package host

import "github.com/kensa-project/kensa/internal/report"

// Finding ids of fips host. They are stable: pipelines key on them.
const (
	IDKernelUnsupported    = "kernel-fips-unsupported"
	IDKernelDisabled       = "kernel-fips-disabled"
	IDCmdlineInconsistent  = "cmdline-fips-inconsistent"
	IDBootPartitionMissing = "fips-boot-partition-missing"
	IDPolicyNotFIPS        = "crypto-policy-not-fips"
	IDPolicySubpolicy      = "crypto-policy-subpolicy"
	IDPolicyStale          = "crypto-policy-stale"
	IDProviderMissing      = "fips-provider-missing"
	IDProviderNotActivated = "fips-provider-not-activated"
	IDProviderNoncompliant = "fips-provider-noncompliant"
	IDModuleCnfMismatch    = "fipsmodule-cnf-mismatch"
	IDLibraryFIPSOff       = "crypto-library-fips-off"
	IDLibraryNoncompliant  = "crypto-library-noncompliant"
	IDLegacyMarker         = "legacy-fips-marker"

	IDProcProviderNotLoaded = "process-fips-provider-not-loaded"
	IDProcLegacyProvider    = "process-legacy-provider-loaded"
	IDProcDisabledByEnv     = "process-fips-disabled-by-env"
	IDProcConfigOverride    = "process-fips-config-override"
	IDProcGoUnvalidated     = "process-go-unvalidated-module"
	IDProcMasked            = "process-fips-masked"
	IDProcBinary            = "process-binary-noncompliant"
	IDProcExeReplaced       = "process-exe-replaced"
	IDProcUnreadable        = "process-unreadable"
)

const (
	citeCaCFIPS   = "ComplianceAsCode enable_fips_mode / sysctl_crypto_fips_enabled (RHEL-09-671010, RHEL-10-000500)"
	citeCaCPolicy = "ComplianceAsCode configure_crypto_policy (RHEL-09-215105, RHEL-10-300010)"
	citeSubpolicy = "ComplianceAsCode fips_crypto_subpolicy"
	citeOpenSSL   = "OpenSSL fips_module(7): making applications use the FIPS module"
	citeFIPS140   = "FIPS 140-3: cryptography must come from a validated module (CMVP), used in its approved mode"
)

// Checks is the catalog of every finding id fips host emits.
var Checks = []report.Check{
	{ID: IDKernelUnsupported, Severity: report.Error, Title: "kernel cannot run in FIPS mode",
		Citation: citeCaCFIPS,
		Help:     "/proc/sys/crypto/fips_enabled does not exist: the kernel was built without CONFIG_CRYPTO_FIPS. Boot a kernel of a FIPS-capable distribution (RHEL, Ubuntu Pro FIPS, Azure Linux, an AKS FIPS node image) with fips=1."},
	{ID: IDKernelDisabled, Severity: report.Error, Title: "kernel is not in FIPS mode",
		Citation: citeCaCFIPS,
		Help:     "/proc/sys/crypto/fips_enabled is 0. Every user-space switch (Red Hat's OpenSSL, golang-fips, Microsoft Go, libgcrypt, GnuTLS) keys off it. Install or reinstall with fips=1 on the kernel command line (RHEL 9/10 support FIPS only from install time; AKS: --enable-fips-image)."},
	{ID: IDCmdlineInconsistent, Severity: report.Warning, Title: "kernel command line and FIPS state disagree",
		Citation: "ComplianceAsCode enable_fips_mode (fips=1 in every /boot/loader/entries/*.conf)",
		Help:     "fips=1 is missing from the running command line or from a boot entry, so the next boot (or the next kernel update) can come up without FIPS. Add fips=1 to every entry (grubby --update-kernel=ALL --args=fips=1) and check /proc/cmdline after a reboot."},
	{ID: IDBootPartitionMissing, Severity: report.Warning, Title: "fips=1 without boot= on a host with a separate /boot",
		Citation: "dracut modules.d/01fips/fips.sh: \"You have to specify boot=<boot device> as a boot option for fips=1\"",
		Help:     "The legacy dracut fips module verifies the kernel's HMAC from /boot; with /boot on its own partition it needs boot=UUID=… on the command line, or the boot fails the integrity check."},
	{ID: IDPolicyNotFIPS, Severity: report.Error, Title: "system crypto policy is not FIPS",
		Citation: citeCaCPolicy,
		Help:     "On the RHEL family the crypto policy decides what OpenSSL, GnuTLS, NSS, OpenSSH and Kerberos allow. In FIPS mode it must be FIPS (or FIPS:<allowed subpolicy>): update-crypto-policies --set FIPS."},
	{ID: IDPolicySubpolicy, Severity: report.Warning, Title: "FIPS crypto policy with a subpolicy outside the allowed set",
		Citation: citeSubpolicy,
		Help:     "Allowed FIPS subpolicies are OSPP, NO-SHA1, NO-CAMELLIA, ECDHE-ONLY and STIG; others (AD-SUPPORT, NO-ENFORCE-EMS…) re-enable algorithms outside the FIPS boundary."},
	{ID: IDPolicyStale, Severity: report.Warning, Title: "crypto policy config was changed but not applied",
		Citation: citeCaCPolicy + ": state/current must match config and not be older",
		Help:     "/etc/crypto-policies/config differs from, or is newer than, state/current: update-crypto-policies was not run, so the back-ends still use the old policy. Run update-crypto-policies --set <policy>."},
	{ID: IDProviderMissing, Severity: report.Error, Title: "FIPS host without an OpenSSL FIPS provider",
		Citation: citeOpenSSL,
		Help:     "The kernel is in FIPS mode and OpenSSL 3 is installed, but no FIPS provider (ossl-modules/fips.so, or symcryptprovider.so on Azure Linux) is there: OpenSSL either fails at first use (distributions that force FIPS) or silently uses its default, unvalidated provider. Install the distribution's FIPS provider package (RHEL openssl-fips-provider, Ubuntu Pro openssl-fips-module-3, Azure Linux SymCrypt-OpenSSL)."},
	{ID: IDProviderNotActivated, Severity: report.Error, Title: "OpenSSL FIPS provider present but not activated",
		Citation: citeOpenSSL,
		Help:     "This OpenSSL does not load the FIPS provider by itself on a FIPS kernel, and its openssl.cnf does not activate it: programs use the default provider. Include fipsmodule.cnf and activate fips (and base) in openssl.cnf, with default_properties = fips=yes."},
	{ID: IDProviderNoncompliant, Severity: report.Error, Title: "OpenSSL FIPS provider is not a validated build",
		Citation: "kensa modules.json (the fips scan module table)",
		Help:     "The provider file names itself non-compliant, or its version has no valid certificate at the evaluation time. Install the vendor's validated provider package."},
	{ID: IDModuleCnfMismatch, Severity: report.Error, Title: "fipsmodule.cnf does not match the FIPS provider",
		Citation: "OpenSSL fips_config(5): module-mac is checked each time the module loads",
		Help:     "The module-mac in fipsmodule.cnf is not the HMAC-SHA256 of the provider file, so OpenSSL refuses to load the provider (its self-test fails). Regenerate it with openssl fipsinstall -module <fips.so> -out <fipsmodule.cnf>, or reinstall the provider package."},
	{ID: IDLibraryFIPSOff, Severity: report.Warning, Title: "a crypto library's FIPS switch disagrees with the kernel",
		Citation: citeFIPS140,
		Help:     "GnuTLS, NSS or libgcrypt has its own FIPS switch (/etc/gcrypt/fips_enabled, NSS pkcs11.txt, the kernel flag). It is off, or on while the kernel is not, so programs using that library are not in their approved mode."},
	{ID: IDLibraryNoncompliant, Severity: report.Error, Title: "a crypto library in FIPS mode is not a validated build",
		Citation: "kensa modules.json (the fips scan module table)",
		Help:     "GnuTLS, NSS or libgcrypt runs in FIPS mode on this host (its integrity file is present and the kernel is in FIPS mode), but the module table fips scan uses has no valid CMVP certificate for this build, so fips scan calls it noncompliant too. An integrity file lets a build run its FIPS self-test; it does not make the build validated (Debian ships them with builds that are not). Install the vendor's validated build, or move the programs that use it to a validated module."},
	{ID: IDLegacyMarker, Severity: report.Info, Title: "legacy FIPS marker present or absent",
		Citation: "ComplianceAsCode #12405: /etc/system-fips is no longer supported (deprecated in RHEL 9.0, gone in RHEL 10)",
		Help:     "/etc/system-fips, the dracut fips module and fips-mode-setup decided FIPS mode on RHEL 7/8 only. kensa reports them for context; on newer releases they decide nothing."},

	{ID: IDProcProviderNotLoaded, Severity: report.Error, Title: "process uses OpenSSL without a FIPS provider loaded",
		Citation: citeOpenSSL,
		Help:     "libcrypto is mapped but neither ossl-modules/fips.so nor symcryptprovider.so is: nothing would load a FIPS provider (error), or the configuration would load it at OpenSSL's first use and the process has not got there yet (warning: the maps cannot prove use). Activate the provider in the openssl.cnf the process reads, or run the host in FIPS mode on a distribution whose OpenSSL follows the kernel flag."},
	{ID: IDProcLegacyProvider, Severity: report.Warning, Title: "process has OpenSSL's legacy provider loaded",
		Citation: citeFIPS140,
		Help:     "ossl-modules/legacy.so is mapped: MD4, RC4, DES and other non-approved algorithms are available to the process. Remove the legacy provider from its configuration."},
	{ID: IDProcDisabledByEnv, Severity: report.Error, Title: "process started with FIPS turned off by its environment",
		Citation: "Go crypto/fips140 (GODEBUG fips140); microsoft/go eng/doc/fips/README.md; golang-fips README",
		Help:     "The start environment turns FIPS mode off: GODEBUG fips140=off (the last setting wins), Microsoft Go before 1.27 GOFIPS or GOLANG_FIPS other than 1, golang-fips GOLANG_FIPS=0, Ubuntu OPENSSL_FORCE_FIPS_MODE=0. Remove it from the unit file, pod spec or image ENV and restart the process."},
	{ID: IDProcConfigOverride, Severity: report.Warning, Title: "process reads its own OpenSSL configuration or modules",
		Citation: citeOpenSSL,
		Help:     "OPENSSL_CONF or OPENSSL_MODULES points the process at a configuration or module directory of its own choosing: what it loads is decided there, not by the host's openssl.cnf. Check that file activates the validated FIPS provider."},
	{ID: IDProcGoUnvalidated, Severity: report.Error, Title: "Go FIPS mode on with an unvalidated module",
		Citation: "go.dev/doc/security/fips140: only frozen module versions are validated",
		Help:     "The process runs Go's FIPS 140-3 mode (fips140=on/only) with module code that is not a validated snapshot (GOFIPS140 unset, latest, or an in-process version). Rebuild with GOFIPS140=v1.0.0 (or the validated snapshot your policy names)."},
	{ID: IDProcMasked, Severity: report.Error, Title: "process sees FIPS off on a FIPS host",
		Citation: "CRI-O FIPS_DISABLE / runc #4246: a container can be shown fips_enabled=0",
		Help:     "The kernel is in FIPS mode but this process reads 0 (or nothing) from /proc/sys/crypto/fips_enabled: its container runtime masks the flag (CRI-O pod label FIPS_DISABLE=true) and every library keyed on the flag runs outside FIPS mode. Remove the opt-out."},
	{ID: IDProcBinary, Severity: report.Error, Title: "process executable uses non-validated crypto",
		Citation: citeFIPS140,
		Help:     "The executable's own crypto (as fips scan classifies it) is not a validated module: Go's standard crypto, an embedded OpenSSL, a FIPS provider that is not validated. Rebuild it against a validated module."},
	{ID: IDProcExeReplaced, Severity: report.Warning, Title: "process runs an executable that was replaced or deleted",
		Citation: "proc_pid_exe(5)",
		Help:     "/proc/PID/exe ends in (deleted): the file on disk is not what runs. kensa classified the running copy; restart the process so that the installed version runs."},
	{ID: IDProcUnreadable, Severity: report.Warning, Title: "process could not be inspected",
		Citation: "ptrace(2) access mode checks (PTRACE_MODE_READ) guard /proc/PID/maps, environ and root",
		Help:     "kensa may not read this process's maps, environment or root: a coverage gap, never a pass. Run as root (in a DaemonSet: hostPID, runAsUser 0 and CAP_SYS_PTRACE)."},
}
