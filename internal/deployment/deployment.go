// Package deployment is where an image runs, as bulwark's deploy-time
// enforcement (the Kubernetes admission webhook, the ECS lifecycle hook)
// or anything else reports it to `bulwark server`
// (POST /api/v1/deployments): the wire type, its checks, and the client
// that the admission side uses to report what it allowed.
package deployment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Platforms a deployment runs on.
const (
	// Kubernetes: Cluster is the cluster's name, Namespace and Name the
	// object's ("deployment/web", "pod/web-7d4b9c").
	Kubernetes = "kubernetes"
	// ECS: Cluster is the ECS cluster, Name the service.
	ECS = "ecs"
)

// Deployment is one image digest running in one place.
type Deployment struct {
	// Platform is Kubernetes or ECS.
	Platform string `json:"platform"`
	// Cluster names the cluster.
	Cluster string `json:"cluster"`
	// Namespace is the Kubernetes namespace ("" on ECS).
	Namespace string `json:"namespace,omitempty"`
	// Name is the workload ("kind/name" on Kubernetes) or the ECS service.
	Name string `json:"name"`
	// Digest is the image's manifest digest ("sha256:...").
	Digest string `json:"digest"`
	// FirstSeen is when the server first heard of it (set by the server).
	FirstSeen *time.Time `json:"firstSeen,omitempty"`
	// SeenAt is when it was last reported running (default: when the
	// server receives the report).
	SeenAt time.Time `json:"seenAt"`
	// GoneAt is when it stopped running. In a report it says the
	// deployment is gone (its Digest may then be empty: every digest of
	// the name is gone); the server sets it on one reported gone or left
	// out of a complete report.
	GoneAt *time.Time `json:"goneAt,omitempty"`
}

// String names the deployment: "kubernetes/prod/shop/deployment/web".
func (d Deployment) String() string {
	parts := []string{d.Platform, d.Cluster}
	if d.Namespace != "" {
		parts = append(parts, d.Namespace)
	}
	return strings.Join(append(parts, d.Name), "/")
}

// MaxField is the longest cluster, namespace or name accepted.
const MaxField = 253

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Check reports what is wrong with a reported deployment, naming the
// field.
func (d *Deployment) Check() error {
	switch d.Platform {
	case Kubernetes, ECS:
	default:
		return fmt.Errorf("platform %q: want %s or %s", d.Platform, Kubernetes, ECS)
	}
	if !digestRE.MatchString(d.Digest) && (d.GoneAt == nil || d.Digest != "") {
		return fmt.Errorf("digest %q: want sha256: and 64 lowercase hex digits (or none, in a deployment reported gone)", d.Digest)
	}
	for _, f := range []struct{ name, v string }{{"cluster", d.Cluster}, {"name", d.Name}, {"namespace", d.Namespace}} {
		if f.v == "" && f.name != "namespace" {
			return fmt.Errorf("%s: missing", f.name)
		}
		if len(f.v) > MaxField || strings.ContainsAny(f.v, "\x00\n\r") {
			return fmt.Errorf("%s %.40q: at most %d characters, no control characters", f.name, f.v, MaxField)
		}
	}
	return nil
}

// Report is the body of POST /api/v1/deployments.
type Report struct {
	// Deployments are the deployments reported running (or gone: GoneAt).
	Deployments []Deployment `json:"deployments"`
	// Complete, when set, says that Deployments are everything running in
	// a scope (a reconciler's snapshot): what the server holds there and
	// the report leaves out is gone.
	Complete *Scope `json:"complete,omitempty"`
}

// Scope is where a complete report lists everything that runs.
type Scope struct {
	// Platform is Kubernetes or ECS.
	Platform string `json:"platform"`
	// Cluster names the cluster.
	Cluster string `json:"cluster"`
	// Namespace narrows a Kubernetes scope to one namespace ("" : the
	// whole cluster).
	Namespace string `json:"namespace,omitempty"`
	// Name narrows the scope to one workload (on Kubernetes, of the
	// namespace): a report of what it runs now, all its other digests
	// gone (the images a rolling update replaced).
	Name string `json:"name,omitempty"`
	// At is when the snapshot was taken (default: when the server
	// receives it). A deployment of the scope last reported before At and
	// not in the report is gone as of At; one reported after At (a
	// deployment newer than the snapshot) stays.
	At time.Time `json:"at"`
}

// Contains reports whether a deployment is in the scope.
func (s *Scope) Contains(d *Deployment) bool {
	return d.Platform == s.Platform && d.Cluster == s.Cluster && (s.Namespace == "" || d.Namespace == s.Namespace) && (s.Name == "" || d.Name == s.Name)
}

// String names the scope: "kubernetes/prod/shop/deployment/web".
func (s *Scope) String() string {
	return (Deployment{Platform: s.Platform, Cluster: s.Cluster, Namespace: s.Namespace, Name: s.Name}).String()
}

// Target is where a Reporter sends reports.
type Target struct {
	// URL is the server's base URL ("https://bulwark.internal:8080").
	URL string
	// Token is the server's API token.
	Token string
	// Timeout bounds one report (default 3 s).
	Timeout time.Duration
}

// Reporter posts deployments to `bulwark server`. A failed report is an
// error to log, never a reason to change a deployment decision.
type Reporter struct {
	t Target
	c *http.Client
}

// NewReporter returns a Reporter for a target (nil when its URL is
// empty: reporting is off).
func NewReporter(t Target) *Reporter {
	if t.URL == "" {
		return nil
	}
	if t.Timeout <= 0 {
		t.Timeout = 3 * time.Second
	}
	return &Reporter{t: t, c: &http.Client{Timeout: t.Timeout}}
}

// Report posts deployments to the server's /api/v1/deployments.
func (r *Reporter) Report(ctx context.Context, ds []Deployment) error {
	if len(ds) == 0 {
		return nil
	}
	return r.post(ctx, Report{Deployments: ds})
}

// Replace posts what a workload runs now (ds, in scope, whose Name names
// the workload): its other digests stop running as of scope.At.
func (r *Reporter) Replace(ctx context.Context, scope Scope, ds []Deployment) error {
	return r.post(ctx, Report{Deployments: ds, Complete: &scope})
}

func (r *Reporter) post(ctx context.Context, rep Report) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.t.Timeout)
	defer cancel()
	url := strings.TrimSuffix(r.t.URL, "/") + "/api/v1/deployments"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("reporting deployments to %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.t.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.t.Token)
	}
	resp, err := r.c.Do(req)
	if err != nil {
		return fmt.Errorf("reporting deployments to %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("reporting deployments to %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// MaxReport is the most deployments one report may carry (a larger
// Kubernetes cluster sends a complete report per namespace).
const MaxReport = 1000

// Decode reads a report body: {"deployments": [...], "complete": {...}}
// or a bare array, each deployment checked; a missing seenAt (or one in
// the future) is now, and so are a future goneAt and complete.at. The
// deployments of a complete report must be running and in its scope;
// their seenAt is the snapshot's time.
func Decode(raw []byte, now time.Time) (*Report, error) {
	raw = bytes.TrimSpace(raw)
	var rep Report
	var err error
	if bytes.HasPrefix(raw, []byte("[")) {
		err = json.Unmarshal(raw, &rep.Deployments)
	} else {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil {
		return nil, fmt.Errorf("not a deployment report (JSON {\"deployments\": [...]}): %w", err)
	}
	ds := rep.Deployments
	if len(ds) == 0 && rep.Complete == nil {
		return nil, errors.New("the report names no deployment")
	}
	if len(ds) > MaxReport {
		return nil, fmt.Errorf("%d deployments, more than the %d one report may carry", len(ds), MaxReport)
	}
	past := func(t time.Time) time.Time {
		if t.IsZero() || t.After(now) {
			t = now
		}
		return t.UTC()
	}
	if c := rep.Complete; c != nil {
		name := c.Name
		if name == "" {
			name = "-"
		}
		if err := (&Deployment{Platform: c.Platform, Cluster: c.Cluster, Namespace: c.Namespace, Name: name, GoneAt: &now}).Check(); err != nil {
			return nil, fmt.Errorf("complete: %w", err)
		}
		if c.Platform == ECS && c.Namespace != "" {
			return nil, errors.New("complete: namespace: an ECS scope has none")
		}
		if c.Platform == Kubernetes && c.Name != "" && c.Namespace == "" {
			return nil, errors.New("complete: name: a Kubernetes workload's scope needs its namespace")
		}
		c.At = past(c.At)
	}
	for i := range ds {
		if err := ds[i].Check(); err != nil {
			return nil, fmt.Errorf("deployments[%d]: %w", i, err)
		}
		ds[i].FirstSeen = nil
		ds[i].SeenAt = past(ds[i].SeenAt)
		if ds[i].GoneAt != nil {
			g := past(*ds[i].GoneAt)
			ds[i].GoneAt = &g
		}
		if c := rep.Complete; c != nil {
			if !c.Contains(&ds[i]) || ds[i].GoneAt != nil {
				return nil, fmt.Errorf("deployments[%d]: %s is not a running deployment of the complete report's scope %s", i, ds[i], c)
			}
			ds[i].SeenAt = c.At
		}
	}
	return &rep, nil
}
