package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/bulwark-sec/bulwark/internal/ignore"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vex"
	"github.com/bulwark-sec/bulwark/internal/vulndb/defaultdb"
)

// CheckResult is one thing a run needs, checked before its first stage.
type CheckResult struct {
	// Check says what was checked ("sign.key loads").
	Check string `json:"check"`
	// Error is why it failed, "" when it passed.
	Error string `json:"error,omitempty"`
}

// Check runs the checks a run starts with and returns their results: the
// files bulwark.yaml names exist and parse, the signing key loads (its
// password is present and right, a KMS key answers), the verification key
// loads, and the registry answers and lets the credentials push. `pipeline
// validate` and `run --dry-run` call it, so that a file they call valid
// does not then fail at once. It returns an error naming every failed
// check.
func Check(ctx context.Context, o Options) ([]CheckResult, error) {
	r, err := newRunner(o)
	if err != nil {
		return nil, err
	}
	res := r.preflight(ctx)
	return res, failedChecks(res)
}

func failedChecks(res []CheckResult) error {
	var bad []string
	for _, c := range res {
		if c.Error != "" {
			bad = append(bad, c.Check+": "+c.Error)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%d check(s) failed before any stage ran, nothing was changed:\n  %s", len(bad), strings.Join(bad, "\n  "))
}

// preflight checks everything a run needs that it can know before it
// starts, so that the run never stops after it changed something outside
// its work folder (a pushed image, a tag) for a reason it could have known.
// Paths inside a git source are checked by their stages, before any push.
func (r *runner) preflight(ctx context.Context) []CheckResult {
	var res []CheckResult
	check := func(what string, err error) {
		c := CheckResult{Check: what}
		if err != nil {
			c.Error = err.Error()
		}
		res = append(res, c)
	}
	f, base := r.f, r.o.BaseDir
	inSource := !(f.Source != nil && f.Source.Git != "")
	srcDir := base
	if f.Source != nil && f.Source.Dir != "" {
		srcDir = abs(base, f.Source.Dir)
		check("source.dir "+f.Source.Dir+" is a folder", isDir(srcDir))
	}
	if r.o.Input != "" {
		check("--input "+r.o.Input+" exists", imageExists(r.o.Input))
	}
	if s := f.Secrets; s != nil {
		_, err := r.secretOptions(s)
		check("secrets: config, allowlist and baseline load", err)
		r.checkGateFiles(check, "secrets", &s.Gate)
	}
	if b := f.Build; b != nil && r.o.Input == "" {
		switch {
		case b.Image != "":
			check("build.image "+b.Image+" exists", imageExists(abs(base, b.Image)))
		case inSource:
			ctxDir := srcDir
			if b.Context != "" {
				ctxDir = abs(srcDir, b.Context)
				check("build.context "+b.Context+" is a folder", isDir(ctxDir))
			}
			df := abs(ctxDir, "Dockerfile")
			if b.Dockerfile != "" {
				df = abs(srcDir, b.Dockerfile)
			}
			check("build.dockerfile "+relTo(base, df)+" exists", isFile(df))
		}
	}
	if s := f.Scan; s != nil {
		if s.DB.Key != "" {
			_, err := defaultdb.LoadKey(ctx, r.keyPath(s.DB.Key), "")
			check("scan.db.key "+s.DB.Key+" loads", err)
		}
		for _, g := range s.Gates() {
			if g.Config != nil {
				r.checkGateFiles(check, "scan."+g.Key, g.Config)
			}
		}
	}
	if s := f.Sign; s != nil {
		signer, err := sign.LoadSigner(ctx, r.keyPath(s.Key), r.o.Password)
		check("sign.key "+s.Key+" loads", err)
		r.signer = signer
	}
	if v := f.Verify; v != nil {
		_, err := sign.LoadVerifier(ctx, r.keyPath(v.Key))
		check("verify.key "+v.Key+" loads", err)
	}
	if p := f.Push; p != nil {
		check("push.repository "+p.Repository+" answers and takes a push", r.checkPush(ctx))
	}
	if d := f.Deploy; d != nil && d.Dir != "" {
		check("deploy.dir "+d.Dir+" is a folder", isDir(abs(base, d.Dir)))
	}
	if d := f.Publish; d != nil && d.Dir != "" {
		check("publish.dir "+d.Dir+" is a folder", isDir(abs(base, d.Dir)))
	}
	return res
}

// checkGateFiles checks that a gate's ignore file and VEX documents parse.
func (r *runner) checkGateFiles(check func(string, error), key string, g *Gate) {
	if g.IgnoreFile != "" {
		_, err := ignore.ParseFile(abs(r.o.BaseDir, g.IgnoreFile))
		check(key+".ignoreFile "+g.IgnoreFile+" loads", err)
	}
	for _, v := range g.VEX {
		_, err := vex.ParseFile(abs(r.o.BaseDir, v))
		check(key+".vex "+v+" loads", err)
	}
}

// checkPush asks the registry for the repository's tags with the run's
// credentials: it answers, and takes them (a new repository answers "not
// found", which is fine). Nothing is written.
func (r *runner) checkPush(ctx context.Context) error {
	repo, err := r.reg.Repository(r.f.Push.Repository)
	if err != nil {
		return err
	}
	_, err = remote.List(repo, r.reg.Remote(ctx)...)
	var te *transport.Error
	if err == nil || errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil
	}
	return pushError(r.f.Push.Repository, err)
}

// keyPath resolves a key reference: a file relative to the pipeline
// file's folder, or a KMS or env:// reference as it is.
func (r *runner) keyPath(key string) string {
	if sign.IsKMSRef(key) || strings.HasPrefix(key, "env://") {
		return key
	}
	return abs(r.o.BaseDir, key)
}

func isDir(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a folder", p)
	}
	return nil
}

func isFile(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

// imageExists checks that an image given as a local path (an archive,
// oci:DIR, rootfs:DIR, or a name without a registry's ":") exists; a
// registry reference is left to the build stage, which changes nothing
// outside the work folder.
func imageExists(spec string) error {
	p := spec
	if strings.HasPrefix(spec, "ebs:") {
		return nil
	}
	for _, prefix := range []string{"oci:", "docker-archive:", "oci-archive:", "rootfs:", "vm:"} {
		if rest, ok := strings.CutPrefix(spec, prefix); ok {
			p = rest
			if prefix == "oci:" {
				if i := strings.IndexAny(rest, ":@"); i > 0 {
					p = rest[:i]
				}
			}
		}
	}
	if p == spec && strings.Contains(spec, ":") {
		return nil
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%s: no such file or folder", p)
	}
	return nil
}
