package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the in-memory storage driver
	"github.com/sirupsen/logrus"
)

// Registry is the CNCF distribution registry running in this process on
// 127.0.0.1, with its storage in memory.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host    string
	srv     *http.Server
	cancel  context.CancelFunc
	restore func()
}

// StartRegistry starts the embedded registry on a free port of 127.0.0.1.
// Stop it with Close.
func StartRegistry(ctx context.Context) (*Registry, error) {
	// distribution logs every request through logrus; the demo shows its
	// own output instead.
	// Its 404 answers to HEAD requests (how clients ask whether a blob
	// exists) are logged as errors: silence it while it runs.
	prevOut, prevLevel := logrus.StandardLogger().Out, logrus.GetLevel()
	logrus.SetOutput(io.Discard)
	logrus.SetLevel(logrus.PanicLevel)
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		"delete":      configuration.Parameters{"enabled": true},
	}
	cfg.HTTP.Secret = "bulwark-demo"
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "error"
	ctx, cancel := context.WithCancel(ctx)
	app := handlers.NewApp(ctx, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	restore := func() { logrus.SetOutput(prevOut); logrus.SetLevel(prevLevel) }
	if err != nil {
		cancel()
		restore()
		return nil, fmt.Errorf("embedded registry: %w", err)
	}
	r := &Registry{Host: l.Addr().String(), cancel: cancel, restore: restore, srv: &http.Server{Handler: app, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := r.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "embedded registry:", err)
		}
	}()
	return r, nil
}

// Close stops the registry and drops what it stored.
func (r *Registry) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	r.cancel()
	r.restore()
	return err
}
