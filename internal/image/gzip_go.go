//go:build !isal

package image

import (
	"io"

	"github.com/klauspost/compress/gzip"
)

// newGzipReader decompresses gzip with klauspost/compress, the fastest
// pure-Go inflater. Build with -tags isal for ISA-L's (cgo, libisal).
func newGzipReader(r io.Reader) (io.ReadCloser, error) {
	return gzip.NewReader(r)
}
