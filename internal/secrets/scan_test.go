package secrets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func paths(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Location.Path)
	}
	return out
}

func TestScanDir(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write(t, root, "app/config.py", "\n\nAWS_KEY = '"+fakeAKID+"'\n")
	write(t, root, "app/ok.py", "print('hello')\n")
	write(t, root, ".gitignore", "build/\n*.log\n!keep.log\n")
	write(t, root, "build/out.txt", fakeGHP+"\n")
	write(t, root, "debug.log", fakeGHP+"\n")
	write(t, root, "keep.log", "token "+fakeGHP+"\n")
	write(t, root, "sub/.gitignore", "local.env\n")
	write(t, root, "sub/local.env", fakeGHP+"\n")
	write(t, root, ".git/config", fakeGHP+"\n")
	write(t, root, "bin/tool", "\x7fELF\x00\x00"+fakeGHP)
	write(t, root, "latin1.txt", "caf\xe9 \xff\xfe key="+fakeAKID+"\n")
	write(t, outside, "secret.txt", fakeGHP+"\n")
	must(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(root, "outside-link")))
	must(t, os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "broken-link")))
	must(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	sparse, err := os.Create(filepath.Join(root, "huge.img"))
	must(t, err)
	must(t, sparse.Truncate(10<<30)) // 10 GB of holes: sniffed as binary at once
	must(t, sparse.Close())

	res, err := ScanDir(context.Background(), root, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(paths(res.Findings), ",")
	if got != "app/config.py,keep.log,latin1.txt" {
		t.Errorf("findings in %s, want app/config.py,keep.log,latin1.txt", got)
	}
	f := res.Findings[0]
	if f.ID != "aws-access-key-id" || f.Location.Line != 3 || f.Gate != finding.GateSecrets {
		t.Errorf("finding = %+v", f)
	}
	if f.Secret.Redacted != "AKIA*****" || strings.Contains(f.Message, fakeAKID) || f.Secret.AWSAccount == "" {
		t.Errorf("secret detail = %+v, message %q", f.Secret, f.Message)
	}
	if f.Fingerprint == "" {
		t.Error("no fingerprint")
	}
	want := map[string]int{SkipBinary: 2, SkipIgnored: 3, SkipSymlink: 2, SkipSpecial: 1}
	for reason, n := range want {
		if res.Skipped[reason] != n {
			t.Errorf("skipped %q = %d, want %d (all: %v)", reason, res.Skipped[reason], n, res.Skipped)
		}
	}
	warnings := strings.Join(res.Warnings, "\n")
	for _, w := range []string{"skipped 8 file(s)", "broken symbolic link", "outside the scanned tree"} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings lack %q:\n%s", w, warnings)
		}
	}

	res, err = ScanDir(context.Background(), root, DirOptions{NoGitignore: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths(res.Findings), ","); got != "app/config.py,build/out.txt,debug.log,keep.log,latin1.txt,sub/local.env" {
		t.Errorf("--no-gitignore: findings in %s", got)
	}
}

func TestScanDirUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	root := t.TempDir()
	write(t, root, "locked/a.txt", fakeGHP)
	write(t, root, "secret.txt", fakeGHP)
	must(t, os.Chmod(filepath.Join(root, "secret.txt"), 0))
	must(t, os.Chmod(filepath.Join(root, "locked"), 0))
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "locked"), 0o755) })
	res, err := ScanDir(context.Background(), root, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped[SkipUnreadable] != 2 {
		t.Errorf("skipped = %v, want 2 unreadable", res.Skipped)
	}
}

func TestScanDirMissing(t *testing.T) {
	_, err := ScanDir(context.Background(), filepath.Join(t.TempDir(), "nope"), DirOptions{})
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want one naming the input", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// gitRepo makes a real repository with three commits: the first adds an
// AWS key, the second deletes it, the third adds a GitHub token.
func gitRepo(t *testing.T) (dir string, commits []string) {
	t.Helper()
	testutil.RequireTool(t, "git")
	dir = t.TempDir()
	emptyConfig := filepath.Join(t.TempDir(), "gitconfig")
	write(t, filepath.Dir(emptyConfig), "gitconfig", "")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+emptyConfig, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Ada", "GIT_AUTHOR_EMAIL=ada@example.com", "GIT_COMMITTER_NAME=Ada", "GIT_COMMITTER_EMAIL=ada@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	write(t, dir, "deploy/env.sh", "#!/bin/sh\nexport A=1\nexport AWS_ACCESS_KEY_ID="+fakeAKID+"\n")
	run("add", ".")
	run("commit", "-q", "-m", "add deploy")
	commits = append(commits, run("rev-parse", "HEAD"))
	write(t, dir, "deploy/env.sh", "#!/bin/sh\nexport A=1\n")
	run("commit", "-q", "-am", "remove key")
	commits = append(commits, run("rev-parse", "HEAD"))
	write(t, dir, "ci/token.txt", "one\ntwo\nGITHUB_TOKEN="+fakeGHP+"\n")
	run("add", ".")
	run("commit", "-q", "-m", "ci")
	commits = append(commits, run("rev-parse", "HEAD"))
	return dir, commits
}

func TestScanGit(t *testing.T) {
	dir, commits := gitRepo(t)
	res, err := ScanGit(context.Background(), dir, GitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 {
		t.Fatalf("got %d findings %v, want 2", len(res.Findings), paths(res.Findings))
	}
	byPath := map[string]finding.Finding{}
	for _, f := range res.Findings {
		byPath[f.Location.Path] = f
	}
	aws := byPath["deploy/env.sh"]
	if aws.ID != "aws-access-key-id" || aws.Location.Line != 3 || aws.Secret.Commit != commits[0] ||
		aws.Secret.Author != "Ada <ada@example.com>" || aws.Secret.Date == "" {
		t.Errorf("aws finding = %+v %+v", aws, aws.Secret)
	}
	gh := byPath["ci/token.txt"]
	if gh.ID != "github-pat" || gh.Location.Line != 3 || gh.Secret.Commit != commits[2] {
		t.Errorf("github finding = %+v %+v", gh, gh.Secret)
	}

	res, err = ScanGit(context.Background(), dir, GitOptions{Since: commits[1]})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths(res.Findings), ","); got != "ci/token.txt" {
		t.Errorf("--since: findings in %q, want ci/token.txt", got)
	}

	// The allowlist can name a commit.
	al, err := ParseAllowlist([]byte("commits: ["+commits[0][:10]+"]\n"), "allow.yaml")
	must(t, err)
	res, err = ScanGit(context.Background(), dir, GitOptions{Options: Options{Allowlist: al}})
	must(t, err)
	for _, f := range res.Findings {
		if (f.Suppressed != nil) != (f.Secret.Commit == commits[0]) {
			t.Errorf("%s in %s: suppressed = %v", f.ID, f.Secret.Commit, f.Suppressed)
		}
	}

	if _, err := ScanGit(context.Background(), dir, GitOptions{Since: "no-such-rev"}); err == nil || !strings.Contains(err.Error(), "no-such-rev") {
		t.Errorf("bad --since: err = %v", err)
	}
	if _, err := ScanGit(context.Background(), t.TempDir(), GitOptions{}); err == nil {
		t.Error("not a repository: no error")
	}
}

// TestScanGitCorrupt removes the blob the first commit added: git log
// stops there, and the scan keeps the later commits with a warning.
func TestScanGitCorrupt(t *testing.T) {
	dir, commits := gitRepo(t)
	out, err := exec.Command("git", "-C", dir, "rev-parse", commits[0]+":deploy/env.sh").Output()
	must(t, err)
	blob := strings.TrimSpace(string(out))
	must(t, os.Remove(filepath.Join(dir, ".git", "objects", blob[:2], blob[2:])))
	res, err := ScanGit(context.Background(), dir, GitOptions{})
	if err != nil {
		t.Fatalf("corrupt repository: %v", err)
	}
	if got := strings.Join(paths(res.Findings), ","); got != "ci/token.txt" {
		t.Errorf("findings in %q, want ci/token.txt", got)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "could not be read") {
		t.Errorf("warnings = %q, want one about the unreadable history", res.Warnings)
	}
}

// TestScanImageDeletedFile builds an image whose first layer adds a file
// with an AWS key and whose second layer deletes it (whiteout).
func TestScanImageDeletedFile(t *testing.T) {
	l1 := testutil.Layer(t, testutil.Dir("app"), testutil.File{Path: "app/.env", Content: "X=1\nAWS_ACCESS_KEY_ID=" + fakeAKID + "\n"},
		testutil.File{Path: "app/kept.txt", Content: "GITHUB_TOKEN=" + fakeGHP + "\n"})
	l2 := testutil.Layer(t, testutil.Whiteout("app/.env"))
	img := testutil.Image(t, v1.Config{},
		testutil.Step{CreatedBy: "COPY . /app", Layer: l1},
		testutil.Step{CreatedBy: "RUN rm /app/.env", Layer: l2})
	layout := testutil.WriteOCILayout(t, img)
	opened, err := image.Open(context.Background(), "oci:"+layout, image.Options{})
	must(t, err)
	defer opened.Close()
	res, err := ScanImage(context.Background(), opened, Options{})
	must(t, err)
	if len(res.Findings) != 2 {
		t.Fatalf("got %d findings %v, want 2", len(res.Findings), paths(res.Findings))
	}
	d1, err := l1.Digest()
	must(t, err)
	for _, f := range res.Findings {
		if f.Location.Layer == nil || f.Location.Layer.Index != 0 || f.Location.Layer.Digest != d1.String() ||
			f.Location.Layer.CreatedBy != "COPY . /app" {
			t.Errorf("%s: layer = %+v, want layer 0 %s", f.Location.Path, f.Location.Layer, d1)
		}
		if wantDeleted := f.Location.Path == "app/.env"; f.Location.Deleted != wantDeleted {
			t.Errorf("%s: deleted = %v, want %v", f.Location.Path, f.Location.Deleted, wantDeleted)
		}
	}
}
