package host

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestPostureFindings covers the posture findings the host trees do not:
// each case is a small root written from the documented file contents of
// the trees (see hosttrees), changed in one respect.
func TestPostureFindings(t *testing.T) {
	rhel := map[string]string{
		"etc/os-release":                    "ID=rhel\nVERSION_ID=\"9.4\"\n",
		"proc/sys/crypto/fips_enabled":      "1\n",
		"proc/cmdline":                      "ro fips=1\n",
		"etc/crypto-policies/config":        "FIPS\n",
		"etc/crypto-policies/state/current": "FIPS\n",
		"usr/lib64/libcrypto.so.3":          "placeholder /proc/sys/crypto/fips_enabled\n",
		"usr/lib64/ossl-modules/fips.so":    "placeholder\n",
		"etc/pki/tls/openssl.cnf":           "openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n[p]\ndefault = d\n[d]\nactivate = 1\n",
		"boot/loader/entries/a.conf":        "options ro fips=1\n",
		"proc/1/mountinfo":                  "22 1 253:0 / / rw - xfs /dev/root rw\n",
		"usr/lib64/libgnutls.so.30":         "placeholder\n",
		"usr/lib64/.libgnutls.so.30.hmac":   "placeholder\n",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	debian := map[string]string{
		"etc/os-release":                                "ID=debian\nVERSION_ID=\"12\"\n",
		"proc/sys/crypto/fips_enabled":                  "1\n",
		"proc/cmdline":                                  "ro fips=1\n",
		"usr/lib/x86_64-linux-gnu/libcrypto.so.3":       "placeholder (upstream: no kernel switch)\n",
		"usr/lib/x86_64-linux-gnu/ossl-modules/fips.so": "placeholder\n",
		"usr/lib/ssl/openssl.cnf":                       "openssl_conf = openssl_init\n[openssl_init]\nproviders = p\n[p]\ndefault = d\n[d]\nactivate = 1\n",
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		ids   []string
	}{
		{"consistent RHEL 9", rhel, nil},
		{"kernel without FIPS support", with(rhel, "proc/sys/crypto/fips_enabled", "", "proc/cmdline", "ro fips=1\n"), []string{IDCmdlineInconsistent, IDKernelUnsupported, IDKernelDisabled}},
		{"FIPS subpolicy outside the set", with(rhel, "etc/crypto-policies/config", "FIPS:AD-SUPPORT\n", "etc/crypto-policies/state/current", "FIPS:AD-SUPPORT\n"), []string{IDPolicySubpolicy}},
		{"allowed subpolicy", with(rhel, "etc/crypto-policies/config", "FIPS:OSPP\n", "etc/crypto-policies/state/current", "FIPS:OSPP\n"), nil},
		{"FIPS kernel without a provider", with(rhel, "usr/lib64/ossl-modules/fips.so", ""), []string{IDProviderMissing}},
		{"upstream OpenSSL, provider not activated", debian, []string{IDProviderNotActivated}},
		{"GnuTLS without its integrity file", with(rhel, "usr/lib64/.libgnutls.so.30.hmac", ""), []string{IDLibraryFIPSOff}},
		{"libgcrypt forced while the kernel is off", with(rhel, "proc/sys/crypto/fips_enabled", "0\n", "proc/cmdline", "ro\n", "etc/crypto-policies/config", "DEFAULT\n", "etc/crypto-policies/state/current", "DEFAULT\n", "boot/loader/entries/a.conf", "options ro\n", "usr/lib64/libgcrypt.so.20", "placeholder\n", "etc/gcrypt/fips_enabled", "1\n"), []string{IDKernelDisabled, IDLibraryFIPSOff}},
		{"RHEL 8 with a separate /boot and no boot=", with(rhel, "etc/os-release", "ID=rhel\nVERSION_ID=\"8.10\"\n", "etc/system-fips", "# RHEL 8 marker\n", "proc/1/mountinfo", "22 1 253:0 / / rw - xfs /dev/root rw\n23 22 252:1 / /boot rw - xfs /dev/vda1 rw\n"), []string{IDBootPartitionMissing}},
		{"RHEL 8 FIPS without /etc/system-fips", with(rhel, "etc/os-release", "ID=rhel\nVERSION_ID=\"8.10\"\n", "proc/cmdline", "ro fips=1 boot=UUID=x\n"), []string{IDLegacyMarker}},
		{"RHEL 8 BLS entry with $kernelopts from grubenv", with(rhel, "etc/os-release", "ID=rhel\nVERSION_ID=\"8.10\"\n", "etc/system-fips", "# RHEL 8 marker\n", "proc/cmdline", "ro fips=1 boot=UUID=x\n", "boot/loader/entries/a.conf", "options $kernelopts $tuned_params\n", "boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/mapper/rhel-root ro fips=1 boot=UUID=x\n"), nil},
		{"RHEL 8 grubenv without fips=1", with(rhel, "etc/os-release", "ID=rhel\nVERSION_ID=\"8.10\"\n", "etc/system-fips", "# RHEL 8 marker\n", "proc/cmdline", "ro fips=1 boot=UUID=x\n", "boot/loader/entries/a.conf", "options $kernelopts\n", "boot/grub2/grubenv", "kernelopts=root=/dev/mapper/rhel-root ro\n"), []string{IDCmdlineInconsistent}},
		{"RHEL 9 with legacy markers (info)", with(rhel, "etc/system-fips", "# legacy\n"), []string{IDLegacyMarker}},
		{"fips=1 on the cmdline, kernel off", with(rhel, "proc/sys/crypto/fips_enabled", "0\n", "etc/crypto-policies/config", "DEFAULT\n", "etc/crypto-policies/state/current", "DEFAULT\n"), []string{IDCmdlineInconsistent, IDKernelDisabled}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for n, v := range c.files {
				p := filepath.Join(root, n)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// config older than state/current (as update-crypto-policies leaves them).
			old := time.Now().Add(-time.Hour)
			os.Chtimes(filepath.Join(root, "etc/crypto-policies/config"), old, old)
			s, err := Run(context.Background(), Options{Root: root, NoProcesses: true})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range s.Findings {
				ids = append(ids, f.ID)
			}
			slices.Sort(ids)
			want := slices.Clone(c.ids)
			slices.Sort(want)
			if !slices.Equal(ids, want) {
				t.Errorf("findings %v, want %v", ids, want)
				for _, f := range s.Findings {
					t.Logf("  %s %s: %s", f.ID, f.Subject, f.Message)
				}
			}
		})
	}
}
