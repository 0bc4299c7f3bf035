package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bulwark-sec/bulwark/internal/build"
	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// Verdicts of a stage and of a run.
const (
	Passed      = "passed"
	Failed      = "failed"
	Errored     = "error"
	NotRun      = "not run"
	Interrupted = "interrupted"
)

// DefaultArtifacts is the artifacts directory when the file names none.
const DefaultArtifacts = "bulwark-artifacts"

// Options configures Execute.
type Options struct {
	// File is the parsed pipeline file.
	File *File
	// BaseDir is what relative paths in the file are relative to
	// (default: the file's directory).
	BaseDir string
	// Input is an already-built image given on the command line; it
	// replaces the build stage.
	Input string
	// Artifacts overrides the file's artifacts directory.
	Artifacts string
	// Out gets the progress lines and the summary table.
	Out io.Writer
	// Log gets the output of builders and of the deploy command
	// (default: Out).
	Log io.Writer
	// Env looks up environment variables (default os.Getenv).
	Env func(string) string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DB, when set, is the vulnerability database (scan.db is ignored).
	DB *vulndb.DB
	// Password returns the password of an encrypted signing key (default:
	// $COSIGN_PASSWORD).
	Password sign.PassFunc
	// Registry are the registry settings from the command line; the
	// file's registry: section adds to them.
	Registry registry.Settings
}

// StageResult is the outcome of one stage.
type StageResult struct {
	Name     string        `json:"name"`
	Verdict  string        `json:"verdict"`
	Duration time.Duration `json:"duration"`
	Summary  string        `json:"summary,omitempty"`
	Error    string        `json:"error,omitempty"`
	Attempts int           `json:"attempts,omitempty"`
}

// GateResult is what one gate of one stage decided.
type GateResult struct {
	Stage string `json:"stage"`
	policy.GateVerdict
}

// Run is the record of a pipeline run, written to run.json.
type Run struct {
	Tool      string        `json:"tool"`
	Version   string        `json:"version"`
	Pipeline  string        `json:"pipeline"`
	File      string        `json:"file"`
	Started   time.Time     `json:"started"`
	Finished  time.Time     `json:"finished"`
	Verdict   string        `json:"verdict"`
	Stages    []StageResult `json:"stages"`
	Gates     []GateResult  `json:"gates,omitempty"`
	Source    string        `json:"source,omitempty"`
	GitCommit string        `json:"gitCommit,omitempty"`
	// Image is what was scanned and pushed (a spec, or the build output).
	Image   string `json:"image,omitempty"`
	Builder string `json:"builder,omitempty"`
	// Digest is the image manifest digest.
	Digest     string   `json:"digest,omitempty"`
	Repository string   `json:"repository,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Immutable  bool     `json:"immutable,omitempty"`
	// Pushed, Signed, Verified and Tagged say how far the image got; it is
	// pushed by digest and tagged last.
	Pushed       bool     `json:"pushed"`
	Signed       bool     `json:"signed"`
	Attestations []string `json:"attestations,omitempty"`
	Verified     bool     `json:"verified"`
	Tagged       bool     `json:"tagged"`
	Deployed     bool     `json:"deployed"`
	// Published is true when the publish command ran and succeeded.
	Published bool   `json:"published,omitempty"`
	SignKey   string `json:"signKey,omitempty"`
	VerifyKey string `json:"verifyKey,omitempty"`
	// RegistryInsecure is true when plain HTTP or unverified TLS was allowed.
	RegistryInsecure bool `json:"registryInsecure,omitempty"`
	// BaseImage is the FROM of the Dockerfile, when built.
	BaseImage string `json:"baseImage,omitempty"`
	// ImageCreated is the image's creation time.
	ImageCreated time.Time `json:"imageCreated,omitzero"`
	// Checks are what the run checked before its first stage.
	Checks []CheckResult `json:"checks,omitempty"`
	// DBBuilt is when the vulnerability database was built.
	DBBuilt time.Time `json:"dbBuilt,omitzero"`
	// Artifacts is the artifacts directory.
	Artifacts string `json:"artifacts"`
}

// Stage returns the result of a stage, or nil when it is not in the run.
func (r *Run) Stage(name string) *StageResult {
	for i := range r.Stages {
		if r.Stages[i].Name == name {
			return &r.Stages[i]
		}
	}
	return nil
}

type runner struct {
	o       Options
	f       *File
	run     *Run
	report  *finding.Report
	sbom    *inventory.SBOM
	reg     *registry.Client
	opened  []*image.Image // closed when the run ends
	work    string
	srcDir  string
	tag     TagData
	spec    string   // image spec to scan
	img     v1.Image // image to push
	refs    []name.Tag
	digest  name.Digest
	signer  *sign.Signer // loaded by preflight
	n, of   int
	failure error
}

// gateFailure is a stage's "no": the pipeline stops, exit code 1.
type gateFailure struct{ msg string }

func (g gateFailure) Error() string { return g.msg }

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// newRunner fills the options' defaults and prepares a run: the registry
// settings, the artifacts folder and the run record. It changes nothing.
func newRunner(o Options) (*runner, error) {
	if o.Password == nil {
		lookup := os.LookupEnv
		if o.Env != nil {
			env := o.Env
			lookup = func(k string) (string, bool) { v := env(k); return v, v != "" }
		}
		o.Password = sign.EnvPassword(lookup, nil)
	}
	if o.Env == nil {
		o.Env = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Log == nil {
		o.Log = o.Out
	}
	f := o.File
	if o.BaseDir == "" {
		o.BaseDir = filepath.Dir(f.Path)
	}
	art := o.Artifacts
	if art == "" {
		art = abs(o.BaseDir, firstNonEmpty(f.Artifacts, DefaultArtifacts))
	}
	settings := o.Registry
	settings.Insecure = settings.Insecure || f.Registry.Insecure
	if f.Registry.CACert != "" && settings.CACert == "" {
		settings.CACert = abs(o.BaseDir, f.Registry.CACert)
	}
	reg, err := settings.Client()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	name := f.Name
	if name == "" {
		name = filepath.Base(f.Path)
	}
	r := &runner{o: o, f: f, reg: reg, srcDir: o.BaseDir, run: &Run{
		Tool: "bulwark", Version: buildinfo.Version, Pipeline: name, File: f.Path,
		Started: o.Now().UTC(), Artifacts: art, RegistryInsecure: reg.Insecure(),
	}}
	r.report = &finding.Report{Tool: "bulwark", Version: buildinfo.Version, CreatedAt: r.run.Started}
	return r, nil
}

// Execute runs the pipeline. It first runs the checks Check runs, and
// stops before any stage when one fails. It returns the run (also on
// failure) and nil when every stage passed, a *policy.GateError when a
// gate failed, or the error that kept a stage from doing its job. o.Input
// and o.Artifacts are used as given: the command line resolves them
// against the current directory, the file's own paths against its folder.
func Execute(ctx context.Context, o Options) (*Run, error) {
	r, err := newRunner(o)
	if err != nil {
		return nil, err
	}
	o, f, name, art := r.o, r.f, r.run.Pipeline, r.run.Artifacts
	if r.work, err = os.MkdirTemp("", "bulwark-pipeline-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(r.work)
	defer func() {
		for _, img := range r.opened {
			img.Close()
		}
	}()

	r.run.Checks = r.preflight(ctx)
	if err := failedChecks(r.run.Checks); err != nil {
		fmt.Fprintf(o.Out, "bulwark pipeline %q: %v\n", name, err)
		r.run.Finished, r.run.Verdict = o.Now().UTC(), Errored
		if ctx.Err() != nil {
			r.run.Verdict = Interrupted
		}
		if werr := WriteArtifacts(art, r.run, r.report, nil); werr != nil {
			return r.run, fmt.Errorf("%w; writing the artifacts to %s: %v", err, art, werr)
		}
		return r.run, err
	}

	stages := f.Stages()
	if o.Input != "" && f.Build == nil {
		stages = insertAfter(stages, StageBuild, StageSecrets, StageSource)
	}
	r.of = len(stages)
	fmt.Fprintf(o.Out, "bulwark pipeline %q: %s\n", name, strings.Join(stages, " → "))
	r.gitInfo()
	for _, s := range stages {
		r.run.Stages = append(r.run.Stages, StageResult{Name: s, Verdict: NotRun})
	}
	for i, s := range stages {
		r.n = i + 1
		if r.failure != nil {
			break
		}
		r.runStage(ctx, s)
	}
	r.run.Finished = o.Now().UTC()
	switch {
	case r.failure == nil:
		r.run.Verdict = Passed
	case ctx.Err() != nil:
		r.run.Verdict = Interrupted
	default:
		var gf gateFailure
		if errors.As(r.failure, &gf) {
			r.run.Verdict = Failed
		} else {
			r.run.Verdict = Errored
		}
	}
	PrintSummary(o.Out, r.run)
	if err := WriteArtifacts(art, r.run, r.report, r.sbom); err != nil {
		return r.run, fmt.Errorf("writing the artifacts to %s: %w", art, err)
	}
	fmt.Fprintf(o.Out, "artifacts: %s\n", art)
	if r.failure == nil {
		return r.run, nil
	}
	var gf gateFailure
	if errors.As(r.failure, &gf) {
		return r.run, &policy.GateError{Code: policy.ExitFailed, Msg: "pipeline failed: " + gf.msg}
	}
	if ctx.Err() != nil {
		return r.run, fmt.Errorf("pipeline interrupted (%v); what ran is in %s, nothing after the interrupted stage ran", context.Cause(ctx), art)
	}
	return r.run, r.failure
}

func insertAfter(stages []string, s string, after ...string) []string {
	at := 0
	for i, x := range stages {
		for _, a := range after {
			if x == a {
				at = i + 1
			}
		}
	}
	return append(stages[:at], append([]string{s}, stages[at:]...)...)
}

func abs(base, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(base, p)
}

// runStage runs one stage with its timeout and, for network stages, its
// retries, and records and prints the outcome.
func (r *runner) runStage(ctx context.Context, s string) {
	res := &r.run.Stages[r.n-1]
	t, network, fn := r.stageFunc(s)
	fmt.Fprintf(r.o.Out, "[%d/%d] %s: started\n", r.n, r.of, s)
	start := r.o.Now()
	retries, backoff := 0, time.Duration(t.Backoff)
	if network {
		retries = 3
		if t.Retries != nil {
			retries = *t.Retries
		}
		if backoff == 0 {
			backoff = time.Second
		}
	}
	var (
		summary string
		err     error
	)
	for attempt := 0; ; attempt++ {
		res.Attempts = attempt + 1
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if t.Timeout > 0 {
			sctx, cancel = context.WithTimeoutCause(ctx, time.Duration(t.Timeout), fmt.Errorf("%s stage timed out after %s (raise %s.timeout)", s, time.Duration(t.Timeout), s))
		}
		summary, err = fn(sctx)
		if err != nil && sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("%w: %v", context.Cause(sctx), err)
		}
		cancel()
		if err == nil || attempt >= retries || !retryable(err) || ctx.Err() != nil {
			break
		}
		fmt.Fprintf(r.o.Out, "[%d/%d] %s: attempt %d failed: %v; retrying in %s\n", r.n, r.of, s, attempt+1, err, backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff *= 2
	}
	res.Duration = r.o.Now().Sub(start)
	res.Summary = summary
	var gf gateFailure
	switch {
	case err == nil:
		res.Verdict = Passed
	case ctx.Err() != nil:
		res.Verdict, res.Error = Interrupted, err.Error()
		r.failure = err
	case errors.As(err, &gf):
		res.Verdict = Failed
		if res.Summary == "" {
			res.Summary = gf.msg
		}
		r.failure = err
	default:
		res.Verdict, res.Error = Errored, err.Error()
		if res.Attempts > 1 {
			res.Error = fmt.Sprintf("%s (after %d attempts)", res.Error, res.Attempts)
		}
		r.failure = fmt.Errorf("%s stage: %s", s, res.Error)
	}
	line := fmt.Sprintf("[%d/%d] %s: %s in %s", r.n, r.of, s, strings.ToUpper(res.Verdict), res.Duration.Round(time.Millisecond))
	if res.Summary != "" {
		line += " — " + res.Summary
	}
	if res.Error != "" {
		line += " — " + res.Error
	}
	fmt.Fprintln(r.o.Out, line)
}

// retryable says whether a network error may go away: connection
// failures, timeouts and 5xx/429 answers.
func retryable(err error) bool {
	var p permanent
	var gf gateFailure
	var ve *sign.VerificationError
	if errors.As(err, &p) || errors.As(err, &gf) || errors.As(err, &ve) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode >= 500 || te.StatusCode == 429
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset")
}

func (r *runner) stageFunc(s string) (Timing, bool, func(context.Context) (string, error)) {
	f := r.f
	switch s {
	case StageSource:
		return f.Source.Timing, false, r.source
	case StageSecrets:
		return f.Secrets.Timing, false, r.secrets
	case StageBuild:
		if f.Build == nil {
			return Timing{}, false, r.build
		}
		return f.Build.Timing, false, r.build
	case StageScan:
		return f.Scan.Timing, false, r.scan
	case StagePush:
		return f.Push.Timing, true, r.push
	case StageSign:
		return f.Sign.Timing, true, r.sign
	case StageVerify:
		return f.Verify.Timing, true, r.verify
	case StageTag:
		return f.Push.Timing, true, r.tagImage
	case StageDeploy:
		return f.Deploy.Timing, false, r.deploy
	case StagePublish:
		return f.Publish.Timing, false, r.publish
	}
	return Timing{}, false, func(context.Context) (string, error) { return "", fmt.Errorf("unknown stage %q", s) }
}

func (r *runner) source(ctx context.Context) (string, error) {
	s := r.f.Source
	if s.Git != "" {
		dir := filepath.Join(r.work, "source")
		// "--" keeps a URL from the file from being read as a git option.
		if err := runCmd(ctx, "", r.o.Log, nil, "git", "clone", "--quiet", "--", s.Git, dir); err != nil {
			return "", permanent{fmt.Errorf("git clone %s: %w", s.Git, err)}
		}
		if s.Revision != "" {
			if err := runCmd(ctx, dir, r.o.Log, nil, "git", "checkout", "--quiet", "--detach", s.Revision, "--"); err != nil {
				return "", permanent{fmt.Errorf("git checkout %s in %s: %w (is the revision in the repository?)", s.Revision, s.Git, err)}
			}
		}
		r.srcDir = dir
	} else if s.Dir != "" {
		r.srcDir = abs(r.o.BaseDir, s.Dir)
	}
	st, err := os.Stat(r.srcDir)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("source directory %s: not a directory (set source.dir)", r.srcDir)
	}
	r.run.Source = r.srcDir
	if s.Git != "" {
		r.run.Source = s.Git + "@" + s.Revision
	}
	r.gitInfo()
	if r.tag.GitCommit == "" {
		return r.run.Source + " (not a git checkout)", nil
	}
	return fmt.Sprintf("%s at %s", r.run.Source, r.tag.GitShort), nil
}

// gitInfo fills the tag data from the source checkout, or from the CI's
// environment when the source is not a git checkout.
func (r *runner) gitInfo() {
	now := r.o.Now().UTC()
	r.tag.Timestamp, r.tag.Date = now.Format("20060102150405"), now.Format("2006-01-02")
	out := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = r.srcDir
		b, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	r.tag.GitCommit = out("rev-parse", "HEAD")
	r.tag.GitBranch = out("rev-parse", "--abbrev-ref", "HEAD")
	for _, v := range []string{"GITHUB_SHA", "CI_COMMIT_SHA", "CODEBUILD_RESOLVED_SOURCE_VERSION", "GIT_COMMIT"} {
		if r.tag.GitCommit == "" {
			r.tag.GitCommit = r.o.Env(v)
		}
	}
	for _, v := range []string{"GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "GIT_BRANCH"} {
		if r.tag.GitBranch == "" || r.tag.GitBranch == "HEAD" {
			r.tag.GitBranch = r.o.Env(v)
		}
	}
	for _, v := range []string{"GITHUB_RUN_NUMBER", "CI_PIPELINE_IID", "CODEBUILD_BUILD_NUMBER", "BUILD_NUMBER"} {
		if r.tag.RunID == "" {
			r.tag.RunID = r.o.Env(v)
		}
	}
	r.tag.GitShort = "nogit"
	if len(r.tag.GitCommit) >= 7 {
		r.tag.GitShort = r.tag.GitCommit[:7]
	}
	r.run.GitCommit = r.tag.GitCommit
}

func runCmd(ctx context.Context, dir string, log io.Writer, env []string, argv ...string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

func (r *runner) build(ctx context.Context) (string, error) {
	b := r.f.Build
	spec := r.o.Input
	if spec == "" && b != nil && b.Image != "" {
		// build.image is relative to the file's folder, --input to the
		// current directory (the command line resolves it).
		spec = b.Image
		if !strings.Contains(spec, ":") || fileExists(abs(r.o.BaseDir, spec)) {
			spec = abs(r.o.BaseDir, spec)
		}
	}
	if IsGolden(spec) {
		// A root file system or disk image: scanned where it is, never
		// pushed; publish hands it on.
		kind, p, _ := strings.Cut(spec, ":")
		if kind != "ebs" && r.o.Input == "" {
			p = abs(r.o.BaseDir, p)
		}
		r.spec = kind + ":" + p
		r.run.Image, r.run.Builder = r.spec, "prebuilt"
		return "using the golden image " + r.spec, nil
	}
	if spec != "" {
		img, err := r.loadImage(ctx, spec)
		if err != nil {
			return "", permanent{err}
		}
		r.spec, r.img = spec, img
		r.run.Image, r.run.Builder = spec, "prebuilt"
		return r.noteImage("using the prebuilt image " + spec)
	}
	ctxDir := r.srcDir
	if b.Context != "" {
		ctxDir = abs(r.srcDir, b.Context)
	}
	df := ""
	if b.Dockerfile != "" {
		df = abs(r.srcDir, b.Dockerfile)
	}
	out := filepath.Join(r.work, "image")
	res, err := build.Build(ctx, build.Options{
		Dockerfile: df, Context: ctxDir, BuildArgs: b.Args, Builder: b.Builder,
		Out: out, WorkDir: filepath.Join(r.work, "builder"), Registry: r.reg, Log: r.o.Log,
	})
	if err != nil {
		return "", permanent{err}
	}
	r.spec, r.img = "oci:"+out, res.Image
	r.run.Image, r.run.Builder = "built from "+relTo(r.o.BaseDir, firstNonEmpty(df, filepath.Join(ctxDir, "Dockerfile"))), res.Builder
	if from, err := baseOf(firstNonEmpty(df, filepath.Join(ctxDir, "Dockerfile"))); err == nil {
		r.run.BaseImage = from
	}
	return r.noteImage(fmt.Sprintf("built with %s", res.Builder))
}

func (r *runner) noteImage(summary string) (string, error) {
	d, err := r.img.Digest()
	if err != nil {
		return "", err
	}
	if cf, err := r.img.ConfigFile(); err == nil {
		r.run.ImageCreated = cf.Created.Time
	}
	r.run.Digest = d.String()
	return summary + ", " + short(d.String()), nil
}

func baseOf(dockerfile string) (string, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	df, err := build.Parse(f, dockerfile)
	if err != nil {
		return "", err
	}
	for _, in := range df.Instructions {
		if in.Cmd == "FROM" {
			return in.Args[0], nil
		}
	}
	return "", errors.New("no FROM")
}

// loadImage opens an image to push with image.Open (an OCI layout, an
// archive, a registry reference) and keeps it open until the run ends.
func (r *runner) loadImage(ctx context.Context, spec string) (v1.Image, error) {
	img, err := image.Open(ctx, spec, image.Options{Registry: r.reg})
	if err != nil {
		return nil, err
	}
	r.opened = append(r.opened, img)
	return img.V1()
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func relTo(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func short(d string) string {
	if i := strings.Index(d, ":"); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
