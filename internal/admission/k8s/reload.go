package k8s

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// reloader keeps a key pair and loads it again when its files change.
type reloader struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	certMod, keyMod   time.Time
}

func (r *reloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cs, err := os.Stat(r.certFile)
	if err != nil {
		return r.keep(fmt.Errorf("--tls-cert: %w", err))
	}
	ks, err := os.Stat(r.keyFile)
	if err != nil {
		return r.keep(fmt.Errorf("--tls-key: %w", err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil && cs.ModTime().Equal(r.certMod) && ks.ModTime().Equal(r.keyMod) {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil
		}
		return nil, fmt.Errorf("TLS key pair %s, %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert, r.certMod, r.keyMod = &c, cs.ModTime(), ks.ModTime()
	return r.cert, nil
}

// keep serves the last good pair while a file is briefly missing (a
// Secret being updated).
func (r *reloader) keep(err error) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cert != nil {
		return r.cert, nil
	}
	return nil, err
}
