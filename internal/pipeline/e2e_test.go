package pipeline_test

import (
	"bytes"
	"context"
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
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/demo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

const password = "test-password"

type env struct {
	t        *testing.T
	reg      string // registry host the base images are in
	key, pub string
	otherPub string
	db       *vulndb.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	r := testutil.StartRegistry(t, testutil.RegistryOptions{})
	e := &env{t: t, reg: r.Host}
	dir := t.TempDir()
	for _, k := range []string{"cosign", "other"} {
		priv, pub, err := sign.GenerateKeyPair([]byte(password))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, k+".key"), priv, 0o600)
		os.WriteFile(filepath.Join(dir, k+".pub"), pub, 0o644)
	}
	e.key, e.pub, e.otherPub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "other.pub")
	for tag, v := range map[string]string{"good": "1.2.8", "vulnerable": "1.2.5"} {
		img, err := demo.BaseImage(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(mustRef(t, e.reg+"/base/node:"+tag), img); err != nil {
			t.Fatal(err)
		}
	}
	db, err := demo.OpenDB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	return e
}

type ws struct {
	dir        string
	dockerfile string
	files      map[string]string
	pushReg    string
	verifyKey  string
	extra      string
	// password gives the key's password; nil: the right one.
	password sign.PassFunc
}

func (e *env) workspace() *ws {
	return &ws{
		dir: e.t.TempDir(), pushReg: e.reg, verifyKey: e.pub,
		dockerfile: "FROM " + e.reg + "/base/node:good\nWORKDIR /app\nCOPY app/ /app/\nUSER 1000\nHEALTHCHECK CMD [\"/usr/local/bin/node\", \"/app/health.js\"]\nCMD [\"/usr/local/bin/node\", \"/app/server.js\"]\n",
		files:      map[string]string{"app/server.js": "console.log('hi')\n", "app/config.js": "module.exports = {port: 8080};\n"},
	}
}

func (e *env) run(ctx context.Context, w *ws) (*pipeline.Run, error, string) {
	e.t.Helper()
	files := map[string]string{"Dockerfile": w.dockerfile}
	for k, v := range w.files {
		files[k] = v
	}
	for p, c := range files {
		full := filepath.Join(w.dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	yaml := fmt.Sprintf(`version: 1
source: {dir: .}
secrets: {failOn: any}
build: {dockerfile: Dockerfile}
scan:
  vulnerabilities: {failOn: critical}
  lint: {failOn: fatal}
  secrets: {failOn: any}
push:
  repository: %s/team/app
  tags: ["t-{{.Timestamp}}"]
  immutable: true
  retries: 1
  backoff: 10ms
sign: {key: %s}
verify: {key: %s}
deploy:
  command: printf '%%s' "$BULWARK_IMAGE" > deployed.txt
%s`, w.pushReg, e.key, w.verifyKey, w.extra)
	path := filepath.Join(w.dir, "bulwark.yaml")
	os.WriteFile(path, []byte(yaml), 0o644)
	f, err := pipeline.Parse(strings.NewReader(yaml), path, pipeline.ValidateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var out bytes.Buffer
	pw := w.password
	if pw == nil {
		pw = sign.StaticPass([]byte(password))
	}
	run, err := pipeline.Execute(ctx, pipeline.Options{File: f, DB: e.db, Out: &out, Password: pw, Env: func(string) string { return "" }})
	e.t.Log(out.String())
	return run, err, out.String()
}

func tags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := remote.List(r)
	if err != nil {
		return nil // the repository does not exist
	}
	return ts
}

func stageVerdicts(run *pipeline.Run) string {
	var s []string
	for _, st := range run.Stages {
		s = append(s, st.Name+"="+st.Verdict)
	}
	return strings.Join(s, " ")
}

func wantGateFailure(t *testing.T, err error) {
	t.Helper()
	var ge *policy.GateError
	if !errors.As(err, &ge) || ge.Code != policy.ExitFailed {
		t.Fatalf("err = %v, want a gate failure (exit 1)", err)
	}
}

func TestE2EScenarios(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("pass", func(t *testing.T) {
		w := e.workspace()
		run, err, out := e.run(ctx, w)
		if err != nil {
			t.Fatal(err)
		}
		if !run.Signed || !run.Verified || !run.Deployed {
			t.Fatalf("run %+v", run)
		}
		want := e.reg + "/team/app@" + run.Digest
		got, _ := os.ReadFile(filepath.Join(w.dir, "deployed.txt"))
		if string(got) != want {
			t.Errorf("deploy saw BULWARK_IMAGE=%q, want %q", got, want)
		}
		art := filepath.Join(w.dir, pipeline.DefaultArtifacts)
		for _, f := range []string{pipeline.ReportJSON, pipeline.ReportSARIF, pipeline.JUnitXML, pipeline.SBOMFile, pipeline.RunJSON, pipeline.DigestFile} {
			if _, err := os.Stat(filepath.Join(art, f)); err != nil {
				t.Errorf("artifact %s: %v", f, err)
			}
		}
		d, _ := os.ReadFile(filepath.Join(art, pipeline.DigestFile))
		if strings.TrimSpace(string(d)) != want {
			t.Errorf("digest file %q", d)
		}
		ts := tags(t, e.reg+"/team/app")
		var sig, att bool
		for _, tg := range ts {
			sig = sig || strings.HasSuffix(tg, ".sig")
			att = att || strings.HasSuffix(tg, ".att")
		}
		if !sig || !att {
			t.Errorf("registry tags %v: want a .sig and an .att", ts)
		}
		// The signature verifies independently of the pipeline.
		if _, err := sign.VerifyImage(ctx, want, e.pub, sign.VerifyOptions{}); err != nil {
			t.Errorf("VerifyImage: %v", err)
		}
		if !strings.Contains(out, "STAGE") || !strings.Contains(out, "pipeline") {
			t.Errorf("no summary table:\n%s", out)
		}
		if cosign, err := exec.LookPath("cosign"); err == nil {
			cmd := exec.Command(cosign, "verify", "--insecure-ignore-tlog", "--key", e.pub, want)
			cmd.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir())
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("cosign verify: %v\n%s", err, b)
			}
		}
	})

	t.Run("critical vulnerability", func(t *testing.T) {
		w := e.workspace()
		w.dockerfile = strings.Replace(w.dockerfile, "base/node:good", "base/node:vulnerable", 1)
		w.pushReg = e.reg + "/vuln"
		run, err, _ := e.run(ctx, w)
		wantGateFailure(t, err)
		if got := stageVerdicts(run); !strings.Contains(got, "scan=failed push=not run") {
			t.Fatalf("stages %s", got)
		}
		if !strings.Contains(err.Error(), "GHSA-xvch-5gv4-984h") {
			t.Errorf("error does not name the advisory: %v", err)
		}
		if ts := tags(t, w.pushReg+"/team/app"); len(ts) != 0 {
			t.Errorf("pushed although the scan failed: %v", ts)
		}
	})

	t.Run("ADD fails lint", func(t *testing.T) {
		w := e.workspace()
		w.dockerfile = strings.Replace(w.dockerfile, "COPY app/", "ADD app/", 1)
		run, err, _ := e.run(ctx, w)
		wantGateFailure(t, err)
		if run.Stage("scan").Verdict != pipeline.Failed || !strings.Contains(err.Error(), "CIS-DI-0009") {
			t.Fatalf("stages %s, err %v", stageVerdicts(run), err)
		}
		b, _ := os.ReadFile(filepath.Join(w.dir, pipeline.DefaultArtifacts, pipeline.JUnitXML))
		if !strings.Contains(string(b), "CIS-DI-0009") || !strings.Contains(string(b), "<failure") {
			t.Errorf("junit.xml lacks the failure:\n%s", b)
		}
	})

	t.Run("AWS secret in the source", func(t *testing.T) {
		w := e.workspace()
		w.files["app/config.js"] = "module.exports = {\n  accessKeyId: \"AKIAZ7Q2VN4LX3KJP5WD\",\n  secretAccessKey: \"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\",\n};\n"
		run, err, _ := e.run(ctx, w)
		wantGateFailure(t, err)
		if got := stageVerdicts(run); !strings.Contains(got, "secrets=failed build=not run") {
			t.Fatalf("stages %s", got)
		}
	})

	t.Run("wrong verify key", func(t *testing.T) {
		w := e.workspace()
		w.verifyKey = e.otherPub
		w.pushReg = e.reg + "/wrongkey"
		run, err, _ := e.run(ctx, w)
		wantGateFailure(t, err)
		if got := stageVerdicts(run); !strings.Contains(got, "sign=passed verify=failed tag=not run deploy=not run") {
			t.Fatalf("stages %s", got)
		}
		if _, err := os.Stat(filepath.Join(w.dir, "deployed.txt")); err == nil {
			t.Error("deploy ran")
		}
		if _, err := os.Stat(filepath.Join(w.dir, pipeline.DefaultArtifacts, pipeline.DigestFile)); err == nil {
			t.Error("digest file written for an unverified image")
		}
	})
}

// flakyProxy forwards to the registry until the first blob upload, then
// calls onUpload (which takes the registry down or interrupts the run).
type flakyProxy struct {
	srv      *httptest.Server
	mu       sync.Mutex
	down     bool
	onUpload func(p *flakyProxy, r *http.Request)
}

func newFlakyProxy(t *testing.T, target string, onUpload func(p *flakyProxy, r *http.Request)) *flakyProxy {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &flakyProxy{onUpload: onUpload}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		down := p.down
		upload := !down && r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/")
		if upload {
			p.down = true
		}
		p.mu.Unlock()
		if upload {
			p.onUpload(p, r)
			return
		}
		if down {
			// The registry is gone: drop the connection.
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
					return
				}
			}
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *flakyProxy) host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

func TestE2ERegistryDownDuringPush(t *testing.T) {
	e := newEnv(t)
	p := newFlakyProxy(t, e.reg, func(p *flakyProxy, r *http.Request) {
		go p.srv.CloseClientConnections()
	})
	w := e.workspace()
	w.pushReg = p.host()
	run, err, _ := e.run(context.Background(), w)
	if err == nil || policy.ExitCode(err) != policy.ExitError {
		t.Fatalf("err = %v, want an error (exit 2)", err)
	}
	if !strings.Contains(err.Error(), "push stage") || !strings.Contains(err.Error(), "check that the registry is up") {
		t.Errorf("unclear error: %v", err)
	}
	if got := stageVerdicts(run); !strings.Contains(got, "push=error sign=not run verify=not run tag=not run deploy=not run") {
		t.Fatalf("stages %s", got)
	}
	if run.Signed || run.Pushed {
		t.Errorf("run says pushed=%v signed=%v", run.Pushed, run.Signed)
	}
	if ts := tags(t, e.reg+"/team/app"); len(ts) != 0 {
		t.Errorf("the registry has tags after a failed push: %v", ts)
	}
}

func TestE2EInterruptedRun(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newFlakyProxy(t, e.reg, func(p *flakyProxy, r *http.Request) {
		cancel() // as a SIGINT would
		<-r.Context().Done()
	})
	w := e.workspace()
	w.pushReg = p.host()
	// A digest file left by an earlier run must not survive.
	art := filepath.Join(w.dir, pipeline.DefaultArtifacts)
	os.MkdirAll(art, 0o755)
	os.WriteFile(filepath.Join(art, pipeline.DigestFile), []byte("old@sha256:0\n"), 0o644)
	run, err, _ := e.run(ctx, w)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v", err)
	}
	if run.Verdict != pipeline.Interrupted || run.Stage("push").Verdict != pipeline.Interrupted || run.Verified || run.Signed {
		t.Fatalf("run %s verdict %s verified %v", stageVerdicts(run), run.Verdict, run.Verified)
	}
	if ts := tags(t, e.reg+"/team/app"); len(ts) != 0 {
		t.Errorf("half-pushed tags left: %v", ts)
	}
	if _, err := os.Stat(filepath.Join(art, pipeline.DigestFile)); err == nil {
		t.Error("digest file left after an interrupted run")
	}
	b, err := os.ReadFile(filepath.Join(art, pipeline.RunJSON))
	if err != nil || !strings.Contains(string(b), `"verified": false`) {
		t.Errorf("run.json: %v\n%s", err, b)
	}
}

func TestE2EPipelineFileErrors(t *testing.T) {
	src := "version: 1\nbuild:\n  dockerfile: Dockerfile\npush:\n  repository: 127.0.0.1:1/a\n  tags: [\"{{.Commit}}\"]\ndeploy:\n  command: echo\n"
	_, err := pipeline.Parse(strings.NewReader(src), "ci/bulwark.yaml", pipeline.ValidateOptions{})
	var pe *pipeline.Error
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"ci/bulwark.yaml:6: push.tags[0]", "ci/bulwark.yaml:7: deploy: needs a verify stage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestIntegrationBuildahPipeline(t *testing.T) {
	testutil.RequireTool(t, "buildah")
	bb := testutil.RequireTool(t, "busybox")
	e := newEnv(t)
	// A busybox-static base, as infra.md recommends for speed.
	bin, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	files := []testutil.File{testutil.Dir("bin"), {Path: "bin/busybox", Content: string(bin), Mode: 0o755},
		{Path: "bin/sh", Type: '2', Linkname: "busybox"}, testutil.Dir("etc"), testutil.Dir("tmp"),
		{Path: "etc/passwd", Content: "root:x:0:0:root:/root:/bin/sh\n"}, {Path: "etc/group", Content: "root:x:0:\n"}}
	for _, app := range []string{"echo", "mkdir", "ls", "cat", "true"} {
		files = append(files, testutil.File{Path: "bin/" + app, Type: '2', Linkname: "busybox"})
	}
	base := testutil.Image(t, v1Config(), testutil.Step{CreatedBy: "/bin/sh -c #(nop) ADD file:busybox in / ", Layer: testutil.Layer(t, files...)})
	if err := remote.Write(mustRef(t, e.reg+"/base/busybox:1"), base); err != nil {
		t.Fatal(err)
	}
	w := e.workspace()
	w.dockerfile = "FROM " + e.reg + "/base/busybox:1\n" +
		"RUN echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd && mkdir -p /app\n" +
		"COPY app/ /app/\n" +
		"RUN ls /app > /app/listing\n" +
		"USER 1000\n" +
		"HEALTHCHECK CMD [\"/bin/true\"]\n" +
		"CMD [\"/bin/cat\", \"/app/listing\"]\n"
	w.extra = "registry: {insecure: true}\n"
	run, err, _ := e.run(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	if run.Builder != "buildah" || !run.Verified || !run.Deployed {
		t.Fatalf("builder %s, %s", run.Builder, stageVerdicts(run))
	}
	img, err := remote.Image(mustRef(t, e.reg+"/team/app@"+run.Digest))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Healthcheck == nil {
		t.Error("HEALTHCHECK lost (buildah must build --format docker)")
	}
	var runs int
	for _, h := range cf.History {
		if strings.Contains(h.CreatedBy, "ls /app") {
			runs++
		}
	}
	if runs == 0 {
		t.Errorf("history has no RUN step: %+v", cf.History)
	}
	b, _ := os.ReadFile(filepath.Join(w.dir, pipeline.DefaultArtifacts, pipeline.ReportJSON))
	if !bytes.Contains(b, []byte(`"gates"`)) || !bytes.Contains(b, []byte(string(finding.GateLint))) {
		t.Errorf("report.json: %s", b)
	}
}

// A signing key whose password is missing or wrong stops the run before
// any stage: nothing reaches the registry, whose catalog stays empty, and
// the error says what to set.
func TestE2EKeyPasswordCheckedFirst(t *testing.T) {
	e := newEnv(t)
	target := testutil.StartRegistry(t, testutil.RegistryOptions{})
	for _, tc := range []struct {
		name string
		pw   sign.PassFunc
		want string
	}{
		{"missing", sign.EnvPassword(func(string) (string, bool) { return "", false }, nil), "no password: set BULWARK_PASSWORD (or COSIGN_PASSWORD)"},
		{"wrong", sign.StaticPass([]byte("not-the-password")), "decrypt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.workspace()
			w.pushReg, w.password = target.Host, tc.pw
			run, err, out := e.run(context.Background(), w)
			if err == nil || policy.ExitCode(err) != policy.ExitError || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "sign.key") {
				t.Fatalf("err = %v, want exit 2 naming sign.key and %q", err, tc.want)
			}
			if got := stageVerdicts(run); strings.Contains(got, "passed") || strings.Contains(got, "error") {
				t.Errorf("stages ran: %s", got)
			}
			if run.Verdict != pipeline.Errored || len(run.Checks) == 0 {
				t.Errorf("run.json verdict %q, checks %+v", run.Verdict, run.Checks)
			}
			if strings.Contains(out, "[1/") {
				t.Errorf("a stage started:\n%s", out)
			}
			resp, err := http.Get("http://" + target.Host + "/v2/_catalog")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var cat struct{ Repositories []string }
			if err := json.NewDecoder(resp.Body).Decode(&cat); err != nil {
				t.Fatal(err)
			}
			if len(cat.Repositories) != 0 {
				t.Errorf("the registry holds %v after a run that failed its checks", cat.Repositories)
			}
		})
	}
}

// A run that failed on a secret writes a report naming it (with the AWS
// account the key decodes to); once the key is gone from the source, the
// next run must pass its secrets stage: the artifacts folder is never
// scanned.
func TestE2ESecondRunIgnoresArtifacts(t *testing.T) {
	e := newEnv(t)
	w := e.workspace()
	w.files["app/config.js"] = "module.exports = {\n  accessKeyId: \"AKIAZ7Q2VN4LX3KJP5WD\",\n  secretAccessKey: \"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\",\n};\n"
	run, err, _ := e.run(context.Background(), w)
	if policy.ExitCode(err) != policy.ExitFailed || run.Stage(pipeline.StageSecrets).Verdict != pipeline.Failed {
		t.Fatalf("first run: err %v, stages %s", err, stageVerdicts(run))
	}
	report, rerr := os.ReadFile(filepath.Join(w.dir, pipeline.DefaultArtifacts, pipeline.ReportJSON))
	if rerr != nil || !strings.Contains(string(report), "AWS account") {
		t.Fatalf("the first run's report does not name the key's account (%v):\n%s", rerr, report)
	}
	w.files["app/config.js"] = "module.exports = {port: 8080};\n"
	run, err, out := e.run(context.Background(), w)
	if err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	if !strings.Contains(run.Stage(pipeline.StageSecrets).Summary, "0 finding(s)") {
		t.Errorf("secrets stage: %+v", run.Stage(pipeline.StageSecrets))
	}
}
