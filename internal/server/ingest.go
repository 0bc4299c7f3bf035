package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/server/eventbridge"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// Recorded is what Record did with a batch of pushes.
type Recorded struct {
	// Events counts the pushes; New the digests not known before (to be
	// read once); Ignored the pushes to registries not configured;
	// Artifacts the pushes of cosign's signature, attestation and SBOM
	// tags (sha256-<hex>.sig, .att, .sbom), which are not images.
	Events    int `json:"events"`
	New       int `json:"new"`
	Ignored   int `json:"ignored"`
	Artifacts int `json:"artifacts"`
}

// Record records pushed digests from any source (webhooks, polling): a
// new digest of a configured registry waits to be read once, a known one
// only gains the tag. Pushes to other registries are not recorded; the
// log names them. Cosign's signature, attestation and SBOM tags are not
// recorded either: their manifests belong to the image they sign.
func (s *Server) Record(ctx context.Context, source string, pushes []webhook.Push) (Recorded, error) {
	res := Recorded{Events: len(pushes)}
	var unknown []string
	for _, p := range pushes {
		if s.clients[p.Registry] == nil {
			unknown = append(unknown, p.Registry)
			continue
		}
		if sign.IsArtifactTag(p.Tag) {
			res.Artifacts++
			continue
		}
		isNew, err := s.o.Store.Add(ctx, p.Registry, p.Repository, p.Digest, p.Tag)
		if err != nil {
			return res, err
		}
		if isNew {
			res.New++
			fmt.Fprintf(s.o.Log, "bulwark server: %s: new image %s/%s@%s\n", source, p.Registry, p.Repository, p.Digest)
		}
	}
	if res.New > 0 {
		s.Kick()
	}
	if res.Ignored = len(unknown); res.Ignored > 0 {
		fmt.Fprintf(s.o.Log, "bulwark server: %s: ignored pushes to registries not configured: %s\n", source, strings.Join(unknown, ", "))
	}
	return res, nil
}

// decodeBody runs a webhook decoder on a body bounded by
// webhook.MaxBody; it answers 413 for a larger body (at once when its
// length says so) and 400 for one the decoder refuses.
func decodeBody[T any](w http.ResponseWriter, r *http.Request, decode func(io.Reader) (T, error)) (T, bool) {
	var zero T
	if r.ContentLength > webhook.MaxBody {
		httpError(w, http.StatusRequestEntityTooLarge, webhook.ErrTooLarge)
		return zero, false
	}
	v, err := decode(http.MaxBytesReader(w, r.Body, webhook.MaxBody))
	switch {
	case errors.Is(err, webhook.ErrTooLarge):
		httpError(w, http.StatusRequestEntityTooLarge, err)
		return zero, false
	case err != nil:
		httpError(w, http.StatusBadRequest, err)
		return zero, false
	}
	return v, true
}

// registryWebhook takes the CNCF registry's notification envelope: each
// manifest pushed to a configured registry is recorded, and read once.
// Pushes to other registries are answered 200 too, so that the registry
// does not resend them.
func (s *Server) registryWebhook(w http.ResponseWriter, r *http.Request) {
	pushes, ok := decodeBody(w, r, webhook.Decode)
	if !ok {
		return
	}
	res, err := s.Record(r.Context(), "registry webhook", pushes)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, res)
}

// eventBridgeWebhook takes one event from an EventBridge API destination:
// an ECR image push is recorded under its ECR host, or the host
// webhooks.eventbridge.hosts maps it to; other events are answered 200 and
// not recorded.
func (s *Server) eventBridgeWebhook(w http.ResponseWriter, r *http.Request) {
	p, ok := decodeBody(w, r, eventbridge.Decode)
	if !ok {
		return
	}
	if p == nil {
		writeJSON(w, Recorded{})
		return
	}
	if to, ok := s.o.Webhooks.EventBridge.Hosts[p.Registry]; ok {
		p.Registry = to
	}
	res, err := s.Record(r.Context(), "eventbridge", []webhook.Push{*p})
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, res)
}
