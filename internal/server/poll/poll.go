// Package poll finds new images in registries that send no notifications:
// every interval it lists the tags of each watched repository (and the
// repositories of a registry's catalog when a whole registry is watched),
// resolves each tag to its manifest digest, and hands over only the tags
// whose digest it has not seen. Each registry's share of a round is
// bounded by a timeout, so a registry that hangs is given up on and tried
// again next round.
package poll

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server/webhook"
)

// Target is a watched repository, or every repository of a registry's
// catalog when Repository is empty.
type Target struct {
	Registry, Repository string
	// Client is the registry access.
	Client *registry.Client
}

// String is the target as configured: "REGISTRY[/REPOSITORY]".
func (t Target) String() string {
	if t.Repository == "" {
		return t.Registry
	}
	return t.Registry + "/" + t.Repository
}

// Poller polls its targets. Its zero value is not usable; fill in every
// field but seen (Remember).
type Poller struct {
	// Targets are polled concurrently, one goroutine each.
	Targets []Target
	// Interval is the time between rounds, moved by up to a tenth at
	// random so that several servers do not poll in step.
	Interval time.Duration
	// Timeout bounds each target's share of a round.
	Timeout time.Duration
	// Record takes the tags whose digest is new to the poller; an error
	// makes the next round hand them over again.
	Record func(ctx context.Context, pushes []webhook.Push) error
	// Log receives one line per failure.
	Log io.Writer

	mu   sync.Mutex
	seen map[string]string // "registry/repository:tag" -> digest
}

// fields names webhook.Push's fields as the registry API calls them.
var fields = [4]string{"registry", "repository (catalog)", "Docker-Content-Digest", "tag (tags/list)"}

// Run polls at once, then every interval, until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	for {
		p.Round(ctx)
		wait := p.Interval
		if j := int64(p.Interval / 10); j > 0 {
			wait += time.Duration(rand.Int64N(2*j+1) - j)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Round polls every target once and records the tags whose digest is
// new. It returns how many it recorded.
func (p *Poller) Round(ctx context.Context) int {
	found := make([][]webhook.Push, len(p.Targets))
	var wg sync.WaitGroup
	for i, t := range p.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tctx, cancel := context.WithTimeout(ctx, p.Timeout)
			defer cancel()
			var err error
			found[i], err = p.poll(tctx, t)
			if err != nil && ctx.Err() == nil {
				fmt.Fprintf(p.Log, "bulwark server: polling %s: %v (tried again next round)\n", t, registry.Explain(err))
			}
		}()
	}
	wg.Wait()
	var fresh []webhook.Push
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	for _, ps := range found {
		for _, x := range ps {
			if p.seen[key(x)] != x.Digest {
				fresh = append(fresh, x)
			}
		}
	}
	p.mu.Unlock()
	if len(fresh) == 0 {
		return 0
	}
	if err := p.Record(ctx, fresh); err != nil {
		fmt.Fprintf(p.Log, "bulwark server: polling: recording %d tag(s): %v (tried again next round)\n", len(fresh), err)
		return 0
	}
	p.mu.Lock()
	for _, x := range fresh {
		p.seen[key(x)] = x.Digest
	}
	p.mu.Unlock()
	return len(fresh)
}

// Remember marks tags as seen at their digests (those a store kept across
// a restart), so that only the tags new or moved since are handed over.
func (p *Poller) Remember(pushes []webhook.Push) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]string{}
	}
	for _, x := range pushes {
		p.seen[key(x)] = x.Digest
	}
}

func key(x webhook.Push) string { return x.Registry + "/" + x.Repository + ":" + x.Tag }

// poll lists a target's tags and resolves them to digests. On an error it
// returns what it resolved before it.
func (p *Poller) poll(ctx context.Context, t Target) ([]webhook.Push, error) {
	opts := t.Client.Remote(ctx)
	repos := []string{t.Repository}
	if t.Repository == "" {
		reg, err := name.NewRegistry(t.Registry, t.Client.NameOptions()...)
		if err != nil {
			return nil, err
		}
		if repos, err = remote.Catalog(ctx, reg, opts...); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
	}
	var out []webhook.Push
	for _, r := range repos {
		repo, err := name.NewRepository(t.Registry+"/"+r, t.Client.NameOptions()...)
		if err != nil {
			fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped repository %q: %v\n", t, r, err)
			continue
		}
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return out, fmt.Errorf("%s: tags: %w", r, err)
		}
		for _, tag := range tags {
			ref, err := name.NewTag(repo.Name()+":"+tag, t.Client.NameOptions()...)
			if err != nil {
				fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped %s:%q: %v\n", t, r, tag, err)
				continue
			}
			d, err := remote.Head(ref, opts...)
			if err != nil {
				return out, fmt.Errorf("%s:%s: %w", r, tag, err)
			}
			x := webhook.Push{Registry: t.Registry, Repository: r, Digest: d.Digest.String(), Tag: tag}
			if err := x.Check(fields); err != nil {
				fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped %s:%s: %v\n", t, r, tag, err)
				continue
			}
			out = append(out, x)
		}
	}
	return out, nil
}
