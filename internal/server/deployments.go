package server

import (
	"io"
	"net/http"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
)

// postDeployments records where images run: the body is a
// deployment.Report ({"deployments": [...]}) or a bare array, at most
// webhook.MaxBody bytes. A deployment of a digest the server does not
// hold is kept too: its image may be pushed (or polled) later.
func (s *Server) postDeployments(w http.ResponseWriter, r *http.Request) {
	ds, ok := decodeBody(w, r, func(body io.Reader) ([]deployment.Deployment, error) {
		raw, err := webhook.ReadBody(body)
		if err != nil {
			return nil, err
		}
		return deployment.Decode(raw, time.Now())
	})
	if !ok {
		return
	}
	if err := s.o.Store.ReportDeployments(r.Context(), ds); err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]int{"recorded": len(ds)})
}

// getDeployments lists the running deployments (?digest= of one image).
func (s *Server) getDeployments(w http.ResponseWriter, r *http.Request) {
	ds, err := s.o.Store.Deployments(r.Context(), r.URL.Query().Get("digest"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"deployments": ds})
}
