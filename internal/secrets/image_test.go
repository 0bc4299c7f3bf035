package secrets

import (
	"context"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

func openFixture(t *testing.T, img v1.Image) *image.Image {
	t.Helper()
	layout := testutil.WriteOCILayout(t, img)
	opened, err := image.Open(context.Background(), "oci:"+layout, image.Options{})
	must(t, err)
	t.Cleanup(func() { opened.Close() })
	return opened
}

// TestScanImageConfig: secrets in ENV, labels, the command and build
// arguments of history lines are found and located at their field.
func TestScanImageConfig(t *testing.T) {
	glpat := "glpat-" + "Xq7Lm2Pw9Vt4Nb6Hc3Jd"
	l1 := testutil.Layer(t, testutil.File{Path: "app/readme.txt", Content: "nothing here\n"})
	img := testutil.Image(t, v1.Config{
		Env:    []string{"PATH=/usr/bin", "AWS_SECRET_ACCESS_KEY=" + fakeAWSSec},
		Labels: map[string]string{"org.example.token": fakeGHP},
		Cmd:    []string{"app", "--db", "postgres://app:Xy7kP2qLm9@db:5432/app"},
	},
		testutil.Step{CreatedBy: "ARG GITLAB_DEPLOY_TOKEN"},
		testutil.Step{CreatedBy: "RUN |1 GITLAB_DEPLOY_TOKEN=" + glpat + " /bin/sh -c make", Layer: l1})
	res, err := ScanImage(context.Background(), openFixture(t, img), Options{})
	must(t, err)
	got := map[string]string{}
	for _, f := range res.Findings {
		got[f.Location.Field] = f.ID
		if f.Location.Field == "history[1]" && (f.Location.Layer == nil || f.Location.Layer.Index != 0) {
			t.Errorf("history[1]: layer %+v, want layer 0", f.Location.Layer)
		}
	}
	want := map[string]string{
		"config.Env[1]":                    "aws-secret-access-key",
		"config.Labels[org.example.token]": "github-pat",
		"config.Cmd":                       "database-url-password",
		"history[1]":                       "gitlab-pat",
	}
	for field, id := range want {
		if got[field] != id {
			t.Errorf("%s: got %q, want %q (all: %v)", field, got[field], id, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestScanImageOSFiles: a file that a package's file list names, in the
// layer that installed it, is not reported; --include-os-files reports
// it; the same file changed by a later layer is reported.
func TestScanImageOSFiles(t *testing.T) {
	sudoers := "# Example sudoers\nDefaults:ci password=Tr0ub4dor&3Horse\n"
	l1 := testutil.Layer(t,
		testutil.File{Path: "usr/share/doc/sudo/examples/sudoers", Content: sudoers},
		testutil.File{Path: "etc/app.conf", Content: "# app\n"},
		testutil.File{Path: "var/lib/dpkg/info/sudo.list", Content: "/.\n/usr/share/doc/sudo/examples/sudoers\n/etc/app.conf\n"})
	l2 := testutil.Layer(t, testutil.File{Path: "etc/app.conf", Content: "db_password = \"Tr0ub4dor&3Horse\"\n"})
	img := testutil.Image(t, v1.Config{},
		testutil.Step{CreatedBy: "RUN apt-get install sudo", Layer: l1},
		testutil.Step{CreatedBy: "RUN echo >> /etc/app.conf", Layer: l2})
	opened := openFixture(t, img)
	res, err := ScanImage(context.Background(), opened, Options{})
	must(t, err)
	if p := paths(res.Findings); !slices.Equal(p, []string{"etc/app.conf"}) {
		t.Errorf("findings in %v, want only etc/app.conf (changed by a later layer)", p)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool {
		return strings.Contains(w, "1 finding(s) in 1 file(s) that OS packages installed")
	}) {
		t.Errorf("warnings %q: want one on the file left out", res.Warnings)
	}
	res, err = ScanImage(context.Background(), opened, Options{IncludeOSFiles: true})
	must(t, err)
	if p := paths(res.Findings); !slices.Contains(p, "usr/share/doc/sudo/examples/sudoers") {
		t.Errorf("with IncludeOSFiles: findings in %v, want the sudoers example too", p)
	}
}

func TestParseFileList(t *testing.T) {
	apk := "P:musl\nV:1.2\nF:lib\nR:libc.so\nF:usr/share/doc\nR:README\n\nP:x\nR:top\n"
	if got := parseFileList("lib/apk/db/installed", []byte(apk)); !slices.Equal(got, []string{"lib/libc.so", "usr/share/doc/README", "top"}) {
		t.Errorf("apk: %v", got)
	}
	md5 := "d41d8cd98f00b204e9800998ecf8427e  usr/share/doc/base/copyright\n"
	if got := parseFileList("var/lib/dpkg/status.d/base.md5sums", []byte(md5)); !slices.Equal(got, []string{"usr/share/doc/base/copyright"}) {
		t.Errorf("md5sums: %v", got)
	}
}
