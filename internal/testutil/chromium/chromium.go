// Package chromium drives Debian's headless chromium for tests that look
// at HTML pages: it finds the binary, runs it headless with a fresh
// temporary profile (and --no-sandbox, as tests may run as root), and
// takes a screenshot or dumps the DOM, each bounded by a timeout.
package chromium

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// DefaultTimeout bounds one chromium run when the context has no deadline.
const DefaultTimeout = 60 * time.Second

// names are the executables tried, in order, after $BULWARK_CHROMIUM.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Browser is a chromium binary and a folder for its profiles.
type Browser struct {
	// Path is the chromium executable.
	Path string
	// Args are extra flags for every run (a --proxy-server that records
	// what the page tries to fetch, say).
	Args []string
	dir  string
}

// Find returns the chromium executable: $BULWARK_CHROMIUM when set, else
// the first of chromium, chromium-browser, google-chrome on $PATH.
func Find() (string, error) {
	if p := os.Getenv("BULWARK_CHROMIUM"); p != "" {
		return exec.LookPath(p)
	}
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium found (tried $BULWARK_CHROMIUM, %s)", strings.Join(names, ", "))
}

// Require returns a Browser whose profiles live in the test's temporary
// folder, skipping the test when chromium is not installed (failing it
// under BULWARK_INTEGRATION=1: .ci/run installs Debian's chromium).
func Require(t testing.TB) *Browser {
	t.Helper()
	p, err := Find()
	if err != nil {
		if testutil.Integration() {
			t.Fatalf("%v; .ci/run installs Debian's chromium", err)
		}
		t.Skipf("%v (apt-get install --no-install-recommends chromium)", err)
	}
	return &Browser{Path: p, dir: t.TempDir()}
}

// Screenshot loads url and writes a PNG of the first width x height
// pixels of the page to out.
func (b *Browser) Screenshot(ctx context.Context, url, out string, width, height int) error {
	_, err := b.run(ctx, "--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", width, height), url)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return fmt.Errorf("chromium wrote no screenshot of %s to %s", url, out)
	}
	return nil
}

// DOM loads url and returns the document as chromium serializes it once
// the page has loaded (after its scripts, if any, ran).
func (b *Browser) DOM(ctx context.Context, url string) (string, error) {
	return b.run(ctx, "--dump-dom", url)
}

// run starts chromium headless on a fresh profile with args, and returns
// its standard output. The whole process group is killed when ctx ends or
// DefaultTimeout passes.
func (b *Browser) run(ctx context.Context, args ...string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	profile, err := os.MkdirTemp(b.dir, "profile-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(profile)
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
		"--user-data-dir=" + profile}
	base = append(base, b.Args...)
	cmd := exec.CommandContext(ctx, b.Path, append(base, args...)...)
	cmd.Dir = profile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Errorf("chromium %s: %w", strings.Join(args, " "), ctx.Err())
	}
	if err != nil {
		return "", fmt.Errorf("chromium %s: %v: %s", strings.Join(args, " "), err, tail(stderr.String()))
	}
	return stdout.String(), nil
}

// tail is the end of chromium's log, enough to say why it failed.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}
