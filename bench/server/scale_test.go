// Package serverbench measures `bulwark server` at scale (bench/server):
// 10,000 stored images made from real Debian package lists, a database
// update that changes 100 advisories, the re-evaluation time against a
// full rescan estimated from a real image read through the registry, API
// latency with every image stored, and storage per image. TestScale runs
// only with BULWARK_SCALE=1 (run.sh sets it); it writes its figures as
// JSON to $BULWARK_SCALE_OUT when set.
package serverbench

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/dpkg"
	"github.com/bulwark-sec/bulwark/internal/inventory/invtest"
	"github.com/bulwark-sec/bulwark/internal/match"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/server"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// list is one real package list: the packages of a dpkg status file and
// the Debian release it comes from.
type list struct {
	file     string
	release  string
	packages []inventory.Package
}

// statusFiles are the dpkg status files used: $BULWARK_SCALE_STATUS
// (colon-separated) or this machine's and those of the Debian root
// filesystems the tests built with debootstrap.
func statusFiles(t *testing.T) []string {
	if v := os.Getenv("BULWARK_SCALE_STATUS"); v != "" {
		return strings.Split(v, ":")
	}
	files := []string{"/var/lib/dpkg/status"}
	if cache, err := testutil.CacheDir(); err == nil {
		m, _ := filepath.Glob(filepath.Join(cache, "debian-*", "rootfs", "var", "lib", "dpkg", "status"))
		files = append(files, m...)
	}
	return files
}

func readLists(t *testing.T) []list {
	var out []list
	for _, f := range statusFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pkgs, _, err := dpkg.ParseStatus(bytes.NewReader(b), f)
		if err != nil || len(pkgs) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		release := "12"
		if strings.Contains(f, "bullseye") {
			release = "11"
		}
		out = append(out, list{file: f, release: release, packages: pkgs})
		t.Logf("package list %s: %d packages (Debian %s)", f, len(pkgs), release)
	}
	if len(out) == 0 {
		t.Fatal("no dpkg status file found")
	}
	return out
}

// variant is image i: a list's packages, a random 40-100% subset (the
// essential ones always), some at an older or newer version.
func variant(rng *rand.Rand, ls []list, i int) *inventory.SBOM {
	l := ls[i%len(ls)]
	keep := 0.4 + 0.6*rng.Float64()
	sb := &inventory.SBOM{Tool: "bulwark", Target: finding.Target{Name: fmt.Sprintf("bench/app-%d", i), Kind: "image",
		OS: &finding.OS{ID: "debian", Version: l.release}}}
	for _, p := range l.packages {
		if rng.Float64() > keep && !strings.HasPrefix(p.Name, "lib") {
			continue
		}
		switch r := rng.IntN(20); {
		case r == 0:
			p.Version += "~bench" + strconv.Itoa(1+rng.IntN(3)) // older
			p.SourceVersion = p.Version
		case r == 1:
			p.Version += "+bench" + strconv.Itoa(1+rng.IntN(3)) // newer
			p.SourceVersion = p.Version
		}
		sb.Packages = append(sb.Packages, p)
	}
	return sb
}

func advisory(id, eco, pkg, fixed, sev string) vulndb.Advisory {
	return vulndb.Advisory{ID: id, Summary: pkg + ": synthetic advisory for the scale bench", DatabaseSeverity: sev,
		Affected: []vulndb.Affected{{Ecosystem: eco, Package: pkg, Ranges: []vulndb.Range{{Type: vulndb.RangeEcosystem,
			Events: []vulndb.Event{{Introduced: "0"}, {Fixed: fixed}}}}}}}
}

var sevs = []string{"CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW"}

// advisories makes database v1: for a third of the (ecosystem, source
// package) keys an advisory fixed at the listed version (so the older
// variants are affected) or after it (all affected).
func advisories(rng *rand.Rand, ls []list) []vulndb.Advisory {
	seen := map[string]bool{}
	var out []vulndb.Advisory
	for _, l := range ls {
		for i := range l.packages {
			q, _ := match.QueryFor(&finding.OS{ID: "debian", Version: l.release}, &l.packages[i])
			k := q.Ecosystem + "\x00" + q.Name
			if seen[k] {
				continue
			}
			seen[k] = true
			if rng.IntN(3) != 0 {
				continue
			}
			fixed := q.Version
			if rng.IntN(2) == 0 {
				fixed += "+deb" + strconv.Itoa(1+rng.IntN(9))
			}
			out = append(out, advisory(fmt.Sprintf("BENCH-%05d", len(out)), q.Ecosystem, q.Name, fixed, sevs[rng.IntN(len(sevs))]))
		}
	}
	return out
}

// update is database v2: n advisories of v1 changed (a third withdrawn,
// a third with a later fix, a third new for another package).
func update(rng *rand.Rand, v1 []vulndb.Advisory, n int) []vulndb.Advisory {
	out := slices.Clone(v1)
	for j, i := range rng.Perm(len(out))[:n] {
		a := out[i]
		switch j % 3 {
		case 0:
			out[i].ID = "" // withdrawn
		case 1:
			ev := a.Affected[0].Ranges[0].Events
			out[i] = advisory(a.ID, a.Affected[0].Ecosystem, a.Affected[0].Package, ev[1].Fixed+"+security1", "CRITICAL")
		case 2:
			out = append(out, advisory(a.ID+"-2", a.Affected[0].Ecosystem, a.Affected[0].Package, "99:0", "HIGH"))
		}
	}
	return slices.DeleteFunc(out, func(a vulndb.Advisory) bool { return a.ID == "" })
}

func writeDB(t testing.TB, path string, built time.Time, advs []vulndb.Advisory) {
	var buf bytes.Buffer
	if err := vulndb.Write(&buf, vulndb.Metadata{BuiltAt: built}, advs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// Figures are what TestScale measured.
type Figures struct {
	Database        string                 `json:"database"`
	Images          int                    `json:"images"`
	PackagesMean    float64                `json:"packagesPerImageMean"`
	SBOMBytesMean   float64                `json:"sbomBytesPerImageMean"`
	FindingsMean    float64                `json:"findingsPerImageMean"`
	AdvisoriesV1    int                    `json:"advisoriesV1"`
	Changed         int                    `json:"advisoriesChanged"`
	LoadSeconds     float64                `json:"loadSeconds"`
	RefreshSeconds  float64                `json:"refreshSeconds"`
	RefreshCPU      float64                `json:"refreshCPUSeconds"`
	RefreshDBCPU    float64                `json:"refreshDatabaseServerCPUSeconds,omitempty"`
	KeysChanged     int                    `json:"keysChanged"`
	Rematched       int                    `json:"rematched"`
	Advanced        int                    `json:"keptCurrent"`
	RegistryReads   int64                  `json:"registryReadsDuringRefresh"`
	NewFindings     int                    `json:"newFindings"`
	FixedFindings   int                    `json:"fixedFindings"`
	ImageMB         float64                `json:"sampleImageMB,omitempty"`
	IngestSeconds   float64                `json:"sampleIngestSeconds,omitempty"`
	IngestPerMinute float64                `json:"ingestPerMinute,omitempty"`
	RescanMinutes   float64                `json:"fullRescanMinutesEstimate,omitempty"`
	HarborMinutes   [2]float64             `json:"harborMinutesAt52And75PerMinute"`
	StoreBytes      int64                  `json:"storeBytes"`
	BytesPerImage   float64                `json:"bytesPerImage"`
	TableBytes      map[string]int64       `json:"storeBytesByTable,omitempty"`
	StoreBytesAfter int64                  `json:"storeBytesAfterUpdate"`
	TableBytesAfter map[string]int64       `json:"storeBytesByTableAfterUpdate,omitempty"`
	Latency         map[string]Percentiles `json:"apiLatency"`
}

// Percentiles of request latency, in milliseconds, and the CPU time a
// request took on average (the bench process, which serves it, and the
// PostgreSQL server's processes).
type Percentiles struct {
	N     int     `json:"n"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	CPUMs float64 `json:"cpuMsPerRequest"`
}

// cpuSeconds is the process's user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func TestScale(t *testing.T) {
	if os.Getenv("BULWARK_SCALE") != "1" {
		t.Skip("the scale bench runs with BULWARK_SCALE=1 (bench/server/run.sh)")
	}
	ctx := context.Background()
	n, changes := envInt("BULWARK_SCALE_IMAGES", 10_000), envInt("BULWARK_SCALE_CHANGES", 100)
	rng := rand.New(rand.NewPCG(15, 10_000))
	ls := readLists(t)
	dir := t.TempDir()
	dbFile := filepath.Join(dir, "vulndb.bwdb")
	v1 := advisories(rng, ls)
	writeDB(t, dbFile, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), v1)
	fig := Figures{Images: n, AdvisoriesV1: len(v1), Changed: changes, Latency: map[string]Percentiles{}}

	// The store: SQLite in the test's folder, or with
	// BULWARK_SCALE_DATABASE=postgres a PostgreSQL server of its own
	// (internal/testutil/postgres), whose processes' CPU time is counted
	// beside the bench's.
	fig.Database = cmp.Or(os.Getenv("BULWARK_SCALE_DATABASE"), "sqlite")
	storePath := filepath.Join(dir, "server.db")
	dbCPU := func() float64 { return 0 }
	var st *store.SQL
	var err error
	switch fig.Database {
	case "sqlite":
		st, err = store.Open(ctx, storePath)
	case "postgres":
		pg := postgres.Start(t)
		dbCPU = pg.CPUSeconds
		st, err = store.OpenPostgres(ctx, pg.NewDB(t))
	default:
		t.Fatalf("BULWARK_SCALE_DATABASE=%s: want sqlite or postgres", fig.Database)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, server.Options{Store: st, DBFile: dbFile, Token: "t", FailOn: policy.AtLeast(finding.High), Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	// The stored images: each as the server stores a read image.
	db, err := vulndb.Open(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	digests := make([]string, n)
	var pkgs, fnds, sbomBytes int
	for i := range n {
		sb := variant(rng, ls, i)
		m, err := match.Match(db, sb, match.Options{})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(sb)
		if err != nil {
			t.Fatal(err)
		}
		digests[i] = fmt.Sprintf("sha256:%064x", i+1)
		if _, err := st.Add(ctx, "registry.bench", fmt.Sprintf("team%d/app%d", i%40, i%997), digests[i], "v"+strconv.Itoa(i%7)); err != nil {
			t.Fatal(err)
		}
		if err := st.Assessed(ctx, digests[i], &store.Assessment{SBOM: raw, Packages: server.PackageIndex(sb), Vulns: m.Findings, DBVersion: srv.DBVersion(), At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		pkgs += len(sb.Packages)
		sbomBytes += len(raw)
		fnds += len(m.Findings)
	}
	db.Close()
	fig.LoadSeconds = time.Since(start).Seconds()
	fig.PackagesMean, fig.FindingsMean, fig.SBOMBytesMean = float64(pkgs)/float64(n), float64(fnds)/float64(n), float64(sbomBytes)/float64(n)
	t.Logf("stored %d images (%.0f packages, %.0f findings each on average) in %.1fs", n, fig.PackagesMean, fig.FindingsMean, fig.LoadSeconds)
	fig.StoreBytes, fig.TableBytes = storeSizes(t, fig.Database, storePath, st)
	fig.BytesPerImage = float64(fig.StoreBytes) / float64(n)
	t.Logf("store: %.1f KB per image; by table and index: %v", fig.BytesPerImage/1e3, fig.TableBytes)

	// The database update.
	writeDB(t, dbFile, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), update(rng, v1, changes))
	reads := srv.Reads()
	stop := profile(t, "BULWARK_SCALE_CPUPROFILE")
	cpu, pgCPU := cpuSeconds(), dbCPU()
	start = time.Now()
	res, err := srv.Refresh(ctx)
	if err == nil {
		err = srv.WaitRematch(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	stop()
	fig.RefreshSeconds, fig.RefreshDBCPU = time.Since(start).Seconds(), dbCPU()-pgCPU
	fig.RefreshCPU = cpuSeconds() - cpu + fig.RefreshDBCPU
	fig.KeysChanged, fig.Rematched, fig.Advanced = res.KeysChanged, res.Queued, res.Advanced
	fig.RegistryReads = srv.Reads() - reads
	ch, err := st.Changes(ctx, res.To, 1)
	if err != nil {
		t.Fatal(err)
	}
	fig.NewFindings, fig.FixedFindings = ch.New, ch.Fixed
	fig.StoreBytesAfter, fig.TableBytesAfter = storeSizes(t, fig.Database, storePath, st)
	t.Logf("store after the update: %.1f KB per image; by table and index: %v", float64(fig.StoreBytesAfter)/float64(n)/1e3, fig.TableBytesAfter)
	t.Logf("refresh: %+v in %.1fs (%.1fs CPU, of which the database server %.1fs), %d registry requests; %d new, %d fixed findings", res, fig.RefreshSeconds, fig.RefreshCPU, fig.RefreshDBCPU, fig.RegistryReads, fig.NewFindings, fig.FixedFindings)

	// API latency with every image stored.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	defer profile(t, "BULWARK_SCALE_APIPROFILE")()
	for _, c := range []struct {
		name  string
		times int
		path  func() string
	}{
		{"GET /api/v1/images/{digest}", 300, func() string { return "/api/v1/images/" + digests[rng.IntN(n)] }},
		{"GET /api/v1/images/{digest}/findings", 300, func() string { return "/api/v1/images/" + digests[rng.IntN(n)] + "/findings" }},
		{"GET /api/v1/images/{digest}/findings?state=fixed", 100, func() string { return "/api/v1/images/" + digests[rng.IntN(n)] + "/findings?state=fixed" }},
		{"GET /api/v1/status", 100, func() string { return "/api/v1/status" }},
		{"GET /api/v1/changes (counts, first 1,000)", 50, func() string { return "/api/v1/changes" }},
		{"GET /api/v1/changes?limit=100", 100, func() string { return "/api/v1/changes?limit=100" }},
		{"GET /api/v1/trend", 100, func() string { return "/api/v1/trend" }},
		{"GET /ui/changes", 50, func() string { return "/ui/changes" }},
		{"GET /ui/images/{digest}", 100, func() string { return "/ui/images/" + digests[rng.IntN(n)] }},
		{"GET /api/v1/images (a page of 100)", 100, func() string { return "/api/v1/images?after=" + digests[rng.IntN(n-100)] }},
		{fmt.Sprintf("GET /api/v1/images?limit=0 (all %d)", n), 20, func() string { return "/api/v1/images?limit=0" }},
		{"GET /ui/ (overview)", 100, func() string { return "/ui/" }},
		{"GET /ui/?page=N (overview, a later page)", 100, func() string { return fmt.Sprintf("/ui/?page=%d", 1+rng.IntN(n/200)) }},
		{"GET /metrics", 20, func() string { return "/metrics" }},
	} {
		var ms []float64
		cpu, pgCPU := cpuSeconds(), dbCPU()
		for range c.times {
			req, _ := http.NewRequest(http.MethodGet, base+c.path(), nil)
			req.Header.Set("Authorization", "Bearer t")
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: HTTP %d", req.URL, resp.StatusCode)
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		at := func(q float64) float64 { return ms[min(len(ms)-1, int(q*float64(len(ms))))] }
		used := cpuSeconds() - cpu + dbCPU() - pgCPU
		fig.Latency[c.name] = Percentiles{N: len(ms), P50: at(0.50), P95: at(0.95), P99: at(0.99), CPUMs: used * 1000 / float64(len(ms))}
		t.Logf("%s: %+v ms", c.name, fig.Latency[c.name])
	}

	// A full rescan, estimated from a real Debian image read through the
	// registry on 127.0.0.1 by the server's own ingest.
	if os.Getenv("BULWARK_SCALE_SAMPLE") != "0" {
		fig.ImageMB, fig.IngestSeconds = sampleRead(t, dbFile)
		fig.IngestPerMinute = 60 / fig.IngestSeconds
		fig.RescanMinutes = float64(n) * fig.IngestSeconds / 60
		t.Logf("sample image (%.0f MB compressed): read in %.1fs; a rescan of %d images: %.0f min", fig.ImageMB, fig.IngestSeconds, n, fig.RescanMinutes)
	}
	fig.HarborMinutes = [2]float64{float64(n) / 52, float64(n) / 75}
	if out := os.Getenv("BULWARK_SCALE_OUT"); out != "" {
		b, _ := json.MarshalIndent(fig, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if fig.RegistryReads != 0 {
		t.Errorf("the re-evaluation read %d images, want 0", fig.RegistryReads)
	}
}

// profile starts a CPU profile into the file the environment variable
// names, when set; the function it returns stops it.
func profile(t *testing.T, env string) func() {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// sampleRead pushes a real Debian image to a CNCF registry on 127.0.0.1
// and times a server reading it (the webhook's job: read, single-pass
// scan, store), the cost of each image of a full rescan. It returns the
// image's compressed size in MB and the seconds.
func sampleRead(t *testing.T, dbFile string) (float64, float64) {
	ctx := context.Background()
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	rootfs := testutil.DebianRootfs(t, "auditd", "cron", "openssh-server", "rsyslog", "sudo", "systemd-sysv")
	layer, err := invtest.LayerFromDir(rootfs, "")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(reg.Host + "/bench/debian:12")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	size, _ := layer.Size()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sample.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, server.Options{Store: st, DBFile: dbFile, Log: io.Discard, Registries: map[string]registry.Settings{reg.Host: {}}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := st.Add(ctx, reg.Host, "bench/debian", d.String(), "12"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	srv.Kick()
	for {
		im, err := st.Image(ctx, d.String())
		if err != nil {
			t.Fatal(err)
		}
		if im.State == store.StateFailed {
			t.Fatalf("sample image: %s", im.Error)
		}
		if im.State == store.StateDone {
			break
		}
		if time.Since(start) > 10*time.Minute {
			t.Fatal("the sample image was not read within 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return float64(size) / 1e6, time.Since(start).Seconds()
}

// tableSizes is the space each table and index of the SQLite file takes
// (its dbstat virtual table), nil when the build lacks dbstat.
func tableSizes(t *testing.T, path string) map[string]int64 {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name, SUM(pgsize) FROM dbstat GROUP BY name`)
	if err != nil {
		t.Logf("no per-table sizes: %v", err)
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if rows.Scan(&name, &n) == nil {
			out[name] = n
		}
	}
	return out
}

// storeSizes is the size of the store and of each of its tables (with
// their indexes on PostgreSQL; each index apart on SQLite).
func storeSizes(t *testing.T, engine, sqlitePath string, st *store.SQL) (int64, map[string]int64) {
	if engine != "sqlite" {
		return pgSizes(t, st.DB())
	}
	checkpoint(t, sqlitePath)
	var total int64
	for _, f := range []string{sqlitePath, sqlitePath + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return total, tableSizes(t, sqlitePath)
}

// pgSizes is the size of the PostgreSQL database after a checkpoint and
// that of each table of the public schema with its indexes and TOAST.
func pgSizes(t *testing.T, db *sql.DB) (int64, map[string]int64) {
	if _, err := db.Exec(`CHECKPOINT`); err != nil {
		t.Logf("checkpoint: %v", err)
	}
	var total int64
	if err := db.QueryRow(`SELECT pg_database_size(current_database())`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return total, out
}

// checkpoint moves the write-ahead log into the database file, so that
// the file's size is what the images take. A checkpoint that a reader
// kept from finishing is tried again.
func checkpoint(t *testing.T, path string) {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for try := 0; ; try++ {
		var busy, log, done int
		err := db.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &done)
		if err == nil && busy == 0 {
			return
		}
		if try == 50 {
			t.Logf("checkpoint: %v, busy %d, %d of %d pages", err, busy, done, log)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
