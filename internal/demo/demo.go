// Package demo is `bulwark demo`: on a machine with nothing but bulwark, it
// starts a registry in-process on 127.0.0.1, generates signing keys, loads
// a small bundled advisory database, builds a sample app natively and runs
// the pipeline five times to show what each gate does.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed" // the bundled advisory
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwark-sec/bulwark/internal/pipeline"
	"github.com/bulwark-sec/bulwark/internal/sign"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/source"
)

//go:embed data/GHSA-xvch-5gv4-984h.json
var advisory []byte

// keyPassword protects the demo's throwaway signing keys.
const keyPassword = "bulwark-demo"

// Scenario is one run of the pipeline with the outcome it must have.
type Scenario struct {
	// Title says what the run shows.
	Title string
	// Expect is the stage that must fail, "" when everything must pass.
	Expect string
	// Why is the line printed before the run.
	Why string
	// setup changes the workspace from the good app.
	setup func(w *workspace) error
}

// Outcome is what one scenario did.
type Outcome struct {
	Scenario Scenario
	Run      *pipeline.Run
	Err      error
	// OK is true when the run ended as the scenario expects.
	OK bool
}

// Options configures Run.
type Options struct {
	// Out gets everything the demo says.
	Out io.Writer
	// Keep leaves the workspace (pipeline files, artifacts) in this
	// directory instead of deleting it.
	Keep string
	// Only runs the scenarios with these numbers (1-5); empty runs all.
	Only []int
}

type workspace struct {
	root, reg  string
	key, pub   string
	otherPub   string
	dockerfile string
	verifyKey  string
	baseTag    string
	files      map[string]string
}

// Scenarios are the five runs, in order.
var Scenarios = []Scenario{
	{Title: "everything passes: built, scanned, pushed, signed, verified, deployed", Why: "a clean app on a patched base"},
	{Title: "a base image with a CRITICAL vulnerability fails the scan", Expect: pipeline.StageScan,
		Why: "the base ships minimist 1.2.5 (CVE-2021-44906, CVSS 9.8)", setup: func(w *workspace) error { w.baseTag = "1.0-vulnerable"; return nil }},
	{Title: "an ADD in the Dockerfile fails lint with CIS-DI-0009", Expect: pipeline.StageScan,
		Why: "COPY app/ /app/ became ADD app/ /app/", setup: func(w *workspace) error {
			w.dockerfile = strings.Replace(w.dockerfile, "COPY app/ /app/", "ADD app/ /app/", 1)
			return nil
		}},
	{Title: "an AWS secret key in app/src/config.js fails the secrets stage", Expect: pipeline.StageSecrets,
		Why: "someone pasted credentials into the config", setup: func(w *workspace) error {
			id, err := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
			if err != nil {
				return err
			}
			secret, err := randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40)
			if err != nil {
				return err
			}
			w.files["app/src/config.js"] = fmt.Sprintf("module.exports = {\n  port: 8080,\n  region: \"eu-west-1\",\n  accessKeyId: \"AKIA%s\",\n  secretAccessKey: \"%s\",\n};\n", id, secret)
			return nil
		}},
	{Title: "verification with a different key fails before deploy", Expect: pipeline.StageVerify,
		Why: "the deploy side trusts another key than the one that signed", setup: func(w *workspace) error { w.verifyKey = w.otherPub; return nil }},
}

// Run runs the demo and returns the outcomes; the error is non-nil when
// the demo could not run or a scenario did not end as it should.
func Run(ctx context.Context, o Options) ([]Outcome, error) {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	start := time.Now()
	root := o.Keep
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "bulwark-demo-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(root)
	} else if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}

	fmt.Fprintln(out, "bulwark demo: the whole delivery pipeline on this machine, with nothing else installed.")
	reg, err := StartRegistry(ctx)
	if err != nil {
		return nil, err
	}
	defer reg.Close()
	fmt.Fprintf(out, "• registry: CNCF distribution, in-process on %s (in memory)\n", reg.Host)

	keyDir := filepath.Join(root, "keys")
	key, pub, err := writeKeys(keyDir, "cosign")
	if err != nil {
		return nil, err
	}
	_, otherPub, err := writeKeys(keyDir, "other")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "• keys: %s (signs), %s (another team's key)\n", filepath.Base(key), filepath.Base(otherPub))

	db, err := OpenDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	fmt.Fprintf(out, "• vulnerability database: %d advisory, GHSA-xvch-5gv4-984h from the GitHub Advisory Database (CC-BY-4.0)\n", db.Metadata().Advisories)

	for tag, minimist := range map[string]string{"1.0": "1.2.8", "1.0-vulnerable": "1.2.5"} {
		ref, err := name.NewTag(reg.Host + "/demo/node-base:" + tag)
		if err != nil {
			return nil, err
		}
		img, err := BaseImage(minimist)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("pushing the demo base image: %w", err)
		}
	}
	fmt.Fprintf(out, "• base images: %s/demo/node-base:1.0 (minimist 1.2.8) and :1.0-vulnerable (minimist 1.2.5), made in Go\n", reg.Host)

	var outcomes []Outcome
	for i, sc := range Scenarios {
		if len(o.Only) > 0 && !contains(o.Only, i+1) {
			continue
		}
		w := &workspace{root: filepath.Join(root, fmt.Sprintf("run%d", i+1)), reg: reg.Host, key: key, pub: pub, otherPub: otherPub,
			baseTag: "1.0", dockerfile: dockerfile, verifyKey: pub, files: appFiles()}
		if sc.setup != nil {
			if err := sc.setup(w); err != nil {
				return outcomes, err
			}
		}
		fmt.Fprintf(out, "\n━━━ %d/5 %s\n    (%s)\n", i+1, sc.Title, sc.Why)
		file, err := w.write()
		if err != nil {
			return outcomes, err
		}
		f, err := pipeline.Parse(bytes.NewReader(file), filepath.Join(w.root, "bulwark.yaml"), pipeline.ValidateOptions{})
		if err != nil {
			return outcomes, fmt.Errorf("demo pipeline file: %w", err)
		}
		ind := &indent{w: out, prefix: "    "}
		run, runErr := pipeline.Execute(ctx, pipeline.Options{
			File: f, Out: ind, DB: db,
			Password: sign.StaticPass([]byte(keyPassword)),
			Env:      func(string) string { return "" },
		})
		oc := Outcome{Scenario: sc, Run: run, Err: runErr, OK: expected(sc, run)}
		outcomes = append(outcomes, oc)
		if ctx.Err() != nil {
			return outcomes, ctx.Err()
		}
		if runErr != nil {
			fmt.Fprintf(out, "    → %v\n", runErr)
		}
	}

	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSCENARIO\tEXPECTED\tRESULT")
	bad := 0
	for i, oc := range outcomes {
		exp := "pass"
		if oc.Scenario.Expect != "" {
			exp = oc.Scenario.Expect + " fails"
		}
		got := "as expected"
		if !oc.OK {
			got = "UNEXPECTED: " + describe(oc)
			bad++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, oc.Scenario.Title, exp, got)
	}
	tw.Flush()
	fmt.Fprintf(out, "\ndemo finished in %s; the registry, keys and workspace were removed.\n", time.Since(start).Round(100*time.Millisecond))
	if o.Keep != "" {
		fmt.Fprintf(out, "(workspace kept in %s)\n", o.Keep)
	}
	if bad > 0 {
		return outcomes, fmt.Errorf("%d demo scenario(s) did not end as expected", bad)
	}
	return outcomes, nil
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// expected reports whether a run ended as its scenario says: all stages
// passed, or the expected stage failed (a gate, not an error) and nothing
// after it ran.
func expected(sc Scenario, run *pipeline.Run) bool {
	if run == nil {
		return false
	}
	if sc.Expect == "" {
		return run.Verdict == pipeline.Passed && run.Verified && run.Deployed
	}
	if run.Verdict != pipeline.Failed || run.Deployed {
		return false
	}
	s := run.Stage(sc.Expect)
	return s != nil && s.Verdict == pipeline.Failed
}

func describe(oc Outcome) string {
	if oc.Run == nil {
		return fmt.Sprint(oc.Err)
	}
	for _, s := range oc.Run.Stages {
		if s.Verdict != pipeline.Passed && s.Verdict != pipeline.NotRun {
			return s.Name + " " + s.Verdict
		}
	}
	return "run " + oc.Run.Verdict
}

// OpenDB builds the demo's vulnerability database from the bundled
// advisory, in memory.
func OpenDB() (*vulndb.DB, error) {
	stats := &source.Stats{Kind: "ghsa", Location: "bundled"}
	advs, err := source.ParseOSV("ghsa", "GHSA-xvch-5gv4-984h.json", advisory, stats)
	if err != nil {
		return nil, fmt.Errorf("demo advisory: %w", err)
	}
	var buf bytes.Buffer
	meta := vulndb.Metadata{BuiltAt: time.Now().UTC(), Sources: []vulndb.SourceInfo{{Kind: "ghsa", Location: "bulwark demo (GitHub Advisory Database, CC-BY-4.0)", Date: time.Now().UTC(), Records: len(advs)}}}
	if err := vulndb.Write(&buf, meta, advs); err != nil {
		return nil, err
	}
	return vulndb.OpenBytes("demo advisory database", buf.Bytes())
}

func writeKeys(dir, base string) (key, pub string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	priv, pubPEM, err := sign.GenerateKeyPair([]byte(keyPassword))
	if err != nil {
		return "", "", err
	}
	key, pub = filepath.Join(dir, base+".key"), filepath.Join(dir, base+".pub")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		return "", "", err
	}
	return key, pub, os.WriteFile(pub, pubPEM, 0o644)
}

func randomString(alphabet string, n int) (string, error) {
	b := make([]byte, n)
	for i := range b {
		x, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", err
		}
		b[i] = alphabet[x.Int64()]
	}
	return string(b), nil
}

func (w *workspace) write() ([]byte, error) {
	files := map[string]string{"Dockerfile": strings.ReplaceAll(strings.ReplaceAll(w.dockerfile, "REGISTRY", w.reg), "BASETAG", w.baseTag)}
	for k, v := range w.files {
		files[k] = v
	}
	for p, c := range files {
		full := filepath.Join(w.root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return nil, err
		}
	}
	file := fmt.Sprintf(pipelineFile, w.reg, w.key, w.verifyKey)
	return []byte(file), os.WriteFile(filepath.Join(w.root, "bulwark.yaml"), []byte(file), 0o644)
}

// indent prefixes every line written through it.
type indent struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (i *indent) Write(p []byte) (int, error) {
	var b bytes.Buffer
	for _, c := range p {
		if !i.mid {
			b.WriteString(i.prefix)
		}
		b.WriteByte(c)
		i.mid = c != '\n'
	}
	_, err := i.w.Write(b.Bytes())
	return len(p), err
}

// BaseImage makes the demo's base image in Go: a tiny root filesystem
// with a non-root user and a globally installed minimist of the given
// version.
func BaseImage(minimist string) (v1.Image, error) {
	return baseImage(minimist)
}
