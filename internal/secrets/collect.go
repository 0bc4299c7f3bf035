package secrets

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Options configures a scan of any kind of target.
type Options struct {
	// Engine holds the rules (default: the built-in rules).
	Engine *Engine
	// Allowlist suppresses findings and skips paths.
	Allowlist *Allowlist
	// Baseline suppresses findings already known.
	Baseline *Baseline
	// ShowSecrets puts the whole secret in findings instead of a redacted one.
	ShowSecrets bool
	// MaxFileSize skips files larger than this many bytes (0: no limit).
	MaxFileSize int64
	// Workers is how many files are scanned at once (default: the number of CPUs).
	Workers int
	// Progress receives the stored bytes of an image's layers as they are read.
	Progress io.Writer
	// IncludeOSFiles reports findings in image files that OS packages
	// installed (left out by default).
	IncludeOSFiles bool
}

// engine returns the configured engine or the built-in one.
func (o *Options) engine() (*Engine, error) {
	if o.Engine != nil {
		return o.Engine, nil
	}
	return DefaultEngine()
}

var (
	defaultOnce   sync.Once
	defaultEngine *Engine
	defaultErr    error
)

// DefaultEngine returns the engine of the built-in rules, compiled once.
func DefaultEngine() (*Engine, error) {
	defaultOnce.Do(func() { defaultEngine, defaultErr = NewEngine(Builtin()) })
	return defaultEngine, defaultErr
}

// Result is what a scan found and what it could not look at.
type Result struct {
	// Findings are the secrets found, suppressed ones included.
	Findings []finding.Finding
	// Warnings say what was skipped and why, one line each.
	Warnings []string
	// Skipped counts the files not scanned, by reason.
	Skipped map[string]int
	// Files and Bytes count what was scanned.
	Files int
	Bytes int64
}

// startWorkers runs n goroutines (default: the number of CPUs) that each
// make a worker with newWorker and hand it the jobs until the channel is
// closed; the returned group is done when they all are.
func startWorkers[T any](n int, jobs <-chan T, newWorker func() func(T)) *sync.WaitGroup {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for j := range jobs {
				work(j)
			}
		}()
	}
	return &wg
}

// maxWarningsPerReason bounds how many per-file warnings one reason adds.
const maxWarningsPerReason = 50

// collector gathers findings and skips from concurrent scanners.
type collector struct {
	opts     *Options
	mu       sync.Mutex
	res      Result
	warnedBy map[string]int
}

func newCollector(opts *Options) *collector {
	return &collector{opts: opts, res: Result{Skipped: map[string]int{}}, warnedBy: map[string]int{}}
}

// skip records a file that was not scanned; detail, when not empty, is
// also reported as a warning.
func (c *collector) skip(path, reason, detail string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.res.Skipped[reason]++
	if detail == "" {
		return
	}
	c.warnedBy[reason]++
	if c.warnedBy[reason] <= maxWarningsPerReason {
		c.res.Warnings = append(c.res.Warnings, fmt.Sprintf("%s: skipped (%s): %s", path, reason, detail))
	}
}

// warn records a warning that is not about one skipped file.
func (c *collector) warn(format string, args ...any) {
	c.mu.Lock()
	c.res.Warnings = append(c.res.Warnings, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// scanned counts a scanned file.
func (c *collector) scanned(size int64) {
	c.mu.Lock()
	c.res.Files++
	c.res.Bytes += size
	c.mu.Unlock()
}

// skipPath reports whether the allowlist excludes a path from scanning.
func (c *collector) skipPath(path string) bool {
	return c.opts.Allowlist != nil && c.opts.Allowlist.matchPath(path)
}

// add turns matches in one file into findings; detail, when not nil,
// fills in what the kind of target adds.
func (c *collector) add(path string, loc finding.Location, ms []Match, detail func(*finding.SecretDetail)) []int {
	if len(ms) == 0 {
		return nil
	}
	fs := make([]finding.Finding, 0, len(ms))
	for _, m := range ms {
		fs = append(fs, c.finding(path, loc, m, detail))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	first := len(c.res.Findings)
	c.res.Findings = append(c.res.Findings, fs...)
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = first + i
	}
	return idx
}

// finding builds the finding of one match.
func (c *collector) finding(path string, loc finding.Location, m Match, detail func(*finding.SecretDetail)) finding.Finding {
	r := m.Rule
	loc.Path = path
	loc.Line, loc.Column = m.Line, m.Column
	loc.EndLine, loc.EndColumn = m.EndLine, m.EndColumn
	d := &finding.SecretDetail{Redacted: Redact(m.Secret)}
	if detail != nil {
		detail(d)
	}
	shown := d.Redacted
	if c.opts.ShowSecrets {
		d.Secret = m.Secret
		shown = m.Secret
	}
	if r.MinEntropy > 0 {
		d.Entropy = float64(int(Entropy(m.Secret)*100)) / 100
	}
	msg := shown
	switch r.ID {
	case "aws-access-key-id":
		if acct, ok := AWSAccountFromKeyID(m.Secret); ok {
			d.AWSAccount = acct
			msg += " (AWS account " + acct + ")"
		}
	case "gcp-service-account-key":
		// The key ID names the key to delete; it is not itself secret.
		msg = "key ID " + m.Secret
	}
	f := finding.Finding{
		Gate:        finding.GateSecrets,
		ID:          r.ID,
		Title:       r.Title,
		Severity:    r.Severity,
		Message:     msg,
		Location:    loc,
		Fix:         r.fix(),
		Fingerprint: Fingerprint(r.ID, cmp.Or(path, loc.Field), m.LineHash),
		Secret:      d,
	}
	switch {
	case m.Inline:
		f.Suppressed = &finding.Suppression{Kind: "inline", Reason: "bulwark:ignore comment on the line"}
	case c.opts.Allowlist != nil:
		if why, ok := c.opts.Allowlist.suppresses(&f, m.Secret); ok {
			f.Suppressed = &finding.Suppression{Kind: "ignore", Reason: why, Source: c.opts.Allowlist.Source}
		}
	}
	if f.Suppressed == nil && c.opts.Baseline != nil && c.opts.Baseline.has(f.Fingerprint) {
		f.Suppressed = &finding.Suppression{Kind: "baseline", Reason: "in the baseline", Source: c.opts.Baseline.Source}
	}
	return f
}

// result returns the result with a summary warning of the skipped files.
func (c *collector) result() *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.res
	if n := skippedTotal(r.Skipped); n > 0 {
		r.Warnings = append([]string{SkipSummary(r.Skipped)}, r.Warnings...)
	}
	for reason, n := range c.warnedBy {
		if n > maxWarningsPerReason {
			r.Warnings = append(r.Warnings, fmt.Sprintf("... and %d more skipped (%s)", n-maxWarningsPerReason, reason))
		}
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := &r.Findings[i], &r.Findings[j]
		if a.Location.Path != b.Location.Path {
			return a.Location.Path < b.Location.Path
		}
		return a.Location.Line < b.Location.Line
	})
	return &r
}

func skippedTotal(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// SkipSummary says how many files were skipped and why, in one line.
func SkipSummary(m map[string]int) string {
	var reasons []string
	for k := range m {
		reasons = append(reasons, k)
	}
	slices.Sort(reasons)
	parts := make([]string, 0, len(reasons))
	for _, k := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
	}
	return fmt.Sprintf("skipped %d file(s): %s", skippedTotal(m), strings.Join(parts, ", "))
}
