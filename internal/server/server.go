// Package server is `bulwark server`: it reads each image pushed to a
// watched registry once (the CLI's single-pass scan), keeps its package
// index and findings in a store, and when the vulnerability database
// changes re-matches only the stored images whose packages the change
// touches, from the stored inventory, without reading them again.
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/scan"
	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/server/jobs"
	"github.com/bulwark-sec/bulwark/internal/server/metrics"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Options configures a Server.
type Options struct {
	// Store keeps the images and findings.
	Store store.Store
	// DBFile is the vulnerability database file.
	DBFile string
	// Registries maps each registry host images are read from to its
	// access; pushes to other hosts are refused.
	Registries map[string]registry.Settings
	// FailOn judges each image's policy status.
	FailOn policy.FailOn
	// Token, when set, is required as a bearer token on everything but
	// /healthz.
	Token string
	// PublicMetrics serves /metrics without the token (for a Prometheus
	// that cannot send one).
	PublicMetrics bool
	// Webhooks are the webhook senders' shared secrets (each webhook also
	// takes Token) and the EventBridge host mapping.
	Webhooks config.Webhooks
	// Log receives one line per event (stderr).
	Log io.Writer
	// Notify are the targets the finding events are delivered to.
	Notify []notify.Target
	// Jobs tunes the job queue the reads, re-matches and deliveries run on.
	Jobs jobs.Options
	// Signature is how each read image's signature is checked (no keys:
	// it is not).
	Signature config.Signature
	// RequireSignature fails the policy status of images not signed.
	RequireSignature bool
	// Retention is applied every PruneEvery (never when 0).
	Retention  store.Retention
	PruneEvery time.Duration
	// Update, when set, is the server's own database update schedule.
	Update *DBUpdate
	// RematchBatch is how many images one re-match job takes (default
	// rematchBatch).
	RematchBatch int
	// rematchHook, when set (tests), is called with the digests of a
	// re-match job before they are matched and with those written.
	rematchHook func(digests []string, written bool)
}

// dbState is the vulnerability database in use.
type dbState struct {
	db      *vulndb.DB
	version string
	file    fileID
}

// fileID tells whether the database file was replaced.
type fileID struct {
	size    int64
	modTime time.Time
}

// Server assesses images and serves the API. Reads of images (ingest),
// re-matches (rematch) and deliveries of finding events (notify) run as
// jobs of a durable queue (package jobs) in the store's database, shared
// by every server on it; a database refresh runs on one worker goroutine
// and queues the re-matches of the images its changes touch.
type Server struct {
	o        Options
	clients  map[string]*registry.Client
	cur      atomic.Pointer[dbState]
	reads    atomic.Int64
	kick     chan struct{}
	refresh  chan chan refreshReply
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	metrics  *metrics.Metrics
	queue    *jobs.Queue
	targets  map[string]notify.Target
	http     *http.Client
	// keys check each read image's signature (nil: not checked).
	keys *sign.Keyring
	// dbMu is held for reading while a read uses the current database, for
	// writing while a refresh swaps it.
	dbMu sync.RWMutex
	// dispatching serializes handing events to the queue.
	dispatching sync.Mutex
	// updating serializes the database updates (UpdateDB).
	updating sync.Mutex
}

type refreshReply struct {
	res *RefreshResult
	err error
}

// RefreshResult is what a database refresh did.
type RefreshResult struct {
	// From and To are the database versions before and after.
	From string `json:"from"`
	To   string `json:"to"`
	// KeysChanged counts the stored (ecosystem, package) keys whose
	// advisories changed.
	KeysChanged int `json:"keysChanged"`
	// Queued counts the images queued for re-matching against To (those
	// the change touched and any others not at To), in Jobs re-match
	// jobs; they are stale until their job writes them. Advanced counts
	// the images whose results were kept as current because no change
	// touched them.
	Queued   int `json:"queued"`
	Jobs     int `json:"jobs"`
	Advanced int `json:"advanced"`
}

// New opens the vulnerability database, starts the job queue, queues the
// re-matches of the stored images whose results come from another
// database version, and starts the worker.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	s := &Server{o: o, clients: map[string]*registry.Client{}, kick: make(chan struct{}, 1),
		refresh: make(chan chan refreshReply), stop: make(chan struct{}), done: make(chan struct{})}
	s.metrics = metrics.New(o.Store, s.DBVersion)
	for host, st := range o.Registries {
		c, err := st.Client()
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", host, err)
		}
		s.clients[host] = c
	}
	if len(o.Signature.Keys) > 0 {
		var err error
		if s.keys, err = sign.NewKeyring(ctx, o.Signature.Keys, func(msg string) { fmt.Fprintf(o.Log, "bulwark server: %s\n", msg) }); err != nil {
			return nil, fmt.Errorf("signature.keys: %w", err)
		}
	}
	if err := s.firstPull(ctx); err != nil {
		return nil, err
	}
	st, err := openDB(o.DBFile)
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	if err := s.startQueue(ctx); err != nil {
		st.db.Close()
		return nil, err
	}
	if n, _, err := s.queueStale(ctx, st.version); err != nil {
		s.queue.Stop(ctx)
		st.db.Close()
		return nil, err
	} else if n > 0 {
		fmt.Fprintf(o.Log, "bulwark server: queued %d image(s) for re-matching against database %s\n", n, st.version)
	}
	go s.work()
	s.Kick()
	return s, nil
}

// openDB opens the database file and names its version: its build time
// and the start of its SHA-256.
func openDB(path string) (*dbState, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	db, err := vulndb.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("vulnerability database: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		db.Close()
		return nil, fmt.Errorf("vulnerability database %s: %w", path, err)
	}
	v := db.Metadata().BuiltAt.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(h.Sum(nil))[:12]
	return &dbState{db: db, version: v, file: fileID{fi.Size(), fi.ModTime()}}, nil
}

// DBVersion is the version of the database in use.
func (s *Server) DBVersion() string { return s.cur.Load().version }

// Reads counts the images read from registries since the start.
func (s *Server) Reads() int64 { return s.reads.Load() }

// Kick wakes the worker to read the pending images.
func (s *Server) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Refresh re-reads the database file and, when it changed, re-matches the
// images its changes touch. It waits for the job in progress.
func (s *Server) Refresh(ctx context.Context) (*RefreshResult, error) {
	reply := make(chan refreshReply, 1)
	select {
	case s.refresh <- reply:
	case <-s.done:
		return nil, errors.New("server stopped")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-reply:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops the job queue and the worker after the jobs in progress
// (those still running after jobStopGrace are cancelled, to be retried)
// and closes the database (not the store, which the caller owns).
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), jobStopGrace)
	defer cancel()
	if err := s.queue.Stop(ctx); err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: stopping the job queue: %v\n", err)
	}
	s.cur.Load().db.Close()
}

func (s *Server) work() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	// The tick re-queues what a crash may have left between the store and
	// the queue.
	tick := time.NewTicker(requeueEvery)
	defer tick.Stop()
	var prune <-chan time.Time
	if s.o.PruneEvery > 0 {
		pt := time.NewTicker(s.o.PruneEvery)
		defer pt.Stop()
		prune = pt.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-prune:
			s.Prune(ctx)
		case <-s.kick:
			s.enqueue(ctx)
		case <-tick.C:
			s.enqueue(ctx)
		case reply := <-s.refresh:
			t := time.Now()
			res, err := s.doRefresh(ctx)
			s.metrics.Refresh(time.Since(t), res != nil && res.From != res.To, err)
			s.dispatch(ctx)
			reply <- refreshReply{res, err}
		}
	}
}

// ingest reads one image once and stores its inventory and findings.
func (s *Server) ingest(ctx context.Context, im store.Image) error {
	client := s.clients[im.Registry]
	if client == nil {
		return fmt.Errorf("registry %s is not configured", im.Registry)
	}
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	st := s.cur.Load()
	ref := im.Registry + "/" + im.Repository + "@" + im.Digest
	s.reads.Add(1)
	img, err := image.Open(ctx, ref, image.Options{Registry: client})
	if err != nil {
		return err
	}
	defer img.Close()
	res, err := scan.Run(ctx, img, scan.Options{Vulns: true, Lint: true, Secrets: true, DB: st.db})
	if err != nil {
		return err
	}
	sb, err := json.Marshal(res.SBOM)
	if err != nil {
		return err
	}
	a := &store.Assessment{SBOM: sb, Packages: PackageIndex(res.SBOM), DBVersion: st.version, At: time.Now()}
	if s.keys != nil {
		if err := s.checkSignature(ctx, client, ref, a); err != nil {
			return err
		}
	}
	for _, f := range res.Findings {
		if f.Gate == finding.GateVuln {
			a.Vulns = append(a.Vulns, f)
		} else {
			a.Other = append(a.Other, f)
		}
	}
	if err := s.o.Store.Assessed(ctx, im.Digest, a); err != nil {
		return err
	}
	fmt.Fprintf(s.o.Log, "bulwark server: assessed %s: %d package(s), %d finding(s), database %s%s\n", ref, len(res.SBOM.Packages), len(res.Findings), st.version,
		map[bool]string{true: ", signature " + a.Signature, false: ""}[a.Signature != ""])
	return nil
}

// checkSignature records the signature status of an image read (by
// digest) in its assessment; an error (registry or KMS unreachable)
// fails the read, to be retried.
func (s *Server) checkSignature(ctx context.Context, client *registry.Client, ref string, a *store.Assessment) error {
	vs, err := s.keys.Verifiers(ctx)
	if err != nil {
		return fmt.Errorf("signature check: %w", err)
	}
	reg, err := sign.NewRegistry(ctx, client)
	if err != nil {
		return fmt.Errorf("signature check: %w", err)
	}
	st, detail, err := sign.ImageStatus(ctx, reg, ref, vs, s.o.Signature.Annotations)
	if err != nil {
		return fmt.Errorf("signature check: %w", err)
	}
	a.Signature = string(st)
	switch st {
	case sign.Signed:
		a.Signer = detail
	case sign.Invalid:
		fmt.Fprintf(s.o.Log, "bulwark server: %s: signature invalid: %s\n", ref, detail)
	}
	return nil
}

// PackageIndex is the package index of an inventory, as the server
// stores it: each package as the database keys it.
func PackageIndex(sb *inventory.SBOM) []store.Package {
	out := make([]store.Package, 0, len(sb.Packages))
	for i := range sb.Packages {
		q, _ := match.QueryFor(sb.Target.OS, &sb.Packages[i])
		out = append(out, store.Package{Ecosystem: q.Ecosystem, Name: q.Name, Version: q.Version})
	}
	return out
}

// doRefresh swaps in the database file when it changed: the images its
// changes touch, and any others not at the new version, are queued for
// re-matching (stale until written); the others are kept as current. On
// error the old database stays in use. With the file unchanged, the
// images not at its version (a parked re-match, another server's read at
// an older database) are queued again.
func (s *Server) doRefresh(ctx context.Context) (*RefreshResult, error) {
	old := s.cur.Load()
	st, err := openDB(s.o.DBFile)
	if err != nil {
		return nil, err
	}
	res := &RefreshResult{From: old.version, To: st.version}
	if st.version == old.version {
		st.db.Close()
		s.cur.Store(&dbState{db: old.db, version: old.version, file: st.file})
		res.Queued, res.Jobs, err = s.queueStale(ctx, old.version)
		return res, err
	}
	fail := func(err error) (*RefreshResult, error) {
		st.db.Close()
		return nil, err
	}
	keys, err := s.o.Store.Keys(ctx)
	if err != nil {
		return fail(err)
	}
	var changed []store.Package
	for _, k := range keys {
		diff, err := advisoriesDiffer(old.db, st.db, k)
		if err != nil {
			return fail(err)
		}
		if diff {
			changed = append(changed, k)
		}
	}
	res.KeysChanged = len(changed)
	touched, err := s.o.Store.ImagesWith(ctx, changed)
	if err != nil {
		return fail(err)
	}
	if res.Advanced, err = s.o.Store.Advance(ctx, old.version, st.version, touched); err != nil {
		return fail(err)
	}
	if res.Queued, res.Jobs, err = s.queueStale(ctx, st.version); err != nil {
		return fail(err)
	}
	s.dbMu.Lock()
	s.cur.Store(st)
	s.dbMu.Unlock()
	old.db.Close()
	fmt.Fprintf(s.o.Log, "bulwark server: database %s -> %s: %d package key(s) changed, %d image(s) queued for re-matching in %d job(s), %d kept current\n",
		res.From, res.To, res.KeysChanged, res.Queued, res.Jobs, res.Advanced)
	return res, nil
}

// advisoriesDiffer reports whether two databases hold different
// advisories for a key.
func advisoriesDiffer(a, b *vulndb.DB, k store.Package) (bool, error) {
	x, err := a.Lookup(k.Ecosystem, k.Name)
	if err != nil {
		return false, err
	}
	y, err := b.Lookup(k.Ecosystem, k.Name)
	if err != nil {
		return false, err
	}
	if len(x) != len(y) {
		return true, nil
	}
	bx, err := json.Marshal(x)
	if err != nil {
		return false, err
	}
	by, err := json.Marshal(y)
	if err != nil {
		return false, err
	}
	return string(bx) != string(by), nil
}

// checkFile refreshes when the database file was replaced.
func (s *Server) checkFile(ctx context.Context) {
	fi, err := os.Stat(s.o.DBFile)
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: vulnerability database: %v\n", err)
		return
	}
	if (fileID{fi.Size(), fi.ModTime()}) == s.cur.Load().file {
		return
	}
	if _, err := s.Refresh(ctx); err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: database refresh: %v\n", err)
	}
}

// WatchDB checks the database file every interval until ctx ends.
func (s *Server) WatchDB(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.checkFile(ctx)
		}
	}
}
