// Package regular opens files that must be regular files (a database, a
// disk image, an archive) without ever waiting on a FIFO or a device.
package regular

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotRegular says a path names a FIFO, a device, a socket or a
// directory where a regular file was expected.
var ErrNotRegular = errors.New("not a regular file")

// Open opens path for reading only if it is a regular file. It never
// waits: a FIFO is opened without blocking and then refused, as is
// anything else that is not a regular file (an error wrapping
// ErrNotRegular). The returned file's Stat is the second result.
func Open(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is %w (%s)", path, ErrNotRegular, st.Mode().Type())
	}
	return f, st, nil
}
