package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Write(p, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("writer failed")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("a failed write changed the file to %q", b)
	}
	n, err := Write(p, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "new content"); return err })
	if err != nil || n != 11 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	st, _ := os.Stat(p)
	if b, _ := os.ReadFile(p); string(b) != "new content" || st.Mode().Perm() != 0o600 {
		t.Errorf("file %q mode %v", b, st.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".*tmp")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestWriteKeepsDevices: writing to a named pipe (like /dev/null or
// /dev/stdout) writes into it and leaves it a pipe.
func TestWriteKeepsDevices(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		b, _ := os.ReadFile(p)
		got <- string(b)
	}()
	if _, err := Write(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "through the pipe"); return err }); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if st, err := os.Lstat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", st.Mode(), err)
	}
	if _, err := Write(os.DevNull, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a character device: %v %v", os.DevNull, st.Mode(), err)
	}
}

// -o into a folder that does not exist yet creates it; when the path cannot
// be written, the error names the path the user gave, never the hidden
// temporary file.
func TestWriteCreatesFoldersAndNamesThePath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out", "reports", "lint.json")
	if _, err := Write(p, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "{}"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "{}" {
		t.Fatalf("%q %v", b, err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o644)
	bad := filepath.Join(blocker, "dir", "lint.json")
	_, err := Write(bad, 0o644, func(w io.Writer) error { return nil })
	if err == nil || !strings.Contains(err.Error(), bad) || strings.Contains(err.Error(), ".tmp") {
		t.Errorf("error %v does not name %s alone", err, bad)
	}
}
