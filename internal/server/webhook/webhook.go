// Package webhook decodes the notification envelope the CNCF distribution
// registry (docker-registry) sends to its notification endpoints, and
// keeps the manifest pushes and the deletions from it. Push, its checks and the bounded body
// read are shared with the other ingest sources.
package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// MaxBody is the largest webhook body read; the registry sends at most a
// few events of a few hundred bytes each.
const MaxBody = 1 << 20

// ErrTooLarge is returned for a body larger than MaxBody.
var ErrTooLarge = fmt.Errorf("body larger than %d bytes", MaxBody)

// Push is a manifest pushed to a registry, or (Delete) a manifest or a
// tag deleted from it.
type Push struct {
	// Registry is the registry host the client pushed to ("host:port").
	Registry string
	// Repository is the repository name.
	Repository string
	// Digest is the manifest digest.
	Digest string
	// Tag is the tag pushed, if any.
	Tag string
	// Delete tells that the tag (when set; Digest may be empty) or else
	// the manifest Digest was deleted from the repository.
	Delete bool
}

type envelope struct {
	Events *[]event `json:"events"`
}

type event struct {
	Action string `json:"action"`
	Target struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Repository string `json:"repository"`
		Tag        string `json:"tag"`
	} `json:"target"`
	Request struct {
		Host string `json:"host"`
	} `json:"request"`
}

// manifestTypes are the media types of image manifests and indexes; the
// registry also reports blob pushes, which are not images.
var manifestTypes = map[string]bool{
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
}

var (
	digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	// repoRe is the distribution reference grammar of a repository path.
	repoRe = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	tagRe  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	hostRe = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$`)
)

// ReadBody reads at most MaxBody bytes of a webhook body: more is
// ErrTooLarge (as is the error of an http.MaxBytesReader).
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb) || len(b) > MaxBody:
		return nil, ErrTooLarge
	case err != nil:
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return b, nil
}

// Check tells whether every field of a push is well formed; the error
// names the field as the source calls it (names: registry, repository,
// digest, tag).
func (p Push) Check(names [4]string) error {
	switch {
	case !hostRe.MatchString(p.Registry):
		return fmt.Errorf("%s %q is not a registry host", names[0], clip(p.Registry))
	case len(p.Repository) > 255 || !repoRe.MatchString(p.Repository):
		return fmt.Errorf("%s %q is not a repository name", names[1], clip(p.Repository))
	case !digestRe.MatchString(p.Digest) && (p.Digest != "" || !p.Delete || p.Tag == ""):
		return fmt.Errorf("%s %q is not a sha256 digest", names[2], clip(p.Digest))
	case p.Tag != "" && !tagRe.MatchString(p.Tag):
		return fmt.Errorf("%s %q is not a tag", names[3], clip(p.Tag))
	}
	return nil
}

// fields names Push's fields as the envelope calls them.
var fields = [4]string{"request.host", "target.repository", "target.digest", "target.tag"}

// Decode reads an envelope and returns its manifest pushes and its
// deletions: of a tag (the event's target names a tag; the registry sends
// one for each tag of a manifest deleted by digest, after the manifest's)
// or of a digest (no tag; a deleted blob looks the same, and names no
// image). Other events are skipped; a body that is not an envelope, or a
// kept event with a malformed field, is an error naming it.
func Decode(r io.Reader) ([]Push, error) {
	b, err := ReadBody(r)
	if err != nil {
		return nil, fmt.Errorf("notification: %w", err)
	}
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("notification is not a registry event envelope: %w", err)
	}
	if dec.More() {
		return nil, errors.New("notification: data after the envelope")
	}
	if env.Events == nil {
		return nil, errors.New(`notification has no "events" array`)
	}
	var out []Push
	for i, e := range *env.Events {
		p := Push{Registry: e.Request.Host, Repository: e.Target.Repository, Digest: e.Target.Digest, Tag: e.Target.Tag}
		switch {
		case e.Action == "delete":
			p.Delete = true
			if p.Tag != "" {
				p.Digest = ""
			}
		case e.Action != "push" || !manifestTypes[strings.TrimSpace(strings.Split(e.Target.MediaType, ";")[0])]:
			continue
		}
		if err := p.Check(fields); err != nil {
			return nil, fmt.Errorf("event %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// clip shortens a hostile value for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
