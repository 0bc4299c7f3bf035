package server

import (
	"fmt"
	"net/http"
	"strconv"
)

// DefaultChanges is how many changes /api/v1/changes lists unless
// ?limit= says otherwise (0: all).
const DefaultChanges = 1000

// getChanges serves the findings a database version's re-match made new
// or fixed (?dbVersion=; the version in use by default): their counts and
// the first ?limit= of them.
func (s *Server) getChanges(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query().Get("dbVersion")
	if v == "" {
		v = s.DBVersion()
	}
	limit, ok := limitParam(w, r, DefaultChanges)
	if !ok {
		return
	}
	ch, err := s.o.Store.Changes(r.Context(), v, limit)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"dbVersion": v, "new": ch.New, "fixed": ch.Fixed, "images": ch.Images, "changes": ch.List})
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

// limitParam reads ?limit= (def when absent, 0: all); on a bad value it
// answers 400 and returns false.
func limitParam(w http.ResponseWriter, r *http.Request, def int) (int, bool) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 0 {
		httpError(w, http.StatusBadRequest, fmt.Errorf("limit %q: want a number, 0 for all", l))
		return 0, false
	}
	return n, true
}
