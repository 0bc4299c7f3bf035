package server

import (
	"net/http"
	"strconv"

	"github.com/bulwark-sec/bulwark/internal/server/jobs"
)

// listJobs is GET /api/v1/jobs?state=parked&limit=100: the jobs in a
// state (default parked: those that gave up, with their errors).
func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state == "" {
		state = "parked"
	}
	if _, ok := jobs.States[state]; !ok {
		http.Error(w, "state: one of available, running, retryable, scheduled, completed, parked, cancelled", http.StatusBadRequest)
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			http.Error(w, "limit: a number from 1 to 10000", http.StatusBadRequest)
			return
		}
		limit = n
	}
	js, err := s.Jobs(r.Context(), state, limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"state": state, "jobs": js})
}
