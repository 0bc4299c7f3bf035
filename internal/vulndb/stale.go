package vulndb

import (
	"fmt"
	"time"
)

// DefaultMaxAge is the age after which a scan warns that the database is
// old, unless configured otherwise.
const DefaultMaxAge = 7 * 24 * time.Hour

// StaleWarning returns a warning for a scan report when the database is
// older than maxAge at now, and "" when it is fresh enough (or maxAge is
// 0 or less, which turns the warning off).
func StaleWarning(meta Metadata, now time.Time, maxAge time.Duration) string {
	if maxAge <= 0 || meta.BuiltAt.IsZero() {
		return ""
	}
	age := now.Sub(meta.BuiltAt)
	if age <= maxAge {
		return ""
	}
	return fmt.Sprintf("the vulnerability database was built %s ago (%s), more than %s: run 'bulwark db update' to see recent vulnerabilities",
		HumanDuration(age), meta.BuiltAt.UTC().Format(time.RFC3339), HumanDuration(maxAge))
}

// HumanDuration prints a duration in days, hours or minutes.
func HumanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "in the future " + HumanDuration(-d)
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	default:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
}
