package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

func dig(c string) string { return "sha256:" + strings.Repeat(c, 64) }

// Reported deployments are listed with their image and in its events,
// re-reports move seenAt but keep firstSeen, and expired ones are no
// longer listed; a moved tag leaves the image it pointed at.
func testDeployments(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	s.SetDeploymentExpiry(time.Hour)
	d1, d2 := dig("1"), dig("2")
	for _, d := range []string{d1, d2} {
		if _, err := s.Add(ctx, "r", "repo", d, "latest"); err != nil {
			t.Fatal(err)
		}
	}
	if im, _ := s.Image(ctx, d1); len(im.Tags) != 0 {
		t.Errorf("%s keeps tags %v after latest moved to %s", d1, im.Tags, d2)
	}
	if im, _ := s.Image(ctx, d2); fmt.Sprint(im.Tags) != "[latest]" {
		t.Errorf("%s tags %v, want [latest]", d2, im.Tags)
	}
	now := time.Now().UTC()
	web := deployment.Deployment{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: "shop", Name: "deployment/web", Digest: d1, SeenAt: now.Add(-10 * time.Minute)}
	old := deployment.Deployment{Platform: deployment.ECS, Cluster: "prod", Name: "api", Digest: d1, SeenAt: now.Add(-2 * time.Hour)}
	if err := s.ReportDeployments(ctx, []deployment.Deployment{web, old}); err != nil {
		t.Fatal(err)
	}
	web.SeenAt = now
	if err := s.ReportDeployments(ctx, []deployment.Deployment{web}); err != nil {
		t.Fatal(err)
	}
	im, err := s.Image(ctx, d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Deployments) != 1 || im.Deployments[0].String() != "kubernetes/prod/shop/deployment/web" {
		t.Fatalf("deployments of %s: %+v; want only the web one (api expired)", d1, im.Deployments)
	}
	got := im.Deployments[0]
	if !got.SeenAt.Equal(now) || got.FirstSeen == nil || !got.FirstSeen.Equal(now.Add(-10*time.Minute)) {
		t.Errorf("seenAt %v firstSeen %v; want %v and 10 minutes before", got.SeenAt, got.FirstSeen, now)
	}
	all, _ := s.Deployments(ctx, "", false)
	if len(all) != 1 {
		t.Errorf("all deployments %+v, want 1", all)
	}
	if err := s.Assessed(ctx, d1, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: now, Signature: "signed", Signer: "cosign.pub",
		Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.High}}}); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.Undispatched(ctx, 10)
	ev, err := s.Event(ctx, ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Deployments) != 1 || ev.Deployments[0].Name != "deployment/web" {
		t.Errorf("event deployments %+v, want deployment/web", ev.Deployments)
	}
	if im, _ := s.Image(ctx, d1); im.Signature != "signed" || im.Signer != "cosign.pub" {
		t.Errorf("signature %q signer %q", im.Signature, im.Signer)
	}
}

// Retention removes exactly what aged out: untagged images running
// nowhere (with their findings, history and events), fixed history rows,
// dispatched events and deployments not reported again; tagged, running,
// recent and open things stay.
func testRetention(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	vuln := func(ids ...string) []finding.Finding {
		var out []finding.Finding
		for _, id := range ids {
			out = append(out, finding.Finding{Gate: finding.GateVuln, ID: id, Severity: finding.High})
		}
		return out
	}
	// untagged: lost its tag; running: untagged but running; tagged;
	// fresh: untagged, seen now.
	untagged, running, tagged := dig("a"), dig("b"), dig("c")
	for _, d := range []string{untagged, running, tagged} {
		if _, err := s.Add(ctx, "r", "repo", d, "v1"); err != nil {
			t.Fatal(err)
		}
		if err := s.Assessed(ctx, d, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(), Vulns: vuln("CVE-1", "CVE-2"),
			Packages: []Package{{"npm", "x", "1.0.0"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Add(ctx, "r", "repo", running, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "r", "repo", tagged, "v1"); err != nil { // v1 moves: untagged and running lose it
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, "r", "repo", running, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, s.dialect.rebind(`DELETE FROM tags WHERE image_id = (SELECT id FROM images WHERE digest = ?)`), running); err != nil {
		t.Fatal(err)
	}
	fresh := dig("d")
	if _, err := s.Add(ctx, "r", "repo", fresh, ""); err != nil {
		t.Fatal(err)
	}
	// A re-match fixes CVE-2 of the tagged image: one fixed history row.
	if _, err := s.Rematched(ctx, []Rematch{{Digest: tagged, Vulns: vuln("CVE-1"), Version: "v2", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.Undispatched(ctx, 100)
	if err := s.MarkDispatched(ctx, ids[:len(ids)-1]); err != nil { // the last event stays undispatched
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.ReportDeployments(ctx, []deployment.Deployment{
		{Platform: deployment.ECS, Cluster: "c", Name: "svc", Digest: running, SeenAt: now},
		{Platform: deployment.ECS, Cluster: "c", Name: "gone", Digest: tagged, SeenAt: now.Add(-48 * time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		var n int
		if err := s.x().QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	snapshot := func() string {
		return fmt.Sprintf("images=%d tags=%d packages=%d findings=%d history=%d fixed=%d events=%d deployments=%d",
			count(`SELECT COUNT(*) FROM images`), count(`SELECT COUNT(*) FROM tags`), count(`SELECT COUNT(*) FROM packages`),
			count(`SELECT COUNT(*) FROM findings`), count(`SELECT COUNT(*) FROM history`), count(`SELECT COUNT(*) FROM history WHERE fixed_at IS NOT NULL`),
			count(`SELECT COUNT(*) FROM events`), count(`SELECT COUNT(*) FROM deployments`))
	}
	trend := func() string {
		days, err := s.Trend(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, f := 0, 0
		for _, d := range days {
			n, f = n+d.New, f+d.Fixed
		}
		return fmt.Sprintf("new=%d fixed=%d", n, f)
	}
	if got := trend(); got != "new=6 fixed=1" {
		t.Fatalf("trend before: %s", got)
	}
	before := snapshot()
	if want := "images=4 tags=1 packages=3 findings=5 history=6 fixed=1 events=4 deployments=2"; before != want {
		t.Fatalf("before: %s\nwant    %s", before, want)
	}
	// Nothing is old enough a day from now for 30-day rules.
	r := Retention{Images: 30 * 24 * time.Hour, History: 30 * 24 * time.Hour, Events: 30 * 24 * time.Hour, Deployments: 72 * time.Hour, Now: now.Add(24 * time.Hour)}
	if p, err := s.Prune(ctx, r); err != nil || *p != (Pruned{}) {
		t.Fatalf("prune a day later: %+v, %v; want nothing", p, err)
	}
	if got := snapshot(); got != before {
		t.Fatalf("a prune that removes nothing changed %s\n to %s", before, got)
	}
	// 31 days on, the running image reported again an hour before: the
	// untagged image not running and the fresh one go (with untagged's 2
	// findings, 2 history rows and its event), as do the fixed history
	// row, the dispatched events and the deployment not reported for 48
	// h; the tagged image, the running one and the undispatched event
	// stay.
	r.Now, r.Deployments = now.Add(31*24*time.Hour), 24*time.Hour
	if err := s.ReportDeployments(ctx, []deployment.Deployment{{Platform: deployment.ECS, Cluster: "c", Name: "svc", Digest: running, SeenAt: r.Now.Add(-time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Prune(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Pruned{Images: 2, History: 1, Events: 2, Deployments: 1}); *p != want {
		t.Errorf("pruned %+v, want %+v", *p, want)
	}
	if got, want := snapshot(), "images=2 tags=1 packages=2 findings=3 history=3 fixed=0 events=1 deployments=1"; got != want {
		t.Errorf("after: %s\nwant   %s", got, want)
	}
	// The trend forgets the removed images' findings, and keeps the fixed
	// finding whose history row went.
	if got := trend(); got != "new=4 fixed=1" {
		t.Errorf("trend after: %s, want new=4 fixed=1", got)
	}
	for _, d := range []string{untagged, fresh} {
		if _, err := s.Image(ctx, d); err != ErrNotFound {
			t.Errorf("pruned image %s: %v, want ErrNotFound", d, err)
		}
	}
	if _, err := s.Image(ctx, running); err != nil {
		t.Errorf("the running image: %v", err)
	}
	if _, err := s.Image(ctx, tagged); err != nil {
		t.Errorf("the tagged image: %v", err)
	}
}

// testRetentionTotals: an update's counts leave with the images
// retention removes.
func testRetentionTotals(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	now := time.Now()
	vuln := func(id string) []finding.Finding {
		return []finding.Finding{{Gate: finding.GateVuln, ID: id, Severity: finding.High}}
	}
	for i, tag := range []string{"", "", "kept"} { // two untagged images, one tagged
		d := dig(fmt.Sprint(i))
		if _, err := s.Add(ctx, "r", "repo", d, tag); err != nil {
			t.Fatal(err)
		}
		if err := s.Assessed(ctx, d, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: now, Vulns: vuln("CVE-1")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rematched(ctx, []Rematch{{Digest: d, Vulns: vuln("CVE-2"), Version: "v2", At: now}}); err != nil {
			t.Fatal(err)
		}
	}
	changes := func() string {
		c, err := s.Changes(ctx, "v2", 0)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("new=%d fixed=%d images=%d listed=%d", c.New, c.Fixed, c.Images, len(c.List))
	}
	if got, want := changes(), "new=3 fixed=3 images=3 listed=6"; got != want {
		t.Fatalf("before: %s, want %s", got, want)
	}
	if p, err := s.Prune(ctx, Retention{Images: time.Hour, Now: now.Add(2 * time.Hour)}); err != nil || p.Images != 2 {
		t.Fatalf("prune: %+v, %v; want 2 images", p, err)
	}
	if got, want := changes(), "new=1 fixed=1 images=1 listed=2"; got != want {
		t.Errorf("after: %s, want %s", got, want)
	}
}
