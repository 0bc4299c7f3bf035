// Package pipeline runs bulwark.yaml: source → secrets → build → scan →
// push → sign → verify → deploy (→ publish, for golden images), each stage optional, each gate with its
// threshold, ignore file and VEX, one summary and one artifacts directory
// (report.json, report.sarif, report.html, junit.xml, sbom.cdx.json, the digest).
package pipeline

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/bulwark-sec/bulwark/internal/build"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
	"github.com/bulwark-sec/bulwark/internal/vulndb/update"
)

// MaxFileSize is the largest pipeline file Parse accepts.
const MaxFileSize = 1 << 20

// DefaultTag is the tag template used when push.tags is empty.
const DefaultTag = "{{.GitShort}}-{{.Timestamp}}"

// Stage names, in the order they run.
const (
	StageSource  = "source"
	StageSecrets = "secrets"
	StageBuild   = "build"
	StageScan    = "scan"
	StagePush    = "push"
	StageSign    = "sign"
	StageVerify  = "verify"
	StageTag     = "tag"
	StageDeploy  = "deploy"
	StagePublish = "publish"
)

// StageOrder lists every stage in the order it runs.
// The image is pushed by digest; its tags are set only in the tag stage,
// after it was signed and verified, so that no tag ever names an image
// that failed on the way.
// A golden image (a root file system or disk image) is not pushed: the
// publish stage runs a command once every gate passed.
var StageOrder = []string{StageSource, StageSecrets, StageBuild, StageScan, StagePush, StageSign, StageVerify, StageTag, StageDeploy, StagePublish}

// File is a parsed pipeline file.
type File struct {
	// Version is the file format version (1).
	Version int `yaml:"version"`
	// Name names the pipeline in reports.
	Name string `yaml:"name"`
	// Artifacts is the directory results are written to (default
	// bulwark-artifacts, relative to the file).
	Artifacts string `yaml:"artifacts"`
	// Registry configures registry access for every stage.
	Registry Registry `yaml:"registry"`

	Source  *Source  `yaml:"source"`
	Secrets *Secrets `yaml:"secrets"`
	Build   *Build   `yaml:"build"`
	Scan    *Scan    `yaml:"scan"`
	Push    *Push    `yaml:"push"`
	Sign    *Sign    `yaml:"sign"`
	Verify  *Verify  `yaml:"verify"`
	Deploy  *Deploy  `yaml:"deploy"`
	// Publish runs a command (the same keys as deploy) once every stage
	// before it passed: the golden-image flow's "publish the AMI".
	Publish *Deploy `yaml:"publish"`

	// Path is the file's name, for errors.
	Path string `yaml:"-"`
	root *yaml.Node
}

// Registry is how bulwark talks to registries.
type Registry struct {
	// Insecure allows plain HTTP and unverified TLS.
	Insecure bool `yaml:"insecure"`
	// CACert is a PEM file of extra CAs to trust.
	CACert string `yaml:"cacert"`
}

// Duration is a time.Duration written as "90s" or "10m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration; write it as 30s, 10m or 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Timing is what every stage accepts: a timeout, and for network stages
// how often to retry and how long to wait first (doubling each time).
type Timing struct {
	Timeout Duration `yaml:"timeout"`
	Retries *int     `yaml:"retries"`
	Backoff Duration `yaml:"backoff"`
}

// Gate is a gate's policy, with the keys and meanings of the command
// line's gate flags (docs/policy.md).
type Gate struct {
	// FailOn is what fails the gate, in the --fail-on grammar: a severity
	// (that or above), kev, epss>X, any or never; a comma-separated string
	// or a list. Empty: the gate's default (policy.DefaultFailOn).
	FailOn FailOn `yaml:"failOn"`
	// IgnoreUnfixed drops vulnerabilities that have no fix yet.
	IgnoreUnfixed bool `yaml:"ignoreUnfixed"`
	// IgnoreBase gates only on what the application's layers added.
	IgnoreBase bool `yaml:"ignoreBase"`
	// IgnoreFile lists IDs to suppress (.trivyignore / .dockleignore format).
	IgnoreFile string `yaml:"ignoreFile"`
	// Ignore lists IDs to suppress.
	Ignore []string `yaml:"ignore"`
	// VEX are OpenVEX documents; not_affected and fixed statements
	// suppress the vulnerabilities they name.
	VEX []string `yaml:"vex"`
}

// FailOn is a failOn value: one string of comma-separated terms, or a list.
type FailOn []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (f *FailOn) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*f = FailOn{n.Value}
		return nil
	case yaml.SequenceNode:
		var terms []string
		if err := n.Decode(&terms); err != nil {
			return fmt.Errorf("line %d: failOn: want a string or a list of strings", n.Line)
		}
		*f = terms
		return nil
	}
	return fmt.Errorf("line %d: failOn: want a string or a list of strings", n.Line)
}

// Rule returns what fails gate g under this configuration (nil: the
// gate's default).
func (g *Gate) Rule(gate finding.Gate) (policy.FailOn, error) {
	if g == nil || len(g.FailOn) == 0 {
		return policy.DefaultFailOn(gate), nil
	}
	return policy.ParseFailOn(g.FailOn...)
}

// Source is where the code comes from: a directory or a git checkout.
type Source struct {
	Timing `yaml:",inline"`
	// Dir is a directory (default: the pipeline file's directory).
	Dir string `yaml:"dir"`
	// Git is a repository URL to clone; Revision the commit, tag or
	// branch to check out.
	Git      string `yaml:"git"`
	Revision string `yaml:"revision"`
}

// Secrets scans the source tree.
type Secrets struct {
	Timing `yaml:",inline"`
	Gate   `yaml:",inline"`
	// Config is a rules file (YAML, or a gitleaks .toml).
	Config string `yaml:"config"`
	// Allowlist and Baseline suppress known findings.
	Allowlist string `yaml:"allowlist"`
	Baseline  string `yaml:"baseline"`
}

// Build makes the image, or names one already built.
type Build struct {
	Timing `yaml:",inline"`
	// Builder is auto, native, buildah, podman, docker, buildctl or kaniko.
	Builder    string            `yaml:"builder"`
	Dockerfile string            `yaml:"dockerfile"`
	Context    string            `yaml:"context"`
	Args       map[string]string `yaml:"args"`
	// Image is an already-built image (any spec bulwark opens) used
	// instead of building.
	Image string `yaml:"image"`
}

// Scan checks the image: vulnerabilities, lint and secrets in one stage,
// plus the SBOM.
type Scan struct {
	Timing          `yaml:",inline"`
	Vulnerabilities *Gate     `yaml:"vulnerabilities"`
	Lint            *LintGate `yaml:"lint"`
	Secrets         *Gate     `yaml:"secrets"`
	// Host runs the CIS host benchmark (golden images).
	Host *HostGate `yaml:"host"`
	// DB is the vulnerability database.
	DB DB `yaml:"db"`
}

// ScanGate is one gate the scan stage runs, with its configuration (nil
// when the file gives none).
type ScanGate struct {
	Gate finding.Gate
	// Key is the gate's key under scan: in bulwark.yaml.
	Key    string
	Config *Gate
}

// HostGate is the host benchmark gate with its profile.
type HostGate struct {
	Gate `yaml:",inline"`
	// Profile names the benchmark profile (default: the one os-release
	// names).
	Profile string `yaml:"profile"`
}

// Gates lists the gates the scan stage runs: those the file names, or
// vulnerabilities, lint and secrets when it names none.
func (s *Scan) Gates() []ScanGate {
	all := s.Vulnerabilities == nil && s.Lint == nil && s.Secrets == nil && s.Host == nil
	var out []ScanGate
	if all || s.Vulnerabilities != nil {
		out = append(out, ScanGate{finding.GateVuln, "vulnerabilities", s.Vulnerabilities})
	}
	if all || s.Lint != nil {
		var g *Gate
		if s.Lint != nil {
			g = &s.Lint.Gate
		}
		out = append(out, ScanGate{finding.GateLint, "lint", g})
	}
	if all || s.Secrets != nil {
		out = append(out, ScanGate{finding.GateSecrets, "secrets", s.Secrets})
	}
	if s.Host != nil {
		out = append(out, ScanGate{finding.GateHost, "host", &s.Host.Gate})
	}
	return out
}

// LintGate is the lint gate with its accept lists.
type LintGate struct {
	Gate        `yaml:",inline"`
	AcceptKeys  []string `yaml:"acceptKeys"`
	AcceptFiles []string `yaml:"acceptFiles"`
}

// DB says where the vulnerability database is and where it comes from.
type DB struct {
	// Path is the database file (default: bulwark's cache).
	Path string `yaml:"path"`
	// Offline never updates the database.
	Offline bool `yaml:"offline"`
	// Repository and Repositories (tried in order, after Repository) are
	// where the database is pulled from (default: $BULWARK_DB_REPOSITORY,
	// else the published database and its mirror).
	Repository   string   `yaml:"repository"`
	Repositories []string `yaml:"repositories"`
	// Key is the public key the database's signature must verify with
	// (default: $BULWARK_DB_KEY, else the key embedded in bulwark).
	Key string `yaml:"key"`
	// MaxAge is the age above which the database is stale ("2d", "36h";
	// default 2d; "0" never).
	MaxAge string `yaml:"maxAge"`
	// Stale is what a stale database that cannot be updated does: warn
	// (the default) or fail.
	Stale string `yaml:"stale"`
}

// repositories lists the repositories the file names, in order.
func (d DB) repositories() []string {
	if d.Repository == "" {
		return d.Repositories
	}
	return append([]string{d.Repository}, d.Repositories...)
}

// maxAge is MaxAge as Prepare takes it (0 the default, negative never).
func (d DB) maxAge() (time.Duration, error) {
	if d.MaxAge == "" {
		return 0, nil
	}
	a, err := vulndb.ParseAge(d.MaxAge)
	if a == 0 {
		a = -1
	}
	return a, err
}

// Push uploads the image.
type Push struct {
	Timing `yaml:",inline"`
	// Repository is host/path of the image, without a tag.
	Repository string `yaml:"repository"`
	// Tags are text/template templates (.GitShort, .GitCommit, .GitBranch,
	// .Timestamp, .Date, .RunID, and env "NAME").
	Tags []string `yaml:"tags"`
	// Immutable refuses to move an existing tag to another digest.
	Immutable bool `yaml:"immutable"`
}

// Sign signs the pushed digest and attests the SBOM and the scan report.
type Sign struct {
	Timing `yaml:",inline"`
	// Key is a cosign key file, env://VAR or a KMS URI; the password of an
	// encrypted key file comes from COSIGN_PASSWORD.
	Key string `yaml:"key"`
	// Attest lists what to attest: sbom, scan (default both, when the
	// pipeline scans).
	Attest      []string          `yaml:"attest"`
	Annotations map[string]string `yaml:"annotations"`
}

// Verify checks the signature before deploy.
type Verify struct {
	Timing `yaml:",inline"`
	// Key is the public key (cosign.pub, env://VAR, KMS URI).
	Key string `yaml:"key"`
	// Annotations must be present in the signature.
	Annotations map[string]string `yaml:"annotations"`
}

// Deploy runs a command with the verified digest in its environment; the
// publish stage takes the same keys.
type Deploy struct {
	Timing `yaml:",inline"`
	// Command is a shell command (string) or an argv list.
	Command Command `yaml:"command"`
	// Env adds environment variables.
	Env map[string]string `yaml:"env"`
	// Dir is the working directory (default: the source directory).
	Dir string `yaml:"dir"`
}

// Command is a shell string or an argv list.
type Command struct {
	Shell string
	Argv  []string
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.Shell = n.Value
		return nil
	case yaml.SequenceNode:
		return n.Decode(&c.Argv)
	}
	return fmt.Errorf("line %d: deploy.command: want a string or a list of strings", n.Line)
}

// MarshalYAML implements yaml.Marshaler.
func (c Command) MarshalYAML() (any, error) {
	if c.Argv != nil {
		return c.Argv, nil
	}
	return c.Shell, nil
}

// Empty reports whether no command was given.
func (c Command) Empty() bool { return strings.TrimSpace(c.Shell) == "" && len(c.Argv) == 0 }

// String renders the command for the plan.
func (c Command) String() string {
	if c.Argv != nil {
		return strings.Join(c.Argv, " ")
	}
	return c.Shell
}

// ValidateOptions says what the command line adds to the file.
type ValidateOptions struct {
	// HasInput is true when --input gives the image.
	HasInput bool
}

// Error is every problem found in a pipeline file, each with its line.
type Error struct {
	Path     string
	Problems []Problem
}

// Problem is one mistake in a pipeline file.
type Problem struct {
	Line int
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.Path, len(e.Problems))
	for _, p := range e.Problems {
		if p.Line > 0 {
			fmt.Fprintf(&b, "\n  %s:%d: %s", e.Path, p.Line, p.Msg)
		} else {
			fmt.Fprintf(&b, "\n  %s: %s", e.Path, p.Msg)
		}
	}
	return b.String()
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// Parse reads and validates a pipeline file. Errors name the file and line.
func Parse(r io.Reader, path string, vo ValidateOptions) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(path, err)
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, &Error{Path: path, Problems: []Problem{{Msg: "empty pipeline file; see docs/pipeline.md for an example"}}}
	}
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		return nil, yamlError(path, err)
	}
	f.Path, f.root = path, &root
	if err := f.validate(vo); err != nil {
		return nil, err
	}
	return f, nil
}

func yamlError(path string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	e := &Error{Path: path}
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p := Problem{Msg: line}
		if m := yamlLine.FindStringSubmatchIndex(line); m != nil {
			p.Line, _ = strconv.Atoi(line[m[2]:m[3]])
			p.Msg = line[:m[0]] + line[m[1]:]
		}
		p.Msg = strings.Replace(p.Msg, " in type pipeline.", " in ", 1)
		e.Problems = append(e.Problems, p)
	}
	return e
}

// Line returns the line of the value at a dotted path ("push.tags"), or of
// its nearest parent that exists.
func (f *File) Line(path string) int {
	if f.root == nil || len(f.root.Content) == 0 {
		return 0
	}
	n := f.root.Content[0]
	line := n.Line
	for _, key := range strings.Split(path, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, n, found = n.Content[i].Line, n.Content[i+1], true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// Stages lists the stages the file configures, in run order.
func (f *File) Stages() []string {
	var out []string
	for _, s := range StageOrder {
		if f.has(s) {
			out = append(out, s)
		}
	}
	return out
}

func (f *File) has(stage string) bool {
	switch stage {
	case StageSource:
		return f.Source != nil
	case StageSecrets:
		return f.Secrets != nil
	case StageBuild:
		return f.Build != nil
	case StageScan:
		return f.Scan != nil
	case StagePush:
		return f.Push != nil
	case StageSign:
		return f.Sign != nil
	case StageVerify:
		return f.Verify != nil
	case StageTag:
		return f.Push != nil
	case StageDeploy:
		return f.Deploy != nil
	case StagePublish:
		return f.Publish != nil
	}
	return false
}

// TagData is what tag templates see.
type TagData struct {
	GitShort, GitCommit, GitBranch string
	// Timestamp is UTC yyyymmddhhmmss; Date is yyyy-mm-dd.
	Timestamp, Date string
	// RunID is the CI's run number, when known.
	RunID string
}

// RenderTag executes a tag template.
func RenderTag(tmpl string, d TagData, env func(string) string) (string, error) {
	t, err := template.New("tag").Option("missingkey=error").Funcs(template.FuncMap{
		"env": env,
	}).Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	tag := b.String()
	if _, err := name.NewTag("example.com/x:"+tag, name.StrictValidation); err != nil || tag == "" {
		return "", fmt.Errorf("%q is not a valid tag (letters, digits, '_', '.', '-'; at most 128; not starting with '.' or '-')", tag)
	}
	return tag, nil
}

func (f *File) validate(vo ValidateOptions) error {
	e := &Error{Path: f.Path}
	bad := func(path, format string, args ...any) {
		e.Problems = append(e.Problems, Problem{Line: f.Line(path), Msg: path + ": " + fmt.Sprintf(format, args...)})
	}
	if f.Version != 0 && f.Version != 1 {
		bad("version", "version %d is not supported; this bulwark reads version 1", f.Version)
	}
	if len(f.Stages()) == 0 {
		bad("version", "no stages; configure at least one of %s", strings.Join(StageOrder, ", "))
	}
	if f.Registry.Insecure && f.Registry.CACert != "" {
		bad("registry.insecure", "give either insecure or cacert, not both")
	}
	timing := func(stage string, t Timing, network bool) {
		if t.Retries != nil && !network {
			bad(stage+".retries", "only network stages (push, sign, verify) retry")
		}
		if t.Retries != nil && (*t.Retries < 0 || *t.Retries > 10) {
			bad(stage+".retries", "want 0 to 10, got %d", *t.Retries)
		}
	}
	gate := func(path string, g *Gate, kind finding.Gate) {
		if g == nil {
			return
		}
		if _, err := g.Rule(kind); err != nil {
			bad(path+".failOn", "%v", err)
		}
		if g.IgnoreUnfixed && kind != finding.GateVuln {
			bad(path+".ignoreUnfixed", "applies to vulnerabilities only (scan.vulnerabilities)")
		}
		if g.IgnoreBase && path == "secrets" {
			bad(path+".ignoreBase", "applies to image gates only (scan.*): the source tree has no base image")
		}
	}
	if s := f.Source; s != nil {
		timing("source", s.Timing, false)
		if s.Dir != "" && s.Git != "" {
			bad("source", "give either dir or git, not both")
		}
		if s.Revision != "" && s.Git == "" {
			bad("source.revision", "revision needs git (a repository URL)")
		}
		if strings.HasPrefix(s.Git, "-") || strings.HasPrefix(s.Revision, "-") {
			bad("source", "git and revision must not start with \"-\"")
		}
	}
	if s := f.Secrets; s != nil {
		timing("secrets", s.Timing, false)
		gate("secrets", &s.Gate, finding.GateSecrets)
		if len(s.VEX) > 0 {
			bad("secrets.vex", "VEX applies to vulnerabilities; use allowlist or baseline for secrets")
		}
	}
	hasImage := vo.HasInput
	golden := f.Build != nil && IsGolden(f.Build.Image)
	if b := f.Build; b != nil {
		timing("build", b.Timing, false)
		if b.Image != "" {
			hasImage = true
			if b.Dockerfile != "" || b.Context != "" || len(b.Args) > 0 {
				bad("build.image", "give either image (already built) or dockerfile/context/args, not both")
			}
		} else {
			hasImage = true
		}
		if b.Builder != "" && b.Builder != build.BuilderAuto && b.Builder != build.BuilderNative {
			ok := false
			for _, n := range build.DriverNames() {
				ok = ok || n == b.Builder
			}
			if !ok {
				bad("build.builder", "%q: want auto, native, %s", b.Builder, strings.Join(build.DriverNames(), ", "))
			}
		}
	}
	needImage := func(stage string) {
		if !hasImage {
			bad(stage, "needs an image: add a build stage (dockerfile, or image: for one already built) or run with --input")
		}
	}
	if s := f.Scan; s != nil {
		timing("scan", s.Timing, false)
		needImage("scan")
		gate("scan.vulnerabilities", s.Vulnerabilities, finding.GateVuln)
		if s.Lint != nil {
			gate("scan.lint", &s.Lint.Gate, finding.GateLint)
			if len(s.Lint.VEX) > 0 {
				bad("scan.lint.vex", "VEX applies to vulnerabilities only")
			}
		}
		if _, err := s.DB.maxAge(); err != nil {
			bad("scan.db.maxAge", "%v", err)
		}
		if err := update.CheckStalePolicy(s.DB.Stale); err != nil {
			bad("scan.db.stale", "%v", err)
		}
		gate("scan.secrets", s.Secrets, finding.GateSecrets)
		if s.Secrets != nil && len(s.Secrets.VEX) > 0 {
			bad("scan.secrets.vex", "VEX applies to vulnerabilities only")
		}
		if s.Host != nil {
			gate("scan.host", &s.Host.Gate, finding.GateHost)
			if len(s.Host.VEX) > 0 {
				bad("scan.host.vex", "VEX applies to vulnerabilities only")
			}
		}
	}
	if golden {
		for _, st := range []string{"push", "sign", "verify", "deploy"} {
			if f.has(st) {
				bad(st, "build.image %s is a root file system or disk image, which is not pushed to a registry; use publish: to run the command that publishes it", f.Build.Image)
			}
		}
	}
	if p := f.Push; p != nil {
		timing("push", p.Timing, true)
		needImage("push")
		if p.Repository == "" {
			bad("push.repository", "missing; name the repository to push to (registry.example.com/team/app)")
		} else if _, err := name.NewRepository(p.Repository); err != nil {
			bad("push.repository", "%q is not a repository (host/path, without a tag or digest)", p.Repository)
		}
		sample := TagData{GitShort: "abc1234", GitCommit: strings.Repeat("a", 40), GitBranch: "main", Timestamp: "20260101000000", Date: "2026-01-01", RunID: "1"}
		for i, t := range p.Tags {
			if _, err := RenderTag(t, sample, func(string) string { return "x" }); err != nil {
				e.Problems = append(e.Problems, Problem{Line: f.tagLine(i), Msg: fmt.Sprintf("push.tags[%d]: %q: %v (fields: .GitShort .GitCommit .GitBranch .Timestamp .Date .RunID, and env \"NAME\")", i, t, err)})
			}
		}
	}
	if s := f.Sign; s != nil {
		timing("sign", s.Timing, true)
		if f.Push == nil {
			bad("sign", "needs a push stage: signatures are stored next to the image in its registry")
		}
		if s.Key == "" {
			bad("sign.key", "missing; give a cosign key file, env://VAR or a KMS URI (bulwark key generate makes one)")
		}
		for _, a := range s.Attest {
			if a != "sbom" && a != "scan" {
				bad("sign.attest", "%q: want sbom or scan", a)
			} else if f.Scan == nil {
				bad("sign.attest", "%q needs a scan stage", a)
			}
		}
	}
	if v := f.Verify; v != nil {
		timing("verify", v.Timing, true)
		if f.Push == nil {
			bad("verify", "needs a push stage: only a pushed image can be verified")
		}
		if v.Key == "" {
			bad("verify.key", "missing; give the public key (cosign.pub, env://VAR or a KMS URI)")
		}
	}
	if d := f.Deploy; d != nil {
		timing("deploy", d.Timing, false)
		if f.Verify == nil {
			bad("deploy", "needs a verify stage: deploy runs only after the signature verified")
		}
		if d.Command.Empty() {
			bad("deploy.command", "missing; give the command that deploys $BULWARK_IMAGE (kubectl set image ..., aws ecs update-service ...)")
		}
	}
	if p := f.Publish; p != nil {
		timing("publish", p.Timing, false)
		needImage("publish")
		if p.Command.Empty() {
			bad("publish.command", "missing; give the command that publishes $BULWARK_IMAGE_PATH (aws ec2 import-image ..., an upload)")
		}
		if f.Scan == nil {
			bad("publish", "needs a scan stage: publish runs only once the gates passed")
		}
	}
	if len(e.Problems) > 0 {
		sort.SliceStable(e.Problems, func(i, j int) bool { return e.Problems[i].Line < e.Problems[j].Line })
		return e
	}
	return nil
}

// IsGolden reports whether an image spec names a root file system or a
// disk image (rootfs:, vm:, ebs:) rather than a container image.
func IsGolden(spec string) bool {
	for _, p := range []string{"rootfs:", "vm:", "ebs:"} {
		if strings.HasPrefix(spec, p) {
			return true
		}
	}
	return false
}

func (f *File) tagLine(i int) int {
	n := f.root.Content[0]
	for _, k := range []string{"push", "tags"} {
		if n.Kind != yaml.MappingNode {
			return f.Line("push.tags")
		}
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == k {
				next = n.Content[j+1]
			}
		}
		if next == nil {
			return f.Line("push.tags")
		}
		n = next
	}
	if n.Kind == yaml.SequenceNode && i < len(n.Content) {
		return n.Content[i].Line
	}
	return f.Line("push.tags")
}
