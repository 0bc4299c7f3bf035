package inventory

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Spooled is file content that can be read at any offset: in memory when
// small, in a temporary file when large.
type Spooled struct {
	io.ReaderAt
	// Size is the number of bytes.
	Size int64
	file *os.File
}

// Close removes the temporary file, if any.
func (s *Spooled) Close() error {
	if s.file == nil {
		return nil
	}
	s.file.Close()
	return os.Remove(s.file.Name())
}

// Path returns the temporary file's path ("" when held in memory).
func (s *Spooled) Path() string {
	if s.file == nil {
		return ""
	}
	return s.file.Name()
}

// Spool reads r (size bytes, as the entry says) into memory when it is at
// most memLimit bytes, otherwise into a temporary file; forceFile always
// uses a file. Content longer than maxSize is refused.
func Spool(r io.Reader, size, memLimit, maxSize int64, forceFile bool) (*Spooled, error) {
	if size > maxSize {
		return nil, fmt.Errorf("%d bytes, more than the %d read for this kind of file", size, maxSize)
	}
	if !forceFile && size <= memLimit {
		b, err := io.ReadAll(io.LimitReader(r, maxSize+1))
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > maxSize {
			return nil, fmt.Errorf("more than the %d bytes read for this kind of file", maxSize)
		}
		return &Spooled{ReaderAt: bytes.NewReader(b), Size: int64(len(b))}, nil
	}
	f, err := os.CreateTemp("", "bulwark-spool-")
	if err != nil {
		return nil, err
	}
	n, err := io.Copy(f, io.LimitReader(r, maxSize+1))
	if err == nil && n > maxSize {
		err = fmt.Errorf("more than the %d bytes read for this kind of file", maxSize)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &Spooled{ReaderAt: f, Size: n, file: f}, nil
}

// ReadLimited reads all of r, refusing content longer than max bytes.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than the %d bytes read for this kind of file", max)
	}
	return b, nil
}
