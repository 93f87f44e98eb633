package cluster_test

import (
	"testing"

	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/report/catalogtest"
)

// TestCatalogDocumented: every finding id the package can emit is in its
// catalog, and every catalog id is documented in docs/ (fips-cluster.md,
// fips-cluster-workloads.md).
func TestCatalogDocumented(t *testing.T) {
	catalogtest.Check(t, ".", cluster.Checks, "../../../docs")
}
