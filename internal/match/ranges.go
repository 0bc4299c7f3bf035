package match

import (
	"errors"
	"fmt"
	"sort"

	"github.com/bulwark-sec/bulwark/internal/version"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Verdict is what a range evaluation says about one installed version.
type Verdict struct {
	// Affected is true when the version is in an affected range or list.
	Affected bool
	// Fixed is the first fixed version above the installed one in the
	// range that matched, "" when the range names none (no fix yet, or
	// only last_affected).
	Fixed string
}

// ErrGitOnly is returned by Evaluate for an entry whose only ranges are
// GIT commit ranges, which cannot be evaluated against a version.
var ErrGitOnly = errors.New("only GIT ranges, which name commits, not versions")

// Evaluate says whether installed is affected by an OSV affected entry:
// by its explicit versions list, or by one of its SEMVER or ECOSYSTEM
// ranges (introduced, fixed, last_affected, limit events, evaluated in
// version order as the OSV schema describes). cmp is the ecosystem's
// comparator; SEMVER ranges use version.Semver unless the ecosystem is Go,
// whose versions are SemVer with a "v". An error (a *version.Error, or
// ErrGitOnly) means the entry could not be evaluated: the caller must not
// treat that as "not affected".
func Evaluate(cmp version.Comparator, af *vulndb.Affected, installed string) (Verdict, error) {
	var firstErr error
	evaluated := false
	for _, v := range af.Versions {
		c, err := cmp.Compare(installed, v)
		if err != nil {
			if v == installed {
				return Verdict{Affected: true}, nil
			}
			var ve *version.Error
			if errors.As(err, &ve) && ve.Version == installed {
				return Verdict{}, err
			}
			// A bad entry in the list says nothing about our version.
			continue
		}
		evaluated = true
		if c == 0 {
			return Verdict{Affected: true}, nil
		}
	}
	for i := range af.Ranges {
		r := &af.Ranges[i]
		rc := cmp
		switch r.Type {
		case vulndb.RangeSemver:
			if cmp != version.Go {
				rc = version.Semver
			}
		case vulndb.RangeEcosystem:
		default:
			continue
		}
		v, err := evalRange(rc, r.Events, installed)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		evaluated = true
		if v.Affected {
			return v, nil
		}
	}
	if firstErr != nil {
		return Verdict{}, firstErr
	}
	if !evaluated && len(af.Versions) == 0 && len(af.Ranges) > 0 {
		return Verdict{}, ErrGitOnly
	}
	return Verdict{}, nil
}

// event is one range event with its kind.
type event struct {
	kind    byte // 'i' introduced, 'f' fixed, 'l' last_affected, 'L' limit
	version string
}

// evalRange evaluates one range: events sorted by version ("0" first),
// introduced opens it, fixed closes it at that version, last_affected
// closes it after that version; a version at or above a limit is never
// affected by the range.
func evalRange(cmp version.Comparator, events []vulndb.Event, installed string) (Verdict, error) {
	evs := make([]event, 0, len(events))
	for _, e := range events {
		switch {
		case e.Introduced != "":
			evs = append(evs, event{'i', e.Introduced})
		case e.Fixed != "":
			evs = append(evs, event{'f', e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, event{'l', e.LastAffected})
		case e.Limit != "":
			evs = append(evs, event{'L', e.Limit})
		}
	}
	// Check every version first, so that sorting never meets an error.
	if _, err := cmp.Compare(installed, installed); err != nil {
		return Verdict{}, err
	}
	for _, e := range evs {
		if isZero(e) || (e.kind == 'L' && e.version == "*") {
			continue
		}
		if _, err := cmp.Compare(e.version, e.version); err != nil {
			return Verdict{}, fmt.Errorf("range event: %w", err)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if isZero(a) || isZero(b) {
			return isZero(a) && !isZero(b)
		}
		c, _ := cmp.Compare(a.version, b.version)
		return c < 0
	})
	affected := false
	fixed := ""
	for _, e := range evs {
		switch e.kind {
		case 'i':
			if isZero(e) {
				affected = true
				continue
			}
			if c, _ := cmp.Compare(installed, e.version); c >= 0 {
				affected = true
			}
		case 'f':
			if c, _ := cmp.Compare(installed, e.version); c >= 0 {
				affected = false
			} else if affected && fixed == "" {
				fixed = e.version
			}
		case 'l':
			if c, _ := cmp.Compare(installed, e.version); c > 0 {
				affected = false
			}
		case 'L':
			if e.version == "*" {
				continue
			}
			if c, _ := cmp.Compare(installed, e.version); c >= 0 {
				return Verdict{}, nil
			}
		}
	}
	if !affected {
		return Verdict{}, nil
	}
	return Verdict{Affected: true, Fixed: fixed}, nil
}

func isZero(e event) bool { return e.kind == 'i' && e.version == "0" }
