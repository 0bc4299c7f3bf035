//go:build !isal

package image

import (
	"bufio"
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// newGzipReader inflates gzip with klauspost/compress's flate, the fastest
// pure-Go inflater (build with -tags isal for ISA-L's). It reads the gzip
// framing (RFC 1952) itself to leave out the CRC-32 of the inflated bytes,
// about 1.5% of `lint`'s time on a file-heavy image: every layer the walk
// reads is checked against a SHA-256 digest, of the stored blob or of the
// uncompressed tar, which a CRC cannot add to. Each member's size is still
// checked, and concatenated members are read in turn, as gzip.Reader does.
func newGzipReader(r io.Reader) (io.ReadCloser, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	z := &gzipReader{br: br}
	if err := z.header(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	z.fr = flate.NewReader(br)
	return z, nil
}

type gzipReader struct {
	br   *bufio.Reader
	fr   io.ReadCloser
	size uint32 // inflated bytes of the current member, mod 2^32
	buf  [10]byte
	err  error
}

// Gzip header flags (RFC 1952, 2.3.1).
const (
	gzipHdrCRC   = 1 << 1
	gzipExtra    = 1 << 2
	gzipName     = 1 << 3
	gzipComment  = 1 << 4
	gzipReserved = 0xe0
)

// header reads one member's header; io.EOF when the stream ends before it.
func (z *gzipReader) header() error {
	if _, err := io.ReadFull(z.br, z.buf[:10]); err != nil {
		return err
	}
	if z.buf[0] != gzipMagic[0] || z.buf[1] != gzipMagic[1] || z.buf[2] != 8 || z.buf[3]&gzipReserved != 0 {
		return gzip.ErrHeader
	}
	flg := z.buf[3]
	if flg&gzipExtra != 0 {
		if _, err := io.ReadFull(z.br, z.buf[:2]); err != nil {
			return noEOF(err)
		}
		if _, err := z.br.Discard(int(binary.LittleEndian.Uint16(z.buf[:2]))); err != nil {
			return noEOF(err)
		}
	}
	for _, f := range []byte{gzipName, gzipComment} {
		for flg&f != 0 { // a NUL-terminated string
			c, err := z.br.ReadByte()
			if err != nil {
				return noEOF(err)
			}
			if c == 0 {
				break
			}
		}
	}
	if flg&gzipHdrCRC != 0 {
		if _, err := z.br.Discard(2); err != nil {
			return noEOF(err)
		}
	}
	return nil
}

func (z *gzipReader) Read(p []byte) (int, error) {
	for z.err == nil {
		n, err := z.fr.Read(p)
		z.size += uint32(n)
		if err == io.EOF {
			err = z.nextMember()
		}
		z.err = err
		if n > 0 {
			return n, nil
		}
	}
	return 0, z.err
}

// nextMember checks the trailer of the member that ended and starts the
// next one; io.EOF when none follows.
func (z *gzipReader) nextMember() error {
	if _, err := io.ReadFull(z.br, z.buf[:8]); err != nil {
		return noEOF(err)
	}
	if binary.LittleEndian.Uint32(z.buf[4:8]) != z.size {
		return gzip.ErrChecksum
	}
	z.size = 0
	if err := z.header(); err != nil {
		return err
	}
	return z.fr.(flate.Resetter).Reset(z.br, nil)
}

func (z *gzipReader) Close() error { return z.fr.Close() }

// noEOF turns a stream ending inside a structure into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
