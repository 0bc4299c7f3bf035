package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestSourceGitRevision clones a real repository at a pinned revision:
// HEAD adds an AWS key, the pinned first commit does not, so the secrets
// gate passes at the revision and fails without it. Tag data comes from
// the checked-out commit.
func TestSourceGitRevision(t *testing.T) {
	testutil.RequireTool(t, "git")
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL="+filepath.Join(repo, ".none"), "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	write := func(p, c string) {
		if err := os.WriteFile(filepath.Join(repo, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("app.js", "console.log('v1')\n")
	git("add", ".")
	git("commit", "-q", "-m", "v1")
	first := git("rev-parse", "HEAD")
	write("config.js", "module.exports = {\n  accessKeyId: \"AKIA"+"Z7Q2VN4LX3KJP5WD\",\n  secretAccessKey: \"q8Jf2kLmN3pQ9rS7tU1vW4"+"xY6zA0bC5dE+gH/iKo\",\n};\n")
	git("add", ".")
	git("commit", "-q", "-m", "v2 leaks a key")

	run := func(revision string) (*pipeline.Run, error, string) {
		dir := t.TempDir()
		yaml := fmt.Sprintf("version: 1\nsource: {git: %q, revision: %q}\nsecrets: {failOn: any}\n", "file://"+repo, revision)
		path := filepath.Join(dir, "bulwark.yaml")
		f, err := pipeline.Parse(strings.NewReader(yaml), path, pipeline.ValidateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		r, err := pipeline.Execute(context.Background(), pipeline.Options{File: f, Out: &out, Env: func(string) string { return "" }})
		return r, err, out.String()
	}
	r, err, out := run(first)
	if err != nil {
		t.Fatalf("at the first commit: %v\n%s", err, out)
	}
	if r.GitCommit != first || !strings.Contains(out, first[:7]) {
		t.Errorf("run commit %q, want %q; output:\n%s", r.GitCommit, first, out)
	}
	if _, err, out = run(""); err == nil || !strings.Contains(err.Error(), "aws-access-key-id") {
		t.Errorf("at HEAD the secrets gate must fail on the AWS key: %v\n%s", err, out)
	}
	if _, err, out = run("no-such-revision"); err == nil || !strings.Contains(err.Error()+out, "no-such-revision") {
		t.Errorf("a missing revision must fail naming it: %v\n%s", err, out)
	}
}

func TestSourceRefusesOptionLikeValues(t *testing.T) {
	for _, y := range []string{
		"version: 1\nsource: {git: \"--upload-pack=touch /tmp/pwned\"}\nsecrets: {}\n",
		"version: 1\nsource: {git: \"file:///x\", revision: \"--orphan=x\"}\nsecrets: {}\n",
	} {
		if _, err := pipeline.Parse(strings.NewReader(y), "bulwark.yaml", pipeline.ValidateOptions{}); err == nil || !strings.Contains(err.Error(), "must not start with") {
			t.Errorf("accepted %q: %v", y, err)
		}
	}
}

// TestStageTimeout: a source that never answers (a listener on 127.0.0.1
// that accepts and stays silent) is cut off by the stage's timeout, and
// the run fails saying so instead of hanging.
func TestStageTimeout(t *testing.T) {
	testutil.RequireTool(t, "git")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	yaml := fmt.Sprintf("version: 1\nsource: {git: \"http://%s/repo.git\", timeout: 1s}\nsecrets: {}\n", l.Addr())
	f, err := pipeline.Parse(strings.NewReader(yaml), filepath.Join(t.TempDir(), "bulwark.yaml"), pipeline.ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on the test, not an assertion
	defer cancel()
	run, err := pipeline.Execute(ctx, pipeline.Options{File: f, Out: &out, Env: func(string) string { return "" }})
	if err == nil {
		t.Fatalf("a source that never answers passed:\n%s", out.String())
	}
	if !strings.Contains(err.Error()+out.String(), "timed out") && !strings.Contains(err.Error()+out.String(), "timeout") {
		t.Errorf("the failure must say the stage timed out: %v\n%s", err, out.String())
	}
	if st := run.Stage("source"); st == nil || st.Verdict == "passed" {
		t.Errorf("source stage: %+v", st)
	}
}
