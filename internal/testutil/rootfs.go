package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile replaces the file p under root (folders made as needed) with
// content and mode; setuid, setgid and sticky may be given as the octal
// bits 04000, 02000, 01000. owner is uid and gid (root when left out),
// which needs root unless it is the caller's own.
func WriteFile(t testing.TB, root, p, content string, mode os.FileMode, owner ...int) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(full)
	if err := os.WriteFile(full, []byte(content), mode.Perm()); err != nil {
		t.Fatal(err)
	}
	SetOwner(t, full, mode, owner...)
}

// SetOwner sets the mode (octal special bits as in WriteFile) and, when
// owner is given, the uid and gid of path (a symlink itself, not its
// target).
func SetOwner(t testing.TB, path string, mode os.FileMode, owner ...int) {
	t.Helper()
	// Go's FileMode keeps setuid, setgid and sticky apart from the
	// permission bits.
	for bit, m := range map[os.FileMode]os.FileMode{0o4000: os.ModeSetuid, 0o2000: os.ModeSetgid, 0o1000: os.ModeSticky} {
		if mode&bit != 0 {
			mode = mode&^bit | m
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if len(owner) == 2 {
		if err := os.Lchown(path, owner[0], owner[1]); err != nil {
			t.Fatal(err)
		}
	}
}
