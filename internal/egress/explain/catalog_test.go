package explain_test

import (
	"testing"

	"github.com/kensa-project/kensa/internal/egress/explain"
	"github.com/kensa-project/kensa/internal/report/catalogtest"
)

func TestCatalog(t *testing.T) {
	catalogtest.Check(t, ".", explain.Checks, "../../../docs")
}
