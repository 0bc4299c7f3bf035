package image

import (
	"io"
	"sync"
)

// readAhead runs a reader (the decompressor, and under it the digest
// check of the stored blob) in its own goroutine, a few buffers ahead of
// the consumer (the tar reader and the handlers), so that one large layer
// keeps two cores busy. Memory is bounded by n buffers of size bytes.
type readAhead struct {
	full  chan chunk
	free  chan []byte
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	spare []byte // the buffer Next returned last, handed back at the next call
	err   error
}

type chunk struct {
	buf []byte
	err error
}

func newReadAhead(r io.Reader, size, n int) *readAhead {
	ra := &readAhead{full: make(chan chunk, n), free: make(chan []byte, n), done: make(chan struct{})}
	for i := 0; i < n; i++ {
		ra.free <- make([]byte, size)
	}
	ra.wg.Add(1)
	go ra.fill(r)
	return ra
}

// fill reads into free buffers until the reader fails or ends, or the
// consumer closes.
func (ra *readAhead) fill(r io.Reader) {
	defer ra.wg.Done()
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.done:
			return
		}
		n, err := fillBuf(r, buf)
		select {
		case ra.full <- chunk{buf[:n], err}:
		case <-ra.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next buffer of the stream, valid until the following
// call, with the reader's error, if it ended there (a tarstream.Chunks:
// the tar reader parses the decompressed bytes where they are).
func (ra *readAhead) Next() ([]byte, error) {
	if ra.spare != nil {
		ra.free <- ra.spare[:cap(ra.spare)]
		ra.spare = nil
	}
	if ra.err != nil {
		return nil, ra.err
	}
	c := <-ra.full
	ra.spare, ra.err = c.buf, c.err
	return c.buf, c.err
}

// Close stops the reading goroutine and waits for it.
func (ra *readAhead) Close() error {
	ra.once.Do(func() { close(ra.done) })
	ra.wg.Wait()
	return nil
}

// fillBuf reads until buf is full or r fails; unlike io.ReadFull it passes
// the reader's own errors (a truncated stream's io.ErrUnexpectedEOF) on
// unchanged and reports a clean end as io.EOF.
func fillBuf(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
