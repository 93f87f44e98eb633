// Package host answers two questions about a live Linux host (or one
// mounted under --root with its /proc under --proc): is the host really in
// FIPS mode, consistently and durably; and which crypto module is each
// running process using right now.
//
// The model. A scan yields [Result]s of two kinds, in one list:
//
//   - host-posture results ([KindPosture]): one per posture check, in a
//     fixed order (os-release, kernel flag, kernel module identity, kernel
//     command line, boot entries, crypto policy, OpenSSL configuration,
//     OpenSSL provider, fipsmodule.cnf integrity, GnuTLS, NSS, libgcrypt,
//     legacy markers). Each says what it found (Value), from which files
//     (Evidence) and a Status.
//   - process results ([KindProcess]): one per running process, with what
//     its executable is (classified by the same engine as fips scan), what
//     crypto libraries and providers its memory maps show loaded now, the
//     FIPS switches of its start environment, the kernel flag as the
//     process sees it, its container and pod, and a [Verdict] with
//     reasons.
//
// Findings (report.Finding) carry the ids of [Checks]. Everything is read
// from files: nothing is executed, attached to or signalled.
//
// The JSON shape of Result and Summary is what `kensa fips cluster` reads
// from each node's `kensa fips host --format json` report: field names are
// a contract, add fields but never rename them.
package host

import "github.com/kensa-project/kensa/internal/fips"

// Kinds of [Result].
const (
	KindPosture = "host-posture"
	KindProcess = "process"
)

// Posture check names ([Result.Check]), in report order.
const (
	CheckOSRelease     = "os-release"
	CheckKernelFlag    = "kernel-fips-flag"
	CheckKernelModule  = "kernel-fips-module" // fips_name / fips_version
	CheckCmdline       = "kernel-cmdline"
	CheckBootEntries   = "boot-entries"
	CheckCryptoPolicy  = "crypto-policy"
	CheckOpenSSLConfig = "openssl-config"
	CheckOpenSSLProv   = "openssl-fips-provider"
	CheckFIPSModuleCnf = "fipsmodule-cnf"
	CheckGnuTLS        = "gnutls"
	CheckNSS           = "nss"
	CheckLibgcrypt     = "libgcrypt"
	CheckLegacy        = "legacy-markers"
)

// Status of a posture check.
const (
	StatusPass    = "pass"    // consistent with FIPS mode
	StatusFail    = "fail"    // contradicts FIPS mode (a finding says why)
	StatusWarn    = "warn"    // works now, but inconsistent or fragile
	StatusInfo    = "info"    // context only: not decisive on this host
	StatusAbsent  = "absent"  // the component is not installed: nothing to judge
	StatusUnknown = "unknown" // could not be read
)

// Verdict of a process. A process's verdict is the worst over the crypto
// it uses (its executable's modules and what its maps show loaded).
type Verdict string

// Process verdicts, best first.
const (
	// NotApplicable: no crypto in the executable and none mapped.
	NotApplicable Verdict = "not-applicable"
	// Compliant: uses a validated module and the module's FIPS switch is
	// on for this process right now (provider mapped, Go fips140 on with a
	// validated snapshot, kernel flag seen as 1 where the module keys on it).
	Compliant Verdict = "compliant"
	// Undetermined: the evidence cannot decide (libcrypto mapped and
	// configured to load the FIPS provider, but no provider mapped yet:
	// OpenSSL loads providers at its first use). Never a pass.
	Undetermined Verdict = "undetermined"
	// Noncompliant: uses crypto that is not a validated module in its
	// approved mode right now.
	Noncompliant Verdict = "noncompliant"
	// Unreadable: kensa may not read the process's files (permissions):
	// a coverage gap, never a pass.
	Unreadable Verdict = "unreadable"
)

// Rank orders verdicts from best (1) to worst (4); unknown values 0.
func (v Verdict) Rank() int {
	switch v {
	case NotApplicable:
		return 1
	case Compliant:
		return 2
	case Undetermined:
		return 3
	case Noncompliant, Unreadable:
		return 4
	}
	return 0
}

// Evidence is one file (or pseudo-file) a decision read, with the value
// it gave. Value is trimmed and bounded; it is "(absent)" for a file that
// does not exist and "(unreadable: …)" for one that could not be read.
type Evidence struct {
	Path  string `json:"path"`
	Value string `json:"value"`
}

// Mapped is one crypto library or provider a process has mapped.
type Mapped struct {
	// Path as the process sees it (a container path inside the
	// container's root); " (deleted)" removed, Deleted set instead.
	Path string `json:"path"`
	// Role: libcrypto, libssl, fips-provider, symcrypt-provider,
	// symcrypt, legacy-provider, default-provider, other-provider,
	// gnutls, nettle, nss, nss-softokn, nss-freebl, libgcrypt, wolfssl,
	// mbedtls.
	Role    string `json:"role"`
	Deleted bool   `json:"deleted,omitempty"`
	// Module is the provider's identity read from the file (name and
	// version), for providers.
	Module string `json:"module,omitempty"`
}

// Result is one posture check or one process. Kind says which; the fields
// of the other kind are left out of the JSON.
type Result struct {
	Kind string `json:"kind"`
	// Host is the host's name (its /etc/hostname, else the kernel's),
	// so that merged node reports keep each result's node.
	Host string `json:"host"`

	// host-posture fields.
	//
	// Check is one of the Check* names; Status one of the Status* values;
	// Value the check's answer in one line ("1", "FIPS:OSPP", "rhel 9.4");
	// Evidence the files read.
	Check    string     `json:"check,omitempty"`
	Status   string     `json:"status,omitempty"`
	Value    string     `json:"value,omitempty"`
	Evidence []Evidence `json:"evidence,omitempty"`

	// process fields.
	//
	// Exe is the executable path as the process sees it (its
	// /proc/PID/exe link); ExeDeleted when the file was replaced or removed
	// since it started (kensa classifies the running copy).
	PID        int    `json:"pid,omitempty"`
	Comm       string `json:"comm,omitempty"`
	UID        *int   `json:"uid,omitempty"`
	Exe        string `json:"exe,omitempty"`
	ExeDeleted bool   `json:"exe_deleted,omitempty"`
	// ContainerID is the container runtime's id from the cgroup path
	// (64 hex digits for docker, containerd and CRI-O); PodUID the
	// Kubernetes pod UID, with dashes. Both empty for host processes.
	ContainerID string `json:"container_id,omitempty"`
	PodUID      string `json:"pod_uid,omitempty"`
	// Runtime names the container runtime the cgroup path shows: docker,
	// containerd, cri-o, podman, or "" when unknown.
	Runtime string `json:"runtime,omitempty"`
	// Language and GoVersion of the executable (as fips scan reports them).
	Language  string `json:"language,omitempty"`
	GoVersion string `json:"go_version,omitempty"`
	// Crypto: the backends in use (fips scan's names: go-fips140,
	// go-openssl, openssl, …), from the executable and the maps, sorted.
	Crypto []string `json:"crypto,omitempty"`
	// Modules: the crypto modules with their validation status, as fips
	// scan reports them (the executable's, and the providers mapped).
	Modules []Module `json:"modules,omitempty"`
	// Mapped: the crypto libraries and providers the maps show loaded.
	Mapped []Mapped `json:"mapped,omitempty"`
	// Env: the FIPS switches of the start environment that are set
	// (GODEBUG, GOFIPS, GOLANG_FIPS, OPENSSL_CONF, OPENSSL_MODULES,
	// OPENSSL_FORCE_FIPS_MODE, GNUTLS_FORCE_FIPS_MODE,
	// LIBGCRYPT_FORCE_FIPS_MODE, NSS_FIPS, GO_OPENSSL_VERSION_OVERRIDE,
	// GOLANG_NATIVE_HOSTFIPS_OVERRIDE). /proc/PID/environ is the
	// environment at execve: later changes are not seen.
	Env map[string]string `json:"env,omitempty"`
	// KernelFIPS is /proc/sys/crypto/fips_enabled as the process sees it
	// (through its root): "1", "0", "absent" or "unreadable".
	KernelFIPS string `json:"kernel_fips,omitempty"`
	// Verdict and Reasons (the decisive reason first) of a process.
	Verdict Verdict  `json:"verdict,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// Module is a crypto module in use, as the fips classifier names it.
type Module = fips.Module

// Summary is the "summary" of a fips host report. Merged node reports
// add up with [Summary.Add].
type Summary struct {
	// Hosts counts the hosts in the report (1 for one run); FIPSHosts
	// those whose kernel flag is 1.
	Hosts     int `json:"hosts"`
	FIPSHosts int `json:"fips_hosts"`
	// Posture counts posture checks per status.
	Posture map[string]int `json:"posture"`
	// Processes counts the process results; Skipped the processes that
	// exited during the scan (not in the results); Unreadable those kensa
	// may not read (in the results, verdict unreadable).
	Processes  int `json:"processes"`
	Skipped    int `json:"skipped"`
	Unreadable int `json:"unreadable"`
	// KernelThreads counts the kernel threads passed over (no executable).
	KernelThreads int `json:"kernel_threads"`
	// Verdicts counts processes per verdict; Backends processes per crypto
	// backend in use.
	Verdicts map[string]int `json:"verdicts"`
	Backends map[string]int `json:"backends"`
	// Containers counts, per container id ("" is not used: host
	// processes count under "host"), the processes per verdict.
	Containers map[string]map[string]int `json:"containers"`
}
