package lint_test

import (
	"archive/tar"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil"
	"github.com/bulwark-sec/bulwark/internal/testutil/fixtures"
)

var trusted = lint.Options{Env: func(k string) string {
	if k == "DOCKER_CONTENT_TRUST" {
		return "1"
	}
	return ""
}}

func run(t *testing.T, img v1.Image, opts lint.Options) []finding.Finding {
	t.Helper()
	oi, err := image.Open(context.Background(), "", image.Options{Input: testutil.WriteDockerArchive(t, img)})
	if err != nil {
		t.Fatal(err)
	}
	defer oi.Close()
	fs, _, err := lint.Run(context.Background(), oi, opts)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func ids(fs []finding.Finding) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range fs {
		if !seen[f.ID] {
			seen[f.ID] = true
			out = append(out, f.ID)
		}
	}
	sort.Strings(out)
	return out
}

func TestCleanImageTripsNothing(t *testing.T) {
	got := run(t, fixtures.CleanImage(t), trusted)
	if len(got) != 0 {
		for _, f := range got {
			t.Errorf("unexpected %s: %s", f.ID, f.Message)
		}
	}
}

// step builds a clean image with one more build step.
func withStep(t *testing.T, cfg func(*v1.Config), steps ...testutil.Step) v1.Image {
	c := fixtures.CleanConfig()
	if cfg != nil {
		cfg(&c)
	}
	return testutil.Image(t, c, append(fixtures.CleanSteps(t), steps...)...)
}

func layerStep(t *testing.T, by string, files ...testutil.File) testutil.Step {
	return testutil.Step{CreatedBy: by, Layer: testutil.Layer(t, files...)}
}

// TestEachCheckTrips builds, for every check, an image that trips it and
// nothing else.
func TestEachCheckTrips(t *testing.T) {
	cases := []struct {
		name string
		img  func(t *testing.T) v1.Image
		opts lint.Options
		want string // the only check ID expected
		msg  string // part of the message expected
	}{
		{"no user", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.User = "" }) }, trusted, "CIS-DI-0001", "no USER"},
		{"USER root", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.User = "root" }) }, trusted, "CIS-DI-0001", "root"},
		{"USER 0", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.User = "0" }) }, trusted, "CIS-DI-0001", "UID 0"},
		{"USER 0:0", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.User = "0:0" }) }, trusted, "CIS-DI-0001", "UID 0"},
		{"USER root:root", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.User = "root:root" }) }, trusted, "CIS-DI-0001", "root"},
		{"user mapped to UID 0", func(t *testing.T) v1.Image {
			return withStep(t, func(c *v1.Config) { c.User = "toor" },
				layerStep(t, "COPY passwd /etc/passwd # buildkit", testutil.File{Path: "etc/passwd", Content: fixtures.Passwd + "toor:x:0:1001::/:/bin/sh\n"}))
		}, trusted, "CIS-DI-0001,DKL-LI-0002", "UID 0 in /etc/passwd"},
		{"no content trust", func(t *testing.T) v1.Image { return withStep(t, nil) }, lint.Options{}, "CIS-DI-0005", "DOCKER_CONTENT_TRUST"},
		{"signature check fails", func(t *testing.T) v1.Image { return withStep(t, nil) }, lint.Options{ContentTrust: func(context.Context, *image.Image) (string, error) {
			return "no signature found", nil
		}}, "CIS-DI-0005", "no signature found"},
		{"no healthcheck", func(t *testing.T) v1.Image { return withStep(t, func(c *v1.Config) { c.Healthcheck = nil }) }, trusted, "CIS-DI-0006", "HEALTHCHECK"},
		{"healthcheck NONE", func(t *testing.T) v1.Image {
			return withStep(t, func(c *v1.Config) { c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} })
		}, trusted, "CIS-DI-0006", "NONE"},
		{"update alone (classic)", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "/bin/sh -c apt-get update"))
		}, trusted, "CIS-DI-0007", "apt-get update"},
		{"update alone (buildkit with args)", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "RUN |1 MIRROR=x /bin/sh -c apk update # buildkit"))
		}, trusted, "CIS-DI-0007", "apk update"},
		{"setuid file", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "RUN chmod u+s /usr/local/bin/tool", testutil.File{Path: "usr/local/bin/tool", Content: "x", Mode: 0o4755}))
		}, trusted, "CIS-DI-0008", "setuid"},
		{"ADD (buildkit)", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "ADD test.txt /tmp/test.txt # buildkit", testutil.File{Path: "tmp/test.txt", Content: "x"}))
		}, trusted, "CIS-DI-0009", "ADD test.txt"},
		{"ADD (classic, not the base rootfs)", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "/bin/sh -c #(nop) ADD file:0123abcd in /app ", testutil.File{Path: "app/x", Content: "x"}))
		}, trusted, "CIS-DI-0009", "file:0123abcd in /app"},
		{"secret in ENV", func(t *testing.T) v1.Image {
			return withStep(t, func(c *v1.Config) { c.Env = append(c.Env, "AWS_SECRET_ACCESS_KEY=abc123") })
		}, trusted, "CIS-DI-0010", "AWS_SECRET_ACCESS_KEY"},
		{"secret in LABEL", func(t *testing.T) v1.Image {
			return withStep(t, func(c *v1.Config) { c.Labels = map[string]string{"deploy.api-token": "abc"} })
		}, trusted, "CIS-DI-0010", "deploy.api-token"},
		{"private key file", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY . /app # buildkit", testutil.File{Path: "app/tls/server.key", Content: "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"}))
		}, trusted, "CIS-DI-0010", "/app/tls/server.key"},
		{"aws credentials file", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY creds /root/.aws/credentials # buildkit", testutil.File{Path: "root/.aws/credentials", Content: "[default]\n"}))
		}, trusted, "CIS-DI-0010", ".aws/credentials"},
		{"npmrc with token", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY .npmrc /app/.npmrc # buildkit", testutil.File{Path: "app/.npmrc", Content: "//registry.npmjs.org/:_authToken=abc\n"}))
		}, trusted, "CIS-DI-0010", ".npmrc"},
		{"sudo", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "RUN /bin/sh -c sudo make install # buildkit"))
		}, trusted, "DKL-DI-0001", "sudo"},
		{"sensitive volume", func(t *testing.T) v1.Image {
			return withStep(t, func(c *v1.Config) { c.Volumes = map[string]struct{}{"/proc/sys": {}, "/data": {}} })
		}, trusted, "DKL-DI-0002", "/proc/sys"},
		{"dist-upgrade", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "/bin/sh -c apt-get update && apt-get -y dist-upgrade && rm -rf /var/lib/apt/lists/*"))
		}, trusted, "DKL-DI-0003", "dist-upgrade"},
		{"apk add without --no-cache", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "RUN /bin/sh -c apk add curl # buildkit"))
		}, trusted, "DKL-DI-0004", "apk add curl"},
		{"apt lists kept", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "/bin/sh -c apt-get update && apt-get install -y curl"))
		}, trusted, "DKL-DI-0005", "apt-get install"},
		{"empty password", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY shadow /etc/shadow # buildkit", testutil.File{Path: "etc/shadow", Content: fixtures.Shadow + "app::19000:0:99999:7:::\n", Mode: 0o640}))
		}, trusted, "DKL-LI-0001", `"app"`},
		{"duplicate UID", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY passwd /etc/passwd # buildkit", testutil.File{Path: "etc/passwd", Content: fixtures.Passwd + "app2:x:1000:1000::/:/bin/sh\n"}))
		}, trusted, "DKL-LI-0002", "UID 1000"},
		{"duplicate GID", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY group /etc/group # buildkit", testutil.File{Path: "etc/group", Content: fixtures.Group + "other:x:1000:\n"}))
		}, trusted, "DKL-LI-0002", "GID 1000"},
		{"git directory", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY . /app # buildkit", testutil.Dir("app/.git"), testutil.File{Path: "app/.git/config", Content: "x"}))
		}, trusted, "DKL-LI-0003", "/app/.git"},
		{".DS_Store", func(t *testing.T) v1.Image {
			return withStep(t, nil, layerStep(t, "COPY . /app # buildkit", testutil.File{Path: "app/.DS_Store", Content: "x"}))
		}, trusted, "DKL-LI-0003", ".DS_Store"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.img(t), tc.opts)
			want := tc.want
			if g := strings.Join(ids(got), ","); g != want {
				t.Fatalf("checks tripped: %q, want only %s; findings: %+v", g, want, got)
			}
			found := false
			for _, f := range got {
				if strings.Contains(f.Message, tc.msg) {
					found = true
				}
				if f.Fix == "" || f.Title == "" {
					t.Errorf("%s has no title or fix", f.ID)
				}
			}
			if !found {
				t.Errorf("no %s message contains %q: %+v", want, tc.msg, got)
			}
		})
	}
}

func TestFindingsSayWhere(t *testing.T) {
	img := withStep(t, func(c *v1.Config) { c.Env = append(c.Env, "DB_PASSWORD=hunter2") },
		layerStep(t, "ADD app.tgz /app # buildkit", testutil.File{Path: "app/id_rsa", Content: "k"}),
		layerStep(t, "RUN /bin/sh -c rm /app/id_rsa # buildkit", testutil.Whiteout("app/id_rsa")),
	)
	got := run(t, img, trusted)
	var add, file, env *finding.Finding
	for i, f := range got {
		switch {
		case f.ID == "CIS-DI-0009":
			add = &got[i]
		case f.ID == "CIS-DI-0010" && f.Location.Path != "":
			file = &got[i]
		case f.ID == "CIS-DI-0010":
			env = &got[i]
		}
	}
	if add == nil || add.Location.Layer == nil || add.Location.Layer.Index != 2 || !strings.HasPrefix(add.Location.Field, "history[") {
		t.Errorf("ADD finding location: %+v", add)
	}
	if file == nil || !file.Location.Deleted || file.Location.Layer == nil || file.Location.Layer.DiffID == "" {
		t.Errorf("deleted credential file must be reported with its layer and Deleted: %+v", file)
	}
	if env == nil || env.Location.Field != "config.Env.DB_PASSWORD" || strings.Contains(env.Message, "hunter2") {
		t.Errorf("ENV finding must name the field and never the value: %+v", env)
	}
}

func TestNotFlagged(t *testing.T) {
	img := withStep(t, func(c *v1.Config) {
		c.User = "1000:0"
		c.Env = append(c.Env, "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", "PASSWORD_FILE=/run/secrets/pw", "TOKEN=")
	},
		layerStep(t, "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*"),
		layerStep(t, "/bin/sh -c apk add --no-cache curl"),
		layerStep(t, "COPY certs /etc/ssl/certs # buildkit", testutil.File{Path: "etc/ssl/certs/ca.pem", Content: "-----BEGIN CERTIFICATE-----\n"},
			testutil.File{Path: "app/public.pem", Content: "-----BEGIN PUBLIC KEY-----\n"}),
		layerStep(t, "RUN chmod u+s /x && rm /x # buildkit", testutil.File{Path: "usr/bin/x", Content: "x", Mode: 0o4755}),
		layerStep(t, "RUN rm /usr/bin/x # buildkit", testutil.Whiteout("usr/bin/x")),
	)
	if got := run(t, img, trusted); len(got) != 0 {
		t.Errorf("flagged: %+v", got)
	}
}

func TestAcceptOptions(t *testing.T) {
	img := withStep(t, func(c *v1.Config) { c.Env = append(c.Env, "API_KEY=x") },
		layerStep(t, "COPY k /app/dev.key # buildkit", testutil.File{Path: "app/dev.key", Content: "-----BEGIN PRIVATE KEY-----"}),
		layerStep(t, "COPY k /app/id_rsa # buildkit", testutil.File{Path: "app/id_rsa", Content: "x"}))
	opts := trusted
	opts.AcceptKeys = []string{"api_key"}
	opts.AcceptExtensions = []string{"key"}
	opts.AcceptFiles = []string{"id_rsa"}
	if got := run(t, img, opts); len(got) != 0 {
		t.Errorf("accepted items flagged: %+v", got)
	}
}

// TestRootfsLint lints a directory, including a 10 GB sparse file, which
// must be walked past without being read.
func TestRootfsLint(t *testing.T) {
	dir := t.TempDir()
	for p, c := range map[string]string{"etc/passwd": fixtures.Passwd, "etc/shadow": "root::19000:0:99999:7:::\n", "etc/group": fixtures.Group} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big, err := os.Create(filepath.Join(dir, "huge.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(10 << 30); err != nil {
		t.Skipf("filesystem cannot hold a sparse file: %v", err)
	}
	big.Close()
	img, err := image.Open(context.Background(), "rootfs:"+dir, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs, _, err := lint.Run(context.Background(), img, trusted)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(fs), ","); got != "DKL-LI-0001" {
		t.Errorf("rootfs findings %q, want DKL-LI-0001 only (no config checks on a directory): %+v", got, fs)
	}
}

func TestHardLinkAndSymlinkEntriesAreNotRead(t *testing.T) {
	img := withStep(t, nil, layerStep(t, "COPY . / # buildkit",
		testutil.File{Path: "etc/shadow2", Type: tar.TypeSymlink, Linkname: "/etc/shadow"},
		testutil.File{Path: "root/.ssh/id_rsa", Type: tar.TypeSymlink, Linkname: "/dev/null"}))
	got := run(t, img, trusted)
	if len(got) != 0 {
		t.Errorf("links must not be treated as credential files: %+v", got)
	}
}

func TestContentTrustCheckErrorFailsTheRun(t *testing.T) {
	oi, err := image.Open(context.Background(), "", image.Options{Input: testutil.WriteDockerArchive(t, fixtures.CleanImage(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer oi.Close()
	_, _, err = lint.Run(context.Background(), oi, lint.Options{ContentTrust: func(context.Context, *image.Image) (string, error) {
		return "", errors.New("KMS unreachable")
	}})
	if err == nil || !strings.Contains(err.Error(), "KMS unreachable") {
		t.Fatalf("error %v, want the verifier's failure", err)
	}
}

// TestLatestTagOfAnArchive: DKL-DI-0006 also reads the tag an archive was
// saved under.
func TestLatestTagOfAnArchive(t *testing.T) {
	for tag, want := range map[string]bool{"team/app:latest": true, "team/app:1.4": false, "localhost:5000/app:latest": true} {
		oi, err := image.Open(context.Background(), "", image.Options{Input: testutil.WriteDockerArchiveTag(t, fixtures.CleanImage(t), tag)})
		if err != nil {
			t.Fatal(err)
		}
		fs, _, err := lint.Run(context.Background(), oi, trusted)
		oi.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(ids(fs), ",") == "DKL-DI-0006"; got != want {
			t.Errorf("%s: findings %v, want DKL-DI-0006: %v", tag, ids(fs), want)
		}
	}
}
