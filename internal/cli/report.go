package cli

import (
	"strconv"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// newReport starts a report for command. generated_at honours
// SOURCE_DATE_EPOCH, so reports can be reproduced byte for byte.
func newReport(env *Env, command string, at time.Time) *report.Report {
	return report.New(command, version(), generatedAt(env), at)
}

// generatedAt is when the run happened: the clock, or SOURCE_DATE_EPOCH.
// It is not --at, which is the time findings are evaluated for.
func generatedAt(env *Env) time.Time {
	if s := env.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0)
		}
	}
	return env.Now()
}
