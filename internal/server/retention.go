package server

import (
	"context"
	"fmt"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// Prune applies the retention rules once (on PostgreSQL, only one server
// at a time does) and logs what it removed.
func (s *Server) Prune(ctx context.Context) (*store.Pruned, error) {
	p, err := s.o.Store.Prune(ctx, s.o.Retention)
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: retention: %v\n", err)
		return nil, err
	}
	if !p.Skipped && *p != (store.Pruned{}) {
		fmt.Fprintf(s.o.Log, "bulwark server: retention removed %d image(s), %d fixed finding(s) from the history, %d event(s), %d deployment(s)\n",
			p.Images, p.History, p.Events, p.Deployments)
	}
	return p, nil
}
