package egress_test

import (
	"testing"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/report/catalogtest"
)

// TestCatalog: every finding ID the package can emit is in its catalog,
// and every catalog ID is documented in docs/.
func TestCatalog(t *testing.T) {
	catalogtest.Check(t, ".", egress.Checks, "../../docs")
}
