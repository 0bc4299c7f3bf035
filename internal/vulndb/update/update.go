// Package update keeps the local vulnerability database current: it
// downloads advisory sources (or a prebuilt database published as an OCI
// artifact), verifies what it downloaded, builds, and swaps the new file in
// atomically, so that a failed or interrupted update leaves the previous
// database working. It also moves databases in and out of air-gapped
// networks (Export, Import) and opens the database for a scan (Prepare).
package update

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/build"
	"github.com/bulwark-sec/bulwark/internal/vulndb/source"
)

// Default source locations.
const (
	DefaultOSVBase       = "https://osv-vulnerabilities.storage.googleapis.com"
	DefaultNVD           = "https://services.nvd.nist.gov/rest/json/cves/2.0"
	DefaultDebianTracker = "https://security-tracker.debian.org/tracker/data/json"
	DefaultKEV           = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
	DefaultEPSS          = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"
)

// DefaultEcosystems are the OSV ecosystems downloaded by default.
var DefaultEcosystems = []string{"Go", "PyPI", "npm", "Maven", "RubyGems", "crates.io", "Packagist", "NuGet"}

// Sources says where an update downloads advisory data from. An empty
// URL turns that source off.
type Sources struct {
	// OSVBase is the OSV bucket; each ecosystem is OSVBase/ECOSYSTEM/all.zip.
	OSVBase    string
	Ecosystems []string
	// NVD is the NVD CVE API 2.0 endpoint; NVDAPIKey raises its rate limit.
	NVD       string
	NVDAPIKey string
	// NVDPageDelay is the pause between NVD pages (the API allows 5
	// requests per 30 s without a key, 50 with one).
	NVDPageDelay time.Duration
	// DebianTracker is the tracker's JSON export.
	DebianTracker string
	// AlpineSecDB are secdb files (https://secdb.alpinelinux.org/v3.19/main.json).
	AlpineSecDB []string
	// KEV and EPSS are the exploit data files.
	KEV, EPSS string
}

// DefaultSources returns the public sources.
func DefaultSources() Sources {
	return Sources{
		OSVBase: DefaultOSVBase, Ecosystems: DefaultEcosystems,
		NVD: DefaultNVD, NVDPageDelay: 6 * time.Second,
		DebianTracker: DefaultDebianTracker, KEV: DefaultKEV, EPSS: DefaultEPSS,
	}
}

// Verifier checks the signature of a database artifact before it replaces
// the current database. digest is the artifact's manifest by digest.
type Verifier interface {
	Verify(ctx context.Context, digest name.Digest) error
}

// Options configures Update.
type Options struct {
	// DB is the database file to replace.
	DB string
	// Repository, when set, pulls a prebuilt database from this OCI
	// repository (the tag defaults to the schema version) instead of
	// building one from Sources.
	Repository string
	// Verifier, when set, must accept the artifact's signature.
	Verifier Verifier
	// Registry configures registry access (credentials, --insecure).
	Registry image.Options
	// Sources are used when Repository is empty.
	Sources Sources
	// Client is the HTTP client for sources (default: one with a proxy
	// from the environment).
	Client *http.Client
	// Retries is how often a failed download is tried again (default 3),
	// Backoff the first pause between tries (default 2s, doubling).
	Retries int
	Backoff time.Duration
	// Stall aborts a download that receives nothing for this long
	// (default 60s).
	Stall time.Duration
	// Progress, when set, gets a progress bar per download; pass the
	// terminal, or nil when stderr is not one.
	Progress io.Writer
	// Log gets one line per step; nil for none.
	Log io.Writer
	// Now gives the build time; time.Now when nil.
	Now func() time.Time
}

type updater struct{ o Options }

func (u *updater) retries() int {
	if u.o.Retries > 0 {
		return u.o.Retries
	}
	if u.o.Retries < 0 {
		return 0
	}
	return 3
}

func (u *updater) backoff() time.Duration {
	if u.o.Backoff > 0 {
		return u.o.Backoff
	}
	return 2 * time.Second
}

func (u *updater) stall() time.Duration {
	if u.o.Stall > 0 {
		return u.o.Stall
	}
	return 60 * time.Second
}

func (u *updater) logf(format string, args ...any) {
	if u.o.Log != nil {
		fmt.Fprintf(u.o.Log, format+"\n", args...)
	}
}

// Result says what an update installed.
type Result struct {
	// Path is the database file, Metadata what it holds.
	Path     string
	Metadata vulndb.Metadata
	// Summary is the build summary (sources mode only).
	Summary *build.Summary
}

// Update downloads and installs a new database at o.DB. On any error the
// previous database is left exactly as it was; a *SourceError names the
// source that failed.
func Update(ctx context.Context, o Options) (*Result, error) {
	if o.DB == "" {
		return nil, errors.New("no database path given")
	}
	u := &updater{o}
	dir := filepath.Dir(o.DB)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the database directory: %w", err)
	}
	cleanStale(dir)
	work, err := os.MkdirTemp(dir, ".bulwark-update-*")
	if err != nil {
		return nil, fmt.Errorf("creating a work directory for the update: %w", err)
	}
	defer os.RemoveAll(work)

	if o.Repository != "" {
		tmp := filepath.Join(work, "vulndb.bwdb")
		u.logf("pulling the database from %s", o.Repository)
		if err := u.pullOCI(ctx, o.Repository, tmp); err != nil {
			return nil, err
		}
		return install(tmp, o.DB, o.Repository)
	}

	bo, err := u.download(ctx, work)
	if err != nil {
		return nil, err
	}
	bo.Output = filepath.Join(work, "vulndb.bwdb")
	bo.Now = o.Now
	u.logf("building the database")
	sum, err := build.Build(ctx, bo)
	if err != nil {
		return nil, fmt.Errorf("updating the vulnerability database: building from the downloaded sources failed: %w; the previous database is unchanged", err)
	}
	res, err := install(bo.Output, o.DB, "the downloaded sources")
	if err != nil {
		return nil, err
	}
	res.Summary = sum
	return res, nil
}

// install checks the new file and renames it over the database.
func install(tmp, dst, from string) (*Result, error) {
	db, err := vulndb.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("the database from %s is not usable, so the previous one is kept: %w", from, err)
	}
	meta := db.Metadata()
	db.Close()
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("installing the new database at %s: %w", dst, err)
	}
	return &Result{Path: dst, Metadata: meta}, nil
}

// cleanStale removes work files an interrupted update left behind.
func cleanStale(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".bulwark-update-") && !strings.HasPrefix(e.Name(), ".bulwark-db-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// download fetches every configured source into work and returns the
// build options that read them.
func (u *updater) download(ctx context.Context, work string) (build.Options, error) {
	s := u.o.Sources
	client := u.o.Client
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport}
	}
	f := &fetcher{client: client, retries: u.retries(), backoff: u.backoff(), stall: u.stall(), progress: u.o.Progress}
	var bo build.Options
	get := func(src, url, name, kind string, validate func(string) error) (string, error) {
		dst := filepath.Join(work, name)
		u.logf("downloading %s from %s", src, url)
		return dst, f.fetch(ctx, src, url, dst, kind, validate)
	}
	if s.OSVBase != "" {
		for _, eco := range s.Ecosystems {
			p, err := get("osv "+eco, strings.TrimSuffix(s.OSVBase, "/")+"/"+url.PathEscape(eco)+"/all.zip", "osv-"+safe(eco)+".zip", kindZip, validZip)
			if err != nil {
				return bo, err
			}
			bo.OSV = append(bo.OSV, p)
		}
	}
	for i, a := range s.AlpineSecDB {
		p, err := get("alpine-secdb", a, fmt.Sprintf("alpine-%d.json", i), kindJSON, nil)
		if err != nil {
			return bo, err
		}
		bo.AlpineSecDB = append(bo.AlpineSecDB, p)
	}
	if s.DebianTracker != "" {
		p, err := get("debian-tracker", s.DebianTracker, "debian-tracker.json", kindJSON, nil)
		if err != nil {
			return bo, err
		}
		bo.DebianTracker = p
	}
	if s.KEV != "" {
		p, err := get("kev", s.KEV, "kev.json", kindJSON, nil)
		if err != nil {
			return bo, err
		}
		bo.KEV = p
	}
	if s.EPSS != "" {
		p, err := get("epss", s.EPSS, "epss.csv", kindCSV, nil)
		if err != nil {
			return bo, err
		}
		bo.EPSS = p
	}
	if s.NVD != "" {
		dir := filepath.Join(work, "nvd")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return bo, err
		}
		if s.NVDAPIKey != "" {
			f.header = http.Header{"apiKey": {s.NVDAPIKey}}
		}
		if err := u.downloadNVD(ctx, f, s, dir); err != nil {
			return bo, err
		}
		f.header = nil
		bo.NVD = []string{dir}
	}
	return bo, nil
}

// nvdPageSize is the most results the NVD API returns per page.
const nvdPageSize = 2000

// downloadNVD pages through the NVD CVE API.
func (u *updater) downloadNVD(ctx context.Context, f *fetcher, s Sources, dir string) error {
	for start, total := 0, -1; total < 0 || start < total; start += nvdPageSize {
		if start > 0 && s.NVDPageDelay > 0 {
			select {
			case <-ctx.Done():
				return &SourceError{"nvd", s.NVD, ctx.Err()}
			case <-time.After(s.NVDPageDelay):
			}
		}
		sep := "?"
		if strings.Contains(s.NVD, "?") {
			sep = "&"
		}
		pageURL := s.NVD + sep + "startIndex=" + strconv.Itoa(start) + "&resultsPerPage=" + strconv.Itoa(nvdPageSize)
		dst := filepath.Join(dir, fmt.Sprintf("page-%07d.json", start))
		var page source.NVDPage
		err := f.fetch(ctx, "nvd", pageURL, dst, kindJSON, func(p string) error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, page, err = source.ParseNVD(p, data, source.NewStats("nvd", p))
			return err
		})
		if err != nil {
			return err
		}
		if total < 0 {
			total = page.TotalResults
			u.logf("nvd: %d CVEs in %d pages", total, (total+nvdPageSize-1)/nvdPageSize)
		}
		if page.ResultsPerPage == 0 {
			break
		}
	}
	return nil
}

// validZip checks that a file is a zip whose members all read back
// (each member's CRC-32 is checked at its end).
func validZip(path string) error {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}
