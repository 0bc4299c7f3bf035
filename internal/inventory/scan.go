package inventory

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
)

// Options configures a scan.
type Options struct {
	// Analyzers are the ecosystems to look for (analyzers.All()).
	Analyzers []Analyzer
	// Mode is ModeImage for images and ModeTree for source trees.
	Mode Mode
	// Cache, when not nil, holds results per layer so that layers seen
	// before are not read again.
	Cache *Cache
	// Concurrency is how many layers are read at once (0: the CPUs).
	Concurrency int
	// Progress receives the stored bytes of the layers as they are read.
	Progress io.Writer
	// Tool and ToolVersion are recorded in the SBOM.
	Tool, ToolVersion string
}

// fileResult is one analyzer's result for one file of one layer, the unit
// the layer cache stores.
type fileResult struct {
	Layer    int    `json:"layer"`
	Path     string `json:"path"`
	Analyzer string `json:"analyzer"`
	Result
	// Added is, for each package, the index of the layer that added it.
	Added []int `json:"added,omitempty"`

	hiddenBy int
	cached   bool
}

// maxMultiBuffer bounds the copy made when several analyzers want the same
// file; past it only the first analyzer gets the file.
const maxMultiBuffer = 8 << 20

// collector is the image.Handler that runs the analyzers inside the walk.
type collector struct {
	ctx       context.Context
	analyzers []Analyzer

	mu      sync.Mutex
	results []*fileResult
}

func newCollector(ctx context.Context, opts Options) *collector {
	c := &collector{ctx: ctx}
	mode := opts.Mode
	if mode == 0 {
		mode = ModeImage
	}
	for _, a := range opts.Analyzers {
		if a.Modes()&mode != 0 {
			c.analyzers = append(c.analyzers, a)
		}
	}
	return c
}

// Want implements image.Handler: regular files some analyzer asks for.
func (c *collector) Want(e *image.Entry) bool {
	return len(c.wanting(e)) > 0
}

// wanting returns the analyzers that read an entry: regular files, and
// symlinks for the LinkAnalyzers that ask for them.
func (c *collector) wanting(e *image.Entry) []Analyzer {
	var wanted []Analyzer
	link := e.Type == tar.TypeSymlink
	if !link && !e.IsRegular() {
		return nil
	}
	for _, a := range c.analyzers {
		if link {
			if la, ok := a.(LinkAnalyzer); ok && la.WantLink(e.Path) {
				wanted = append(wanted, a)
			}
		} else if a.Want(e.Path, e.Size, e.Mode) {
			wanted = append(wanted, a)
		}
	}
	return wanted
}

// Handle implements image.Handler.
func (c *collector) Handle(e *image.Entry, r io.Reader) error {
	wanted := c.wanting(e)
	var buf []byte
	if b, ok := r.(interface{ Bytes() []byte }); ok {
		buf = b.Bytes() // the walk holds the content (image.Buffered)
	} else if len(wanted) > 1 {
		if e.Size > maxMultiBuffer {
			wanted = wanted[:1]
		} else {
			b, err := io.ReadAll(io.LimitReader(r, maxMultiBuffer))
			if err != nil {
				return err
			}
			buf = b
		}
	}
	for _, a := range wanted {
		f := &File{Path: e.Path, Size: e.Size, Mode: e.Mode, R: r, Link: e.Linkname}
		if buf != nil {
			f.R, f.Data = bytes.NewReader(buf), buf
		}
		c.add(e.Layer.Index, e.Path, a.Name(), c.run(a, f))
	}
	return nil
}

// run calls one analyzer, turning an error or a panic into a warning that
// names the file: one bad file never stops the scan.
func (c *collector) run(a Analyzer, f *File) (res *Result) {
	defer func() {
		if p := recover(); p != nil {
			res = &Result{Warnings: []string{fmt.Sprintf("%s: %s analyzer failed on this file (skipped): %v", f.Path, a.Name(), p)}}
		}
	}()
	res, err := a.Analyze(c.ctx, f)
	if err != nil {
		return &Result{Warnings: []string{fmt.Sprintf("%s: skipped by the %s analyzer: %v", f.Path, a.Name(), err)}}
	}
	return res
}

func (c *collector) add(layer int, p, analyzer string, res *Result) {
	if res == nil || (len(res.Packages) == 0 && res.OS == nil && len(res.Owned) == 0 && len(res.Warnings) == 0 && len(res.Licenses) == 0 && res.Boot == nil) {
		return
	}
	c.mu.Lock()
	c.results = append(c.results, &fileResult{Layer: layer, Path: p, Analyzer: analyzer, Result: *res})
	c.mu.Unlock()
}

// Scan inventories an image: one walk over the layers not in the cache,
// then the merge described in the package comment.
func Scan(ctx context.Context, img *image.Image, opts Options) (*SBOM, error) {
	c := newCollector(ctx, opts)
	cached, from := opts.Cache.load(img, c.analyzers, opts.Mode)
	walkOpts := image.WalkOptions{Concurrency: opts.Concurrency, Progress: opts.Progress}
	if from > 0 {
		walkOpts.Layers = func(l *image.Layer) bool { return l.Index >= from }
	}
	var tree *image.Tree
	if from < len(img.Layers) {
		t, err := image.Walk(ctx, img, []image.Handler{c}, walkOpts)
		if err != nil {
			return nil, err
		}
		tree = t
	}
	results := append(cached, c.results...)
	sb := finish(img, opts, results, tree, func(results []*fileResult) { opts.Cache.store(img, c.analyzers, opts.Mode, from, results) })
	return sb, nil
}

// finish decides what the final image shows, attributes every package to
// the layer that added it, hands the results to store (the cache), and
// merges what is visible into the SBOM.
func finish(img *image.Image, opts Options, results []*fileResult, tree *image.Tree, store func([]*fileResult)) *SBOM {
	for _, r := range results {
		r.hiddenBy = -1
		if tree != nil {
			r.hiddenBy = tree.HiddenBy(r.Layer, r.Path)
		}
	}
	attribute(results)
	sb := &SBOM{Tool: opts.Tool, ToolVersion: opts.ToolVersion, CreatedAt: time.Now().UTC(), Target: img.Target()}
	sb.Escapes = tree.EscapeFindings()
	// A hostile image is never cached: each run reports its escapes.
	if store != nil && len(sb.Escapes) == 0 {
		store(results)
	}
	if (img.Kind == image.KindRootfs || img.Kind == image.KindDir) && opts.Mode == ModeTree {
		sb.Target.Kind = "dir"
	}
	if tree != nil {
		sb.Warnings = append(sb.Warnings, tree.Warnings...)
	}
	var visible []*fileResult
	for _, r := range results {
		if r.hiddenBy < 0 {
			visible = append(visible, r)
		}
	}
	sortResults(visible)
	layerRef := func(i int) *finding.LayerRef {
		if opts.Mode == ModeTree || i < 0 || i >= len(img.Layers) {
			return nil
		}
		return img.Layers[i].Ref()
	}
	sb.Target.OS, sb.Packages, sb.Warnings = merge(visible, layerRef, sb.Warnings)
	sb.Target.Kernel, sb.Warnings = kernels(visible, sb.Packages, sb.Warnings)
	return sb
}

func sortResults(rs []*fileResult) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Layer != rs[j].Layer {
			return rs[i].Layer < rs[j].Layer
		}
		if rs[i].Path != rs[j].Path {
			return rs[i].Path < rs[j].Path
		}
		return rs[i].Analyzer < rs[j].Analyzer
	})
}

// attribute sets, for every package, the layer that added it: the first
// layer of an unbroken run of copies of the same file that list it (a
// later layer that installs one more Debian package rewrites the whole
// status file, but did not add the packages already in it).
func attribute(results []*fileResult) {
	byFile := map[string][]*fileResult{}
	for _, r := range results {
		k := r.Analyzer + "\x00" + r.Path
		byFile[k] = append(byFile[k], r)
	}
	for _, rs := range byFile {
		sort.Slice(rs, func(i, j int) bool { return rs[i].Layer < rs[j].Layer })
		var prev map[string]int
		for _, r := range rs {
			if r.cached {
				// Attributed when it was cached: carry on from it.
				prev = addedMap(r)
				continue
			}
			r.Added = make([]int, len(r.Packages))
			for i := range r.Packages {
				r.Added[i] = r.Layer
				if l, ok := prev[r.Packages[i].Key()]; ok {
					r.Added[i] = l
				}
			}
			prev = addedMap(r)
		}
	}
}

func addedMap(r *fileResult) map[string]int {
	m := make(map[string]int, len(r.Packages))
	for i := range r.Packages {
		if i < len(r.Added) {
			m[r.Packages[i].Key()] = r.Added[i]
		}
	}
	return m
}

// merge turns the visible file results into the OS, the package list and
// the warnings.
func merge(visible []*fileResult, layerRef func(int) *finding.LayerRef, warnings []string) (*OS, []Package, []string) {
	owned := map[string]bool{}
	licenses := map[string][]string{}
	var osr *OSRelease
	for _, r := range visible {
		for _, p := range r.Owned {
			owned[p] = true
		}
		for n, l := range r.Licenses {
			licenses[n] = l
		}
		if r.OS != nil && (osr == nil || r.OS.Priority < osr.Priority) {
			osr = r.OS
		}
		warnings = append(warnings, r.Warnings...)
	}
	var os *OS
	if osr != nil {
		o := osr.OS
		os = &o
	}
	index := map[string]int{}
	located := map[locKey]bool{}
	var pkgs []Package
	for _, r := range visible {
		if len(r.Packages) > 0 && r.Packages[0].Kind == KindLang && owned[r.Path] {
			continue
		}
		for i, p := range r.Packages {
			if p.Kind == KindLang && owned[r.Path] {
				continue
			}
			if p.Ecosystem == Debian && os != nil && os.ID == "ubuntu" {
				// dpkg cannot tell Debian from Ubuntu; the OS can.
				p.Ecosystem = Ubuntu
			}
			added := r.Layer
			if i < len(r.Added) {
				added = r.Added[i]
			}
			loc := Location{Path: r.Path, Layer: layerRef(added)}
			k := p.Key()
			if j, ok := index[k]; ok {
				// A package found in many files (one npm version in a
				// thousand node_modules folders) gets each path once,
				// without scanning its list of locations again.
				if lk := (locKey{j, r.Path}); !located[lk] {
					located[lk] = true
					pkgs[j].Locations = append(pkgs[j].Locations, loc)
				}
				mergeInto(&pkgs[j], &p)
				continue
			}
			p.Locations = []Location{loc}
			index[k] = len(pkgs)
			located[locKey{len(pkgs), r.Path}] = true
			pkgs = append(pkgs, p)
		}
	}
	for i := range pkgs {
		if pkgs[i].Kind == KindOS && len(pkgs[i].Licenses) == 0 {
			pkgs[i].Licenses = licenses[pkgs[i].Name]
		}
		if pkgs[i].PURL == "" {
			pkgs[i].PURL = PURL(&pkgs[i], os)
		}
	}
	sort.SliceStable(pkgs, func(i, j int) bool {
		a, b := &pkgs[i], &pkgs[j]
		if a.Kind != b.Kind {
			return a.Kind == KindOS
		}
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Version < b.Version
	})
	return os, pkgs, dedupeStrings(warnings)
}

// locKey is one path of the package at an index of merge's list.
type locKey struct {
	pkg  int
	path string
}

// mergeInto adds what q knows to p: the licences and source details p
// lacks.
func mergeInto(p, q *Package) {
	for _, l := range q.Licenses {
		if !contains(p.Licenses, l) {
			p.Licenses = append(p.Licenses, l)
		}
	}
	if p.SourceName == "" {
		p.SourceName, p.SourceVersion = q.SourceName, q.SourceVersion
	}
	// Installed beats locked: a package is a dev dependency only if every
	// place that lists it says so.
	p.Dev = p.Dev && q.Dev
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func dedupeStrings(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
