package inventory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/image"
)

// cacheFormat changes whenever the layout of a cache entry changes.
const cacheFormat = "bulwark-inventory-cache/1"

// Cache keeps inventory results per stack of layers on disk. The entry for
// layer k of an image is keyed by the digests of layers 0..k (the OCI chain
// ID) and the analyzers' names and versions, and holds what those layers
// show, so that a later scan of the same image, or of another image built
// on the same base layers, reads only the layers above the longest stack it
// has seen. Entries carry a checksum: a damaged one is ignored and rewritten.
type Cache struct {
	// Dir is the cache directory.
	Dir string
	// Warn, when set, is told about entries that could not be used or
	// written (the scan goes on without them).
	Warn func(msg string)
}

// DefaultCacheDir returns the cache directory under the user cache
// directory ($XDG_CACHE_HOME/bulwark/inventory or the OS equivalent).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (%w); give --cache-dir or --no-cache", err)
	}
	return filepath.Join(d, "bulwark", "inventory"), nil
}

// Clean removes every cached entry.
func (c *Cache) Clean() error {
	if c == nil || c.Dir == "" {
		return nil
	}
	entries, err := os.ReadDir(c.Dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache %s: %w", c.Dir, err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".tmp-") {
			if err := os.Remove(filepath.Join(c.Dir, e.Name())); err != nil {
				return fmt.Errorf("cache %s: %w", c.Dir, err)
			}
		}
	}
	return nil
}

type cacheEntry struct {
	Format  string        `json:"format"`
	Key     string        `json:"key"`
	Results []*fileResult `json:"results"`
}

// chainKeys returns the cache key of every layer stack of the image, nil
// when a layer has no content digest (root filesystems).
func chainKeys(img *image.Image, analyzers []Analyzer, mode Mode) []string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nmode %d\n", cacheFormat, mode)
	for _, a := range analyzers {
		fmt.Fprintf(h, "%s %d\n", a.Name(), a.Version())
	}
	keys := make([]string, len(img.Layers))
	chain := h.Sum(nil)
	for i, l := range img.Layers {
		id := l.DiffID
		if id == "" {
			id = l.Digest
		}
		if id == "" || img.Kind == image.KindRootfs || img.Kind == image.KindDir {
			return nil
		}
		h := sha256.New()
		h.Write(chain)
		fmt.Fprintf(h, " %s", id)
		chain = h.Sum(nil)
		keys[i] = hex.EncodeToString(chain)
	}
	return keys
}

func (c *Cache) path(key string) string { return filepath.Join(c.Dir, key+".json") }

func (c *Cache) warn(format string, args ...any) {
	if c.Warn != nil {
		c.Warn(fmt.Sprintf(format, args...))
	}
}

// load returns the cached results of the longest stack of the image's
// layers that the cache holds, and the index of the first layer it does not
// cover (0 when nothing is cached).
func (c *Cache) load(img *image.Image, analyzers []Analyzer, mode Mode) ([]*fileResult, int) {
	if c == nil || c.Dir == "" {
		return nil, 0
	}
	keys := chainKeys(img, analyzers, mode)
	for k := len(keys) - 1; k >= 0; k-- {
		b, err := os.ReadFile(c.path(keys[k]))
		if err != nil {
			continue
		}
		results, err := decodeEntry(b, keys[k], k)
		if err != nil {
			c.warn("inventory cache entry %s is damaged and was ignored (it will be rewritten): %v", c.path(keys[k]), err)
			continue
		}
		return results, k + 1
	}
	return nil, 0
}

// decodeEntry checks and decodes one entry: a line with the SHA-256 of the
// body, then the body.
func decodeEntry(b []byte, key string, top int) ([]*fileResult, error) {
	sum, body, ok := bytes.Cut(b, []byte("\n"))
	if !ok {
		return nil, fmt.Errorf("no checksum line")
	}
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != string(sum) {
		return nil, fmt.Errorf("checksum mismatch")
	}
	var e cacheEntry
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, err
	}
	if e.Format != cacheFormat || e.Key != key {
		return nil, fmt.Errorf("entry is for another key or format")
	}
	for _, r := range e.Results {
		if r == nil || r.Layer < 0 || r.Layer > top || (len(r.Added) != len(r.Packages)) {
			return nil, fmt.Errorf("entry holds a result for a layer outside its stack")
		}
		for _, a := range r.Added {
			if a < 0 || a > r.Layer {
				return nil, fmt.Errorf("entry attributes a package to an impossible layer")
			}
		}
		r.cached = true
	}
	return e.Results, nil
}

// store writes an entry for every stack from layer `from` up: the results
// of the layers in it that no layer in it hides.
func (c *Cache) store(img *image.Image, analyzers []Analyzer, mode Mode, from int, results []*fileResult) {
	if c == nil || c.Dir == "" {
		return
	}
	keys := chainKeys(img, analyzers, mode)
	if keys == nil {
		return
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		c.warn("inventory cache %s not written: %v", c.Dir, err)
		return
	}
	for k := from; k < len(keys); k++ {
		e := cacheEntry{Format: cacheFormat, Key: keys[k], Results: []*fileResult{}}
		for _, r := range results {
			if r.Layer <= k && (r.hiddenBy < 0 || r.hiddenBy > k) {
				e.Results = append(e.Results, r)
			}
		}
		body, err := json.Marshal(&e)
		if err != nil {
			c.warn("inventory cache entry not written: %v", err)
			return
		}
		sum := sha256.Sum256(body)
		if err := writeAtomic(c.Dir, c.path(keys[k]), append([]byte(hex.EncodeToString(sum[:])+"\n"), body...)); err != nil {
			c.warn("inventory cache entry not written: %v", err)
			return
		}
	}
}

func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
