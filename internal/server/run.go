package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/server/notify"
	"github.com/bulwark-sec/bulwark/internal/server/poll"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// shutdownGrace bounds how long requests in flight may take after a
// SIGTERM.
const shutdownGrace = 10 * time.Second

// Run serves the configuration until ctx ends (SIGTERM, SIGINT), then
// stops taking requests, lets those in flight finish, waits for the job
// in progress and closes the store. ready, when not nil, is called with
// the address served once it listens.
func Run(ctx context.Context, c *config.Config, log io.Writer, ready func(addr string)) error {
	dbFile := c.DB.File
	if dbFile == "" {
		p, err := vulndb.DefaultPath()
		if err != nil {
			return err
		}
		dbFile = p
	}
	engine, storePath, err := config.StoreURL(c.Store)
	if err != nil {
		return err
	}
	var st *store.SQL
	if engine == "postgres" {
		st, err = store.OpenPostgres(ctx, c.Store)
		storePath = store.Redact(c.Store)
	} else {
		if storePath == "" {
			// The cache folder the database lives in (<cache>/db/vulndb.bwdb).
			storePath = filepath.Join(filepath.Dir(filepath.Dir(dbFile)), "server", "server.db")
		}
		if err := os.MkdirAll(filepath.Dir(storePath), 0o700); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		st, err = store.Open(ctx, storePath)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	tlsConf, err := c.TLS.Config()
	if err != nil {
		return err
	}
	var targets []notify.Target
	for _, n := range c.Notify {
		targets = append(targets, notify.Target{Name: n.Name, URL: n.URL, Secret: n.Secret, Format: n.Format, OnlyDeployed: n.OnlyDeployed})
	}
	st.SetDeploymentExpiry(c.DeploymentExpiry)
	var upd *DBUpdate
	if c.UpdateEvery > 0 {
		repos, key, reg, err := c.DBUpdateSource(ctx)
		if err != nil {
			return err
		}
		u := c.DB.Update
		upd = &DBUpdate{Every: c.UpdateEvery, Timeout: c.UpdateTimeout, Repositories: repos, Key: key, Registry: reg, FromUpstream: u.FromUpstream, State: u.State}
		if u.FromUpstream {
			upd.Sources = u.Sources.Resolve()
		}
	}
	srv, err := New(ctx, Options{Store: st, DBFile: dbFile, Registries: c.RegistrySettings(), FailOn: c.FailOn, Token: c.Token, Webhooks: c.Webhooks, PublicMetrics: c.Metrics.Public, Notify: targets, Log: log, Update: upd,
		Signature: c.Signature, RequireSignature: c.Policy.RequireSignature, PruneEvery: c.PruneEvery,
		Retention: store.Retention{Images: c.KeepImages, History: c.KeepHistory, Events: c.KeepEvents, Deployments: c.DeploymentExpiry}})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.Listen, err)
	}
	scheme := "http"
	if tlsConf != nil {
		ln, scheme = tls.NewListener(ln, tlsConf), "https"
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	go srv.WatchDB(ctx, c.CheckEvery)
	if len(c.Watched) > 0 {
		p, err := srv.poller(ctx, c)
		if err != nil {
			return err
		}
		go p.Run(ctx)
	}
	fmt.Fprintf(log, "bulwark server: listening on %s://%s (store %s, database %s)\n", scheme, ln.Addr(), storePath, srv.DBVersion())
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-served:
		return fmt.Errorf("serving %s: %w", c.Listen, err)
	case <-ctx.Done():
	}
	fmt.Fprintln(log, "bulwark server: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// poller polls the watched repositories into Record, starting from the
// tags the store holds.
func (s *Server) poller(ctx context.Context, c *config.Config) (*poll.Poller, error) {
	p := &poll.Poller{Interval: c.PollEvery, Timeout: c.PollTimeout, Log: s.o.Log,
		Record: func(ctx context.Context, pushes []webhook.Push) error {
			_, err := s.Record(ctx, "poll", pushes)
			return err
		}}
	for _, w := range c.Watched {
		p.Targets = append(p.Targets, poll.Target{Registry: w.Registry, Repository: w.Repository, Client: s.clients[w.Registry]})
	}
	tags, err := s.o.Store.Tagged(ctx)
	if err != nil {
		return nil, fmt.Errorf("stored tags: %w", err)
	}
	known := make([]webhook.Push, len(tags))
	for i, x := range tags {
		known[i] = webhook.Push{Registry: x.Registry, Repository: x.Repository, Tag: x.Tag, Digest: x.Digest}
	}
	p.Remember(known)
	return p, nil
}
