// Package progress draws byte progress bars for long work (image pulls,
// database downloads) on a terminal, and nothing when no person watches.
package progress

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Terminal returns stderr when it is a terminal and nil otherwise, so that
// CI logs get no bars.
func Terminal() io.Writer {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr
	}
	return nil
}

// Bar is a byte counter drawn on a terminal: write the bytes as they
// pass, Close when the work is done (it clears the bar).
type Bar = io.WriteCloser

// Bytes returns a bar of size bytes drawn on w with a description; with a
// nil w it draws nothing.
func Bytes(w io.Writer, size int64, desc string) Bar {
	if w == nil {
		return discard{}
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }
