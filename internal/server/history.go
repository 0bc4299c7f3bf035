package server

import (
	"net/http"
)

// getChanges serves the findings a database version's re-match made new
// or fixed (?dbVersion=; the version in use by default).
func (s *Server) getChanges(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("dbVersion")
	if v == "" {
		v = s.DBVersion()
	}
	ch, err := s.o.Store.Changes(r.Context(), v)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"dbVersion": v, "changes": ch})
}

// getTrend serves the findings new, fixed and open per day.
func (s *Server) getTrend(w http.ResponseWriter, r *http.Request) {
	days, err := s.o.Store.Trend(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"days": days})
}
