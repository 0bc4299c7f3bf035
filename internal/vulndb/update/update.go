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
	"encoding/json"
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

	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
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

// WithNVDKey returns the sources with an NVD API key (none when empty),
// which raises NVD's rate limit and so shortens the pause between pages.
func (s Sources) WithNVDKey(key string) Sources {
	s.NVDAPIKey = key
	if key != "" {
		s.NVDPageDelay = 600 * time.Millisecond
	}
	return s
}

// Options configures Update.
type Options struct {
	// DB is the database file to replace.
	DB string
	// Repositories are the OCI repositories a prebuilt database is pulled
	// from (the tag defaults to the schema version), tried in order until
	// one gives a database; a repository that fails is skipped for the
	// next.
	Repositories []string
	// Key must verify the artifact's cosign signature before the database
	// is downloaded.
	Key *sign.Verifier
	// Registry is the registry access: credentials, TLS (nil: the defaults).
	Registry *registry.Client
	// FromUpstream builds the database from Sources instead of pulling it.
	FromUpstream bool
	// State, with FromUpstream, is a folder kept between runs that makes
	// the download incremental: NVD by last-modified window, OSV by
	// modified time (see State).
	State string
	// Sources are used with FromUpstream.
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

func (u *updater) now() time.Time {
	if u.o.Now != nil {
		return u.o.Now()
	}
	return time.Now()
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
	// Summary is the build summary (FromUpstream only).
	Summary *build.Summary
	// From is the repository the database was pulled from.
	From string
	// Unchanged says that the repository's database was installed
	// already: its signature was checked, nothing was downloaded, and
	// the file was left as it was.
	Unchanged bool
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

	if !o.FromUpstream {
		return u.pull(ctx, filepath.Join(work, "vulndb.bwdb"))
	}

	bo, err := u.download(ctx, work)
	if err != nil {
		return nil, fmt.Errorf("updating the vulnerability database: source %w; the previous database is unchanged", err)
	}
	bo.Output = filepath.Join(work, "vulndb.bwdb")
	bo.Now = o.Now
	u.logf("building the database")
	sum, err := build.Build(ctx, bo)
	if err != nil {
		return nil, fmt.Errorf("updating the vulnerability database: building from the downloaded sources failed: %w; the previous database is unchanged", err)
	}
	res, err := install(bo.Output, o.DB, "the downloaded sources", nil)
	if err != nil {
		return nil, err
	}
	res.Summary = sum
	return res, nil
}

// pull gets the database from the first repository that gives one.
func (u *updater) pull(ctx context.Context, tmp string) (*Result, error) {
	if len(u.o.Repositories) == 0 {
		return nil, errors.New("updating the vulnerability database: no database repository configured")
	}
	var failed []error
	for _, repo := range u.o.Repositories {
		if r, err := parseRepoRef(repo, u.o.Registry); err == nil {
			u.logf("pulling the database from %s", r.Name())
		}
		sig, err := u.pullOCI(ctx, repo, tmp)
		if errors.Is(err, errUnchanged) {
			u.logf("the database from %s is installed already: nothing downloaded", repo)
			db, err := vulndb.Open(u.o.DB)
			if err != nil {
				return nil, err
			}
			defer db.Close()
			return &Result{Path: u.o.DB, Metadata: db.Metadata(), From: repo, Unchanged: true}, nil
		}
		if err == nil {
			res, err := install(tmp, u.o.DB, repo, sig)
			if err == nil {
				res.From = repo
				return res, nil
			}
			failed = append(failed, &SourceError{Source: repo, Err: &permanentError{err, "the repository holds a damaged database"}})
		} else {
			failed = append(failed, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &PullError{Failed: failed}
}

// PullError says that no repository gave a database, and why for each.
type PullError struct {
	// Failed holds one error per repository tried, in order.
	Failed []error
}

func (e *PullError) Error() string {
	var b strings.Builder
	b.WriteString("updating the vulnerability database: ")
	if len(e.Failed) == 1 {
		b.WriteString(e.Failed[0].Error())
		return b.String()
	}
	fmt.Fprintf(&b, "none of the %d repositories gave a database:", len(e.Failed))
	for _, err := range e.Failed {
		b.WriteString("\n  ")
		b.WriteString(err.Error())
	}
	return b.String()
}

// Unwrap returns the errors of every repository.
func (e *PullError) Unwrap() []error { return e.Failed }

// install checks the new file and renames it over the database; sig, when
// not nil, replaces the signature kept next to it (any other is removed,
// since it no longer matches).
func install(tmp, dst, from string, sig *Signature) (*Result, error) {
	db, err := vulndb.Open(tmp)
	if err != nil {
		return nil, fmt.Errorf("the database from %s is not usable, so it was not installed: %w", from, err)
	}
	meta := db.Metadata()
	db.Close()
	if err := os.Chmod(tmp, 0o644); err != nil {
		return nil, err
	}
	if sig != nil {
		data, err := json.Marshal(sig)
		if err == nil {
			err = os.WriteFile(SignaturePath(tmp), data, 0o644)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := os.Remove(SignaturePath(dst)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("installing the new database at %s: %w", dst, err)
	}
	if sig != nil {
		if err := os.Rename(SignaturePath(tmp), SignaturePath(dst)); err != nil {
			return nil, err
		}
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
	var st *State
	if u.o.State != "" {
		var err error
		if err = os.MkdirAll(u.o.State, 0o755); err != nil {
			return bo, err
		}
		if st, err = loadState(u.o.State); err != nil {
			return bo, err
		}
	}
	get := func(src, url, name, kind string, validate func(string) error) (string, error) {
		dst := filepath.Join(work, name)
		u.logf("downloading %s from %s", src, url)
		return dst, f.fetch(ctx, src, url, dst, kind, validate)
	}
	if s.OSVBase != "" {
		for _, eco := range s.Ecosystems {
			if st != nil {
				p, err := u.downloadOSVIncremental(ctx, f, st, u.o.State, eco)
				if err != nil {
					return bo, err
				}
				bo.OSV = append(bo.OSV, p)
				continue
			}
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
	if s.NVD != "" && st != nil {
		if s.NVDAPIKey != "" {
			f.header = http.Header{"apiKey": {s.NVDAPIKey}}
		}
		if err := u.downloadNVDIncremental(ctx, f, st, u.o.State); err != nil {
			return bo, err
		}
		f.header = nil
		bo.NVD = []string{filepath.Join(u.o.State, "nvd")}
	} else if s.NVD != "" {
		dir := filepath.Join(work, "nvd")
		if err := os.Mkdir(dir, 0o755); err != nil {
			return bo, err
		}
		if s.NVDAPIKey != "" {
			f.header = http.Header{"apiKey": {s.NVDAPIKey}}
		}
		if err := u.downloadNVD(ctx, f, s.NVD, "", dir, "page", 0, nil); err != nil {
			return bo, err
		}
		f.header = nil
		bo.NVD = []string{dir}
	}
	return bo, nil
}

// nvdPageSize is the most results the NVD API returns per page.
const nvdPageSize = 2000

// downloadNVD pages through the NVD CVE API from page index start, with
// the extra query (a lastModified window, or ""), into dir as
// PREFIX-INDEX.json. After each page, saved (when not nil) gets the index
// of the next one, so that a cut-off run can resume.
func (u *updater) downloadNVD(ctx context.Context, f *fetcher, endpoint, query, dir, prefix string, start int, saved func(next int) error) error {
	s := u.o.Sources
	for total := -1; total < 0 || start < total; start += nvdPageSize {
		if total >= 0 && s.NVDPageDelay > 0 {
			select {
			case <-ctx.Done():
				return &SourceError{"nvd", endpoint, ctx.Err()}
			case <-time.After(s.NVDPageDelay):
			}
		}
		sep := "?"
		if strings.Contains(endpoint, "?") {
			sep = "&"
		}
		pageURL := endpoint + sep + "startIndex=" + strconv.Itoa(start) + "&resultsPerPage=" + strconv.Itoa(nvdPageSize)
		if query != "" {
			pageURL += "&" + query
		}
		dst := filepath.Join(dir, fmt.Sprintf("%s-%07d.json", prefix, start))
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
		if saved != nil {
			if err := saved(start + nvdPageSize); err != nil {
				return err
			}
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
