package host

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/rootfs"
)

// Distribution families, from os-release ID and ID_LIKE.
const (
	famRHEL   = "rhel" // RHEL, CentOS Stream, Fedora, Rocky, Alma, Oracle Linux
	famSUSE   = "suse"
	famAzure  = "azurelinux" // Azure Linux (and CBL-Mariner)
	famUbuntu = "ubuntu"
	famDebian = "debian"
)

func family(osr map[string]string) string {
	ids := append([]string{osr["ID"]}, strings.Fields(osr["ID_LIKE"])...)
	for _, id := range ids {
		switch id {
		case "rhel", "centos", "fedora", "rocky", "almalinux", "ol":
			return famRHEL
		case "sles", "sled", "suse", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "sle-micro":
			return famSUSE
		case "azurelinux", "mariner":
			return famAzure
		case "ubuntu":
			return famUbuntu
		case "debian":
			return famDebian
		}
	}
	return ""
}

// majorVersion returns the major number of VERSION_ID ("9.4" → 9), or 0.
func majorVersion(v string) int {
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}

// posture gathers the host-posture results and findings.
type posture struct {
	root    rootfs.FS
	proc    string // the host's /proc directory
	host    string
	opts    fips.Options
	c       *fips.Classifier
	osr     map[string]string
	fam     string
	major   int
	kernel  string // "1", "0", "absent", "unreadable"
	results []Result
	finds   []report.Finding
}

func (p *posture) add(check, status, value string, ev ...Evidence) *Result {
	p.results = append(p.results, Result{Kind: KindPosture, Host: p.host, Check: check, Status: status, Value: value, Evidence: ev})
	return &p.results[len(p.results)-1]
}

func (p *posture) finding(id string, sev report.Severity, subject, msg, remediation string) {
	f := report.Finding{ID: id, Severity: sev, Subject: subject, Message: msg, Remediation: remediation}
	for _, c := range Checks {
		if c.ID == id {
			f.Citation = c.Citation
			if f.Severity == "" {
				f.Severity = c.Severity
			}
		}
	}
	p.finds = append(p.finds, f)
}

// procEvidence reads a file of the host's /proc for evidence; the path
// shown is the one the user would type on the host (/proc/...).
func (p *posture) procEvidence(rel string) (Evidence, []byte, error) {
	shown := "/proc/" + rel
	data, _, err := readProc(filepath.Join(p.proc, rel), maxSmallFile)
	switch {
	case err == nil:
		return Evidence{Path: shown, Value: oneLine(data)}, data, nil
	case errors.Is(err, fs.ErrNotExist):
		return Evidence{Path: shown, Value: "(absent)"}, nil, err
	default:
		return Evidence{Path: shown, Value: fmt.Sprintf("(unreadable: %v)", unwrapPath(err))}, nil, err
	}
}

func (p *posture) run() {
	p.osRelease()
	p.kernelFlag()
	p.kernelModule()
	p.cmdline()
	p.bootEntries()
	p.cryptoPolicy()
	p.openssl()
	p.gnutls()
	p.nss()
	p.libgcrypt()
	p.legacy()
}

func (p *posture) fipsHost() bool { return p.kernel == "1" }

func (p *posture) osRelease() {
	ev, data, err := evidenceOf(p.root, "/etc/os-release")
	if err != nil {
		ev2, d2, err2 := evidenceOf(p.root, "/usr/lib/os-release")
		if err2 == nil {
			ev, data, err = ev2, d2, nil
		}
	}
	if err != nil {
		p.osr = map[string]string{}
		p.add(CheckOSRelease, StatusUnknown, "unknown distribution", ev)
		return
	}
	p.osr = ParseOSRelease(data)
	p.fam = family(p.osr)
	p.major = majorVersion(p.osr["VERSION_ID"])
	name := cmp.Or(p.osr["PRETTY_NAME"], p.osr["NAME"], p.osr["ID"])
	p.add(CheckOSRelease, StatusInfo, fmt.Sprintf("%s (id %s, version %s)", name, p.osr["ID"], cmp.Or(p.osr["VERSION_ID"], "?")), ev)
}

func (p *posture) kernelFlag() {
	ev, data, err := p.procEvidence("sys/crypto/fips_enabled")
	subject := "/proc/sys/crypto/fips_enabled"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.kernel = "absent"
		p.add(CheckKernelFlag, StatusFail, "absent: the kernel has no FIPS mode (CONFIG_CRYPTO_FIPS)", ev)
		p.finding(IDKernelUnsupported, "", subject, "the file does not exist: this kernel cannot run in FIPS mode, so nothing on this host runs a kernel-keyed FIPS module in its approved mode", "boot a FIPS-capable kernel with fips=1")
	case err != nil:
		p.kernel = "unreadable"
		p.add(CheckKernelFlag, StatusUnknown, "unreadable", ev)
	default:
		v := strings.TrimSpace(string(data))
		if strings.HasPrefix(v, "1") {
			p.kernel = "1"
			p.add(CheckKernelFlag, StatusPass, "1: the kernel runs in FIPS mode", ev)
			return
		}
		p.kernel = "0"
		p.add(CheckKernelFlag, StatusFail, v+": the kernel is not in FIPS mode", ev)
		p.finding(IDKernelDisabled, "", subject, "the kernel is not in FIPS mode (fips_enabled = "+v+"): OpenSSL, Go, GnuTLS and libgcrypt builds that follow the kernel flag run outside FIPS mode", "install (or reinstall) the host with fips=1 on the kernel command line")
	}
}

func (p *posture) kernelModule() {
	nameEv, name, errN := p.procEvidence("sys/crypto/fips_name")
	verEv, ver, errV := p.procEvidence("sys/crypto/fips_version")
	if errN != nil && errV != nil {
		p.add(CheckKernelModule, StatusInfo, "not exposed by this kernel (fips_name and fips_version exist since Linux 6.0)", nameEv, verEv)
		return
	}
	p.add(CheckKernelModule, StatusInfo, strings.TrimSpace(strings.TrimSpace(string(name))+" "+strings.TrimSpace(string(ver))), nameEv, verEv)
}

func (p *posture) cmdline() {
	ev, data, err := p.procEvidence("cmdline")
	if err != nil {
		p.add(CheckCmdline, StatusUnknown, "unreadable", ev)
		return
	}
	c := ParseCmdline(string(data))
	on := c.FIPSOn()
	status, value := StatusPass, "fips="+c.FIPS
	switch {
	case c.FIPS == "" && p.fipsHost():
		status, value = StatusWarn, "no fips= parameter, yet the kernel is in FIPS mode"
		p.finding(IDCmdlineInconsistent, "", "/proc/cmdline", "the kernel is in FIPS mode but its command line has no fips=1: a vendor kernel forces it, or the boot configuration changed; the next boot may come up without FIPS", "add fips=1 to the kernel command line of every boot entry")
	case on && p.kernel == "absent":
		status, value = StatusFail, "fips="+c.FIPS+", but this kernel has no FIPS mode"
		p.finding(IDCmdlineInconsistent, "", "/proc/cmdline", "the command line asks for FIPS (fips="+c.FIPS+") but the kernel was built without CONFIG_CRYPTO_FIPS: it is ignored", "boot a FIPS-capable kernel")
	case on && p.kernel == "0":
		status, value = StatusFail, "fips="+c.FIPS+", but the kernel is not in FIPS mode"
		p.finding(IDCmdlineInconsistent, "", "/proc/cmdline", "the command line asks for FIPS (fips="+c.FIPS+") but fips_enabled is 0", "check the kernel's log for the FIPS self-test and the fips= value")
	case c.FIPS == "":
		status, value = StatusInfo, "no fips= parameter"
	case !on:
		status = StatusInfo
	}
	if c.Boot != "" {
		value += ", boot=" + c.Boot
	}
	p.add(CheckCmdline, status, value, ev)
	if on && c.Boot == "" && p.legacyDracut() && p.separateBoot() {
		p.finding(IDBootPartitionMissing, "", "/proc/cmdline", "fips=1 without boot= while /boot is a separate file system: the dracut fips module cannot check the kernel's HMAC at boot", "add boot=UUID=<uuid of /boot> to the kernel command line")
	}
}

// legacyDracut: the host's initramfs uses the legacy dracut fips module
// that needs boot= (RHEL 8 and older, RHCOS based on them).
func (p *posture) legacyDracut() bool {
	return (p.fam == famRHEL && p.major > 0 && p.major <= 8) || existsFS(p.root, "/etc/dracut.conf.d/40-fips.conf")
}

// separateBoot: /boot is a mount point of its own (in PID 1's mounts).
func (p *posture) separateBoot() bool {
	for _, m := range p.mounts() {
		if m == "/boot" {
			return true
		}
	}
	return false
}

// mounts returns the mount points of PID 1 (bounded).
func (p *posture) mounts() []string {
	data, _, err := readProc(filepath.Join(p.proc, "1", "mountinfo"), maxSmallFile)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out
}

func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (p *posture) bootEntries() {
	const dir = "/boot/loader/entries"
	ents, err := p.root.ReadDir(dir)
	if err == nil {
		var ev []Evidence
		var missing []string
		n := 0
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".conf") || n >= 64 {
				continue
			}
			n++
			name := path.Join(dir, e.Name())
			data, err := readFS(p.root, name, maxSmallFile)
			if err != nil {
				ev = append(ev, Evidence{Path: name, Value: fmt.Sprintf("(unreadable: %v)", unwrapPath(err))})
				continue
			}
			opts := ""
			for _, line := range strings.Split(string(data), "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "options"); ok {
					opts += " " + rest
				}
			}
			// RHEL 8's entries say "options $kernelopts": GRUB expands it
			// from /boot/grub2/grubenv (where fips-mode-setup and grubby
			// put fips=1).
			if strings.Contains(opts, "$kernelopts") {
				ko, kev := p.grubenvKernelopts()
				opts = strings.ReplaceAll(opts, "$kernelopts", ko)
				if kev != nil && !slices.ContainsFunc(ev, func(e Evidence) bool { return e.Path == kev.Path }) {
					ev = append(ev, *kev)
				}
			}
			ev = append(ev, Evidence{Path: name, Value: oneLine([]byte("options" + opts))})
			if !ParseCmdline(opts).FIPSOn() {
				missing = append(missing, name)
			}
		}
		if n == 0 {
			p.add(CheckBootEntries, StatusInfo, "no boot entries in "+dir)
			return
		}
		switch {
		case len(missing) == 0:
			p.add(CheckBootEntries, StatusPass, fmt.Sprintf("fips=1 in all %d boot entries", n), ev...)
			if !p.fipsHost() && p.kernel != "unreadable" {
				p.results[len(p.results)-1].Status = StatusWarn
				p.results[len(p.results)-1].Value += ", but the running kernel is not in FIPS mode"
			}
		case p.fipsHost():
			p.add(CheckBootEntries, StatusWarn, fmt.Sprintf("%d of %d boot entries lack fips=1", len(missing), n), ev...)
			p.finding(IDCmdlineInconsistent, "", missing[0], fmt.Sprintf("the kernel is in FIPS mode but %d of %d boot entries lack fips=1 (%s): booting one of them loses FIPS mode", len(missing), n, strings.Join(missing, ", ")), "grubby --update-kernel=ALL --args=fips=1")
		default:
			p.add(CheckBootEntries, StatusInfo, fmt.Sprintf("%d of %d boot entries lack fips=1", len(missing), n), ev...)
		}
		return
	}
	// No BLS entries: GRUB defaults (Debian, Ubuntu Pro FIPS:
	// /etc/default/grub.d/99-ubuntu-fips.cfg).
	var ev []Evidence
	found := false
	files := []string{"/etc/default/grub"}
	if ds, err := p.root.ReadDir("/etc/default/grub.d"); err == nil {
		for _, d := range ds {
			if strings.HasSuffix(d.Name(), ".cfg") {
				files = append(files, "/etc/default/grub.d/"+d.Name())
			}
		}
	}
	reFips := regexp.MustCompile(`GRUB_CMDLINE_LINUX[A-Z_]*=.*\bfips=1\b`)
	for _, f := range files {
		data, err := readFS(p.root, f, maxSmallFile)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if reFips.MatchString(line) {
				found = true
				ev = append(ev, Evidence{Path: f, Value: oneLine([]byte(line))})
			}
		}
	}
	switch {
	case found:
		p.add(CheckBootEntries, StatusPass, "fips=1 in the GRUB defaults", ev...)
	case p.fipsHost() && len(files) > 0 && existsFS(p.root, "/etc/default/grub"):
		p.add(CheckBootEntries, StatusWarn, "no fips=1 in /etc/default/grub or /etc/default/grub.d", ev...)
		p.finding(IDCmdlineInconsistent, "", "/etc/default/grub", "the kernel is in FIPS mode but the GRUB defaults have no fips=1: the next update-grub writes entries without it", "add fips=1 to GRUB_CMDLINE_LINUX and run update-grub")
	default:
		p.add(CheckBootEntries, StatusInfo, "no boot entries or GRUB defaults to check (image-based or container host)")
	}
}

// grubenvKernelopts returns kernelopts= of /boot/grub2/grubenv.
func (p *posture) grubenvKernelopts() (string, *Evidence) {
	const name = "/boot/grub2/grubenv"
	data, err := readFS(p.root, name, maxSmallFile)
	if err != nil {
		return "", nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "kernelopts="); ok {
			return v, &Evidence{Path: name, Value: oneLine([]byte(line))}
		}
	}
	return "", &Evidence{Path: name, Value: "(no kernelopts)"}
}

var allowedSub = []string{"OSPP", "NO-SHA1", "NO-CAMELLIA", "ECDHE-ONLY", "STIG"}

func (p *posture) cryptoPolicy() {
	cfgEv, cfg, err := evidenceOf(p.root, "/etc/crypto-policies/config")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			p.add(CheckCryptoPolicy, StatusAbsent, "no system-wide crypto policy (not a RHEL-family host)", cfgEv)
		} else {
			p.add(CheckCryptoPolicy, StatusUnknown, "unreadable", cfgEv)
		}
		return
	}
	policy := firstToken(cfg)
	curEv, cur, errC := evidenceOf(p.root, "/etc/crypto-policies/state/current")
	current := firstToken(cur)
	ev := []Evidence{cfgEv, curEv}
	effective := policy
	if current != "" {
		effective = current
	}
	// RHEL 10 with fips=1: the initramfs bind-mounts the FIPS back-ends
	// over /etc/crypto-policies/back-ends when the configured policy is
	// not FIPS (fedora-crypto-policies MR 205).
	bindFIPS := false
	for _, m := range p.mounts() {
		if strings.HasPrefix(m, "/etc/crypto-policies/back-ends") || m == "/etc/crypto-policies/config" {
			bindFIPS = true
			ev = append(ev, Evidence{Path: "/proc/1/mountinfo", Value: "mount on " + m})
			break
		}
	}
	base, sub, _ := strings.Cut(effective, ":")
	isFIPS := base == "FIPS"
	status, value := StatusPass, effective
	switch {
	case isFIPS:
		for _, s := range strings.Split(sub, ":") {
			if s != "" && !slices.Contains(allowedSub, s) {
				status = StatusWarn
				p.finding(IDPolicySubpolicy, "", "/etc/crypto-policies/config", fmt.Sprintf("the crypto policy %s uses subpolicy %s, outside the FIPS set (%s)", effective, s, strings.Join(allowedSub, ", ")), "update-crypto-policies --set FIPS (or FIPS:OSPP / FIPS:STIG)")
			}
		}
		if !p.fipsHost() && p.kernel != "unreadable" {
			status = StatusFail
			value += ", but the kernel is not in FIPS mode"
			p.finding(IDKernelDisabled, report.Error, "/etc/crypto-policies/config", "the crypto policy is "+effective+" but the kernel is not in FIPS mode: the policy alone does not make the host FIPS (Red Hat: \"not sufficient\")", "install the host with fips=1")
		}
	case bindFIPS && p.fipsHost():
		status, value = StatusPass, effective+" configured; FIPS back-ends bind-mounted at boot (RHEL 10 with fips=1)"
	case p.fipsHost():
		status = StatusFail
		p.finding(IDPolicyNotFIPS, "", "/etc/crypto-policies/config", "the kernel is in FIPS mode but the crypto policy is "+effective+": OpenSSL, GnuTLS, NSS and OpenSSH allow algorithms outside the FIPS set", "update-crypto-policies --set FIPS")
	default:
		status = StatusInfo
	}
	if errC == nil && current != policy && policy != "" {
		if status == StatusPass {
			status = StatusWarn
		}
		value += fmt.Sprintf(" (config says %s, state/current says %s)", policy, current)
		p.finding(IDPolicyStale, "", "/etc/crypto-policies/config", fmt.Sprintf("/etc/crypto-policies/config says %s but state/current says %s: the change was not applied", policy, current), "update-crypto-policies --set "+policy)
	} else if errC == nil {
		ci, e1 := statFS(p.root, "/etc/crypto-policies/config")
		si, e2 := statFS(p.root, "/etc/crypto-policies/state/current")
		if e1 == nil && e2 == nil && ci.ModTime().After(si.ModTime()) {
			if status == StatusPass {
				status = StatusWarn
			}
			p.finding(IDPolicyStale, "", "/etc/crypto-policies/config", "/etc/crypto-policies/config is newer than state/current: update-crypto-policies was not run after the last edit", "update-crypto-policies --set "+policy)
		}
	}
	p.add(CheckCryptoPolicy, status, value, ev...)
}

func firstToken(b []byte) string {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		return strings.Fields(line)[0]
	}
	return ""
}

// Library directories searched for the system's crypto libraries.
var libDirs = []string{
	"/usr/lib64", "/lib64", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib", "/lib",
}

func (p *posture) findLib(names ...string) string {
	for _, d := range libDirs {
		for _, n := range names {
			if existsFS(p.root, path.Join(d, n)) {
				return path.Join(d, n)
			}
		}
	}
	return ""
}

// distroDefaults are the compiled-in OPENSSLDIR and MODULESDIR of each
// family's OpenSSL 3, used when the libcrypto cannot be read.
func (p *posture) distroDefaults(lib string) (dir, modules string) {
	switch p.fam {
	case famRHEL, famAzure:
		return "/etc/pki/tls", "/usr/lib64/ossl-modules"
	case famSUSE:
		return "/etc/ssl", "/usr/lib64/ossl-modules"
	case famDebian, famUbuntu:
		return "/usr/lib/ssl", path.Join(path.Dir(lib), "ossl-modules")
	}
	return "/usr/lib/ssl", path.Join(path.Dir(lib), "ossl-modules")
}

// kernelSwitchMarker is the file Red Hat's "Add Kernel FIPS mode flag
// support" patch reads (also carried by SUSE and Azure Linux).
var kernelSwitchMarker = []byte("/proc/sys/crypto/fips_enabled")

// libFollowsKernel reports whether the library at lib carries the kernel
// flag's path in its data (the distribution's FIPS patch), reading at most
// 64 MiB in chunks.
func libFollowsKernel(fsys rootfs.FS, lib string) (bool, error) {
	pth, err := rootfs.Resolve(fsys, lib)
	if err != nil {
		return false, err
	}
	f, err := fsys.Open(pth)
	if err != nil {
		return false, err
	}
	defer f.Close()
	const chunk = 1 << 20
	buf := make([]byte, chunk+len(kernelSwitchMarker))
	for off := int64(0); off < min(f.Size(), 64<<20); off += chunk {
		n, err := f.ReadAt(buf, off)
		if bytes.Contains(buf[:n], kernelSwitchMarker) {
			return true, nil
		}
		if err != nil {
			break
		}
	}
	return false, nil
}

// fipsKey is the HMAC key `openssl fipsinstall` uses by default for the
// module-mac (FIPS_KEY_STRING in OpenSSL's providers/fips: the same in
// every 3.x release).
const fipsKey = "f4556650ac31d35461610bac4ed81b1a181b2d8a43ea2854cbae22ca74560813"

func moduleMAC(fsys rootfs.FS, name string) (string, error) {
	pth, err := rootfs.Resolve(fsys, name)
	if err != nil {
		return "", err
	}
	f, err := fsys.Open(pth)
	if err != nil {
		return "", err
	}
	defer f.Close()
	key, _ := hex.DecodeString(fipsKey)
	h := hmac.New(sha256.New, key)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, min(f.Size(), 256<<20))); err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil))), nil
}

func normMAC(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}

func (p *posture) openssl() {
	lib := p.findLib("libcrypto.so.3")
	if lib == "" {
		if l1 := p.findLib("libcrypto.so.1.1", "libcrypto.so.10", "libcrypto.so.1.0.0"); l1 != "" {
			p.add(CheckOpenSSLConfig, StatusInfo, "OpenSSL 1.x only ("+l1+"): FIPS mode is a property of the build (fips scan classifies it)", Evidence{Path: l1, Value: "present"})
			return
		}
		p.add(CheckOpenSSLConfig, StatusAbsent, "no OpenSSL 3 libcrypto in the library directories")
		return
	}
	dir, modules := p.distroDefaults(lib)
	libEv := Evidence{Path: lib, Value: "present"}
	if pth, err := rootfs.Resolve(p.root, lib); err == nil {
		if f, err := p.root.Open(pth); err == nil {
			facts, _ := fips.Inspect(f, f.Size())
			f.Close()
			if facts != nil && facts.Kind != fips.KindNotELF && facts.Kind != fips.KindUnreadable {
				if facts.OpenSSLDir != "" {
					dir = facts.OpenSSLDir
				}
				if facts.ModulesDir != "" {
					modules = facts.ModulesDir
				}
				if facts.OpenSSLVersion != "" {
					libEv.Value = facts.OpenSSLVersion
				}
			}
		}
	}
	follows, err := libFollowsKernel(p.root, lib)
	switch {
	case err != nil:
		follows = p.fam == famRHEL || p.fam == famSUSE || p.fam == famAzure
		libEv.Value += fmt.Sprintf("; unreadable (%v): kernel-flag patch assumed from the distribution", unwrapPath(err))
	case follows:
		libEv.Value += "; follows the kernel flag (reads /proc/sys/crypto/fips_enabled)"
	}
	cnfPath := path.Join(dir, "openssl.cnf")
	cnfEv := Evidence{Path: cnfPath}
	conf, err := loadOSSLConf(p.root, cnfPath)
	var prov osslProviders
	if err != nil {
		cnfEv.Value = fmt.Sprintf("(unreadable: %v)", unwrapPath(err))
		if errors.Is(err, fs.ErrNotExist) {
			cnfEv.Value = "(absent)"
		}
		conf = &osslConf{Sections: map[string]map[string]string{}}
	} else {
		prov = conf.providers()
		cnfEv.Value = "providers activated: " + cmp.Or(strings.Join(prov.Activated, ", "), "none (default provider implicit)")
		if prov.DefaultFIPS {
			cnfEv.Value += "; default_properties fips=yes"
		}
		if len(conf.Files) > 1 {
			cnfEv.Value += "; includes " + strings.Join(conf.Files[1:], ", ")
		}
	}

	// The provider file.
	provPath := ""
	for _, n := range []string{"symcryptprovider.so", "fips.so"} {
		if existsFS(p.root, path.Join(modules, n)) {
			provPath = path.Join(modules, n)
			if p.fam != famAzure || n == "symcryptprovider.so" {
				break
			}
		}
	}
	if m := conf.Sections[prov.FIPSSection]["module"]; m != "" && existsFS(p.root, m) {
		provPath = m
	}

	// Configuration: who loads the provider?
	switch {
	case prov.FIPSActive:
		v := cnfPath + " activates the FIPS provider"
		st := StatusPass
		if !prov.DefaultFIPS && !follows {
			v += " (without default_properties = fips=yes: the default provider may still answer)"
			st = StatusWarn
		}
		p.add(CheckOpenSSLConfig, st, v, libEv, cnfEv)
	case follows && p.fipsHost():
		p.add(CheckOpenSSLConfig, StatusPass, "the distribution's OpenSSL loads the FIPS provider by itself on a FIPS kernel (kernel-flag patch)", libEv, cnfEv)
	case follows:
		p.add(CheckOpenSSLConfig, StatusInfo, "the distribution's OpenSSL would load the FIPS provider on a FIPS kernel; the kernel is not in FIPS mode", libEv, cnfEv)
	case p.fipsHost() && provPath != "":
		p.add(CheckOpenSSLConfig, StatusFail, cnfPath+" does not activate the FIPS provider and this OpenSSL does not follow the kernel flag", libEv, cnfEv)
		p.finding(IDProviderNotActivated, "", cnfPath, "the kernel is in FIPS mode and "+provPath+" is installed, but "+cnfPath+" does not activate it and this OpenSSL does not follow the kernel flag: programs use the default provider", "include fipsmodule.cnf and activate the fips and base providers in "+cnfPath+", with default_properties = fips=yes")
	default:
		p.add(CheckOpenSSLConfig, StatusInfo, "default provider only (nothing activates a FIPS provider)", libEv, cnfEv)
	}

	// The provider.
	if provPath == "" {
		if p.fipsHost() {
			p.add(CheckOpenSSLProv, StatusFail, "no FIPS provider in "+modules, Evidence{Path: path.Join(modules, "fips.so"), Value: "(absent)"})
			p.finding(IDProviderMissing, "", path.Join(modules, "fips.so"), "the kernel is in FIPS mode but OpenSSL 3 has no FIPS provider in "+modules+": programs fail at first use or run the default provider", "install the distribution's FIPS provider package")
		} else {
			p.add(CheckOpenSSLProv, StatusAbsent, "no FIPS provider in "+modules, Evidence{Path: path.Join(modules, "fips.so"), Value: "(absent)"})
		}
		p.add(CheckFIPSModuleCnf, StatusAbsent, "no FIPS provider to check")
		return
	}
	provEv := Evidence{Path: provPath}
	status, value := StatusPass, ""
	r, facts := p.classify(provPath)
	switch {
	case facts == nil || facts.Kind == fips.KindUnreadable:
		status, value = StatusUnknown, provPath+" could not be read"
		provEv.Value = "(unreadable)"
	case facts.Kind == fips.KindNotELF || !facts.ProviderInit:
		status, value = StatusUnknown, provPath+" is present but is not an OpenSSL provider that kensa can read"
		provEv.Value = "present, not a provider ELF file"
	default:
		name := cmp.Or(facts.ProviderName, "unnamed provider")
		ver := ""
		if facts.OpenSSLVersion != "" {
			if f := strings.Fields(facts.OpenSSLVersion); len(f) > 1 {
				ver = f[1]
			}
		}
		provEv.Value = strings.TrimSpace(name + " " + ver)
		mstat := ""
		for _, m := range r.Modules {
			if m.Path == provPath || len(r.Modules) == 1 {
				mstat = m.Status
			}
		}
		value = fmt.Sprintf("%s (%s; module table status %s)", strings.TrimSpace(name+" "+ver), provPath, cmp.Or(mstat, fips.StatusUnknown))
		switch {
		case r.Verdict == fips.Unknown || r.Verdict == fips.Unreadable:
			status = StatusUnknown // fips scan could not settle it either
		case r.Verdict == fips.Noncompliant || mstat == fips.StatusNotValidated || (mstat == fips.StatusHistorical && !p.opts.Accept.Historical):
			status = StatusFail
			p.finding(IDProviderNoncompliant, "", provPath, fmt.Sprintf("%s: %s", provPath, cmp.Or(firstReason(r.Reasons), name+" is not a validated build")), "install the vendor's validated FIPS provider package")
		}
	}
	p.add(CheckOpenSSLProv, status, value, provEv)

	// fipsmodule.cnf integrity.
	mac := conf.Sections[prov.FIPSSection]["module-mac"]
	if mac == "" {
		for _, cand := range []string{path.Join(dir, "fipsmodule.cnf"), "/etc/pki/tls/openssl.d/fipsmodule.cnf"} {
			if c2, err := loadOSSLConf(p.root, cand); err == nil {
				for sect, kv := range c2.Sections {
					if kv["module-mac"] != "" {
						mac = kv["module-mac"]
						conf.Files = append(conf.Files, cand)
						_ = sect
						break
					}
				}
			}
			if mac != "" {
				break
			}
		}
	}
	if mac == "" {
		if follows {
			p.add(CheckFIPSModuleCnf, StatusInfo, "not used: this distribution's provider checks an HMAC embedded in itself")
		} else {
			p.add(CheckFIPSModuleCnf, StatusAbsent, "no module-mac configured (no fipsmodule.cnf included)")
		}
		return
	}
	got, err := moduleMAC(p.root, provPath)
	macEv := Evidence{Path: strings.Join(conf.Files, ", "), Value: "module-mac = " + mac}
	switch {
	case err != nil:
		p.add(CheckFIPSModuleCnf, StatusUnknown, fmt.Sprintf("%s could not be read to check the module-mac: %v", provPath, unwrapPath(err)), macEv)
	case normMAC(mac) == got:
		p.add(CheckFIPSModuleCnf, StatusPass, "module-mac matches "+provPath, macEv)
	default:
		p.add(CheckFIPSModuleCnf, StatusFail, "module-mac does not match "+provPath, macEv, Evidence{Path: provPath, Value: "HMAC-SHA256 " + got})
		p.finding(IDModuleCnfMismatch, "", provPath, "the module-mac in fipsmodule.cnf is not the HMAC of "+provPath+": OpenSSL refuses to load the FIPS provider", "openssl fipsinstall -module "+provPath+" -out <fipsmodule.cnf>")
	}
}

func firstReason(rs []string) string {
	if len(rs) > 0 {
		return rs[0]
	}
	return ""
}

// classify runs the fips classifier on a file of the host root.
func (p *posture) classify(name string) (fips.Result, *fips.Facts) {
	pth, err := rootfs.Resolve(p.root, name)
	if err != nil {
		return fips.Result{}, nil
	}
	f, err := p.root.Open(pth)
	if err != nil {
		return fips.Result{}, nil
	}
	facts, _ := fips.Inspect(f, f.Size())
	f.Close()
	if facts == nil {
		return fips.Result{}, nil
	}
	return p.c.Classify(pth, facts), facts
}

func (p *posture) gnutls() {
	lib := p.findLib("libgnutls.so.30")
	if lib == "" {
		p.add(CheckGnuTLS, StatusAbsent, "GnuTLS is not installed")
		return
	}
	p.cryptoLibrary(CheckGnuTLS, "GnuTLS", fips.BackendGnuTLS, lib, path.Join(path.Dir(lib), ".libgnutls.so.30.hmac"), false)
}

func (p *posture) nss() {
	lib := p.findLib("libsoftokn3.so", "nss/libsoftokn3.so")
	if lib == "" {
		p.add(CheckNSS, StatusAbsent, "NSS softoken is not installed")
		return
	}
	p.cryptoLibrary(CheckNSS, "NSS", fips.BackendNSS, lib, path.Join(path.Dir(lib), "libsoftokn3.chk"), false)
}

func (p *posture) libgcrypt() {
	lib := p.findLib("libgcrypt.so.20")
	swEv, sw, err := evidenceOf(p.root, "/etc/gcrypt/fips_enabled")
	forced := err == nil && strings.HasPrefix(strings.TrimSpace(string(sw)), "1")
	if lib == "" {
		if forced {
			p.add(CheckLibgcrypt, StatusInfo, "libgcrypt is not installed; /etc/gcrypt/fips_enabled is set", swEv)
			return
		}
		p.add(CheckLibgcrypt, StatusAbsent, "libgcrypt is not installed")
		return
	}
	if forced && !p.fipsHost() {
		p.add(CheckLibgcrypt, StatusWarn, "/etc/gcrypt/fips_enabled forces libgcrypt into FIPS mode while the kernel is not in FIPS mode", Evidence{Path: lib, Value: "present"}, swEv)
		p.finding(IDLibraryFIPSOff, "", "/etc/gcrypt/fips_enabled", "/etc/gcrypt/fips_enabled forces libgcrypt into FIPS mode but the kernel is not: the host is inconsistent", "remove /etc/gcrypt/fips_enabled or run the host in FIPS mode")
		return
	}
	p.cryptoLibrary(CheckLibgcrypt, "libgcrypt", fips.BackendLibgcrypt, lib, path.Join(path.Dir(lib), ".libgcrypt.so.20.hmac"), forced, swEv)
}

// cryptoLibrary records GnuTLS, NSS or libgcrypt, whose FIPS mode follows
// the kernel flag (or a switch of its own: forced) on a FIPS build. It says
// two things apart, as fips scan does: the mode the library would run in
// here (a FIPS build carries its integrity file, the kernel flag turns it
// on), and whether the build is a validated module, which only the module
// table says: Debian ships the integrity files with builds that are not
// validated, so an integrity file is never taken for a validation.
func (p *posture) cryptoLibrary(check, name, backend, lib, integrity string, forced bool, extra ...Evidence) {
	ev := []Evidence{{Path: lib, Value: "present"}}
	r, facts := p.classify(lib)
	fipsBuild := existsFS(p.root, integrity)
	switch {
	case fipsBuild:
		ev = append(ev, Evidence{Path: integrity, Value: "present (FIPS integrity file)"})
	case backend == fips.BackendLibgcrypt && facts != nil && facts.HMACSection:
		fipsBuild = true // libgcrypt 1.10+ (RHEL 9) keeps the HMAC in .rodata1
		ev[0].Value = "present; its HMAC is in its .rodata1 section"
	}
	ev = append(ev, extra...)
	judged, validated, why := tableJudgement(r, backend)
	table := "not classified (" + cmp.Or(firstReason(r.Reasons), "the file could not be read") + "): whether it is validated is not settled"
	switch {
	case judged && validated:
		m := moduleOf(r, backend)
		table = fmt.Sprintf("module table: %s %s, certificate %s (%s)", m.Name, m.Version, cmp.Or(m.Certificate, "-"), m.Status)
	case judged:
		table = "not a validated module (module table: " + cmp.Or(moduleOf(r, backend).Status, fips.StatusUnknown) + ")"
	}
	on := p.fipsHost() || forced
	switch {
	case !fipsBuild && p.fipsHost():
		p.add(check, StatusWarn, name+" has no FIPS integrity file: it cannot run in FIPS mode, whatever the kernel; "+table, ev...)
		p.finding(IDLibraryFIPSOff, "", lib, name+" on this FIPS host has no FIPS integrity file beside it: programs using it do not run a validated module in FIPS mode", "install the distribution's validated FIPS build of "+name+" or move the programs to a validated module")
	case !fipsBuild:
		p.add(check, StatusInfo, name+" has no FIPS integrity file (it cannot run in FIPS mode); "+table, ev...)
	case !on:
		p.add(check, StatusInfo, name+" has its FIPS integrity file and would run in FIPS mode on a FIPS kernel; "+table, ev...)
	case judged && !validated:
		p.add(check, StatusFail, name+" runs in FIPS mode here (integrity file present, FIPS kernel), but is "+table, ev...)
		p.finding(IDLibraryNoncompliant, "", lib, lib+": "+cmp.Or(why, name+" is not a validated build"), "install the vendor's validated build of "+name+" or move the programs that use it to a validated module")
	case judged:
		p.add(check, StatusPass, name+" runs in FIPS mode (integrity file present, FIPS kernel); "+table, ev...)
	default:
		p.add(check, StatusUnknown, name+" runs in FIPS mode (integrity file present, FIPS kernel); "+table, ev...)
	}
}

// tableJudgement reads what fips scan's module table says of a crypto
// library of backend, from the library's classification r: judged is
// false when r has no module of that backend (the file could not be read
// or is not that library); validated when the classifier's verdict is
// compliant or conditional (a validated module, whose FIPS mode is a
// property of the host); why is the classifier's first reason.
func tableJudgement(r fips.Result, backend string) (judged, validated bool, why string) {
	if moduleOf(r, backend) == nil {
		return false, false, firstReason(r.Reasons)
	}
	return true, r.Verdict == fips.Compliant || r.Verdict == fips.Conditional, firstReason(r.Reasons)
}

func (p *posture) legacy() {
	markers := []struct{ path, what string }{
		{"/etc/system-fips", "marker file"},
		{"/etc/dracut.conf.d/40-fips.conf", "dracut fips module"},
		{"/usr/bin/fips-mode-setup", "fips-mode-setup"},
		{"/usr/sbin/fips-mode-setup", "fips-mode-setup"},
	}
	var ev []Evidence
	var present []string
	for _, m := range markers {
		if existsFS(p.root, m.path) {
			ev = append(ev, Evidence{Path: m.path, Value: "present (" + m.what + ")"})
			present = append(present, m.path)
		}
	}
	decides := p.fam == famRHEL && p.major > 0 && p.major <= 8
	switch {
	case decides && p.fipsHost() && !existsFS(p.root, "/etc/system-fips"):
		p.add(CheckLegacy, StatusWarn, "RHEL 8 in FIPS mode without /etc/system-fips: GnuTLS and NSS of this release read it", ev...)
		p.finding(IDLegacyMarker, report.Warning, "/etc/system-fips", "on RHEL 8 /etc/system-fips still decides for GnuTLS and NSS, and it is missing on this FIPS host", "fips-mode-setup --enable (RHEL 8)")
	case len(present) == 0:
		p.add(CheckLegacy, StatusInfo, "none present")
	case decides:
		p.add(CheckLegacy, StatusInfo, "present; on RHEL 8 they still take part in FIPS mode", ev...)
	default:
		p.add(CheckLegacy, StatusInfo, "present, but they decide nothing on this release (FIPS mode is the kernel flag)", ev...)
		p.finding(IDLegacyMarker, "", present[0], "legacy FIPS markers present ("+strings.Join(present, ", ")+"): they decide nothing here; kensa judges the kernel flag, policy and providers", "")
	}
}

// hostname names the host: /etc/hostname in the root, else the kernel's.
func hostname(root rootfs.FS, proc string) string {
	if data, err := readFS(root, "/etc/hostname", 256); err == nil {
		if s := firstToken(data); s != "" {
			return s
		}
	}
	if data, _, err := readProc(filepath.Join(proc, "sys/kernel/hostname"), 256); err == nil {
		return strings.TrimSpace(string(data))
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return ""
}
