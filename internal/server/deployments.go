package server

import (
	"io"
	"net/http"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
)

// postDeployments records where images run and where they stopped
// running: the body is a deployment.Report ({"deployments": [...]},
// with "complete": {scope} when it lists everything that runs there) or a
// bare array, at most webhook.MaxBody bytes. A deployment of a digest the
// server does not hold is kept too: its image may be pushed (or polled)
// later.
func (s *Server) postDeployments(w http.ResponseWriter, r *http.Request) {
	rep, ok := decodeBody(w, r, func(body io.Reader) (*deployment.Report, error) {
		raw, err := webhook.ReadBody(body)
		if err != nil {
			return nil, err
		}
		return deployment.Decode(raw, time.Now())
	})
	if !ok {
		return
	}
	out := map[string]int64{"recorded": int64(len(rep.Deployments))}
	var err error
	if rep.Complete != nil {
		out["gone"], err = s.o.Store.Reconcile(r.Context(), *rep.Complete, rep.Deployments)
	} else {
		err = s.o.Store.ReportDeployments(r.Context(), rep.Deployments)
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, out)
}

// getDeployments lists the running deployments (?digest= of one image;
// ?gone=true: those that stopped running too, with goneAt).
func (s *Server) getDeployments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ds, err := s.o.Store.Deployments(r.Context(), q.Get("digest"), q.Get("gone") == "true")
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"deployments": ds})
}
