//go:build !isal

package image

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"testing"
)

// FuzzGzipReader compares the pure-Go build's gzip reader, which leaves
// the CRC-32 to the layer's SHA-256, with compress/gzip: whatever
// compress/gzip inflates it inflates the same, and it accepts nothing
// else but what compress/gzip refuses only for a CRC.
func FuzzGzipReader(f *testing.F) {
	var named bytes.Buffer
	w := gzip.NewWriter(&named)
	w.Name, w.Comment, w.Extra = "layer.tar", "a comment", []byte("extra")
	w.Write([]byte("hello, hello, hello")) //nolint:errcheck // bytes.Buffer
	w.Close()                              //nolint:errcheck // bytes.Buffer
	hcrc := append([]byte(nil), gzipOf([]byte("x"))...)
	hcrc[3] |= gzipHdrCRC
	hcrc = append(hcrc[:10], append([]byte{0, 0}, hcrc[10:]...)...)
	for _, seed := range [][]byte{
		named.Bytes(), gzipOf(nil), append(gzipOf([]byte("one")), gzipOf([]byte("two"))...),
		append(gzipOf([]byte("a")), 0, 0), hcrc, gzipOf(bytes.Repeat([]byte("abcd"), 5000))[:40],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wantErr := inflateWith(in, func(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) })
		got, err := inflateWith(in, newGzipReader)
		switch {
		case wantErr == nil && (err != nil || !bytes.Equal(got, want)):
			t.Fatalf("compress/gzip inflates %d bytes, this reader %d bytes, error %v", len(want), len(got), err)
		case err == nil && wantErr != nil && !errors.Is(wantErr, gzip.ErrChecksum) && !errors.Is(wantErr, gzip.ErrHeader):
			t.Fatalf("this reader accepts what compress/gzip refuses with %v", wantErr)
		}
	})
}

func inflateWith(in []byte, open func(io.Reader) (io.ReadCloser, error)) ([]byte, error) {
	r, err := open(bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
