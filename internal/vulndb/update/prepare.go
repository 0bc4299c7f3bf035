package update

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/regular"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Stale policies: what a command does with a database older than its
// maximum age that could not be updated.
const (
	StaleWarn = "warn"
	StaleFail = "fail"
)

// CheckStalePolicy checks a --db-stale / scan.db.stale value.
func CheckStalePolicy(s string) error {
	switch s {
	case "", StaleWarn, StaleFail:
		return nil
	}
	return fmt.Errorf("%q is not a stale policy: use warn or fail", s)
}

// PrepareOptions says how a command gets its database.
type PrepareOptions struct {
	// Update configures the update Prepare may run; its DB is the file.
	Update Options
	// Offline uses the database as it is and never touches the network;
	// without a database it fails.
	Offline bool
	// UpdateAfter is the age at which Prepare updates the database
	// (default 24h).
	UpdateAfter time.Duration
	// MaxAge is the age above which the database is stale (default
	// vulndb.DefaultMaxAge; negative turns the check off).
	MaxAge time.Duration
	// Stale is StaleWarn (the default: a warning in the report) or
	// StaleFail (an error).
	Stale string
	// WithoutVulns says how to run without the vulnerability gate, for
	// the message when there is no database (default: the --scanners flag).
	WithoutVulns string
	// Now is the current time; time.Now when nil.
	Now func() time.Time
}

// NoDatabaseError says that there is no database and none could be got,
// and names every way out.
type NoDatabaseError struct {
	// Path is where the database was looked for.
	Path string
	// Err is why none could be downloaded (nil when offline).
	Err error
	// WithoutVulns says how to run without the vulnerability gate.
	WithoutVulns string
}

func (e *NoDatabaseError) Error() string {
	var b strings.Builder
	if e.Err == nil {
		fmt.Fprintf(&b, "no vulnerability database at %s, and offline mode forbids downloading one.\n", e.Path)
	} else {
		fmt.Fprintf(&b, "no vulnerability database at %s, and none could be downloaded:\n  %s\n", e.Path, strings.ReplaceAll(strings.TrimPrefix(e.Err.Error(), "updating the vulnerability database: "), "\n", "\n  "))
	}
	b.WriteString(WaysOut(e.WithoutVulns))
	return b.String()
}

func (e *NoDatabaseError) Unwrap() error { return e.Err }

// WaysOut names what to do when no database can be downloaded: a
// repository or mirror that can be reached, a bundle, and (when
// withoutVulns is not empty) running without the vulnerability gate.
func WaysOut(withoutVulns string) string {
	s := "Ways out:\n" +
		"  - pull from a registry or mirror you can reach: --db-repository REF (repeatable; or BULWARK_DB_REPOSITORY=REF,REF)\n" +
		"  - install a bundle made elsewhere with 'bulwark db export -o FILE': bulwark db import FILE"
	if withoutVulns != "" {
		s += "\n  - scan without the vulnerability gate: " + withoutVulns
	}
	return s
}

// Prepare opens the database for a command that matches vulnerabilities:
// it updates it first when it is missing or older than UpdateAfter
// (unless Offline), falls back to the existing database with a warning
// when that update fails, and applies the stale policy to a database older
// than MaxAge. The warnings belong in the report.
func Prepare(ctx context.Context, o PrepareOptions) (*vulndb.DB, []string, error) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	without := o.WithoutVulns
	if without == "" {
		without = "--scanners secret,misconfig"
	}
	path := o.Update.DB
	var warnings []string
	db, openErr := vulndb.Open(path)
	if errors.Is(openErr, regular.ErrNotRegular) {
		return nil, nil, openErr // never replaced by an update
	}
	missing := false
	if openErr != nil {
		_, statErr := os.Stat(path)
		missing = errors.Is(statErr, os.ErrNotExist)
	}
	if o.Offline && openErr != nil {
		if missing {
			return nil, nil, &NoDatabaseError{Path: path, WithoutVulns: without}
		}
		return nil, nil, openErr
	}
	after := o.UpdateAfter
	if after == 0 {
		after = 24 * time.Hour
	}
	updateFailed := false
	if !o.Offline && (openErr != nil || db.Age(now()) > after) {
		if _, err := Update(ctx, o.Update); err != nil {
			if ctx.Err() != nil {
				if db != nil {
					db.Close()
				}
				return nil, nil, err
			}
			if db == nil {
				if missing {
					return nil, nil, &NoDatabaseError{Path: path, Err: err, WithoutVulns: without}
				}
				return nil, nil, fmt.Errorf("%w; the database at %s is not usable either: %v", err, path, openErr)
			}
			updateFailed = true
			warnings = append(warnings, fmt.Sprintf("%v; using the database built %s", err, db.Metadata().BuiltAt.UTC().Format(time.RFC3339)))
		} else {
			if db != nil {
				db.Close()
			}
			if db, openErr = vulndb.Open(path); openErr != nil {
				return nil, nil, openErr
			}
		}
	}
	maxAge := o.MaxAge
	if maxAge == 0 {
		maxAge = vulndb.DefaultMaxAge
	}
	if w := vulndb.StaleWarning(db.Metadata(), now(), maxAge); w != "" {
		if o.Stale == StaleFail {
			db.Close()
			msg := w + ", and the stale policy is fail"
			if updateFailed || o.Offline {
				msg += ".\n" + WaysOut(without)
			}
			return nil, nil, errors.New(msg)
		}
		if !updateFailed && !o.Offline {
			w += "; run 'bulwark db update'"
		}
		warnings = append(warnings, w)
	}
	return db, warnings, nil
}
