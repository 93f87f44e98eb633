package cert

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestExpandIsBounded: addresses that expand past MaxProbes handshakes
// (here --connect IPs; names resolving to many IPs do the same) stop at
// MaxProbes plans plus one failed plan that says so.
func TestExpandIsBounded(t *testing.T) {
	addrs := make([]string, MaxProbes+50)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.%d.%d.%d:443", i>>16&255, i>>8&255, i&255)
	}
	plans := expand(context.Background(), []Endpoint{{Addresses: addrs, ServerNames: []string{"example.com"}}}, ProbeOptions{Concurrency: 1})
	if len(plans) != MaxProbes+1 {
		t.Fatalf("%d plans, want %d", len(plans), MaxProbes+1)
	}
	last := plans[MaxProbes]
	if last.err == nil || !strings.Contains(last.err.Error(), "were not probed") {
		t.Errorf("last plan err = %v, want the cap said", last.err)
	}
	for _, p := range plans[:MaxProbes] {
		if p.err != nil {
			t.Fatalf("plan %+v failed before the cap", p)
		}
	}
}
