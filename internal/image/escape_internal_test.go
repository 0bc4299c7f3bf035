package image

import (
	"path"
	"testing"
)

func TestHasDotDot(t *testing.T) {
	for name, want := range map[string]bool{
		"..": true, "../a": true, "a/..": true, "a/../b": true, "./../a": true, "a/b/../../..": true,
		"a..b": false, "..a/b": false, "a/..b": false, "a/b..": false, ".": false, "...": false, "a/.../b": false, "": false,
	} {
		if got := hasDotDot(name); got != want {
			t.Errorf("hasDotDot(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestCleanEntryPath: the shortcut for names that are already clean gives
// what path.Clean gives ("" for the root).
func TestCleanEntryPath(t *testing.T) {
	for _, name := range []string{"a", "a/b", "a/b/", "/a", "./a", "a//b", "a/./b", "a/../b", "..", "../a", ".", "./", "/", "",
		"a/b/..", "a/.", ".a/b.", "a/.../b", "app/node_modules/pkg-000001/lib/m07.js", "usr/lib/", "a/b//",
		"a/.bin/b", "a/..b/c", ".hidden/x", "a/b/.", "./.", "a/./", "..a", "a/.b/./c"} {
		want := path.Clean(name)
		if want == "." {
			want = ""
		}
		if got := cleanEntryPath(name); got != want {
			t.Errorf("cleanEntryPath(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestIsCleanEveryShortName: isClean agrees with path.Clean on every name
// of up to six of the bytes that matter (and refuses the rooted ones and
// those with a ".." element, which path.Clean keeps at the start).
func TestIsCleanEveryShortName(t *testing.T) {
	names := []string{""}
	for n := 0; n < 6; n++ {
		for _, p := range names {
			if len(p) == n {
				for _, c := range []string{"a", ".", "/"} {
					names = append(names, p+c)
				}
			}
		}
	}
	for _, name := range names {
		if want := name != "" && name != "." && name[0] != '/' && !hasDotDot(name) && path.Clean(name) == name; isClean(name) != want {
			t.Errorf("isClean(%q) = %v, want %v", name, !want, want)
		}
	}
}
