package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestMain lets a test run this binary as bulwark itself, to send it real
// signals: with BULWARK_TEST_MAIN=1 it is `bulwark ARGS...`.
func TestMain(m *testing.M) {
	if os.Getenv("BULWARK_TEST_MAIN") == "1" {
		Main()
	}
	os.Exit(m.Run())
}

// SIGTERM (a cancelled CI job) in the middle of a push: the run records
// "interrupted" in run.json, exits non-zero, and leaves no tag and no
// digest file a deploy could pick up. The CNCF registry is real; a proxy in
// front of it holds the manifest upload so that the signal lands mid-push.
func TestPipelineSIGTERM(t *testing.T) {
	reg := testutil.StartRegistry(t, testutil.RegistryOptions{})
	target, _ := url.Parse("http://" + reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
			once.Do(func() { close(held) })
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	defer close(release)
	host := strings.TrimPrefix(proxy.URL, "http://")

	dir := keyPairDir(t, "pw")
	img := archiveWith(t)
	file := filepath.Join(dir, "bulwark.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`version: 1
build: {image: %s}
push: {repository: %s/team/app, tags: [v1], retries: 0}
sign: {key: cosign.key}
verify: {key: cosign.pub}
`, img, host)), 0o644)

	cmd := exec.Command(os.Args[0], "pipeline", "run", "--file", file)
	cmd.Env = append(os.Environ(), "BULWARK_TEST_MAIN=1", "BULWARK_PASSWORD=pw")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("the run ended before its push: %v\n%s", err, out.String())
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no push within 2 minutes\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("still running a minute after SIGTERM\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("exit %v after SIGTERM, want non-zero\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "interrupted") {
		t.Errorf("the output does not say interrupted:\n%s", out.String())
	}
	art := filepath.Join(dir, pipeline.DefaultArtifacts)
	raw, err := os.ReadFile(filepath.Join(art, pipeline.RunJSON))
	if err != nil {
		t.Fatalf("no run.json after SIGTERM: %v\n%s", err, out.String())
	}
	var run pipeline.Run
	if err := json.Unmarshal(raw, &run); err != nil {
		t.Fatal(err)
	}
	if run.Verdict != pipeline.Interrupted || run.Verified || run.Tagged {
		t.Errorf("run.json: verdict %q verified %v tagged %v", run.Verdict, run.Verified, run.Tagged)
	}
	if _, err := os.Stat(filepath.Join(art, pipeline.DigestFile)); err == nil {
		t.Error("a digest file was written for an interrupted run")
	}
	repo, _ := name.NewRepository(reg.Host + "/team/app")
	tags, err := remote.List(repo)
	var te *transport.Error
	if err != nil && !(errors.As(err, &te) && te.StatusCode == http.StatusNotFound) {
		t.Fatal(err)
	}
	if len(tags) != 0 {
		t.Errorf("the registry has tags %v after an interrupted run", tags)
	}
}
