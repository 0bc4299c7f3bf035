package k8s

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves h over HTTPS on the listener until ctx ends, then shuts
// down, giving requests under way ten seconds (more than a decision's
// default budget) before it closes what is left. TLS certificates given as
// files are read again when they change on disk (a rotated Secret).
func Serve(ctx context.Context, l net.Listener, h http.Handler, cert func(*tls.ClientHelloInfo) (*tls.Certificate, error)) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(l, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// FileCertificate returns a GetCertificate function that serves the key
// pair in certFile and keyFile, loading it again when either file's
// modification time changes. The pair is loaded once now, so that a bad
// file is an error at start.
func FileCertificate(certFile, keyFile string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	r := &reloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.get(nil); err != nil {
		return nil, err
	}
	return r.get, nil
}
