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

// generatedAt is when the run happened: SOURCE_DATE_EPOCH when it is set
// (parseCommand has refused an invalid one), else the clock. It is not
// --at, which is the time findings are evaluated for, though --at
// defaults to it.
func generatedAt(env *Env) time.Time {
	if t, ok, err := sourceDateEpoch(env); ok && err == nil {
		return t
	}
	return env.Now()
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org): whole
// seconds since 1970-01-01 UTC. ok is false when it is not set.
func sourceDateEpoch(env *Env) (t time.Time, ok bool, err error) {
	s := env.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 253402300799 { // 9999-12-31T23:59:59Z
		return time.Time{}, true, usageErrorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970-01-01 UTC", s).
			withHint("set it to a Unix time such as 1767225600 (git log -1 --format=%%ct), or unset it")
	}
	return time.Unix(n, 0).UTC(), true, nil
}
