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
