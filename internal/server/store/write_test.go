package store

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

var update = flag.Bool("update", false, "rewrite testdata/writes-*.golden")

// TestWritesBatched: a varied store (reads with lint and vulnerability
// findings, tags, deployments; re-match rounds with new, fixed, reopened
// and repeated findings, withdrawals, re-reads, images already at the
// version) written with whole batches, with one image a batch, and with
// the findings packed by the caller, holds the same in every table
// (events but their creation time), and that equals
// testdata/writes-ENGINE.golden, what the unbatched writes of bulwark
// before the multi-row statements stored (the engines number images
// differently). Both engines.
func TestWritesBatched(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			file := "testdata/writes-" + engine + ".golden"
			golden, err := os.ReadFile(file)
			if err != nil && !*update {
				t.Fatal(err)
			}
			var pg *postgres.Server
			if engine == "postgres" {
				pg = postgres.Start(t)
			}
			var first string
			for _, mode := range []string{"batches", "single", "packed"} {
				url := filepath.Join(t.TempDir(), "s.db")
				if pg != nil {
					url = pg.NewDB(t)
				}
				got := writeVaried(t, url, mode)
				if first == "" {
					first = got
					if *update {
						if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
							t.Fatal(err)
						}
						golden = []byte(got)
					}
					if got != string(golden) {
						t.Errorf("%s differs from %s:\n%s", mode, file, firstDiff(got, string(golden)))
					}
					continue
				}
				if got != first {
					t.Errorf("%s differs from batches:\n%s", mode, firstDiff(got, first))
				}
			}
		})
	}
}

// firstDiff shows the first line where a and b differ.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n got %s\nwant %s", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("%d lines, want %d", len(al), len(bl))
}

// writeVaried writes the varied store at url, its re-matches in whole
// batches, one image a batch ("single") or packed by the caller
// ("packed"), and dumps it.
func writeVaried(t *testing.T, url, mode string) string {
	ctx, s := openTest(t, url)
	rng := rand.New(rand.NewPCG(15, 2))
	sevs := []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info, finding.Unknown}
	vulns := func() []finding.Finding {
		var fs []finding.Finding
		for j := range 12 {
			if rng.IntN(3) == 0 {
				continue
			}
			fs = append(fs, finding.Finding{Gate: finding.GateVuln, ID: fmt.Sprintf("CVE-%d", j), Fingerprint: fmt.Sprint(j), Severity: sevs[rng.IntN(len(sevs))],
				Title: fmt.Sprint("title ", rng.IntN(3)), Vuln: &finding.VulnDetail{Package: fmt.Sprint("pkg", j), InstalledVersion: "1", FixedVersion: fmt.Sprint(rng.IntN(3))}})
		}
		if len(fs) > 0 && rng.IntN(4) == 0 {
			fs = append(fs, fs[0]) // reported twice
		}
		if rng.IntN(6) == 0 {
			fs = nil
		}
		return fs
	}
	lint := []finding.Finding{{Gate: finding.GateLint, ID: "DL3002", Severity: finding.Medium, Location: finding.Location{Field: "config.User"}},
		{Gate: finding.GateSecrets, ID: "aws-key", Severity: finding.Critical, Location: finding.Location{Path: "/etc/key"}}}
	const images = 16
	digests := make([]string, images)
	t0 := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	if err := s.ReportDeployments(ctx, []deployment.Deployment{{Platform: "k8s", Cluster: "c", Namespace: "n", Name: "web", Digest: fmt.Sprintf("sha256:%064x", 3), SeenAt: t0}}); err != nil {
		t.Fatal(err)
	}
	for i := range digests {
		digests[i] = fmt.Sprintf("sha256:%064x", i+1)
		for _, tag := range []string{"1", fmt.Sprint("v", i%3)}[:1+i%2] {
			if _, err := s.Add(ctx, "r", fmt.Sprintf("team/app%d", i%5), digests[i], tag); err != nil {
				t.Fatal(err)
			}
		}
		if i == images-1 {
			continue // stays pending
		}
		a := &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: t0.Add(time.Duration(i) * time.Minute), Vulns: vulns(), Other: lint[:i%3],
			Packages: []Package{{"npm", "a", "1"}, {"npm", fmt.Sprint("p", i%4), "2"}}}
		if err := s.Assessed(ctx, digests[i], a); err != nil {
			t.Fatal(err)
		}
	}
	for round := 2; round <= 7; round++ {
		at := t0.Add(time.Duration(round) * 5 * time.Hour)
		v := fmt.Sprintf("v%d", round)
		var rs []Rematch
		for i, d := range digests[:images-1] {
			if rng.IntN(5) == 0 {
				continue // not touched this round
			}
			r := Rematch{Digest: d, Vulns: vulns(), Version: v, At: at.Add(time.Duration(i) * time.Second)}
			if mode == "packed" {
				var err error
				if r.Packed, err = PackFindings(r.Vulns); err != nil {
					t.Fatal(err)
				}
			}
			rs = append(rs, r)
		}
		if round == 3 {
			rs = append(rs, rs[0]) // twice: at the version already
		}
		size := len(rs)
		if mode == "single" {
			size = 1
		}
		var written []string
		for len(rs) > 0 {
			w, err := s.Rematched(ctx, rs[:min(size, len(rs))])
			if err != nil {
				t.Fatal(err)
			}
			written = append(written, w...)
			rs = rs[min(size, len(rs)):]
		}
		if round%2 == 0 { // a second read of an image
			i := rng.IntN(images - 1)
			if err := s.Assessed(ctx, digests[i], &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: v, At: at, Vulns: vulns(), Other: lint[:round%3]}); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s round %d: wrote %d", mode, round, len(written))
	}
	if _, err := s.Rematched(ctx, []Rematch{{Digest: fmt.Sprintf("sha256:%064x", 99), Version: "v9"}}); err == nil {
		t.Error("re-matching an unknown image: no error")
	}
	return dump(t, s)
}

// dump is every table the writes touch, one row a line, stored findings
// decoded; events without their creation time.
func dump(t *testing.T, s *SQL) string {
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, digest, state, assessed_at, db_version FROM images`,
		`SELECT image_id, tag FROM tags`,
		`SELECT ecosystem, name, version, image_id FROM packages`,
		`SELECT image_id, seq, gate, severity, db_version, data FROM findings`,
		`SELECT image_id, key, gate, finding_id, severity, first_seen, new_version, COALESCE(fixed_at, '-'), fixed_version, data FROM history`,
		`SELECT id, image_id, dispatched, payload FROM events`,
		`SELECT image_id, repository, ` + countColumns + ` FROM image_counts`,
		`SELECT db_version, repository, image_id, added, fixed FROM version_changes`,
		`SELECT day, severity, added, fixed FROM trend`,
	} {
		fmt.Fprintf(&b, "%s\n", q)
		for _, l := range lines(t, s, q) {
			fmt.Fprintf(&b, "%s\n", strings.ReplaceAll(unpackLine(l), "\x00", "|"))
		}
	}
	return b.String()
}

// unpackLine replaces compressed stored JSON in a dumped row by the JSON.
func unpackLine(l string) string {
	if i := strings.Index(l, string(zstdMagic)); i >= 0 {
		if raw, err := unpack([]byte(l[i:])); err == nil {
			return l[:i] + string(raw)
		}
	}
	return l
}
