package cli

import (
	"strconv"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// newReport starts a report for command. generated_at honours
// SOURCE_DATE_EPOCH, so reports can be reproduced byte for byte.
func newReport(env *Env, command string, at time.Time) *report.Report {
	gen := env.Now()
	if s := env.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			gen = time.Unix(n, 0)
		}
	}
	return report.New(command, version(), gen, at)
}
