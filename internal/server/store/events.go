package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Reasons of an event.
const (
	// ReasonIngest: the image was read for the first time (or again).
	ReasonIngest = "ingest"
	// ReasonRematch: a vulnerability database change re-matched it.
	ReasonRematch = "rematch"
)

// Event is a notification in the outbox: the findings of one image that
// appeared or went away. It is written in the same transaction as the
// findings, so a stored change always has its event and vice versa.
type Event struct {
	// ID numbers the events in the order they were stored.
	ID int64 `json:"id"`
	// Reason is ReasonIngest or ReasonRematch.
	Reason string `json:"reason"`
	// Image is the image the findings belong to.
	Image EventImage `json:"image"`
	// DBVersion is the vulnerability database version of the findings.
	DBVersion string `json:"dbVersion,omitempty"`
	// At is when the findings were computed.
	At time.Time `json:"at"`
	// New are the findings the image did not have before; Fixed those it
	// no longer has.
	New   []EventFinding `json:"new"`
	Fixed []EventFinding `json:"fixed"`
	// Deployments are where the image ran when the event was written
	// (reported through POST /api/v1/deployments and not expired).
	Deployments []deployment.Deployment `json:"deployments"`
}

// EventImage names the image of an event.
type EventImage struct {
	Digest     string   `json:"digest"`
	Registry   string   `json:"registry"`
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
}

// EventFinding is one finding of an event, in short.
type EventFinding struct {
	Gate     string `json:"gate"`
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Title    string `json:"title,omitempty"`
	// Package, Version and FixedVersion are set on vulnerabilities.
	Package      string `json:"package,omitempty"`
	Version      string `json:"version,omitempty"`
	FixedVersion string `json:"fixedVersion,omitempty"`
	// Path is where in the image the finding is, when it is a file.
	Path string `json:"path,omitempty"`
}

func change(f *finding.Finding) EventFinding {
	c := EventFinding{Gate: string(f.Gate), ID: f.ID, Severity: f.Severity.String(), Title: f.Title, Path: f.Location.Path}
	if f.Vuln != nil {
		c.Package, c.Version, c.FixedVersion = f.Vuln.Package, f.Vuln.InstalledVersion, f.Vuln.FixedVersion
	}
	return c
}

// diff lists the findings of after that are not in before (new) and
// those of before not in after (fixed).
func diff(before, after []finding.Finding) (added, fixed []EventFinding) {
	had := map[string]bool{}
	for i := range before {
		had[HistoryKey(&before[i])] = true
	}
	has := map[string]bool{}
	for i := range after {
		k := HistoryKey(&after[i])
		has[k] = true
		if !had[k] && after[i].Suppressed == nil {
			added = append(added, change(&after[i]))
		}
	}
	for i := range before {
		if !has[HistoryKey(&before[i])] {
			fixed = append(fixed, change(&before[i]))
		}
	}
	return added, fixed
}

// event is the event of an image's change of findings, nil when there is
// none; its deployments are added when it is written.
func event(img EventImage, reason, version string, at time.Time, before, after []finding.Finding) *Event {
	added, fixed := diff(before, after)
	if len(added) == 0 && len(fixed) == 0 {
		return nil
	}
	ev := &Event{Reason: reason, Image: img, DBVersion: version, At: at.UTC(), New: added, Fixed: fixed, Deployments: []deployment.Deployment{}}
	if ev.New == nil {
		ev.New = []EventFinding{}
	}
	if ev.Fixed == nil {
		ev.Fixed = []EventFinding{}
	}
	return ev
}

// Undispatched implements Store.
func (s *SQL) Undispatched(ctx context.Context, limit int) ([]int64, error) {
	return column[int64](ctx, s.x(), `SELECT id FROM events WHERE dispatched = 0 ORDER BY id LIMIT ?`, limit)
}

// MarkDispatched implements Store.
func (s *SQL) MarkDispatched(ctx context.Context, ids []int64) error {
	return s.tx(ctx, func(tx execer) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE events SET dispatched = 1 WHERE id = ?`, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Event implements Store.
func (s *SQL) Event(ctx context.Context, id int64) (*Event, error) {
	var b []byte
	err := s.x().QueryRowContext(ctx, `SELECT payload FROM events WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoEvent
	}
	if err != nil {
		return nil, err
	}
	ev := &Event{}
	if err := json.Unmarshal(b, ev); err != nil {
		return nil, err
	}
	ev.ID = id
	return ev, nil
}

// Delivered implements Store.
func (s *SQL) Delivered(ctx context.Context, id int64, target string) (bool, error) {
	var n int
	err := s.x().QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE event_id = ? AND target = ?`, id, target).Scan(&n)
	return n > 0, err
}

// MarkDelivered implements Store.
func (s *SQL) MarkDelivered(ctx context.Context, id int64, target string) error {
	_, err := s.x().ExecContext(ctx, `INSERT INTO deliveries (event_id, target, delivered_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, id, target, now())
	return err
}
