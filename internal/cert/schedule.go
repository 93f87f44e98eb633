package cert

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

//go:embed validity.json
var validityJSON []byte

// ValiditySchedule is the CA/Browser Forum maximum-validity schedule, read
// from the embedded data file validity.json (its source and as-of date
// travel with it into every citation).
type ValiditySchedule struct {
	About  string        `json:"about"`
	Source string        `json:"source"`
	AsOf   string        `json:"as_of"`
	Rows   []ValidityRow `json:"rows"`
}

// ValidityRow is one step of the schedule: certificates issued on or after
// IssuedFrom and before IssuedBefore (either may be empty: unbounded) may
// be valid for at most MaxDays days.
type ValidityRow struct {
	IssuedFrom   string `json:"issued_from"`
	IssuedBefore string `json:"issued_before"`
	MaxDays      int    `json:"max_days"`
}

// Schedule returns the embedded validity schedule, parsed once.
func Schedule() ValiditySchedule { return schedule() }

var schedule = sync.OnceValue(func() ValiditySchedule {
	var s ValiditySchedule
	if err := json.Unmarshal(validityJSON, &s); err != nil {
		panic("cert: embedded validity.json: " + err.Error())
	}
	return s
})

// Limit returns the row that applies to a certificate issued at issued.
func (s ValiditySchedule) Limit(issued time.Time) (ValidityRow, bool) {
	day := issued.UTC().Format(time.DateOnly)
	for _, r := range s.Rows {
		if (r.IssuedFrom == "" || day >= r.IssuedFrom) && (r.IssuedBefore == "" || day < r.IssuedBefore) {
			return r, true
		}
	}
	return ValidityRow{}, false
}

// Citation names the row and the schedule's source.
func (s ValiditySchedule) Citation(r ValidityRow) string {
	span := "issued"
	if r.IssuedFrom != "" {
		span += " from " + r.IssuedFrom
	}
	if r.IssuedBefore != "" {
		span += " before " + r.IssuedBefore
	}
	return fmt.Sprintf("%s: %s at most %d days (kensa data validity.json, as of %s)", s.Source, span, r.MaxDays, s.AsOf)
}

// ValidityDays is the validity period of c in days as the Baseline
// Requirements count it: notBefore to notAfter inclusive (one second
// added), and any part of a day counted as a whole day.
func ValidityDays(notBefore, notAfter time.Time) int {
	d := notAfter.Sub(notBefore) + time.Second
	if d <= 0 {
		return 0
	}
	days := int(d / (24 * time.Hour))
	if d%(24*time.Hour) != 0 {
		days++
	}
	return days
}
