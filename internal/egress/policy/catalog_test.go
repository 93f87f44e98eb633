package policy_test

import (
	"testing"

	"github.com/kensa-project/kensa/internal/egress/policy"
	"github.com/kensa-project/kensa/internal/report/catalogtest"
)

func TestCatalog(t *testing.T) {
	catalogtest.Check(t, ".", policy.Checks, "../../../docs")
}
