package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// rematchBatch is how many images one store transaction re-matches (a
// transaction per image cost 60% of a 10,000-image re-evaluation), and
// by default one re-match job.
const rematchBatch = 200

// queueStale queues re-match jobs against database version for the read
// images not at it, in sorted batches (so that servers queueing the same
// images queue the same jobs, which the queue keeps once). It returns how
// many images and jobs.
func (s *Server) queueStale(ctx context.Context, version string) (images, batches int, err error) {
	stale, err := s.o.Store.ImagesNotAt(ctx, version, nil)
	if err != nil || len(stale) == 0 {
		return 0, 0, err
	}
	slices.Sort(stale)
	size := cmp.Or(s.o.RematchBatch, rematchBatch)
	var args []river.JobArgs
	for chunk := range slices.Chunk(stale, size) {
		args = append(args, jobs.RematchArgs{Version: version, Digests: chunk})
	}
	if _, err := s.queue.Add(ctx, args...); err != nil {
		return 0, 0, err
	}
	return len(stale), len(args), nil
}

// rematchJob re-matches a batch of images against its database version,
// skipping those already at it (re-matched by an earlier run of the job
// or by another server). For another database than its own, the server
// first checks its database file; while its refresh to a replaced file is
// under way the job waits (snoozed, no attempt counted). A job for an
// older database than the server's is then done (the newer one's refresh
// queued every image not at it). For a newer one, a server with an update
// schedule pulls the database first (another server's scheduled update
// installed it); one that still does not have it fails the job.
func (s *Server) rematchJob(ctx context.Context, a jobs.RematchArgs) error {
	if a.Version != s.cur.Load().version {
		s.checkFile(ctx)
		s.followUpdate(ctx, a.Version)
	}
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	st := s.cur.Load()
	if a.Version != st.version {
		if fi, err := os.Stat(s.o.DBFile); err == nil && (fileID{fi.Size(), fi.ModTime()}) != st.file {
			return river.JobSnooze(time.Second)
		}
		// Versions start with the build time, so they sort by age.
		if a.Version < st.version {
			return nil
		}
		return fmt.Errorf("database %s is not the one this server has (%s): every server needs the same database file", a.Version, st.version)
	}
	todo, err := s.o.Store.ImagesNotAt(ctx, a.Version, a.Digests)
	if err != nil || len(todo) == 0 {
		return err
	}
	if s.o.rematchHook != nil {
		s.o.rematchHook(todo, false)
	}
	written, err := s.rematch(ctx, st, todo)
	if err != nil {
		return err
	}
	s.metrics.Rematched(len(written))
	if s.o.rematchHook != nil {
		s.o.rematchHook(written, true)
	}
	s.dispatch(ctx)
	return nil
}

// WaitRematch waits until no re-match job is waiting, running or to be
// retried (parked ones are done), or ctx ends.
func (s *Server) WaitRematch(ctx context.Context) error {
	for {
		n, err := s.queue.Waiting(ctx, jobs.KindRematch)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rematch matches the stored inventories of the images with the digests
// against database st: one goroutine reads the inventories a batch at a
// time, GOMAXPROCS goroutines decode and match them, and the batches are
// written one transaction each. It returns the digests written (those
// not at st's version already). On error the batches written stay
// written, each image at st's version or wholly at its old one (stale,
// re-matched by the job's retry).
func (s *Server) rematch(ctx context.Context, st *dbState, digests []string) ([]string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type job struct {
		batch  int
		digest string
		raw    json.RawMessage
	}
	type done struct {
		batch int
		r     store.Rematch
	}
	jobs := make(chan job, rematchBatch)
	results := make(chan done, rematchBatch)
	go func() {
		defer close(jobs)
		for b := 0; b*rematchBatch < len(digests); b++ {
			chunk := digests[b*rematchBatch : min((b+1)*rematchBatch, len(digests))]
			raws, err := s.o.Store.SBOMs(ctx, chunk)
			if err != nil {
				cancel(err)
				return
			}
			for _, d := range chunk {
				raw, ok := raws[d]
				if !ok {
					cancel(fmt.Errorf("image %s: %w", d, store.ErrNotFound))
					return
				}
				select {
				case jobs <- job{b, d, raw}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var sb inventory.SBOM
				if err := json.Unmarshal(j.raw, &sb); err != nil {
					cancel(fmt.Errorf("image %s: stored inventory: %w", j.digest, err))
					continue
				}
				m, err := match.Match(st.db, &sb, match.Options{})
				if err != nil {
					cancel(fmt.Errorf("image %s: %w", j.digest, err))
					continue
				}
				// Encoded here, in parallel, rather than by the one writer.
				packed, err := store.PackFindings(m.Findings)
				if err != nil {
					cancel(fmt.Errorf("image %s: %w", j.digest, err))
					continue
				}
				select {
				case results <- done{j.batch, store.Rematch{Digest: j.digest, Vulns: m.Findings, Version: st.version, At: time.Now(), Packed: packed}}:
				case <-ctx.Done():
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	// One writer: a batch is written once all its images are matched.
	pending := map[int][]store.Rematch{}
	var written []string
	for d := range results {
		pending[d.batch] = append(pending[d.batch], d.r)
		n := min(rematchBatch, len(digests)-d.batch*rematchBatch)
		if len(pending[d.batch]) < n || ctx.Err() != nil {
			continue
		}
		w, err := s.o.Store.Rematched(ctx, pending[d.batch])
		if err != nil {
			cancel(err)
		}
		written = append(written, w...)
		delete(pending, d.batch)
	}
	return written, context.Cause(ctx)
}
