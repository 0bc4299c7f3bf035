// Package build turns advisory sources into a bulwark vulnerability
// database file: it loads every source, merges the records about one
// vulnerability by their aliases, adds CVSS from NVD and exploit data
// from KEV and EPSS, and writes the file atomically.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-sec/bulwark/internal/atomicfile"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/source"
)

// Options names the sources of a build and where it goes.
type Options struct {
	// Output is the database file to write (replaced atomically).
	Output string
	// OSV and GHSA are OSV record sources: directories (searched
	// recursively for .json/.yaml), .zip or .tar.gz archives, or files.
	// OSV sources win over GHSA when both describe the same package.
	OSV, GHSA []string
	// NVD are NVD CVE API 2.0 responses (files or directories of them).
	NVD []string
	// DebianTracker is the Debian security tracker JSON export.
	DebianTracker string
	// AlpineSecDB are Alpine secdb files (one per release and repository).
	AlpineSecDB []string
	// KEV is the CISA KEV catalogue JSON, EPSS an EPSS scores CSV.
	KEV, EPSS string
	// Now gives the build time; time.Now when nil.
	Now func() time.Time
}

// Summary reports what a build read, skipped and wrote.
type Summary struct {
	Output     string
	Size       int64
	Advisories int
	Packages   int
	Sources    []*source.Stats
	Duration   time.Duration
}

// String prints the summary for the user: one block per source with its
// skipped records (count and the first few file names), then the totals.
func (s *Summary) String() string {
	var b strings.Builder
	for _, st := range s.Sources {
		b.WriteString(st.String())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "wrote %s: %d advisories for %d packages, %s, in %s",
		s.Output, s.Advisories, s.Packages, humanSize(s.Size), s.Duration.Round(time.Millisecond))
	return b.String()
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Build loads the sources, merges them and writes the database. A source
// that cannot be read at all is an error naming it; records that cannot
// be used are skipped and counted in the summary. The output file is
// written to a temporary file and renamed into place, so a failed build
// leaves the previous database as it was.
func Build(ctx context.Context, o Options) (*Summary, error) {
	start := time.Now()
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	if o.Output == "" {
		return nil, errors.New("no output file: pass -o FILE")
	}
	if len(o.OSV)+len(o.GHSA)+len(o.AlpineSecDB) == 0 && o.DebianTracker == "" {
		return nil, errors.New("no advisory source: pass at least one of --osv, --ghsa, --debian-tracker, --alpine-secdb")
	}
	in, err := Load(ctx, o)
	if err != nil {
		return nil, err
	}
	advs := in.Merge()
	meta := vulndb.Metadata{BuiltAt: now().UTC().Truncate(time.Second)}
	for _, st := range in.Stats {
		meta.Sources = append(meta.Sources, st.Info())
	}
	size, err := WriteFile(o.Output, meta, advs)
	if err != nil {
		return nil, err
	}
	db, err := vulndb.Open(o.Output)
	if err != nil {
		return nil, fmt.Errorf("the database just written does not open: %w", err)
	}
	m := db.Metadata()
	db.Close()
	return &Summary{Output: o.Output, Size: size, Advisories: m.Advisories, Packages: m.Packages, Sources: in.Stats, Duration: time.Since(start)}, nil
}

// WriteFile writes a database file atomically (temporary file, fsync,
// rename) and returns its size.
func WriteFile(path string, meta vulndb.Metadata, advs []vulndb.Advisory) (int64, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("writing the database %s: %w", path, err)
	}
	n, err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return vulndb.Write(w, meta, advs) })
	if err != nil {
		return 0, fmt.Errorf("writing the database %s: %w", path, err)
	}
	return n, nil
}

// Input is every source loaded, before merging.
type Input struct {
	// Ecosystem holds OSV and GHSA advisories, in source priority order.
	Ecosystem []vulndb.Advisory
	// Distro holds Debian tracker and Alpine secdb advisories.
	Distro []vulndb.Advisory
	// NVD, KEV and EPSS are keyed by CVE.
	NVD  map[string]vulndb.Advisory
	KEV  map[string]vulndb.KEV
	EPSS map[string]vulndb.EPSS
	// Stats has one entry per source.
	Stats []*source.Stats
}

// Load reads every source of o.
func Load(ctx context.Context, o Options) (*Input, error) {
	now := time.Now().UTC().Truncate(time.Second)
	if o.Now != nil {
		now = o.Now().UTC().Truncate(time.Second)
	}
	in := &Input{NVD: map[string]vulndb.Advisory{}}
	for _, s := range []struct {
		kind  string
		paths []string
	}{{"osv", o.OSV}, {"ghsa", o.GHSA}} {
		for _, p := range s.paths {
			advs, st, err := loadOSV(ctx, s.kind, p, now)
			if err != nil {
				return nil, err
			}
			in.Ecosystem = append(in.Ecosystem, advs...)
			in.Stats = append(in.Stats, st)
		}
	}
	for _, p := range o.NVD {
		st := source.NewStats("nvd", p)
		err := source.WalkRecords(p, func(f source.File) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			st.Files++
			data, err := source.Decompress(f.Name, f.Data)
			if err != nil {
				return err
			}
			advs, _, err := source.ParseNVD(f.Name, data, st)
			if err != nil {
				return fmt.Errorf("NVD source %s: %w", p, err)
			}
			for _, a := range advs { // several pages may hold a CVE: the newest wins
				if old, ok := in.NVD[a.ID]; !ok || !a.Modified.Before(old.Modified) {
					in.NVD[a.ID] = a
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		in.Stats = append(in.Stats, dated(st, now))
	}
	if p := o.DebianTracker; p != "" {
		st := source.NewStats("debian-tracker", p)
		data, err := source.Open(p)
		if err != nil {
			return nil, fmt.Errorf("Debian tracker %s: %w", p, err)
		}
		advs, err := source.ParseDebianTracker(p, data, st)
		if err != nil {
			return nil, err
		}
		in.Distro = append(in.Distro, advs...)
		in.Stats = append(in.Stats, dated(st, now))
	}
	for _, p := range o.AlpineSecDB {
		st := source.NewStats("alpine-secdb", p)
		data, err := source.Open(p)
		if err != nil {
			return nil, fmt.Errorf("Alpine secdb %s: %w", p, err)
		}
		advs, err := source.ParseAlpineSecDB(p, data, st)
		if err != nil {
			return nil, err
		}
		in.Distro = append(in.Distro, advs...)
		in.Stats = append(in.Stats, dated(st, now))
	}
	if p := o.KEV; p != "" {
		st := source.NewStats("kev", p)
		data, err := source.Open(p)
		if err != nil {
			return nil, fmt.Errorf("KEV catalogue %s: %w", p, err)
		}
		if in.KEV, err = source.ParseKEV(p, data, st); err != nil {
			return nil, err
		}
		in.Stats = append(in.Stats, dated(st, now))
	}
	if p := o.EPSS; p != "" {
		st := source.NewStats("epss", p)
		data, err := source.Open(p)
		if err != nil {
			return nil, fmt.Errorf("EPSS scores %s: %w", p, err)
		}
		if in.EPSS, err = source.ParseEPSS(p, data, st); err != nil {
			return nil, err
		}
		in.Stats = append(in.Stats, dated(st, now))
	}
	return in, nil
}

// dated gives a source without dates of its own the time it was read.
func dated(st *source.Stats, now time.Time) *source.Stats {
	if st.Date.IsZero() {
		st.Date = now
	}
	return st
}

// loadOSV reads one OSV or GHSA source, parsing files in parallel.
func loadOSV(ctx context.Context, kind, path string, now time.Time) ([]vulndb.Advisory, *source.Stats, error) {
	type job struct {
		n int
		f source.File
	}
	type result struct {
		advs []vulndb.Advisory
		st   *source.Stats
	}
	jobs := make(chan job)
	var (
		mu      sync.Mutex
		results = map[int]result{}
		wg      sync.WaitGroup
	)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st := source.NewStats(kind, path)
				st.Files = 1
				advs, err := source.ParseOSV(kind, j.f.Name, j.f.Data, st)
				if err != nil {
					st.Skip(source.SkipBroken, j.f.Name)
				}
				st.Records = len(advs)
				mu.Lock()
				results[j.n] = result{advs, st}
				mu.Unlock()
			}
		}()
	}
	n := 0
	err := source.WalkRecords(path, func(f source.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		jobs <- job{n, f}
		n++
		return nil
	})
	close(jobs)
	wg.Wait()
	if err != nil {
		return nil, nil, fmt.Errorf("%s source: %w", strings.ToUpper(kind), err)
	}
	total := source.NewStats(kind, path)
	var advs []vulndb.Advisory
	for i := 0; i < n; i++ {
		r := results[i]
		total.Merge(r.st)
		advs = append(advs, r.advs...)
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("%s source %s holds no .json or .yaml records: check the path", strings.ToUpper(kind), path)
	}
	sort.SliceStable(advs, func(i, j int) bool { return advs[i].ID < advs[j].ID })
	return advs, dated(total, now), nil
}
