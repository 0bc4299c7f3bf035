package cli

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/chromium"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

// hostileHistory is a history line that would run a script if the report
// did not escape it.
const hostileHistory = `COPY lib /app/lib # <script>document.body.dataset.pwned="1"</script>`

// htmlImage is the clean fixture image plus a layer with a vulnerable
// log4j-core, added by a hostile history line.
func htmlImage(t *testing.T) string {
	t.Helper()
	jar := testutil.File{Path: "app/lib/log4j-core-2.14.1.jar", Content: log4jJar(t, "2.14.1")}
	steps := append(fixtures.CleanSteps(t), testutil.Step{CreatedBy: hostileHistory, Layer: testutil.Layer(t, jar)})
	return testutil.WriteDockerArchive(t, testutil.Image(t, fixtures.CleanConfig(), steps...))
}

// fetchesRemote matches an attribute that makes a browser fetch a URL.
var fetchesRemote = regexp.MustCompile(`(?i)\b(src|href|xlink:href|action|poster)\s*=\s*["']?\s*(https?:)?//`)

func TestHTMLEveryCommand(t *testing.T) {
	img, db, dir := htmlImage(t), scanDB(t), t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"scan", []string{"scan", "--input", img, "--db", db}, 1, "GHSA-jfh8-c2jp-5v3q"},
		{"lint", []string{"lint", "--input", img}, 0, `id="gate-lint"`},
		{"secrets", []string{"secrets", "--input", img}, 0, `id="gate-secrets"`},
		{"sbom", []string{"sbom", "--input", img, "--no-cache"}, 0, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"},
	} {
		out := filepath.Join(dir, tc.name+".html")
		code, _, stderr := runCLI(t, append(tc.args, "-f", "html", "-o", out)...)
		if code != tc.code {
			t.Errorf("%s -f html: exit %d, want %d: %s", tc.name, code, tc.code, stderr)
			continue
		}
		page, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"<!DOCTYPE html>", tc.want} {
			if !strings.Contains(string(page), want) {
				t.Errorf("%s -f html lacks %q", tc.name, want)
			}
		}
		if strings.Contains(string(page), "<script") {
			t.Errorf("%s -f html has a <script> element", tc.name)
		}
		if m := fetchesRemote.FindString(string(page)); m != "" {
			t.Errorf("%s -f html fetches %q", tc.name, m)
		}
	}
}

// proxyTrap listens on 127.0.0.1 and records the first line of every
// connection: given to chromium as its proxy for every URL, it sees any
// fetch a page attempts.
type proxyTrap struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
}

func startProxyTrap(t *testing.T) *proxyTrap {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxyTrap{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			p.mu.Lock()
			p.lines = append(p.lines, strings.TrimSpace(line))
			p.mu.Unlock()
		}
	}()
	return p
}

// browserOwn matches the requests chromium makes by itself whatever the
// page (its clock, component updater, account and optimization-guide
// services), which flags do not all turn off.
var browserOwn = regexp.MustCompile(`^(GET|POST|CONNECT) (http://)?[a-z0-9.-]+\.(google\.com|googleapis\.com)[:/]`)

// pageRequests returns the requests recorded so far that the browser does
// not make by itself, and forgets them all.
func (p *proxyTrap) pageRequests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if !browserOwn.MatchString(l) {
			out = append(out, l)
		}
	}
	p.lines = nil
	return out
}

// TestHTMLInChromium renders the scan report of a vulnerable image in
// headless chromium with every request sent to a trap: the findings,
// verdict and layer show, the hostile history line is text, and the page
// asks for nothing.
func TestHTMLInChromium(t *testing.T) {
	b := chromium.Require(t)
	trap := startProxyTrap(t)
	b.Args = []string{"--proxy-server=http://" + trap.ln.Addr().String(), "--proxy-bypass-list=<-loopback>",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-domain-reliability"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The trap sees what a page fetches: a control page with one remote
	// image.
	control := filepath.Join(t.TempDir(), "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><p>control</p><img src="http://trap.invalid/x.png">`), 0o644)
	if _, err := b.DOM(ctx, "file://"+control); err != nil {
		t.Fatal(err)
	}
	if reqs := trap.pageRequests(); !slices.ContainsFunc(reqs, func(r string) bool { return strings.Contains(r, "trap.invalid") }) {
		t.Fatalf("the proxy trap did not see the control page's image (saw %q)", reqs)
	}

	out := filepath.Join(t.TempDir(), "scan.html")
	if code, _, stderr := runCLI(t, "scan", "--input", htmlImage(t), "--db", scanDB(t), "-f", "html", "-o", out); code != 1 {
		t.Fatalf("scan -f html: exit %d, want 1: %s", code, stderr)
	}
	url := "file://" + out
	dom, err := b.DOM(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`id="verdict">FAIL<`, "GHSA-jfh8-c2jp-5v3q", "log4j-core", "2.14.1", `id="gate-vuln"`, `id="gate-lint"`, `id="gate-secrets"`,
		"layer 2", "&lt;script&gt;document.body.dataset.pwned", `<svg id="chart"`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "data-pwned") {
		t.Error("the hostile history line ran as a script")
	}
	shot := filepath.Join(t.ArtifactDir(), "scan-report.png")
	if err := b.Screenshot(ctx, url, shot, 1200, 1600); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if reqs := trap.pageRequests(); len(reqs) > 0 {
		t.Errorf("the page made %d network request(s): %q", len(reqs), reqs)
	}
}
