package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/eventbridge"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// Recorded is what Record did with a batch of pushes.
type Recorded struct {
	// Events counts the pushes; New the digests not known before (to be
	// read once); Ignored the pushes to registries not configured;
	// Artifacts the pushes of cosign's signature, attestation and SBOM
	// tags (sha256-<hex>.sig, .att, .sbom), which are not images;
	// Deleted the images marked deleted.
	Events    int `json:"events"`
	New       int `json:"new"`
	Ignored   int `json:"ignored"`
	Artifacts int `json:"artifacts"`
	Deleted   int `json:"deleted"`
}

// headTimeout bounds the check that an image left without tags is still
// in its registry.
const headTimeout = 10 * time.Second

// Record records pushed digests from any source (webhooks, polling): a
// new digest of a configured registry waits to be read once, a known one
// only gains the tag. Pushes to other registries are not recorded; the
// log names them. Cosign's signature, attestation and SBOM tags are not
// recorded either: their manifests belong to the image they sign.
// Deletions are recorded as forget does.
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
		if p.Delete {
			n, err := s.forget(ctx, source, p)
			if err != nil {
				return res, err
			}
			res.Deleted += n
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

// forget records a deletion in the registry: a manifest deleted by digest
// marks its image deleted (store.Delete); a tag deleted leaves its image,
// and an image left without any tag is looked up by digest in the
// repository (one HEAD request): a registry that no longer has it deleted
// it (ECR deletes an image with its last tag; a tag deleted in the CNCF
// registry leaves its manifest). It returns how many images it marked
// deleted.
func (s *Server) forget(ctx context.Context, source string, p webhook.Push) (int, error) {
	digests := []string{p.Digest}
	if p.Tag != "" {
		left, err := s.o.Store.Untag(ctx, p.Registry, p.Repository, []string{p.Tag})
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(s.o.Log, "bulwark server: %s: tag %s/%s:%s deleted\n", source, p.Registry, p.Repository, p.Tag)
		digests = digests[:0]
		for _, d := range left {
			if s.gone(ctx, p.Registry, p.Repository, d) {
				digests = append(digests, d)
			}
		}
	}
	n := 0
	for _, d := range digests {
		ok, err := s.o.Store.Delete(ctx, p.Registry, p.Repository, d, time.Now())
		if err != nil {
			return n, err
		}
		if ok {
			n++
			fmt.Fprintf(s.o.Log, "bulwark server: %s: image %s/%s@%s deleted from the registry\n", source, p.Registry, p.Repository, d)
		}
	}
	return n, nil
}

// gone tells whether a registry answers that it does not have a
// manifest; any other answer (or none) is not taken as a deletion.
func (s *Server) gone(ctx context.Context, host, repository, digest string) bool {
	client := s.clients[host]
	ref, err := name.NewDigest(host+"/"+repository+"@"+digest, client.NameOptions()...)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, headTimeout)
	defer cancel()
	_, err = remote.Head(ref, client.Remote(ctx)...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return true
	}
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: %s/%s@%s lost its last tag; checking that it is still in the registry: %v\n", host, repository, digest, registry.Explain(err))
	}
	return false
}
