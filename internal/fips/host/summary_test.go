package host

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarizeAdd(t *testing.T) {
	a := Summarize([]Result{
		{Kind: KindPosture, Host: "a", Check: CheckKernelFlag, Status: StatusPass},
		{Kind: KindPosture, Host: "a", Check: CheckCryptoPolicy, Status: StatusFail},
		{Kind: KindProcess, Host: "a", PID: 1, Verdict: Compliant, Crypto: []string{"openssl"}},
		{Kind: KindProcess, Host: "a", PID: 2, Verdict: Unreadable, ContainerID: "c1"},
	}, 3)
	b := Summarize([]Result{
		{Kind: KindPosture, Host: "b", Check: CheckKernelFlag, Status: StatusFail},
		{Kind: KindProcess, Host: "b", PID: 1, Verdict: Noncompliant, Crypto: []string{"go-std"}, ContainerID: "c1"},
	}, 1)
	a.Add(b)
	want := Summary{
		Hosts: 2, FIPSHosts: 1,
		Posture:   map[string]int{StatusPass: 1, StatusFail: 2},
		Processes: 3, Skipped: 4, Unreadable: 1,
		Verdicts:   map[string]int{"compliant": 1, "unreadable": 1, "noncompliant": 1},
		Backends:   map[string]int{"openssl": 1, "go-std": 1},
		Containers: map[string]map[string]int{"host": {"compliant": 1}, "c1": {"unreadable": 1, "noncompliant": 1}},
	}
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}
}
