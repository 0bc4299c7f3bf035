// Package atomicfile writes output files whole or not at all.
package atomicfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write calls write with a buffered temporary file next to path, syncs it
// and renames it over path, so that a reader never sees half a file and a
// failure leaves any previous file as it was. Missing parent folders are
// created. It returns the bytes written; errors name path, never the
// temporary file.
//
// When path exists and is not a regular file (a device such as /dev/null
// or /dev/stdout, a named pipe), it is written in place instead: renaming
// over it would replace the device with a plain file.
func Write(path string, perm fs.FileMode, write func(w io.Writer) error) (int64, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return 0, fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		cw := &counter{w: f}
		err = write(cw)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return cw.n, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, fmt.Errorf("creating the folder of %s: %w", path, unwrapPath(err))
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	bw := bufio.NewWriterSize(tmp, 1<<20)
	cw := &counter{w: bw}
	err = write(cw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		err = fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	return cw.n, err
}

// unwrapPath drops the *fs.PathError around an error, whose path would be
// the hidden temporary file's rather than the one the user named.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
