//go:build isal

package image

/*
#cgo LDFLAGS: -lisal
#include <isa-l/igzip_lib.h>
#include <stdlib.h>
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

const (
	isalInBuf  = 256 << 10
	isalOutBuf = 512 << 10
)

// isalReader inflates gzip with ISA-L's igzip (cgo), the fastest inflater
// available here. State and buffers live in C memory, so no Go pointer is
// kept by C between calls. Concatenated gzip members are read in turn.
type isalReader struct {
	src     io.Reader
	st      *C.struct_inflate_state
	in, out unsafe.Pointer
	inBuf   []byte
	outBuf  []byte
	pos, n  int
	srcEOF  bool
	done    bool
	err     error
}

// newGzipReader decompresses gzip with ISA-L (built with -tags isal).
func newGzipReader(r io.Reader) (io.ReadCloser, error) {
	z := &isalReader{src: r}
	z.st = (*C.struct_inflate_state)(C.calloc(1, C.size_t(unsafe.Sizeof(C.struct_inflate_state{}))))
	z.in = C.malloc(isalInBuf)
	z.out = C.malloc(isalOutBuf)
	if z.st == nil || z.in == nil || z.out == nil {
		z.Close()
		return nil, errors.New("gzip: out of memory")
	}
	z.inBuf = unsafe.Slice((*byte)(z.in), isalInBuf)
	z.outBuf = unsafe.Slice((*byte)(z.out), isalOutBuf)
	C.isal_inflate_init(z.st)
	z.st.crc_flag = C.ISAL_GZIP
	return z, nil
}

func (z *isalReader) Read(p []byte) (int, error) {
	for {
		if z.pos < z.n {
			c := copy(p, z.outBuf[z.pos:z.n])
			z.pos += c
			return c, nil
		}
		if z.err != nil {
			return 0, z.err
		}
		if z.done {
			return 0, io.EOF
		}
		z.err = z.step()
	}
}

// step refills the input if needed and inflates one output buffer.
func (z *isalReader) step() error {
	if err := z.fill(); err != nil {
		return err
	}
	availIn := z.st.avail_in
	z.st.next_out = (*C.uint8_t)(z.out)
	z.st.avail_out = isalOutBuf
	ret := C.isal_inflate(z.st)
	if ret < 0 {
		return fmt.Errorf("gzip: corrupt data (ISA-L error %d)", int(ret))
	}
	z.pos, z.n = 0, isalOutBuf-int(z.st.avail_out)
	progress := z.n > 0 || z.st.avail_in != availIn
	if z.st.block_state == C.ISAL_BLOCK_FINISH {
		return z.nextMember()
	}
	if !progress && z.st.avail_in == 0 && z.srcEOF {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// fill reads more input when ISA-L has consumed all it was given.
func (z *isalReader) fill() error {
	if z.st.avail_in != 0 || z.srcEOF {
		return nil
	}
	n, err := io.ReadFull(z.src, z.inBuf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		z.srcEOF = true
	} else if err != nil {
		return err
	}
	z.st.next_in = (*C.uint8_t)(z.in)
	z.st.avail_in = C.uint32_t(n)
	return nil
}

// nextMember starts the next gzip member, or ends the stream when the
// input holds no further member.
func (z *isalReader) nextMember() error {
	if err := z.fill(); err != nil {
		return err
	}
	rest := unsafe.Slice((*byte)(unsafe.Pointer(z.st.next_in)), int(z.st.avail_in))
	if !bytes.HasPrefix(rest, gzipMagic) {
		// Nothing, or padding, follows the last member. The caller still
		// drains the raw stream, so its digest covers these bytes.
		z.done = true
		return nil
	}
	nextIn, availIn := z.st.next_in, z.st.avail_in
	C.isal_inflate_reset(z.st)
	z.st.crc_flag = C.ISAL_GZIP
	z.st.next_in, z.st.avail_in = nextIn, availIn
	return nil
}

func (z *isalReader) Close() error {
	if z.st != nil {
		C.free(unsafe.Pointer(z.st))
		z.st = nil
	}
	if z.in != nil {
		C.free(z.in)
		z.in = nil
	}
	if z.out != nil {
		C.free(z.out)
		z.out = nil
	}
	return nil
}
