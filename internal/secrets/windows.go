package secrets

import (
	"runtime"
	"sync"
)

// maxWindowWorkers is the most goroutines that scan the windows of one
// content at once.
const maxWindowWorkers = 4

// windowScanner scans the windows of one large content on several
// goroutines while ScanReader reads the next ones, so that one large
// file (apt's 50 MB package list) does not keep a single core busy
// after the rest of a walk is done. Each window is scanned exactly as
// ScanReader would scan it alone (its own scan state, the same bounds),
// and the matches are put back in window order: the result is the same
// as the one-goroutine scan.
type windowScanner struct {
	e    *Engine
	path string
	jobs chan chunkJob
	// free holds the buffers whose window has been scanned; ScanReader
	// reads the next window into one of them.
	free chan []byte
	// pooled are the buffers taken from windowBufs, given back by finish.
	pooled []*[]byte
	outs   []*[]Match
	wg     sync.WaitGroup
}

// chunkJob is one part of the content with its place in it: scanChunk's
// arguments.
type chunkJob struct {
	buf      []byte
	base     int64
	from, to int
	line     int
	out      *[]Match
}

// windowSlots bounds the window workers of all the scans running at once
// to two a core, and with them their buffers: a tree of many large files
// scanned on every core does not get four more buffers per file, and a
// large file still gets its workers while another one holds some.
var windowSlots = make(chan struct{}, 2*runtime.GOMAXPROCS(0))

// takeWindowSlots takes up to n free window worker slots and returns how
// many it took; finish gives them back.
func takeWindowSlots(n int) int {
	for got := 0; ; got++ {
		if got == n {
			return got
		}
		select {
		case windowSlots <- struct{}{}:
		default:
			return got
		}
	}
}

// windowBufs holds scratch buffers of BufferSize bytes.
var windowBufs = sync.Pool{New: func() any { b := make([]byte, BufferSize); return &b }}

// newWindowScanner starts workers goroutines (as many window slots taken)
// scanning windows of the content at path; the caller's own buffer is the
// first one it reads into, workers more come from windowBufs.
func (e *Engine) newWindowScanner(path string, workers int) *windowScanner {
	w := &windowScanner{e: e, path: path, jobs: make(chan chunkJob, workers), free: make(chan []byte, workers+1)}
	for range workers {
		bp := windowBufs.Get().(*[]byte)
		w.pooled = append(w.pooled, bp)
		w.free <- *bp
		w.wg.Add(1)
		go w.work()
	}
	return w
}

func (w *windowScanner) work() {
	defer w.wg.Done()
	s := w.e.newState(w.path)
	defer w.e.states.Put(s)
	for j := range w.jobs {
		s.out = nil
		w.e.scanChunk(s, j.buf, j.base, j.from, j.to, j.line)
		*j.out = s.out
		w.free <- j.buf[:cap(j.buf)]
	}
	s.out = nil
}

// scan hands one window to the workers and returns a free buffer to read
// the next window into; buf stays unchanged until the workers are done
// with it, so the caller may copy its tail into the next one.
func (w *windowScanner) scan(buf []byte, base int64, from, to, line int) []byte {
	out := new([]Match)
	w.outs = append(w.outs, out)
	w.jobs <- chunkJob{buf: buf, base: base, from: from, to: to, line: line, out: out}
	return <-w.free
}

// finish waits for the workers and returns the matches of every window
// handed to them, in order.
func (w *windowScanner) finish() []Match {
	close(w.jobs)
	w.wg.Wait()
	var ms []Match
	for _, out := range w.outs {
		ms = append(ms, *out...)
	}
	for _, bp := range w.pooled {
		windowBufs.Put(bp)
		<-windowSlots
	}
	return ms
}
