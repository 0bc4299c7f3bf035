package image

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestContentPoolOrder hands entries that take random times to a pool and
// checks that the warnings come back in walk order (the walk's own
// between the entries' ones, where the walk gave them) and that every
// entry was handled once.
func TestContentPoolOrder(t *testing.T) {
	handled := make([]int, 200)
	pool := newContentPool(4, func(j contentJob) (string, error) {
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		handled[j.seq]++ // each seq is one job: no two workers share it
		if j.seq%3 == 0 {
			return "entry " + j.e.Path, nil
		}
		return "", nil
	})
	var want []string
	for i := range handled {
		if i%10 == 0 {
			pool.warn(fmt.Sprintf("walk before %d", i))
			want = append(want, fmt.Sprintf("walk before %d", i))
		}
		pool.add(&Entry{Path: fmt.Sprint(i)}, nil, nil)
		if i%3 == 0 {
			want = append(want, fmt.Sprintf("entry %d", i))
		}
	}
	got, err := pool.finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("warnings out of walk order:\n got %q\nwant %q", got, want)
	}
	for i, n := range handled {
		if n != 1 {
			t.Errorf("entry %d handled %d times", i, n)
		}
	}
}

// TestContentPoolFirstError checks that, when several entries fail, the
// walk's error is the first failing entry's (as a walk in one goroutine
// would stop there), even when a later one fails first in time.
func TestContentPoolFirstError(t *testing.T) {
	for range 20 {
		pool := newContentPool(3, func(j contentJob) (string, error) {
			switch j.e.Path {
			case "5":
				time.Sleep(2 * time.Millisecond)
				return "", errors.New("entry 5 failed")
			case "6", "7":
				return "", fmt.Errorf("entry %s failed", j.e.Path)
			}
			return "", nil
		})
		var walkErr error
		for i := range 50 {
			if err := pool.failed(); err != nil {
				walkErr = err
				break
			}
			pool.add(&Entry{Path: fmt.Sprint(i)}, nil, func() (io.Reader, error) { return strings.NewReader(""), nil })
		}
		_, err := pool.finish(walkErr)
		if err == nil || err.Error() != "entry 5 failed" {
			t.Fatalf("error %v, want entry 5's", err)
		}
	}
	// The walk's own error comes after every entry it handed out.
	pool := newContentPool(2, func(contentJob) (string, error) { return "", nil })
	pool.add(&Entry{Path: "a"}, nil, nil)
	if _, err := pool.finish(errors.New("walk failed")); err == nil || err.Error() != "walk failed" {
		t.Errorf("error %v, want the walk's", err)
	}
}

// readFunc is a Handler that wants everything and reads with read.
type readFunc func(r io.Reader) error

func (readFunc) Want(*Entry) bool                     { return true }
func (f readFunc) Handle(_ *Entry, r io.Reader) error { return f(r) }

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestFanOutStopsWhenHandled gives a large file to several handlers: the
// one that reads it all gets every byte, and once every handler has
// returned the file is not read further.
func TestFanOutStopsWhenHandled(t *testing.T) {
	const size = 16 << 20
	content := func() *countReader {
		return &countReader{r: io.LimitReader(rand.NewChaCha8([32]byte{1}), size)}
	}
	want, _ := io.ReadAll(content())
	e := &Entry{Path: "big", Size: size}
	var got []byte
	sniff := readFunc(func(r io.Reader) error { _, err := io.ReadFull(r, make([]byte, 8<<10)); return err })
	all := readFunc(func(r io.Reader) (err error) { got, err = io.ReadAll(r); return err })
	none := readFunc(func(io.Reader) error { return nil })
	c := content()
	if err := fanOut(e, c, []Handler{sniff, all, none}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || c.n != size {
		t.Errorf("the handler reading all got %d bytes (equal: %v), %d read; want all %d", len(got), slices.Equal(got, want), c.n, size)
	}
	c = content()
	if err := fanOut(e, c, []Handler{sniff, none}); err != nil {
		t.Fatal(err)
	}
	if c.n > 1<<20 {
		t.Errorf("%d bytes read for handlers that stopped after 8 KiB; want the copy to stop", c.n)
	}
	failing := readFunc(func(io.Reader) error { return errors.New("bad file") })
	if err := fanOut(e, content(), []Handler{sniff, failing}); err == nil || !strings.Contains(err.Error(), "bad file") {
		t.Errorf("error %v, want the handler's", err)
	}
}
