// Package store keeps what `bulwark server` knows about the images it
// assessed: each image once by digest, its package index (ecosystem +
// package -> images) and its findings, each recording the vulnerability
// database version that produced it. Store is the interface the server
// uses; SQL implements it on SQLite (Open, the default) and on
// PostgreSQL (OpenPostgres) with the same schema, whose versioned
// migrations run at open. Each change of an image's findings also writes
// an Event to an outbox table in the same transaction, for notifications.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// States of an image.
const (
	// StatePending: the digest is known and waits to be read.
	StatePending = "pending"
	// StateDone: the image was read and its findings are stored.
	StateDone = "done"
	// StateFailed: reading the image failed; Image.Error says why.
	StateFailed = "failed"
)

// ErrNotFound is returned for a digest the store does not hold.
var ErrNotFound = errors.New("no such image")

// ErrNoEvent is returned for an event the store does not hold.
var ErrNoEvent = errors.New("no such event")

// Image is one stored image.
type Image struct {
	// ID is the store's key for the image.
	ID int64 `json:"-"`
	// Digest is the manifest digest ("sha256:...").
	Digest string `json:"digest"`
	// Registry is the registry host the image was pushed to.
	Registry string `json:"registry"`
	// Repository is the repository within the registry.
	Repository string `json:"repository"`
	// Tags are the tags seen pointing at the digest.
	Tags []string `json:"tags"`
	// State is pending, done or failed.
	State string `json:"state"`
	// Error is why the last read failed (StateFailed).
	Error string `json:"error,omitempty"`
	// Attempts counts the reads tried.
	Attempts int `json:"attempts"`
	// AssessedAt is when the findings were last computed.
	AssessedAt *time.Time `json:"assessedAt,omitempty"`
	// DBVersion is the vulnerability database version of the vulnerability
	// findings.
	DBVersion string `json:"dbVersion,omitempty"`
	// Counts are the findings by severity.
	Counts map[string]int `json:"counts"`
	// Signature is the signature status of the read image: signed,
	// unsigned, invalid ("" when not checked).
	Signature string `json:"signature,omitempty"`
	// Signer is the key reference whose signature verified (signed).
	Signer string `json:"signer,omitempty"`
	// Deployments are where the image runs, as reported.
	Deployments []deployment.Deployment `json:"deployments"`
	// DeletedAt is when its manifest was deleted from the registry (nil
	// while it is there): it is no longer re-matched nor notified about.
	DeletedAt *time.Time `json:"deletedAt,omitempty"`
}

// Package is one entry of the package index: a package as the
// vulnerability database keys it (match.Query).
type Package struct {
	Ecosystem, Name, Version string
}

// Assessment is the outcome of reading an image once.
type Assessment struct {
	// SBOM is the inventory as JSON (inventory.SBOM), kept so that the
	// image can be re-matched without reading it again.
	SBOM json.RawMessage
	// Packages is the package index of the image.
	Packages []Package
	// Vulns are the vulnerability findings, from database DBVersion.
	Vulns []finding.Finding
	// Other are the findings that do not depend on the database (lint,
	// secrets, image integrity).
	Other []finding.Finding
	// DBVersion is the database version that produced Vulns.
	DBVersion string
	// At is when the findings were computed.
	At time.Time
	// Signature is the signature status (sign.Status: signed, unsigned,
	// invalid; "" when no keys are configured) and Signer the key that
	// verified.
	Signature, Signer string
}

// Finding is a stored finding with the database version that produced it
// (empty for findings that do not depend on the database) and its
// history in the image.
type Finding struct {
	finding.Finding
	DBVersion string `json:"dbVersion,omitempty"`
	// FirstSeen is when the finding was first reported for the image.
	FirstSeen *time.Time `json:"firstSeen,omitempty"`
	// FixedAt is when a re-match or re-read of the image stopped
	// reporting it (fixed findings only).
	FixedAt *time.Time `json:"fixedAt,omitempty"`
}

// Rematch is the outcome of re-matching an image's stored inventory.
type Rematch struct {
	// Digest names the image.
	Digest string
	// Vulns are its vulnerability findings from database Version.
	Vulns []finding.Finding
	// Version is the database version matched against.
	Version string
	// At is when the findings were computed.
	At time.Time
	// Packed are Vulns as stored (PackFindings), when the caller
	// computed them; nil: Rematched does.
	Packed [][]byte
}

// Change is a finding that a database update made new or fixed in an
// image.
type Change struct {
	// Digest and Repository name the image.
	Digest     string `json:"digest"`
	Repository string `json:"repository"`
	// Kind is "new" or "fixed".
	Kind string `json:"kind"`
	// Gate, ID and Severity are the finding's.
	Gate     finding.Gate `json:"gate"`
	ID       string       `json:"id"`
	Severity string       `json:"severity"`
	// At is when the change was recorded.
	At time.Time `json:"at"`
}

// Changes is what a database version's re-match changed.
type Changes struct {
	// New and Fixed count the findings made new and fixed; Images the
	// images they are in.
	New    int `json:"new"`
	Fixed  int `json:"fixed"`
	Images int `json:"images"`
	// List is the first of them, by repository, image, kind and ID.
	List []Change `json:"changes"`
}

// Day is one day of the trend: the findings first seen and fixed that
// day (UTC) and those open at its end, by severity.
type Day struct {
	Day   string         `json:"day"`
	New   int            `json:"new"`
	Fixed int            `json:"fixed"`
	Open  map[string]int `json:"open"`
}

// Stats are the store's figures for the overview and the metrics.
type Stats struct {
	// Total counts the images; States by state.
	Total  int
	States map[string]int
	// Stale counts the read images at another database version than the
	// one asked about.
	Stale int
	// Findings are the read images' findings by severity.
	Findings map[string]int
}

// HistoryKey identifies a finding within an image across re-matches: its
// gate, its ID and its fingerprint (or, without one, its location).
func HistoryKey(f *finding.Finding) string {
	where := f.Fingerprint
	if where == "" {
		where = f.Location.String()
	}
	return string(f.Gate) + "\x00" + f.ID + "\x00" + where
}

// Trend folds per-day counts of new and fixed findings by severity into
// days with the open findings at each day's end, oldest first.
func Trend(newBy, fixedBy map[string]map[string]int) []Day {
	days := map[string]bool{}
	for d := range newBy {
		days[d] = true
	}
	for d := range fixedBy {
		days[d] = true
	}
	keys := make([]string, 0, len(days))
	for d := range days {
		keys = append(keys, d)
	}
	sort.Strings(keys)
	open := map[string]int{}
	out := make([]Day, 0, len(keys))
	for _, d := range keys {
		day := Day{Day: d, Open: map[string]int{}}
		for sev, n := range newBy[d] {
			day.New += n
			open[sev] += n
		}
		for sev, n := range fixedBy[d] {
			day.Fixed += n
			open[sev] -= n
		}
		for sev, n := range open {
			if n != 0 {
				day.Open[sev] = n
			}
		}
		out = append(out, day)
	}
	return out
}

// Tagged is a tag of a stored image.
type Tagged struct {
	Registry, Repository, Tag, Digest string
}

// Store is what the server keeps. Every method is safe for concurrent use.
type Store interface {
	// Add records a pushed digest. It returns true when the digest is new
	// (and so waits to be read); a known digest only gains the tag.
	Add(ctx context.Context, registry, repository, digest, tag string) (bool, error)
	// Pending lists the images that wait to be read, oldest first.
	Pending(ctx context.Context) ([]Image, error)
	// Assessed stores the outcome of reading an image, replacing its
	// package index and findings in one transaction, with the Event of
	// the findings that appeared or went away. The history keeps
	// each finding's first-seen time (HistoryKey) and marks fixed those
	// no longer reported.
	Assessed(ctx context.Context, digest string, a *Assessment) error
	// Failed records a failed read of a pending image (an image read
	// meanwhile stays as it is).
	Failed(ctx context.Context, digest string, err error) error
	// Images lists up to limit stored images (0: all) in the order they
	// were added, from the one after digest after ("": from the first;
	// ErrNotFound when the store does not hold it).
	Images(ctx context.Context, after string, limit int) ([]Image, error)
	// ByRisk lists up to limit images (0: all) from the offset-th in the
	// order of risk: the most critical findings first, then high, medium
	// and low; then by repository and the order they were added.
	ByRisk(ctx context.Context, offset, limit int) ([]Image, error)
	// Stats counts the images by state, those read at another database
	// version than version, and the read images' findings by severity.
	Stats(ctx context.Context, version string) (*Stats, error)
	// Image returns one image.
	Image(ctx context.Context, digest string) (*Image, error)
	// Findings returns an image's findings, each with when it was first
	// seen.
	Findings(ctx context.Context, digest string) ([]Finding, error)
	// Fixed returns the findings an image no longer has, as last
	// reported, with when they were first seen and fixed.
	Fixed(ctx context.Context, digest string) ([]Finding, error)
	// Changes counts the findings that re-matching against database
	// version made new (and still open) or fixed, and lists the first
	// limit of them by repository and image, in the order images were
	// added (all when limit <= 0). The counts are kept per version and
	// image as re-matches write them.
	Changes(ctx context.Context, version string, limit int) (*Changes, error)
	// Trend counts the findings of all images new and fixed per day (kept
	// per day as they change, not computed from the history).
	Trend(ctx context.Context) ([]Day, error)
	// Tagged lists the tags of the stored images, of the images added
	// first first (a tag moved to another digest comes last at its newest
	// digest).
	Tagged(ctx context.Context) ([]Tagged, error)
	// Untag records tags deleted from a repository: its images no longer
	// have them. It returns the digests of the images that lost a tag and
	// have none left.
	Untag(ctx context.Context, registry, repository string, tags []string) ([]string, error)
	// Delete records the deletion of an image's manifest from the
	// repository it was recorded under: it loses its tags there, is no
	// longer re-matched, and a pending image will not be read (it fails).
	// It returns false for an image the store does not hold there.
	Delete(ctx context.Context, registry, repository, digest string, at time.Time) (bool, error)
	// Keys lists the distinct (ecosystem, name) keys of the package index.
	Keys(ctx context.Context) ([]Package, error)
	// ImagesWith lists the digests of the read images holding a package of
	// one of the keys (Version ignored).
	ImagesWith(ctx context.Context, keys []Package) ([]string, error)
	// ImagesNotAt lists the digests of the read images whose vulnerability
	// findings come from another database version than version: of all,
	// or (among not nil) of those among the digests; not the deleted ones.
	ImagesNotAt(ctx context.Context, version string, among []string) ([]string, error)
	// SBOMs returns the stored inventories of the images with the
	// digests, by digest (a digest the store does not hold is absent).
	SBOMs(ctx context.Context, digests []string) (map[string]json.RawMessage, error)
	// Rematched replaces, in one transaction, the vulnerability findings
	// of each image of rs with those of its re-match, recording in the
	// history the findings new and fixed at the re-match's database
	// version, and the Event of each change. An image at the re-match's
	// version already is left alone (another server re-matched it). It
	// returns the digests written; on error none of rs is changed.
	Rematched(ctx context.Context, rs []Rematch) ([]string, error)
	// Advance marks the vulnerability findings of the read images at
	// version from as current for version to, except the digests in skip:
	// the database change did not touch their packages.
	Advance(ctx context.Context, from, to string, skip []string) (int, error)
	// Undispatched lists up to limit events not yet handed to the job
	// queue, oldest first.
	Undispatched(ctx context.Context, limit int) ([]int64, error)
	// MarkDispatched records events as handed to the job queue.
	MarkDispatched(ctx context.Context, ids []int64) error
	// Event returns one event (ErrNoEvent when unknown).
	Event(ctx context.Context, id int64) (*Event, error)
	// Delivered reports whether an event was delivered to a target.
	Delivered(ctx context.Context, id int64, target string) (bool, error)
	// MarkDelivered records an event's delivery to a target.
	MarkDelivered(ctx context.Context, id int64, target string) error
	// ReportDeployments records where images run (or still run), and
	// the deployments reported gone (GoneAt).
	ReportDeployments(ctx context.Context, ds []deployment.Deployment) error
	// Reconcile records a complete report: ds run in scope, and every
	// other deployment of the scope last reported before scope.At is gone
	// as of scope.At. It returns how many it marked gone.
	Reconcile(ctx context.Context, scope deployment.Scope, ds []deployment.Deployment) (int64, error)
	// Deployments lists the running deployments of a digest (all when
	// empty), and with gone those that stopped running too.
	Deployments(ctx context.Context, digest string, gone bool) ([]deployment.Deployment, error)
	// RecordDBUpdate records an attempt of the database update schedule
	// started at at: a success (err nil) that installed version from
	// source, or its error.
	RecordDBUpdate(ctx context.Context, at time.Time, version, source string, err error) error
	// DBUpdate returns the record of the database update schedule (nil
	// when no update was tried yet).
	DBUpdate(ctx context.Context) (*DBUpdate, error)
	// Prune removes what the retention rules say has aged out.
	Prune(ctx context.Context, r Retention) (*Pruned, error)
	// Close releases the store.
	Close() error
}
