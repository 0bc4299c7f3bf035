package vulndb

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxAge is the age above which a database is stale (a warning, or
// an error with the "fail" stale policy), unless configured otherwise.
const DefaultMaxAge = 48 * time.Hour

// StaleWarning says that the database is older than maxAge at now, and
// returns "" when it is fresh enough (or maxAge is 0 or less, which turns
// the check off).
func StaleWarning(meta Metadata, now time.Time, maxAge time.Duration) string {
	if maxAge <= 0 || meta.BuiltAt.IsZero() {
		return ""
	}
	age := now.Sub(meta.BuiltAt)
	if age <= maxAge {
		return ""
	}
	return fmt.Sprintf("the vulnerability database was built %s ago (%s), more than the maximum age of %s",
		HumanDuration(age), meta.BuiltAt.UTC().Format(time.RFC3339), HumanDuration(maxAge))
}

// ParseAge parses an age: a Go duration ("36h") or a number of days ("2d").
func ParseAge(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not an age (like 2d or 36h)", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not an age (like 2d or 36h)", s)
	}
	return d, nil
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
