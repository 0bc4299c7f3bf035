package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// requeueEvery is how often pending images and undispatched events are
// handed to the queue again (jobs already queued are not repeated).
const requeueEvery = 2 * time.Second

// jobStopGrace is how long Close waits for the jobs in progress.
const jobStopGrace = 10 * time.Second

// startQueue opens the job queue in the store's database and starts it.
func (s *Server) startQueue(ctx context.Context) error {
	eng, ok := s.o.Store.(jobs.Engine)
	if !ok {
		return errors.New("the store has no database for the job queue")
	}
	s.targets = map[string]notify.Target{}
	for _, t := range s.o.Notify {
		s.targets[t.Name] = t
	}
	s.http = &http.Client{Timeout: notify.Timeout}
	o := s.o.Jobs
	if u := s.o.Update; u != nil {
		o.DBUpdateEvery, o.DBUpdateTimeout = u.Every, u.jobTimeout()
	}
	q, err := jobs.New(ctx, eng, jobs.Handlers{Ingest: s.ingestJob, Notify: s.notifyJob, Rematch: s.rematchJob, DBUpdate: s.dbUpdateJob, Parked: s.parked}, o)
	if err != nil {
		return err
	}
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	s.queue = q
	return nil
}

// Jobs lists the jobs in a state (jobs.States).
func (s *Server) Jobs(ctx context.Context, state string, limit int) ([]jobs.Job, error) {
	return s.queue.List(ctx, state, limit)
}

// enqueue hands the pending images and the undispatched events to the
// queue.
func (s *Server) enqueue(ctx context.Context) {
	pending, err := s.o.Store.Pending(ctx)
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: listing pending images: %v\n", err)
		return
	}
	args := make([]river.JobArgs, 0, len(pending))
	for _, im := range pending {
		args = append(args, jobs.IngestArgs{Digest: im.Digest})
	}
	if _, err := s.queue.Add(ctx, args...); err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: queueing reads: %v\n", err)
	}
	s.dispatch(ctx)
}

// dispatch hands the outbox's new events to the queue, one delivery job
// per event and target.
func (s *Server) dispatch(ctx context.Context) {
	s.dispatching.Lock()
	defer s.dispatching.Unlock()
	for ctx.Err() == nil {
		ids, err := s.o.Store.Undispatched(ctx, 500)
		if err != nil || len(ids) == 0 {
			if err != nil {
				fmt.Fprintf(s.o.Log, "bulwark server: listing events: %v\n", err)
			}
			return
		}
		var args []river.JobArgs
		for _, id := range ids {
			for name := range s.targets {
				args = append(args, jobs.NotifyArgs{Event: id, Target: name})
			}
		}
		if _, err := s.queue.Add(ctx, args...); err != nil {
			fmt.Fprintf(s.o.Log, "bulwark server: queueing notifications: %v\n", err)
			return
		}
		if err := s.o.Store.MarkDispatched(ctx, ids); err != nil {
			fmt.Fprintf(s.o.Log, "bulwark server: marking events queued: %v\n", err)
			return
		}
	}
}

// ingestJob reads a pending image; an image read already (by this or
// another server) is left alone.
func (s *Server) ingestJob(ctx context.Context, a jobs.IngestArgs) error {
	im, err := s.o.Store.Image(ctx, a.Digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if im.State != store.StatePending {
		return nil
	}
	t := time.Now()
	err = s.ingest(ctx, *im)
	s.metrics.Read(time.Since(t), err)
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: %s/%s@%s: %v\n", im.Registry, im.Repository, im.Digest, err)
		return err
	}
	s.dispatch(ctx)
	return nil
}

// notifyJob delivers an event to a target once.
func (s *Server) notifyJob(ctx context.Context, a jobs.NotifyArgs) error {
	t, ok := s.targets[a.Target]
	if !ok {
		return nil // a target no longer configured
	}
	done, err := s.o.Store.Delivered(ctx, a.Event, a.Target)
	if err != nil || done {
		return err
	}
	ev, err := s.o.Store.Event(ctx, a.Event)
	if errors.Is(err, store.ErrNoEvent) {
		return nil // its image was deleted
	}
	if err != nil {
		return err
	}
	if !t.Wants(ev) {
		return nil // the image runs nowhere and the target wants deployed ones only
	}
	if err := notify.Deliver(ctx, s.http, t, ev); err != nil {
		return err
	}
	return s.o.Store.MarkDelivered(ctx, a.Event, a.Target)
}

// parked records a job that gave up: a read's error on its image.
func (s *Server) parked(ctx context.Context, kind string, args json.RawMessage, cause error) {
	fmt.Fprintf(s.o.Log, "bulwark server: %s job %s parked after its last attempt: %v\n", kind, args, cause)
	if kind != jobs.KindIngest {
		return
	}
	var a jobs.IngestArgs
	if json.Unmarshal(args, &a) != nil {
		return
	}
	if err := s.o.Store.Failed(ctx, a.Digest, cause); err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: recording the failure: %v\n", err)
	}
}
