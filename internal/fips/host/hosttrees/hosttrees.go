// Package hosttrees writes host trees for `kensa fips host --root/--proc`
// tests: a root filesystem and a /proc for RHEL 9 and 10 in FIPS mode,
// Ubuntu Pro FIPS, Azure Linux 3 with SymCrypt, an AKS FIPS node with
// containers, and inconsistent hosts. The trees are written at test time
// from the documented file contents below; every file carries where its
// content comes from (Source), and each tree gets a SOURCES.txt listing
// them. Binaries are placeholders (text, never executed): the tests of
// real executables use real processes; here the maps, environment,
// cgroups and configuration files decide.
package hosttrees

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// File is one file of a tree. Content starting with "-> " makes a
// symbolic link to the rest.
type File struct {
	Path    string
	Content string
	Source  string
}

// Tree is a named host tree.
type Tree struct {
	Name  string
	About string
	Files []File
}

// Sources cited below.
const (
	srcKernel   = "Linux crypto/fips.c: fips_enabled is 0 or 1 (0444); fips_name/fips_version since 6.0 (live-posture.md §2)"
	srcRHEL9Rel = "RHEL 9.4 /etc/os-release as shipped by redhat-release-9.4 (NAME, VERSION_ID, ID_LIKE fields)"
	srcBLS      = "BLS entry layout as written by grubby on RHEL 9 (title/version/linux/initrd/options); ComplianceAsCode enable_fips_mode checks options for fips=1"
	srcPolicy   = "update-crypto-policies writes the policy name to /etc/crypto-policies/config and state/current (crypto-policies(7)); ComplianceAsCode configure_crypto_policy"
	srcRHELCnf  = "RHEL 9 /etc/pki/tls/openssl.cnf (openssl-libs 3.0.7): .include of the crypto-policies back-end, provider_sect with default only and the fips line commented (Fedora/RHEL openssl.spec)"
	srcPatch    = "placeholder for libcrypto.so.3 carrying the string /proc/sys/crypto/fips_enabled, as Red Hat's 'Add Kernel FIPS mode flag support' patch does (FIPS_MODE_SWITCH_FILE); not an ELF file"
	srcPlain    = "placeholder for an upstream/Debian libcrypto.so.3: no kernel-flag patch; not an ELF file"
	srcProv     = "placeholder for the OpenSSL FIPS provider (RHEL 9.4+: openssl-fips-provider RPM, /usr/lib64/ossl-modules/fips.so); not an ELF file"
	srcMaps     = "proc(5) maps line format (address perms offset dev inode pathname); libraries as an OpenSSL 3 program in FIPS mode maps them (live-posture.md §3.3)"
	srcStat     = "proc(5) /proc/PID/stat: pid (comm) state ppid … flags (field 9, PF_KTHREAD 0x00200000 unset)"
	srcCgroupK  = "cgroup v2 path of a containerd pod container with the systemd driver (kubepods-<qos>-pod<uid>.slice/cri-containerd-<id>.scope; neuvector cgroup tests)"
	srcExe      = "placeholder executable (text, never executed): the maps decide"
	srcMount    = "proc(5) mountinfo format: id parent major:minor root mount-point options - fstype source"
)

func procFiles(pid int, comm, exe, maps, environ, cgroup, root string) []File {
	p := fmt.Sprintf("proc/%d/", pid)
	return []File{
		{p + "stat", fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 100 0 0 0 1 1 0 0 20 0 1 0 100 10000000 100\n", pid, comm, pid, pid), srcStat},
		{p + "exe", "-> " + exe, "symbolic link as /proc/PID/exe shows the executable's path in the process's mount namespace"},
		{p + "maps", maps, srcMaps},
		{p + "environ", environ, "proc_pid_environ(5): NUL-separated initial environment"},
		{p + "cgroup", cgroup, srcCgroupK},
		{p + "root", "-> " + root, "proc_pid_root(5): the process's root; here a relative link into the tree"},
	}
}

func mapsOf(paths ...string) string {
	var b strings.Builder
	for i, p := range paths {
		fmt.Fprintf(&b, "7f%02x00000000-7f%02x00100000 r-xp 00000000 fd:00 %d %s\n", i, i, 1000+i, p)
	}
	b.WriteString("7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n")
	return b.String()
}

func rhelBase(version, pretty string, kernel string) []File {
	versionID := strings.Fields(version)[0]
	krel := "5.14.0-427.13.1.el9_4.x86_64"
	if strings.HasPrefix(versionID, "10") {
		krel = "6.12.0-55.9.1.el10_0.x86_64"
	}
	return []File{
		{"etc/os-release", fmt.Sprintf("# %s\nNAME=\"Red Hat Enterprise Linux\"\nVERSION=%q\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=%q\nPRETTY_NAME=%q\n", srcRHEL9Rel, version, versionID, pretty), srcRHEL9Rel},
		{"etc/hostname", "rhel-node\n", "hostname(5)"},
		{"proc/sys/crypto/fips_enabled", kernel + "\n", srcKernel},
		{"proc/sys/crypto/fips_name", "Red Hat Enterprise Linux " + strings.SplitN(version, ".", 2)[0] + " - Kernel Cryptographic API\n", srcKernel},
		{"proc/sys/crypto/fips_version", krel + "\n", srcKernel},
		{"etc/pki/tls/openssl.cnf", "# " + srcRHELCnf + "\nopenssl_conf = openssl_init\n\n[openssl_init]\nproviders = provider_sect\nalg_section = evp_properties\n\n[evp_properties]\n\n[provider_sect]\ndefault = default_sect\n##fips = fips_sect\n\n[default_sect]\nactivate = 1\n\n.include = /etc/crypto-policies/back-ends/opensslcnf.config\n", srcRHELCnf},
		{"etc/crypto-policies/back-ends/opensslcnf.config", "# crypto-policies FIPS back-end for OpenSSL (generated by update-crypto-policies)\nCipherString = @SECLEVEL=2:kEECDH:kRSA:kEDH:kPSK:kDHEPSK:kECDHEPSK:-aDSS:-3DES:!DES:!RC4:!RC2:!IDEA:-SEED:!eNULL:!aNULL:!MD5:-SHA384:-CAMELLIA:-ARIA:-AESCCM8\n", srcPolicy},
		{"usr/lib64/libcrypto.so.3", "placeholder libcrypto: /proc/sys/crypto/fips_enabled\n", srcPatch},
		{"usr/lib64/ossl-modules/fips.so", "placeholder fips.so\n", srcProv},
		{"usr/bin/app", "placeholder\n", srcExe},
		{"proc/1/mountinfo", "22 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/rhel-root rw\n23 22 252:1 / /boot rw,relatime shared:2 - xfs /dev/vda1 rw\n", srcMount},
	}
}

func policy(config, current string) []File {
	return []File{
		{"etc/crypto-policies/config", "# crypto-policies(7): the configured policy\n" + config + "\n", srcPolicy},
		{"etc/crypto-policies/state/current", current + "\n", srcPolicy},
	}
}

func bls(id, options string) File {
	return File{"boot/loader/entries/" + id + ".conf", "title Red Hat Enterprise Linux (5.14.0-427.13.1.el9_4.x86_64) 9.4 (Plow)\nversion 5.14.0-427.13.1.el9_4.x86_64\nlinux /vmlinuz-5.14.0-427.13.1.el9_4.x86_64\ninitrd /initramfs-5.14.0-427.13.1.el9_4.x86_64.img $tuned_initrd\noptions " + options + "\n", srcBLS}
}

const rhelCmdline = "BOOT_IMAGE=(hd0,msdos1)/vmlinuz-5.14.0-427.13.1.el9_4.x86_64 root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root fips=1 boot=UUID=6b4f3a4e-0d4b-4f0e-9d3c-6f2a8e7c1b2a\n"

const fipsProc = "GOLANG_FIPS=1\x00PATH=/usr/bin\x00"

// Trees returns every tree.
func Trees() []Tree {
	var ts []Tree
	ts = append(ts, Tree{"rhel9-fips", "RHEL 9.4 installed with fips=1: kernel flag 1, FIPS policy, fips=1 in the cmdline and every BLS entry; one OpenSSL process with fips.so mapped",
		slices.Concat(rhelBase("9.4 (Plow)", "Red Hat Enterprise Linux 9.4 (Plow)", "1"), policy("FIPS", "FIPS"),
			[]File{{"proc/cmdline", rhelCmdline, "RHEL 9 kernel command line after installing with fips=1 (boot= added for a separate /boot)"},
				bls("0a1b-5.14.0-427.13.1.el9_4.x86_64", "root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M rd.lvm.lv=rhel/root fips=1 boot=UUID=6b4f3a4e-0d4b-4f0e-9d3c-6f2a8e7c1b2a")},
			procFiles(100, "app", "/usr/bin/app", mapsOf("/usr/bin/app", "/usr/lib64/libcrypto.so.3", "/usr/lib64/ossl-modules/fips.so"), fipsProc, "0::/system.slice/app.service\n", "../.."))})
	ts = append(ts, Tree{"rhel10-fips", "RHEL 10.0 installed with fips=1: /etc/crypto-policies/config still DEFAULT, the FIPS back-ends bind-mounted by the initramfs; no /etc/system-fips, no fips-mode-setup",
		slices.Concat(rhelBase("10.0 (Coughlan)", "Red Hat Enterprise Linux 10.0 (Coughlan)", "1"), policy("DEFAULT", "DEFAULT"),
			[]File{{"proc/cmdline", strings.Replace(rhelCmdline, " boot=UUID=6b4f3a4e-0d4b-4f0e-9d3c-6f2a8e7c1b2a", "", 1), "RHEL 10 with fips=1 (no boot=: dracut no longer needs it)"},
				bls("0a1b-6.12.0-55.el10.x86_64", "root=/dev/mapper/rhel-root ro fips=1"),
				{"proc/1/mountinfo", "22 1 253:0 / / rw,relatime shared:1 - xfs /dev/mapper/rhel-root rw\n30 22 253:0 /usr/share/crypto-policies/back-ends/FIPS /etc/crypto-policies/back-ends rw,relatime shared:1 - xfs /dev/mapper/rhel-root rw\n", "fedora-crypto-policies MR 205 / dracut PR #2670: with fips=1 the initramfs bind-mounts the FIPS back-ends over /etc/crypto-policies/back-ends (exact mount point [unverified], live-posture.md §1.2)"}},
			procFiles(100, "app", "/usr/bin/app", mapsOf("/usr/bin/app", "/usr/lib64/libcrypto.so.3"), "PATH=/usr/bin\x00", "0::/system.slice/app.service\n", "../.."))})
	ubuntu := []File{
		{"etc/os-release", "# Ubuntu 22.04 /etc/os-release (base-files)\nPRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\nID_LIKE=debian\n", "Ubuntu 22.04 /etc/os-release (base-files)"},
		{"etc/hostname", "ubuntu-fips\n", "hostname(5)"},
		{"proc/sys/crypto/fips_enabled", "1\n", srcKernel},
		{"proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-5.15.0-1060-fips root=UUID=0f1e ro console=tty1 fips=1\n", "Ubuntu Pro `pro enable fips-updates` boots the -fips kernel with fips=1"},
		{"etc/default/grub", "# /etc/default/grub (grub2-common)\nGRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=\"\"\nGRUB_CMDLINE_LINUX=\"\"\n", "Debian/Ubuntu grub2-common default file"},
		{"etc/default/grub.d/99-ubuntu-fips.cfg", "# installed by ubuntu-fips (Ubuntu Pro FIPS)\nGRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT fips=1\"\n", "Ubuntu Pro FIPS grub snippet [unverified file name; Canonical's FIPS docs describe fips=1 added through /etc/default/grub.d]"},
		{"usr/lib/x86_64-linux-gnu/libcrypto.so.3", "placeholder libcrypto: /proc/sys/crypto/fips_enabled\n", "placeholder for Ubuntu Pro's libcrypto, which detects a FIPS kernel (Launchpad bug 2056593 via dotnet/dotnet-docker#5849; [unverified] that it reads /proc/sys/crypto/fips_enabled directly)"},
		{"usr/lib/ssl/openssl.cnf", "# Ubuntu /usr/lib/ssl/openssl.cnf (openssl package): no provider section activated\nopenssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\n[default_sect]\nactivate = 1\n", "Debian/Ubuntu openssl.cnf default provider layout"},
		{"usr/lib/x86_64-linux-gnu/ossl-modules/fips.so", "placeholder\n", "placeholder for openssl-fips-module-3 (canonical/ubuntu-pro-client#3390)"},
		{"usr/bin/app", "placeholder\n", srcExe},
	}
	ts = append(ts, Tree{"ubuntu-pro-fips", "Ubuntu 22.04 with Ubuntu Pro fips-updates: FIPS kernel, fips=1 through /etc/default/grub.d, openssl-fips-module-3; a process started with OPENSSL_FORCE_FIPS_MODE=0",
		slices.Concat(ubuntu, procFiles(300, "app", "/usr/bin/app", mapsOf("/usr/bin/app", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"), "OPENSSL_FORCE_FIPS_MODE=0\x00", "0::/system.slice/app.service\n", "../.."))})
	azl := []File{
		{"etc/os-release", "# Azure Linux 3.0 /etc/os-release\nNAME=\"Microsoft Azure Linux\"\nVERSION=\"3.0.20240824\"\nID=azurelinux\nVERSION_ID=\"3.0\"\nPRETTY_NAME=\"Microsoft Azure Linux 3.0\"\n", "Azure Linux 3.0 /etc/os-release (azurelinux-release)"},
		{"etc/hostname", "azl3-node\n", "hostname(5)"},
		{"proc/sys/crypto/fips_enabled", "1\n", srcKernel},
		{"proc/cmdline", "BOOT_IMAGE=/boot/vmlinuz-6.6.43.1-6.azl3 root=PARTUUID=1 ro fips=1\n", "Azure Linux FIPS image kernel command line (AKS --enable-fips-image)"},
		{"etc/default/grub", "GRUB_CMDLINE_LINUX=\" fips=1\"\n", "Azure Linux FIPS image grub defaults [unverified layout]"},
		{"etc/pki/tls/openssl.cnf", "# Azure Linux 3 /etc/pki/tls/openssl.cnf: providers come from the Force-fips patch, not this file\nopenssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\n[default_sect]\nactivate = 1\n", "microsoft/azurelinux SPECS/openssl patch 0032-Force-fips-symcrypt (live-posture.md §3.2)"},
		{"usr/lib64/libcrypto.so.3", "placeholder libcrypto: /proc/sys/crypto/fips_enabled\n", srcPatch + " (Azure Linux carries it, plus the SymCrypt preference)"},
		{"usr/lib64/ossl-modules/symcryptprovider.so", "placeholder\n", "placeholder for SymCrypt-OpenSSL's provider (%{_libdir}/ossl-modules/symcryptprovider.so)"},
		{"usr/lib64/libsymcrypt.so.103", "placeholder\n", "placeholder for the SymCrypt library"},
		{"etc/pki/tls/openssl.d/symcrypt_prov.cnf", "[symcrypt_prov_sect]\nactivate = 1\n", "Azure Linux symcrypt_prov.cnf read by the Force-fips patch"},
		{"usr/bin/app", "placeholder\n", srcExe},
	}
	ts = append(ts, Tree{"azurelinux3-symcrypt", "Azure Linux 3 FIPS image: kernel flag 1, OpenSSL forced to the SymCrypt provider by the distribution patch; a process with symcryptprovider.so mapped",
		slices.Concat(azl, procFiles(400, "app", "/usr/bin/app", mapsOf("/usr/bin/app", "/usr/lib64/libcrypto.so.3", "/usr/lib64/ossl-modules/symcryptprovider.so", "/usr/lib64/libsymcrypt.so.103"), "PATH=/usr/bin\x00", "0::/system.slice/app.service\n", "../.."))})
	// AKS FIPS node: Ubuntu 22.04 FIPS node image with two pod containers.
	const pod = "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3f8e2c1a_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-%s.scope\n"
	idA := strings.Repeat("a1", 32)
	idB := strings.Repeat("b2", 32)
	aks := slices.Concat(ubuntu,
		[]File{{"etc/hostname", "aks-fipspool-12345678-vmss000000\n", "AKS node name pattern (aks-<pool>-<id>-vmss<n>)"},
			// Container A: a Debian-based image, default OpenSSL, sees the flag.
			{"run/containerd/a/rootfs/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "Debian 12 base image /etc/os-release"},
			{"run/containerd/a/rootfs/usr/lib/x86_64-linux-gnu/libcrypto.so.3", "placeholder\n", srcPlain},
			{"run/containerd/a/rootfs/usr/lib/ssl/openssl.cnf", "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\n[default_sect]\nactivate = 1\n", "Debian 12 openssl.cnf provider layout"},
			{"run/containerd/a/rootfs/proc/sys/crypto/fips_enabled", "1\n", srcKernel + " (shared with the host: microsoft/go README)"},
			{"run/containerd/a/rootfs/app", "placeholder\n", srcExe},
			// Container B: the flag masked to 0 (CRI-O FIPS_DISABLE style).
			{"run/containerd/b/rootfs/etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n", "Debian 12 base image"},
			{"run/containerd/b/rootfs/proc/sys/crypto/fips_enabled", "0\n", "CRI-O FIPS_DISABLE=true / runc #4246: the container reads 0 (live-posture.md §5.3)"},
			{"run/containerd/b/rootfs/app", "placeholder\n", srcExe},
		},
		procFiles(500, "app", "/app", mapsOf("/app", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"), "PATH=/usr/bin\x00", fmt.Sprintf(pod, idA), "../../run/containerd/a/rootfs"),
		procFiles(501, "app", "/app", mapsOf("/app"), "GODEBUG=fips140=off\x00", fmt.Sprintf(pod, idB), "../../run/containerd/b/rootfs"),
	)
	ts = append(ts, Tree{"aks-fips-node", "AKS FIPS node pool (Ubuntu 22.04 FIPS node image) with two pod containers: a Debian image with OpenSSL's default provider only, and a container shown fips_enabled=0", aks})
	ts = append(ts, Tree{"inconsistent-policy", "RHEL 9 with the kernel in FIPS mode but the crypto policy DEFAULT (fips=1 added by hand without update-crypto-policies)",
		slices.Concat(rhelBase("9.4 (Plow)", "Red Hat Enterprise Linux 9.4 (Plow)", "1"), policy("DEFAULT", "DEFAULT"),
			[]File{{"proc/cmdline", rhelCmdline, "as rhel9-fips"}, bls("0a1b-5.14.0-427.13.1.el9_4.x86_64", "root=/dev/mapper/rhel-root ro fips=1 boot=UUID=6b4f3a4e-0d4b-4f0e-9d3c-6f2a8e7c1b2a")})})
	ts = append(ts, Tree{"inconsistent-cmdline", "RHEL 9 in FIPS mode whose newest boot entry lacks fips=1 (a kernel update written without it): the next boot loses FIPS mode",
		slices.Concat(rhelBase("9.4 (Plow)", "Red Hat Enterprise Linux 9.4 (Plow)", "1"), policy("FIPS", "FIPS"),
			[]File{{"proc/cmdline", rhelCmdline, "as rhel9-fips"},
				bls("0a1b-5.14.0-427.13.1.el9_4.x86_64", "root=/dev/mapper/rhel-root ro fips=1 boot=UUID=6b4f3a4e-0d4b-4f0e-9d3c-6f2a8e7c1b2a"),
				bls("0a1b-5.14.0-503.11.1.el9_5.x86_64", "root=/dev/mapper/rhel-root ro")})})
	ts = append(ts, Tree{"policy-without-kernel", "RHEL 9 with the FIPS crypto policy set but the kernel not in FIPS mode, and config edited after the last update-crypto-policies",
		slices.Concat(rhelBase("9.4 (Plow)", "Red Hat Enterprise Linux 9.4 (Plow)", "0"), policy("FIPS:OSPP", "FIPS"),
			[]File{{"proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/mapper/rhel-root ro\n", "RHEL 9 cmdline without fips="}, bls("0a1b", "root=/dev/mapper/rhel-root ro")})})
	return ts
}

// Names lists the trees.
func Names() []string {
	var out []string
	for _, t := range Trees() {
		out = append(out, t.Name)
	}
	return out
}

// Write writes tree name under dir (dir/<files>), and dir/SOURCES.txt.
func Write(dir, name string) error {
	for _, t := range Trees() {
		if t.Name != name {
			continue
		}
		var src strings.Builder
		fmt.Fprintf(&src, "Host tree %s: %s\nWritten by internal/fips/host/hosttrees at test time. Each file and where its content comes from:\n\n", t.Name, t.About)
		// Later entries override earlier ones (a tree's own hostname).
		last := map[string]File{}
		var order []string
		for _, f := range t.Files {
			if _, ok := last[f.Path]; !ok {
				order = append(order, f.Path)
			}
			last[f.Path] = f
		}
		for _, p := range order {
			f := last[p]
			full := filepath.Join(dir, filepath.FromSlash(f.Path))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				return err
			}
			os.Remove(full)
			if target, ok := strings.CutPrefix(f.Content, "-> "); ok {
				if err := os.Symlink(target, full); err != nil {
					return err
				}
			} else if err := os.WriteFile(full, []byte(f.Content), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(&src, "%s\n    %s\n", f.Path, f.Source)
		}
		return os.WriteFile(filepath.Join(dir, "SOURCES.txt"), []byte(src.String()), 0o644)
	}
	return fmt.Errorf("no host tree %q", name)
}
