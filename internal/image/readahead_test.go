package image

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readChunks reads every chunk of ra, until its error.
func readChunks(ra *readAhead) ([]byte, error) {
	var all []byte
	for {
		c, err := ra.Next()
		all = append(all, c...)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

func TestReadAhead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100000) // 1.6 MB: several buffers
	ra := newReadAhead(iotest.HalfReader(bytes.NewReader(data)), 64<<10, 3)
	got, err := readChunks(ra)
	ra.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(data))
	}

	// The reader's own error arrives after the bytes before it, unchanged.
	boom := errors.New("boom")
	ra = newReadAhead(io.MultiReader(bytes.NewReader(data[:100000]), iotest.ErrReader(boom)), 64<<10, 3)
	got, err = readChunks(ra)
	ra.Close()
	if !errors.Is(err, boom) || len(got) != 100000 {
		t.Fatalf("got %d bytes and %v, want 100000 and boom", len(got), err)
	}
	ra = newReadAhead(iotest.ErrReader(io.ErrUnexpectedEOF), 64<<10, 3)
	if _, err := readChunks(ra); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a truncated stream must stay io.ErrUnexpectedEOF, got %v", err)
	}
	ra.Close()

	// Closing early stops the goroutine even with buffers full.
	ra = newReadAhead(bytes.NewReader(data), 1024, 2)
	if _, err := ra.Next(); err != nil {
		t.Fatal(err)
	}
	ra.Close()
}
