package cluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/report/catalogtest"
)

// TestCatalogDocumented: every finding id the package emits as a literal
// or constant is in its catalog, and every catalog id is documented in
// docs/ (fips-cluster.md, fips-cluster-workloads.md).
//
// catalogtest.Check would also refuse the one computed id (the workload
// half passes an instance's id, set from the IDWorkload* constants, to
// finding()); finding() panics on an id outside the catalog
// (TestCatalog), so that call is covered at run time instead.
func TestCatalogDocumented(t *testing.T) {
	ids, computed := catalogtest.EmittedIDs(t, ".")
	for _, p := range computed {
		t.Logf("%s: computed finding id (checked at run time by finding())", p)
	}
	if len(ids) == 0 {
		t.Fatal("no finding ids found")
	}
	for id, pos := range ids {
		if _, ok := report.Lookup(cluster.Checks, id); !ok {
			t.Errorf("%s: finding id %q is not in Checks", pos, id)
		}
	}
	var docs strings.Builder
	pages, _ := filepath.Glob("../../../docs/*.md")
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	for _, c := range cluster.Checks {
		if !strings.Contains(docs.String(), "`"+c.ID+"`") {
			t.Errorf("catalog id %q is not documented in docs/*.md", c.ID)
		}
	}
}
