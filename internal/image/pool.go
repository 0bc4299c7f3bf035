package image

import (
	"cmp"
	"io"
	"slices"
	"sync"
)

// contentPool reads and handles the wanted entries of one layer on
// several goroutines while the walk goes on: the walk (directory reads,
// Want, the layer's paths) stays in one goroutine and in order, and the
// content of each file is read and given to its handlers by a bounded
// set of workers, so that reading and analysing files use every core.
// Only layers whose files can be opened and read from several goroutines
// at once use it (disk file systems that say so).
//
// The outcome is that of the one-goroutine walk: warnings come back in
// walk order, and when handlers fail, the error is the one of the first
// entry (in walk order) that failed, as if the walk had stopped there.
type contentPool struct {
	jobs chan contentJob
	wg   sync.WaitGroup

	mu       sync.Mutex
	warnings []seqWarning
	err      error
	errSeq   int
	dispatch int // entries handed out so far (walk goroutine only)
}

// contentJob is one wanted entry: its content comes from open.
type contentJob struct {
	seq      int
	e        *Entry
	handlers []Handler
	open     func() (io.Reader, error)
}

// seqWarning is a warning with its place in walk order: 2*i+1 for one
// about entry i, 2*i for one the walk gave before entry i.
type seqWarning struct {
	seq int
	msg string
}

// newContentPool starts workers goroutines that run handle on each job;
// handle returns a warning ("" for none) or an error that stops the walk.
func newContentPool(workers int, handle func(contentJob) (string, error)) *contentPool {
	p := &contentPool{jobs: make(chan contentJob, workers)}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for j := range p.jobs {
				if p.failedBefore(j.seq) {
					continue // the walk stops at an earlier entry
				}
				w, err := handle(j)
				p.mu.Lock()
				if err != nil && (p.err == nil || j.seq < p.errSeq) {
					p.err, p.errSeq = err, j.seq
				}
				if w != "" {
					p.warnings = append(p.warnings, seqWarning{2*j.seq + 1, w})
				}
				p.mu.Unlock()
			}
		}()
	}
	return p
}

// failedBefore reports whether an entry before seq failed.
func (p *contentPool) failedBefore(seq int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil && p.errSeq < seq
}

// failed returns the error of a failed entry, if any.
func (p *contentPool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// add hands one wanted entry to the workers (from the walk goroutine);
// handlers is copied.
func (p *contentPool) add(e *Entry, handlers []Handler, open func() (io.Reader, error)) {
	p.jobs <- contentJob{seq: p.dispatch, e: e, handlers: slices.Clone(handlers), open: open}
	p.dispatch++
}

// warn records a warning of the walk itself, in order (from the walk
// goroutine).
func (p *contentPool) warn(msg string) {
	p.mu.Lock()
	p.warnings = append(p.warnings, seqWarning{2 * p.dispatch, msg})
	p.mu.Unlock()
}

// finish waits for the workers and returns the warnings in walk order,
// and the error of the first entry that failed (walkErr, the walk's own
// error, when none did: an entry that failed came before it).
func (p *contentPool) finish(walkErr error) ([]string, error) {
	close(p.jobs)
	p.wg.Wait()
	if p.err != nil {
		return nil, p.err
	}
	if walkErr != nil {
		return nil, walkErr
	}
	slices.SortStableFunc(p.warnings, func(a, b seqWarning) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]string, len(p.warnings))
	for i, w := range p.warnings {
		out[i] = w.msg
	}
	return out, nil
}
