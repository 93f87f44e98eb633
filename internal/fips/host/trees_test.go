package host_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
)

// TestHostTrees runs the scan against each host tree (--root/--proc) and
// checks the posture statuses, the finding ids and the process verdicts.
func TestHostTrees(t *testing.T) {
	cases := map[string]struct {
		status   map[string]string // check → status
		findings []string          // exactly these ids (sorted, with repeats)
		procs    map[int]host.Verdict
	}{
		"rhel9-fips": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass, host.CheckCmdline: host.StatusPass, host.CheckBootEntries: host.StatusPass, host.CheckCryptoPolicy: host.StatusPass, host.CheckOpenSSLConfig: host.StatusPass, host.CheckOpenSSLProv: host.StatusUnknown, host.CheckFIPSModuleCnf: host.StatusInfo},
			findings: nil,
			procs:    map[int]host.Verdict{100: host.Compliant},
		},
		"rhel10-fips": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass, host.CheckCryptoPolicy: host.StatusPass, host.CheckLegacy: host.StatusInfo},
			findings: []string{host.IDProcProviderNotLoaded},
			procs:    map[int]host.Verdict{100: host.Undetermined},
		},
		"ubuntu-pro-fips": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass, host.CheckBootEntries: host.StatusPass, host.CheckCryptoPolicy: host.StatusAbsent, host.CheckOpenSSLConfig: host.StatusPass},
			findings: []string{host.IDProcProviderNotLoaded},
			procs:    map[int]host.Verdict{300: host.Noncompliant},
		},
		"azurelinux3-symcrypt": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass, host.CheckOpenSSLConfig: host.StatusPass},
			findings: nil,
			procs:    map[int]host.Verdict{400: host.Compliant},
		},
		"aks-fips-node": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass},
			findings: []string{host.IDProcProviderNotLoaded, host.IDProcMasked},
			procs:    map[int]host.Verdict{500: host.Noncompliant, 501: host.Noncompliant},
		},
		"inconsistent-policy": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusPass, host.CheckCryptoPolicy: host.StatusFail},
			findings: []string{host.IDPolicyNotFIPS},
		},
		"inconsistent-cmdline": {
			status:   map[string]string{host.CheckBootEntries: host.StatusWarn, host.CheckCmdline: host.StatusPass},
			findings: []string{host.IDCmdlineInconsistent},
		},
		"policy-without-kernel": {
			status:   map[string]string{host.CheckKernelFlag: host.StatusFail, host.CheckCryptoPolicy: host.StatusFail, host.CheckOpenSSLConfig: host.StatusInfo},
			findings: []string{host.IDKernelDisabled, host.IDKernelDisabled, host.IDPolicyStale},
		},
	}
	for _, name := range hosttrees.Names() {
		c, ok := cases[name]
		if !ok {
			t.Errorf("host tree %s has no expectations", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := hosttrees.Write(dir, name); err != nil {
				t.Fatal(err)
			}
			s, err := host.Run(context.Background(), host.Options{Root: dir, Proc: filepath.Join(dir, "proc")})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			procs := map[int]host.Result{}
			for _, r := range s.Results {
				if r.Kind == host.KindPosture {
					got[r.Check] = r.Status
				} else {
					procs[r.PID] = r
				}
			}
			for check, want := range c.status {
				if got[check] != want {
					t.Errorf("%s: status %q, want %q", check, got[check], want)
				}
			}
			var ids []string
			for _, f := range s.Findings {
				if f.ID != host.IDLegacyMarker {
					ids = append(ids, f.ID)
				}
			}
			slices.Sort(ids)
			slices.Sort(c.findings)
			if !slices.Equal(ids, c.findings) {
				t.Errorf("findings %v, want %v", ids, c.findings)
				for _, f := range s.Findings {
					t.Logf("  %s %s: %s", f.ID, f.Subject, f.Message)
				}
			}
			if len(procs) != len(c.procs) {
				t.Errorf("%d processes, want %d", len(procs), len(c.procs))
			}
			for pid, want := range c.procs {
				if r := procs[pid]; r.Verdict != want {
					t.Errorf("pid %d: verdict %s, want %s (%q)", pid, r.Verdict, want, r.Reasons)
				}
			}
		})
	}
}
