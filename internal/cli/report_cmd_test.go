package cli

import (
	"strings"
	"testing"
)

// TestDomainsRegistered: every command that writes a report registers its
// domain, so its SARIF has the catalog's rules and its reports can be
// merged (docs/adding-a-command.md, step 6).
func TestDomainsRegistered(t *testing.T) {
	for _, c := range commands {
		if c.name == "version" || strings.HasPrefix(c.name, "report ") {
			continue
		}
		d, ok := domains[c.name]
		switch {
		case !ok:
			t.Errorf("%s: no registerDomain(%q, …) in its cli file: its SARIF has no rules from its catalog and report merge refuses its reports", c.name, c.name)
		case len(d.checks) == 0:
			t.Errorf("%s: registered without its catalog (checks)", c.name)
		case d.summarize == nil:
			t.Errorf("%s: registered without summarize: report merge cannot re-count its reports", c.name)
		case d.doc == "":
			t.Errorf("%s: registered without the docs page of its checks", c.name)
		}
	}
}
