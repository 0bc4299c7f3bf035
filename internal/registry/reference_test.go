package registry

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestParseReferenceInWords(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"Team/App:1", `repository names must be lower case: "Team" (did you mean "team"?)`},
		{"registry.example.com/Team/app", `repository names must be lower case: "Team"`},
		{"app:bad tag", "white space"},
		{"app:.hidden", `tag ".hidden"`},
		{"app:" + strings.Repeat("a", 129), "1 to 128"},
		{"app@sha256:abc", `digest "sha256:abc"`},
		{"app@md5:0123", `digest "md5:0123"`},
		{"team//app", "empty path component"},
		{"team/app/", "empty path component"},
		{"team/a$p", `repository name part "a$p"`},
		{"bad_host.example.com:port/app", `registry "bad_host.example.com:port"`},
		{":tag", "no repository name"},
	} {
		_, err := ParseReference(tc.in)
		var re *ReferenceError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseReference(%q) = %v, want a ReferenceError containing %q", tc.in, err, tc.want)
		}
	}
	for _, ok := range []string{
		"alpine", "alpine:3.19", "library/alpine", "127.0.0.1:5000/team/app:v1.2-rc_1",
		"localhost/app", "ghcr.io/a__b/c-d/e.f:TAG", "[::1]:5000/app",
		"example.com/app@sha256:" + strings.Repeat("ab", 32),
		"example.com/app:1@sha256:" + strings.Repeat("0", 64),
	} {
		if _, err := ParseReference(ok); err != nil {
			t.Errorf("ParseReference(%q): %v", ok, err)
		}
	}
}

// FuzzParseReference: never a panic; a reference it accepts is one
// go-containerregistry accepts and prints back to the same reference.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"alpine:3", "Team/App", "127.0.0.1:5000/a/b@sha256:" + strings.Repeat("a", 64), "a//b", "a:b:c", "[::1]:5/x", "x@", "a:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			var re *ReferenceError
			if !errors.As(err, &re) || re.Ref != s || re.Reason == "" {
				t.Fatalf("ParseReference(%q): error %v is not a ReferenceError naming the input", s, err)
			}
			return
		}
		again, err := name.ParseReference(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("ParseReference(%q) = %s, which does not parse back: %v", s, r, err)
		}
	})
}
