// Package poll finds new images in registries that send no notifications:
// every interval it lists the tags of each watched repository (and the
// repositories of a registry's catalog when a whole registry is watched),
// resolves each tag to its manifest digest, and hands over only the tags
// whose digest it has not seen, and the tags it saw that a complete
// listing no longer has (deleted). Each registry's share of a round is
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
	// Record takes the tags whose digest is new to the poller, and the
	// tags deleted (Delete, with the digest they were seen at); an error
	// makes the next round hand them over again.
	Record func(ctx context.Context, pushes []webhook.Push) error
	// Log receives one line per failure.
	Log io.Writer

	mu   sync.Mutex
	seen map[tagKey]string // -> digest
}

// tagKey names a tag of a repository of a registry.
type tagKey struct{ registry, repository, tag string }

// listing is what one target's share of a round found.
type listing struct {
	// tags are the tags resolved to their digests.
	tags []webhook.Push
	// complete are the repositories whose every tag was resolved; catalog
	// is the whole registry's list of repositories when it was read (a
	// target without a repository).
	complete map[string]bool
	catalog  map[string]bool
}

// gone tells whether a tag seen before is no longer in the registry, as
// far as the listing knows: its repository was listed completely without
// it, or the registry's catalog no longer has the repository.
func (l *listing) gone(t Target, k tagKey, listed map[tagKey]bool) bool {
	if k.registry != t.Registry || (t.Repository != "" && k.repository != t.Repository) || listed[k] {
		return false
	}
	return l.complete[k.repository] || (l.catalog != nil && !l.catalog[k.repository])
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
// new, and the tags deleted. It returns how many it recorded.
func (p *Poller) Round(ctx context.Context) int {
	found := make([]listing, len(p.Targets))
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
	listed := map[tagKey]bool{}
	p.mu.Lock()
	if p.seen == nil {
		p.seen = map[tagKey]string{}
	}
	for _, l := range found {
		for _, x := range l.tags {
			listed[key(x)] = true
			if p.seen[key(x)] != x.Digest {
				fresh = append(fresh, x)
			}
		}
	}
	for k, d := range p.seen {
		for i, t := range p.Targets {
			if found[i].gone(t, k, listed) {
				fresh = append(fresh, webhook.Push{Registry: k.registry, Repository: k.repository, Tag: k.tag, Digest: d, Delete: true})
				break
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
		if x.Delete {
			delete(p.seen, key(x))
		} else {
			p.seen[key(x)] = x.Digest
		}
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
		p.seen = map[tagKey]string{}
	}
	for _, x := range pushes {
		p.seen[key(x)] = x.Digest
	}
}

func key(x webhook.Push) tagKey { return tagKey{x.Registry, x.Repository, x.Tag} }

// poll lists a target's tags and resolves them to digests. On an error it
// returns what it resolved before it.
func (p *Poller) poll(ctx context.Context, t Target) (listing, error) {
	opts := t.Client.Remote(ctx)
	l := listing{complete: map[string]bool{}}
	repos := []string{t.Repository}
	if t.Repository == "" {
		reg, err := name.NewRegistry(t.Registry, t.Client.NameOptions()...)
		if err != nil {
			return l, err
		}
		if repos, err = remote.Catalog(ctx, reg, opts...); err != nil {
			return l, fmt.Errorf("catalog: %w", err)
		}
		l.catalog = map[string]bool{}
		for _, r := range repos {
			l.catalog[r] = true
		}
	}
	for _, r := range repos {
		repo, err := name.NewRepository(t.Registry+"/"+r, t.Client.NameOptions()...)
		if err != nil {
			fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped repository %q: %v\n", t, r, err)
			continue
		}
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return l, fmt.Errorf("%s: tags: %w", r, err)
		}
		for _, tag := range tags {
			ref, err := name.NewTag(repo.Name()+":"+tag, t.Client.NameOptions()...)
			if err != nil {
				fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped %s:%q: %v\n", t, r, tag, err)
				continue
			}
			d, err := remote.Head(ref, opts...)
			if err != nil {
				return l, fmt.Errorf("%s:%s: %w", r, tag, err)
			}
			x := webhook.Push{Registry: t.Registry, Repository: r, Digest: d.Digest.String(), Tag: tag}
			if err := x.Check(fields); err != nil {
				fmt.Fprintf(p.Log, "bulwark server: polling %s: skipped %s:%s: %v\n", t, r, tag, err)
				continue
			}
			l.tags = append(l.tags, x)
		}
		l.complete[r] = true
	}
	return l, nil
}
