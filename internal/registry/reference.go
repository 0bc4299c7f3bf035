package registry

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

var (
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	hostRE      = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
	digestRE    = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
)

// ReferenceError is a reference that cannot be used, and why.
type ReferenceError struct {
	// Ref is the reference as given.
	Ref string
	// Reason says what is wrong, in words.
	Reason string
}

func (e *ReferenceError) Error() string {
	return fmt.Sprintf("image reference %q: %s", e.Ref, e.Reason)
}

// ParseReference parses an image reference (REGISTRY/REPOSITORY[:TAG]
// [@DIGEST]) and says in words what is wrong with one it cannot use: an
// upper-case repository name, a bad tag or digest, white space.
func ParseReference(s string, opts ...name.Option) (name.Reference, error) {
	if err := checkReference(s); err != nil {
		return nil, &ReferenceError{Ref: s, Reason: err.Error()}
	}
	r, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, &ReferenceError{Ref: s, Reason: "not REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]: " + err.Error()}
	}
	return r, nil
}

// checkReference finds what the reference grammar of the OCI distribution
// spec rejects, and says it in words.
func checkReference(s string) error {
	if s == "" {
		return fmt.Errorf("empty: name an image as REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }); i >= 0 {
		return fmt.Errorf("contains white space or a control character at byte %d", i)
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d := rest[i+1:]
		if !digestRE.MatchString(d) {
			return fmt.Errorf("digest %q is not sha256: followed by 64 lower-case hex digits", d)
		}
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		tag := rest[i+1:]
		if !tagRE.MatchString(tag) {
			return fmt.Errorf("tag %q: a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'", tag)
		}
		rest = rest[:i]
	}
	if rest == "" {
		return fmt.Errorf("no repository name")
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost") {
		if !hostRE.MatchString(parts[0]) {
			return fmt.Errorf("registry %q is not a host name with an optional :PORT", parts[0])
		}
		parts = parts[1:]
	}
	for _, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("empty path component (two '/' in a row, or one at an end)")
		case strings.ToLower(p) != p && componentRE.MatchString(strings.ToLower(p)):
			return fmt.Errorf("repository names must be lower case: %q (did you mean %q?)", p, strings.ToLower(p))
		case !componentRE.MatchString(p):
			return fmt.Errorf("repository name part %q: use lower-case letters and digits, separated by '.', '_', '__' or '-'", p)
		}
	}
	if len(rest) > 255 {
		return fmt.Errorf("the repository name is %d characters long; at most 255 are allowed", len(rest))
	}
	return nil
}
