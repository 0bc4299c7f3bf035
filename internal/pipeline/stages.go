package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/host"
	"github.com/bulwark-sec/bulwark/internal/ignore"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/inventory/sbom"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/registry"
	"github.com/bulwark-sec/bulwark/internal/report"
	"github.com/bulwark-sec/bulwark/internal/scan"
	"github.com/bulwark-sec/bulwark/internal/secrets"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vex"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/defaultdb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

// applyGate decides one gate's findings with the file's configuration for
// it, through the same policy.Apply every command uses; adds the findings
// to the run's report and records the gate; and returns a gateFailure when
// the gate failed. baseLayers is how many layers the base image holds.
func (r *runner) applyGate(stage string, g finding.Gate, cfg *Gate, baseLayers int, fs []finding.Finding) (string, error) {
	rule, err := cfg.Rule(g)
	if err != nil {
		return "", permanent{err}
	}
	if cfg == nil {
		cfg = &Gate{}
	}
	pol := &policy.Policy{
		Rules: map[finding.Gate]policy.FailOn{g: rule}, ExitCode: policy.ExitFailed,
		Ignores:       ignore.FromIDs(cfg.Ignore, stage+" ignore"),
		IgnoreUnfixed: cfg.IgnoreUnfixed, IgnoreBase: cfg.IgnoreBase, BaseLayers: baseLayers,
		Now: r.o.Now,
	}
	if cfg.IgnoreFile != "" {
		l, err := ignore.ParseFile(abs(r.o.BaseDir, cfg.IgnoreFile))
		if err != nil {
			return "", permanent{err}
		}
		pol.Ignores = append(pol.Ignores, l...)
	}
	for _, v := range cfg.VEX {
		doc, err := vex.ParseFile(abs(r.o.BaseDir, v))
		if err != nil {
			return "", permanent{err}
		}
		pol.VEX = append(pol.VEX, doc)
	}
	sub := &finding.Report{Target: r.report.Target, Gates: []finding.Gate{g}, Findings: fs}
	gv := pol.Apply(sub).Gates[0]
	r.run.Gates = append(r.run.Gates, GateResult{Stage: stage, GateVerdict: gv})
	r.report.Findings = append(r.report.Findings, sub.Findings...)
	if !hasGate(r.report.Gates, g) {
		r.report.Gates = append(r.report.Gates, g)
	}
	summary := fmt.Sprintf("%s: %d finding(s), %d suppressed", g, gv.Findings, gv.Suppressed)
	if gv.Passed {
		return summary, nil
	}
	return summary, gateFailure{gv.Message()}
}

func hasGate(gs []finding.Gate, g finding.Gate) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

func (r *runner) secretOptions(cfg *Secrets) (secrets.Options, error) {
	var o secrets.Options
	if cfg == nil {
		return o, nil
	}
	if cfg.Config != "" {
		c, err := secrets.LoadConfig(abs(r.o.BaseDir, cfg.Config))
		if err != nil {
			return o, err
		}
		if o.Engine, err = c.Engine(); err != nil {
			return o, err
		}
		o.Allowlist = c.Allowlist
	}
	if cfg.Allowlist != "" {
		a, err := secrets.LoadAllowlist(abs(r.o.BaseDir, cfg.Allowlist))
		if err != nil {
			return o, err
		}
		o.Allowlist = o.Allowlist.Merge(a)
	}
	if cfg.Baseline != "" {
		b, err := secrets.LoadBaseline(abs(r.o.BaseDir, cfg.Baseline))
		if err != nil {
			return o, err
		}
		o.Baseline = b
	}
	return o, nil
}

// written lists what the pipeline writes itself, which the secrets stage
// must not scan: the artifacts folder (a report of the last run holds the
// secrets it found), the work folder and the vulnerability database.
func (r *runner) written() []string {
	out := []string{r.run.Artifacts, r.work}
	if s := r.f.Scan; s != nil && s.DB.Path != "" {
		out = append(out, abs(r.o.BaseDir, s.DB.Path))
	}
	return out
}

func (r *runner) secrets(ctx context.Context) (string, error) {
	opts, err := r.secretOptions(r.f.Secrets)
	if err != nil {
		return "", permanent{err}
	}
	res, err := secrets.ScanDir(ctx, r.srcDir, secrets.DirOptions{Options: opts, Exclude: r.written()})
	if err != nil {
		return "", err
	}
	r.report.Warnings = append(r.report.Warnings, res.Warnings...)
	if r.report.Target.Name == "" {
		r.report.Target = finding.Target{Name: r.srcDir, Kind: "dir"}
	}
	sum, err := r.applyGate(StageSecrets, finding.GateSecrets, &r.f.Secrets.Gate, 0, res.Findings)
	return fmt.Sprintf("%d file(s) scanned; %s", res.Files, sum), err
}

func (r *runner) scan(ctx context.Context) (string, error) {
	s := r.f.Scan
	gates := s.Gates()
	on := map[finding.Gate]bool{}
	for _, g := range gates {
		on[g.Gate] = true
	}
	vulns, doLint, doSecrets, doHost := on[finding.GateVuln], on[finding.GateLint], on[finding.GateSecrets], on[finding.GateHost]
	img, err := image.Open(ctx, r.spec, image.Options{Registry: r.reg})
	if err != nil {
		return "", permanent{err}
	}
	defer img.Close()
	o := scan.Options{Vulns: vulns, Lint: doLint, Secrets: doSecrets, Host: doHost, SBOM: true, LintOptions: lint.Options{Env: r.o.Env}}
	if s.Host != nil {
		o.HostProfile = s.Host.Profile
	}
	if s.Lint != nil {
		o.LintOptions.AcceptKeys, o.LintOptions.AcceptFiles = s.Lint.AcceptKeys, s.Lint.AcceptFiles
	}
	if doSecrets {
		if o.SecretOptions, err = r.secretOptions(r.f.Secrets); err != nil {
			return "", permanent{err}
		}
	}
	if vulns {
		db := r.o.DB
		if db == nil {
			path := abs(r.o.BaseDir, s.DB.Path)
			if path == "" {
				if path, err = vulndb.DefaultPath(); err != nil {
					return "", err
				}
			}
			key := s.DB.Key
			if key != "" {
				key = r.keyPath(key)
			}
			verifier, err := defaultdb.LoadKey(ctx, key, r.o.Env("BULWARK_DB_KEY"))
			if err != nil {
				return "", permanent{fmt.Errorf("scan.db.key: %w", err)}
			}
			maxAge, _ := s.DB.maxAge() // checked by validate
			var warns []string
			db, warns, err = update.Prepare(ctx, update.PrepareOptions{
				Update: update.Options{
					DB: path, Registry: r.reg, Key: verifier, Log: r.o.Log,
					Repositories: defaultdb.ResolveRepositories(s.DB.repositories(), r.o.Env("BULWARK_DB_REPOSITORY")),
				},
				Offline: s.DB.Offline, MaxAge: maxAge, Stale: s.DB.Stale,
				WithoutVulns: "name only scan.lint and scan.secrets in bulwark.yaml (no scan.vulnerabilities)",
			})
			if err != nil {
				return "", permanent{fmt.Errorf("vulnerability database: %w", err)}
			}
			defer db.Close()
			r.report.Warnings = append(r.report.Warnings, warns...)
		}
		o.DB = db
		r.run.DBBuilt = db.Metadata().BuiltAt
		r.report.Database = db.Metadata().Describe()
	}
	base, baseWarn := scan.BaseLayers(ctx, img, "", image.Options{Registry: r.reg}, false)
	if baseWarn != "" {
		r.report.Warnings = append(r.report.Warnings, baseWarn)
	}
	o.BaseLayers = base
	res, err := scan.Run(ctx, img, o)
	if err != nil {
		return "", err
	}
	r.sbom = res.SBOM
	r.report.Target = img.Target()
	if res.SBOM != nil && res.SBOM.Target.OS != nil {
		r.report.Target.OS = res.SBOM.Target.OS
	}
	r.report.Warnings = append(r.report.Warnings, res.Warnings...)
	byGate := map[finding.Gate][]finding.Finding{}
	for _, f := range res.Findings {
		byGate[f.Gate] = append(byGate[f.Gate], f)
	}
	var sums []string
	var firstFail error
	for _, g := range gates {
		sum, err := r.applyGate(StageScan, g.Gate, g.Config, base, byGate[g.Gate])
		sums = append(sums, sum)
		if err != nil && firstFail == nil {
			firstFail = err
		}
	}
	pk := 0
	if res.SBOM != nil {
		pk = len(res.SBOM.Packages)
	}
	if res.Host != nil {
		n := res.Host.Count()
		sums = append(sums, fmt.Sprintf("%s: %d passed, %d failed, %d not checked", res.Host.Profile.ID, n[host.Pass], n[host.Fail], n[host.NotChecked]))
	}
	return fmt.Sprintf("%d package(s); %s", pk, strings.Join(sums, "; ")), firstFail
}

// push uploads the image by digest: blobs, then the manifest, and no tag.
// The tags follow in the tag stage, once the image is signed and verified.
func (r *runner) push(ctx context.Context) (string, error) {
	p := r.f.Push
	if r.img == nil {
		return "", permanent{fmt.Errorf("%s is a root file system or disk image, which is not pushed to a registry; use publish: to hand it on", r.spec)}
	}
	repo, err := r.reg.Repository(p.Repository)
	if err != nil {
		return "", permanent{fmt.Errorf("push.repository: %w", err)}
	}
	if r.refs, err = r.tagRefs(repo); err != nil {
		return "", err
	}
	if err := r.checkImmutable(ctx); err != nil {
		return "", err
	}
	d, err := r.img.Digest()
	if err != nil {
		return "", err
	}
	r.digest = repo.Digest(d.String())
	if err := remote.Write(r.digest, r.img, r.reg.Remote(ctx)...); err != nil {
		return "", pushError(p.Repository, err)
	}
	r.report.Target.Name, r.report.Target.Digest = r.refs[0].String(), d.String()
	r.run.Pushed, r.run.Repository, r.run.Digest, r.run.Immutable = true, p.Repository, d.String(), p.Immutable
	r.run.Tags = nil
	for _, t := range r.refs {
		r.run.Tags = append(r.run.Tags, t.TagStr())
	}
	return fmt.Sprintf("%s@%s (untagged until %s)", p.Repository, short(d.String()), r.tagAfter()), nil
}

// tagAfter names what the tags wait for.
func (r *runner) tagAfter() string {
	switch {
	case r.f.Verify != nil:
		return "verified"
	case r.f.Sign != nil:
		return "signed"
	}
	return "the tag stage"
}

// tagRefs renders push.tags (or the default tag) for the repository.
func (r *runner) tagRefs(repo name.Repository) ([]name.Tag, error) {
	templates := r.f.Push.Tags
	if len(templates) == 0 {
		templates = []string{DefaultTag}
	}
	var refs []name.Tag
	for _, t := range templates {
		tag, err := RenderTag(t, r.tag, r.o.Env)
		if err != nil {
			return nil, permanent{fmt.Errorf("push.tags %q: %w", t, err)}
		}
		refs = append(refs, repo.Tag(tag))
	}
	return refs, nil
}

// checkImmutable refuses, with push.immutable, to move a tag that already
// names another digest.
func (r *runner) checkImmutable(ctx context.Context) error {
	if !r.f.Push.Immutable {
		return nil
	}
	d, err := r.img.Digest()
	if err != nil {
		return err
	}
	opts := r.reg.Remote(ctx)
	for _, t := range r.refs {
		desc, err := remote.Head(t, opts...)
		if err == nil && desc.Digest != d {
			return permanent{gateFailure{fmt.Sprintf("tag %s already exists (%s) and push.immutable is set; choose a tag template that is unique per build, such as %s", t, short(desc.Digest.String()), DefaultTag)}}
		}
		var te *transport.Error
		if err != nil && !(errors.As(err, &te) && te.StatusCode == 404) {
			return pushError(r.f.Push.Repository, fmt.Errorf("checking whether %s exists: %w", t, err))
		}
	}
	return nil
}

// tagImage points the tags at the pushed digest: the last step before
// deploy, reached only when every gate passed and the signature verified.
func (r *runner) tagImage(ctx context.Context) (string, error) {
	if err := r.checkImmutable(ctx); err != nil {
		return "", err
	}
	opts := r.reg.Remote(ctx)
	for _, t := range r.refs {
		if err := remote.Tag(t, r.img, opts...); err != nil {
			return "", pushError(r.f.Push.Repository, err)
		}
	}
	r.run.Tagged = true
	return fmt.Sprintf("%s → %s", strings.Join(r.run.Tags, ", "), short(r.digest.DigestStr())), nil
}

func pushError(repo string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == 401 || te.StatusCode == 403) {
		return permanent{fmt.Errorf("pushing to %s: %w", repo, registry.Explain(err))}
	}
	return fmt.Errorf("pushing to %s: %w; check that the registry is up and reachable, then run the pipeline again", repo, registry.Explain(err))
}

func (r *runner) signRegistry(ctx context.Context) (*sign.Registry, error) {
	return sign.NewRegistry(ctx, r.reg)
}

func (r *runner) sign(ctx context.Context) (string, error) {
	s := r.f.Sign
	signer := r.signer
	if signer == nil {
		var err error
		if signer, err = sign.LoadSigner(ctx, r.keyPath(s.Key), r.o.Password); err != nil {
			return "", permanent{fmt.Errorf("sign.key: %w", err)}
		}
	}
	reg, err := r.signRegistry(ctx)
	if err != nil {
		return "", permanent{err}
	}
	res, err := sign.SignImage(ctx, reg, r.digest.String(), signer, sign.SignOptions{Annotations: s.Annotations})
	if err != nil {
		return "", err
	}
	r.run.Signed, r.run.SignKey = true, s.Key
	attest := s.Attest
	if attest == nil && r.f.Scan != nil {
		attest = []string{"sbom", "scan"}
	}
	r.run.Attestations = nil
	for _, a := range attest {
		var typ string
		var buf bytes.Buffer
		switch a {
		case "sbom":
			if r.sbom == nil {
				continue
			}
			typ = "cyclonedx"
			if err := sbom.CycloneDX(&buf, r.sbom); err != nil {
				return "", err
			}
		case "scan":
			typ = "vuln"
			if err := report.JSON(&buf, r.report); err != nil {
				return "", err
			}
		}
		if _, err := sign.AttestImage(ctx, reg, r.digest.String(), signer, sign.AttestOptions{Type: typ, Predicate: buf.Bytes(), Now: r.o.Now}); err != nil {
			return "", fmt.Errorf("attesting the %s: %w", a, err)
		}
		r.run.Attestations = append(r.run.Attestations, typ)
	}
	sum := "signed " + short(r.digest.DigestStr()) + " → " + res.Signature
	if len(r.run.Attestations) > 0 {
		sum += "; attested " + strings.Join(r.run.Attestations, ", ")
	}
	return sum, nil
}

func (r *runner) verify(ctx context.Context) (string, error) {
	v := r.f.Verify
	r.run.VerifyKey = v.Key
	res, err := sign.VerifyImage(ctx, r.digest.String(), r.keyPath(v.Key), sign.VerifyOptions{Registry: r.reg, Annotations: v.Annotations})
	if err != nil {
		if sign.IsVerificationFailure(err) {
			return "", gateFailure{fmt.Sprintf("verify: %v (key %s); deploy will not run", err, v.Key)}
		}
		return "", err
	}
	r.run.Verified = true
	return fmt.Sprintf("%d signature(s) verified with %s", len(res.Signatures), v.Key), nil
}

func (r *runner) deploy(ctx context.Context) (string, error) {
	if !r.run.Verified {
		return "", gateFailure{"deploy refused: the image was not verified"}
	}
	sum, err := r.runCommand(ctx, "deploy", r.f.Deploy, map[string]string{
		"BULWARK_IMAGE":      r.digest.String(),
		"BULWARK_DIGEST":     r.digest.DigestStr(),
		"BULWARK_REPOSITORY": r.run.Repository,
		"BULWARK_TAG":        r.run.Tags[0],
		"BULWARK_TAGS":       strings.Join(r.run.Tags, ","),
		"BULWARK_VERIFIED":   "true",
	})
	r.run.Deployed = err == nil
	return sum, err
}

// publish hands on an image that passed every gate: the golden-image
// flow's last step (register the AMI, upload the disk).
func (r *runner) publish(ctx context.Context) (string, error) {
	if r.failure != nil {
		return "", gateFailure{"publish refused: a stage before it did not pass"}
	}
	_, p, _ := strings.Cut(r.spec, ":")
	sum, err := r.runCommand(ctx, "publish", r.f.Publish, map[string]string{
		"BULWARK_IMAGE":      r.spec,
		"BULWARK_IMAGE_PATH": p,
		"BULWARK_GATES":      "passed",
	})
	r.run.Published = err == nil
	return sum, err
}

// runCommand runs a deploy or publish command with vars (and the file's
// env, in which $VAR names them) in its environment.
func (r *runner) runCommand(ctx context.Context, stage string, d *Deploy, vars map[string]string) (string, error) {
	expand := func(v string) string {
		return os.Expand(v, func(k string) string {
			if x, ok := vars[k]; ok {
				return x
			}
			return r.o.Env(k)
		})
	}
	var env []string
	for k, v := range d.Env {
		env = append(env, k+"="+expand(v))
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	argv := []string{"/bin/sh", "-c", d.Command.Shell}
	if d.Command.Argv != nil {
		argv = nil
		for _, a := range d.Command.Argv {
			argv = append(argv, expand(a))
		}
	}
	dir := r.srcDir
	if d.Dir != "" {
		dir = abs(r.o.BaseDir, d.Dir)
	}
	start := time.Now()
	if err := runCmd(ctx, dir, r.o.Log, env, argv...); err != nil {
		return "", fmt.Errorf("%s command %q failed: %w; its output is above", stage, d.Command.String(), err)
	}
	return fmt.Sprintf("%s (%s)", d.Command.String(), time.Since(start).Round(time.Millisecond)), nil
}
