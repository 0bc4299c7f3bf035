package image

import "testing"

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
