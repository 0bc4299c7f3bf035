package update

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/atomicfile"
)

// State is what an incremental upstream build (Options.State) remembers
// between runs, in STATE/state.json next to the records it downloaded: how
// far NVD and each OSV ecosystem are known, and where a cut-off full NVD
// download resumes.
type State struct {
	// NVDModified is the end of the last NVD window downloaded completely:
	// the next run asks only for CVEs modified since.
	NVDModified time.Time `json:"nvdModified,omitzero"`
	// NVDFullStart and NVDFullNext describe a first, full NVD download in
	// progress: when it started, and the index of the next page.
	NVDFullStart time.Time `json:"nvdFullStart,omitzero"`
	NVDFullNext  int       `json:"nvdFullNext,omitempty"`
	// OSVModified is, per ecosystem, the newest modified time of the
	// records held.
	OSVModified map[string]time.Time `json:"osvModified,omitempty"`
}

// nvdMaxWindow is the longest lastModified range the NVD API accepts.
const nvdMaxWindow = 120 * 24 * time.Hour

func loadState(dir string) (*State, error) {
	s := &State{OSVModified: map[string]time.Time{}}
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("the update state %s: %w; remove the folder to start over", filepath.Join(dir, "state.json"), err)
	}
	if s.OSVModified == nil {
		s.OSVModified = map[string]time.Time{}
	}
	return s, nil
}

func (s *State) save(dir string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	_, err = atomicfile.Write(filepath.Join(dir, "state.json"), 0o644, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	return err
}

// nvdTime formats a time as the NVD API's date parameters want it.
func nvdTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000") + "+00:00"
}

// downloadNVDIncremental brings STATE/nvd up to date: the whole NVD on the
// first run (resuming a cut-off one at its next page), then only the CVEs
// modified since the last run, in windows of at most 120 days. Every page
// is kept; the build keeps the newest record of each CVE.
func (u *updater) downloadNVDIncremental(ctx context.Context, f *fetcher, st *State, stateDir string) error {
	s := u.o.Sources
	dir := filepath.Join(stateDir, "nvd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	now := u.now().UTC()
	if st.NVDModified.IsZero() {
		if st.NVDFullStart.IsZero() {
			st.NVDFullStart = now
		}
		prefix := "full-" + st.NVDFullStart.Format("20060102T150405")
		err := u.downloadNVD(ctx, f, s.NVD, "", dir, prefix, st.NVDFullNext, func(next int) error {
			st.NVDFullNext = next
			return st.save(stateDir)
		})
		if err != nil {
			return err
		}
		st.NVDModified, st.NVDFullStart, st.NVDFullNext = st.NVDFullStart, time.Time{}, 0
		return st.save(stateDir)
	}
	for st.NVDModified.Before(now) {
		end := st.NVDModified.Add(nvdMaxWindow)
		if end.After(now) {
			end = now
		}
		q := "lastModStartDate=" + url.QueryEscape(nvdTime(st.NVDModified)) + "&lastModEndDate=" + url.QueryEscape(nvdTime(end))
		u.logf("nvd: CVEs modified from %s to %s", nvdTime(st.NVDModified), nvdTime(end))
		if err := u.downloadNVD(ctx, f, s.NVD, q, dir, "delta-"+end.Format("20060102T150405"), 0, nil); err != nil {
			return err
		}
		st.NVDModified = end
		if err := st.save(stateDir); err != nil {
			return err
		}
	}
	return nil
}

// osvIDPattern is what an OSV record ID in modified_id.csv may look like;
// anything else is refused rather than used in a URL or a file name.
var osvIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// maxOSVChanges is how many changed records a run downloads one by one;
// above it the ecosystem's all.zip is downloaded again.
const maxOSVChanges = 5000

// downloadOSVIncremental brings STATE/osv/ECOSYSTEM up to date: all.zip,
// unpacked, on the first run; then ECOSYSTEM/modified_id.csv (newest
// first), and only the records modified since the last run.
func (u *updater) downloadOSVIncremental(ctx context.Context, f *fetcher, st *State, stateDir, eco string) (string, error) {
	base := strings.TrimSuffix(u.o.Sources.OSVBase, "/") + "/" + url.PathEscape(eco)
	dir := filepath.Join(stateDir, "osv", safe(eco))
	src := "osv " + eco
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if since, ok := st.OSVModified[eco]; ok {
		csvPath := filepath.Join(stateDir, "osv", safe(eco)+".modified_id.csv")
		if err := f.fetch(ctx, src, base+"/modified_id.csv", csvPath, kindCSV, nil); err != nil {
			return "", err
		}
		changed, newest, err := readModifiedIDs(csvPath, since)
		if err != nil {
			return "", &SourceError{src, base + "/modified_id.csv", &permanentError{err, "the index does not look like osv.dev's modified_id.csv"}}
		}
		if len(changed) <= maxOSVChanges {
			u.logf("osv %s: %d record(s) modified since %s", eco, len(changed), since.UTC().Format(time.RFC3339))
			for _, id := range changed {
				if err := f.fetch(ctx, src, base+"/"+url.PathEscape(id)+".json", filepath.Join(dir, id+".json"), kindJSON, nil); err != nil {
					return "", err
				}
			}
			if newest.After(since) {
				st.OSVModified[eco] = newest
			}
			return dir, st.save(stateDir)
		}
		u.logf("osv %s: %d records modified since %s; downloading all.zip again", eco, len(changed), since.UTC().Format(time.RFC3339))
	}
	zipPath := filepath.Join(stateDir, "osv", safe(eco)+".all.zip")
	if err := f.fetch(ctx, src, base+"/all.zip", zipPath, kindZip, validZip); err != nil {
		return "", err
	}
	newest, err := unpackOSV(zipPath, dir)
	if err != nil {
		return "", &SourceError{src, base + "/all.zip", &permanentError{err, "the archive does not hold OSV records"}}
	}
	os.Remove(zipPath)
	st.OSVModified[eco] = newest
	return dir, st.save(stateDir)
}

// readModifiedIDs reads osv.dev's modified_id.csv ("TIME,ID" lines, newest
// first) and returns the IDs modified after since, and the newest time.
func readModifiedIDs(path string, since time.Time) ([]string, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	var ids []string
	var newest time.Time
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		ts, id, ok := strings.Cut(line, ",")
		t, err := time.Parse(time.RFC3339Nano, ts)
		if !ok || err != nil || !osvIDPattern.MatchString(id) {
			return nil, time.Time{}, fmt.Errorf("line %d: %q is not TIME,ID", n, line)
		}
		if t.After(newest) {
			newest = t
		}
		if !t.After(since) {
			break // newest first: the rest is older
		}
		ids = append(ids, id)
	}
	return ids, newest, sc.Err()
}

// unpackOSV writes the records of an all.zip into dir, one file per
// record, and returns the newest modified time among them.
func unpackOSV(zipPath, dir string) (time.Time, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return time.Time{}, err
	}
	defer zr.Close()
	if err := os.RemoveAll(dir); err != nil {
		return time.Time{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for _, zf := range zr.File {
		id, ok := strings.CutSuffix(filepath.Base(zf.Name), ".json")
		if !ok || !osvIDPattern.MatchString(id) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return time.Time{}, err
		}
		data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %w", zf.Name, err)
		}
		var rec struct {
			Modified time.Time `json:"modified"`
		}
		if json.Unmarshal(data, &rec) == nil && rec.Modified.After(newest) {
			newest = rec.Modified
		}
		if err := os.WriteFile(filepath.Join(dir, id+".json"), data, 0o644); err != nil {
			return time.Time{}, err
		}
	}
	return newest, nil
}
