package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/server/store"
)

const token = "dash-token"

var (
	dAPI  = "sha256:" + strings.Repeat("a", 64)
	dWeb  = "sha256:" + strings.Repeat("b", 64)
	dBase = "sha256:" + strings.Repeat("c", 64)
	dBad  = "sha256:" + strings.Repeat("d", 64)
)

func vuln(id string, sev finding.Severity, pkg, version, fixed string, layer int, createdBy string) finding.Finding {
	return finding.Finding{Gate: finding.GateVuln, ID: id, Severity: sev, Title: pkg + " <b>flaw</b>", Fingerprint: "fp-" + id + pkg,
		Location: finding.Location{Layer: &finding.LayerRef{Index: layer, CreatedBy: createdBy, Digest: "sha256:" + strings.Repeat("9", 64)}},
		Vuln:     &finding.VulnDetail{Package: pkg, Ecosystem: "Debian:12", InstalledVersion: version, FixedVersion: fixed}}
}

// seed stores four images: api (critical findings in two layers, one
// fixed by database v2), web (high, stale: from v1), base (pending) and
// bad (failed). The database in use is v2.
func seed(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, im := range []struct{ repo, digest, tag string }{{"team/api", dAPI, "1.4"}, {"team/web", dWeb, "latest"}, {"base/debian", dBase, "12"}, {"team/bad", dBad, "x"}} {
		if _, err := st.Add(ctx, "registry.example", im.repo, im.digest, im.tag); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	base := "/bin/sh -c #(nop) ADD file:debian-rootfs in /"
	app := "RUN apt-get install -y libssl3"
	api := []finding.Finding{
		vuln("CVE-2026-1111", finding.Critical, "openssl", "3.0.11-1", "3.0.15-1", 1, app),
		vuln("CVE-2026-2222", finding.High, "zlib1g", "1:1.2.13", "", 0, base),
		vuln("CVE-2026-3333", finding.Medium, "bash", "5.2.15", "5.2.15-2", 0, base),
	}
	other := []finding.Finding{{Gate: finding.GateLint, ID: "DL3002", Severity: finding.Medium, Title: "last USER is root", Location: finding.Location{Field: "config.User"}}}
	if err := st.Assessed(ctx, dAPI, &store.Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: t0, Vulns: api, Other: other, Signature: "signed", Signer: "cosign.pub"}); err != nil {
		t.Fatal(err)
	}
	gone := t0.Add(48 * time.Hour)
	if err := st.ReportDeployments(ctx, []deployment.Deployment{{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: "shop", Name: "deployment/api", Digest: dAPI, SeenAt: t0},
		{Platform: deployment.ECS, Cluster: "prod", Name: "api-old", Digest: dAPI, SeenAt: t0}, {Platform: deployment.ECS, Cluster: "prod", Name: "api-old", SeenAt: gone, GoneAt: &gone}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Assessed(ctx, dWeb, &store.Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: t0,
		Vulns: []finding.Finding{vuln("CVE-2026-4444", finding.High, "curl", "7.88.1", "7.88.1-10", 0, base)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Failed(ctx, dBad, io.ErrUnexpectedEOF); err != nil {
		t.Fatal(err)
	}
	// Database v2: bash's advisory withdrawn, a new critical for openssl.
	api2 := append(api[:2:2], vuln("CVE-2026-5555", finding.Critical, "openssl", "3.0.11-1", "3.0.16-1", 1, app))
	if _, err := st.Rematched(ctx, []store.Rematch{{Digest: dAPI, Vulns: api2, Version: "v2", At: t0.Add(72 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	return st
}

func newDashboard(t testing.TB) http.Handler {
	st := seed(t)
	return New(Options{Store: st, Token: token, FailOn: policy.AtLeast(finding.High), Status: func() Status {
		return Status{DBVersion: "v2", DBBuiltAt: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), Advisories: 1234, ImageReads: 3}
	}})
}

// login logs in through the form and returns a client with the session.
func login(t *testing.T, base string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {token}, "next": {"/ui/changes"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/changes" {
		t.Fatalf("login: HTTP %d at %s: %s", resp.StatusCode, resp.Request.URL, body)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Without the token a page sends to the login page; a wrong token is
// refused; the right one sets a session cookie that opens every page; a
// bearer token works too.
func TestAuth(t *testing.T) {
	ts := httptest.NewServer(newDashboard(t))
	defer ts.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(ts.URL + "/ui/images/" + dAPI)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/login?next=") {
		t.Errorf("no session: HTTP %d to %q, want 303 to the login page", resp.StatusCode, loc)
	}
	resp, err = http.PostForm(ts.URL+"/ui/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "the token is wrong") {
		t.Errorf("wrong token: HTTP %d %s", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		t.Errorf("a wrong token set cookie %s", c.Name)
	}
	// An open redirect is not followed.
	if got := next("//evil.example/ui/"); got != "/ui/" {
		t.Errorf("next(//evil.example) = %q", got)
	}
	c := login(t, ts.URL)
	for _, u := range []string{"/ui/", "/ui/images/" + dAPI, "/ui/changes"} {
		if code, _ := get(t, c, ts.URL+u); code != http.StatusOK {
			t.Errorf("%s with the session: HTTP %d", u, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/ui/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("bearer token: %v %v", resp, err)
	}
	req.Header.Set("Authorization", "Bearer nope")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong bearer token: %v %v", resp, err)
	}
}

// rowOrder returns the repositories of the overview's image table in
// order.
func rowOrder(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<a href="/ui/images/sha256:[0-9a-f]+">registry.example/([^<]+)</a>`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The overview lists the images by risk, marks the stale one, counts the
// jobs and the last update's changes, and draws the trend.
func TestOverview(t *testing.T) {
	ts := httptest.NewServer(newDashboard(t))
	defer ts.Close()
	_, body := get(t, login(t, ts.URL), ts.URL+"/ui/")
	if got := strings.Join(rowOrder(body), " "); got != "team/api team/web base/debian team/bad" {
		t.Errorf("images by risk: %s", got)
	}
	for _, want := range []string{
		`<b>4</b> stored: 2 assessed, 1 stale`,
		`<b>1</b> waiting to be read`, `<b>1</b> failed`,
		`<b class="new">1</b> new, <b class="fixed">1</b> fixed in 1 image(s)`,
		`<span class="badge stale">stale</span>`,
		`<td class="n critical some">2</td>`,
		`<svg class="chart"`, `<polyline class="series all"`, `critical and high: 4`,
		`1234 advisories`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
}

// The overview pages the images by risk, MaxRows a page, from the
// store's risk order.
func TestOverviewPages(t *testing.T) {
	st := seed(t)
	ctx := context.Background()
	for i := range MaxRows {
		if _, err := st.Add(ctx, "registry.example", fmt.Sprintf("more/app%03d", i), fmt.Sprintf("sha256:%064x", i+1), "1"); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(New(Options{Store: st, Token: token, Status: func() Status { return Status{DBVersion: "v2"} }}))
	defer ts.Close()
	c := login(t, ts.URL)
	_, body := get(t, c, ts.URL+"/ui/")
	rows := rowOrder(body)
	if len(rows) != MaxRows || strings.Join(rows[:3], " ") != "team/api team/web base/debian" || rows[3] != "more/app000" ||
		!strings.Contains(body, `page 1 of 2`) || !strings.Contains(body, `href="/ui/?page=2" rel="next"`) || strings.Contains(body, `rel="prev"`) {
		t.Errorf("page 1: %d rows, from %v", len(rows), rows[:min(4, len(rows))])
	}
	_, body = get(t, c, ts.URL+"/ui/?page=2")
	if rows := rowOrder(body); strings.Join(rows, " ") != "more/app197 more/app198 more/app199 team/bad" ||
		!strings.Contains(body, `Images 201-204 of 204, page 2 of 2`) || !strings.Contains(body, "<td>x</td>") || !strings.Contains(body, `href="/ui/?page=1" rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Errorf("page 2: %v", rows)
	}
	if code, _ := get(t, c, ts.URL+"/ui/?page=0"); code != http.StatusBadRequest {
		t.Errorf("page 0: HTTP %d, want 400", code)
	}
}

// The image page shows the findings by severity with their package,
// layer and first-seen time, the layers with what each brings, and the
// fixed findings; titles are escaped.
func TestImagePage(t *testing.T) {
	ts := httptest.NewServer(newDashboard(t))
	defer ts.Close()
	c := login(t, ts.URL)
	code, body := get(t, c, ts.URL+"/ui/images/"+dAPI)
	if code != http.StatusOK {
		t.Fatalf("HTTP %d", code)
	}
	for _, want := range []string{
		"registry.example/team/api", "1.4", `<span class="badge fail">fail</span>`,
		"openssl 3.0.11-1 → 3.0.16-1", "CVE-2026-5555", "2026-11-23 09:00", "2026-11-20 09:00",
		"RUN apt-get install -y libssl3", "ADD file:debian-rootfs",
		"Fixed (1)", "bash 5.2.15 → 5.2.15-2", "openssl &lt;b&gt;flaw&lt;/b&gt;", "config.User",
		`signature <span class="badge sig-signed">signed</span> by <code>cosign.pub</code>`,
		"Running in (1)", "<td>kubernetes</td><td>prod</td><td>shop</td><td>deployment/api</td><td>2026-11-20 09:00</td>",
		"No longer running (1)", "<td>ecs</td><td>prod</td><td></td><td>api-old</td><td>2026-11-20 09:00</td><td>2026-11-20 09:00</td><td>2026-11-22 09:00</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("image page lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>flaw</b>") {
		t.Error("a finding title is not escaped")
	}
	if i, j := strings.Index(body, "CVE-2026-1111"), strings.Index(body, "CVE-2026-2222"); i < 0 || j < 0 || i > j {
		t.Error("findings not by severity")
	}
	if code, _ := get(t, c, ts.URL+"/ui/images/sha256:"+strings.Repeat("e", 64)); code != http.StatusNotFound {
		t.Errorf("unknown image: HTTP %d", code)
	}
	_, body = get(t, c, ts.URL+"/ui/images/"+dWeb)
	if !strings.Contains(body, "stale: from database v1") {
		t.Error("the stale image is not marked")
	}
	if !strings.Contains(body, "No deployment reported.") || strings.Contains(body, "signature <span") {
		t.Error("an image running nowhere, signature not checked, shows otherwise")
	}
}

// The changes page lists what database v2 made new and fixed.
func TestChangesPage(t *testing.T) {
	ts := httptest.NewServer(newDashboard(t))
	defer ts.Close()
	_, body := get(t, login(t, ts.URL), ts.URL+"/ui/changes")
	for _, want := range []string{"What database <code>v2</code> changed", `<span class="badge new">new</span>`, "CVE-2026-5555", `<span class="badge fixed">fixed</span>`, "CVE-2026-3333"} {
		if !strings.Contains(body, want) {
			t.Errorf("changes page lacks %q", want)
		}
	}
	_, body = get(t, login(t, ts.URL), ts.URL+"/ui/changes?dbVersion=v1")
	if !strings.Contains(body, "made no finding new or fixed") {
		t.Error("v1 (the first reads) shows changes")
	}
}
