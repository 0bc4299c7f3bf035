package server

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// rematchBatch is how many images one store transaction re-matches: a
// transaction per image cost 60% of a 10,000-image re-evaluation.
const rematchBatch = 200

// rematch matches the stored inventories of the images with the digests
// against database st: one goroutine reads the inventories a batch at a
// time, GOMAXPROCS goroutines decode and match them, and the batches are
// written one transaction each. On error the batches written stay
// written, each image at st's version or wholly at its old one (stale,
// re-matched by the next refresh or start).
func (s *Server) rematch(ctx context.Context, st *dbState, digests []string) error {
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
				select {
				case results <- done{j.batch, store.Rematch{Digest: j.digest, Vulns: m.Findings, Version: st.version, At: time.Now()}}:
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
	for d := range results {
		pending[d.batch] = append(pending[d.batch], d.r)
		n := min(rematchBatch, len(digests)-d.batch*rematchBatch)
		if len(pending[d.batch]) < n || ctx.Err() != nil {
			continue
		}
		if err := s.o.Store.Rematched(ctx, pending[d.batch]); err != nil {
			cancel(err)
		}
		delete(pending, d.batch)
	}
	return context.Cause(ctx)
}
