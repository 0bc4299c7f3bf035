package lint_test

import (
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/lint"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestDebianRootfs lints a real Debian root filesystem from debootstrap
// and checks the setuid/setgid files found against find(1) on the same
// directory.
func TestDebianRootfs(t *testing.T) {
	if testing.Short() {
		t.Skip("needs debootstrap")
	}
	rootfs := testutil.DebianRootfs(t)
	img, err := image.Open(context.Background(), "rootfs:"+rootfs, image.Options{})
	if err != nil {
		t.Fatal(err)
	}
	findings, warnings, err := lint.Run(context.Background(), img, trusted)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		switch f.ID {
		case "CIS-DI-0008":
			got = append(got, "/"+f.Location.Path)
		case "DKL-LI-0001", "DKL-LI-0002":
			t.Errorf("a stock Debian system has no empty passwords or duplicate IDs: %s %s", f.ID, f.Message)
		}
	}
	sort.Strings(got)
	out, err := exec.Command("find", rootfs, "-type", "f", "-perm", "/6000").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			want = append(want, strings.TrimPrefix(l, rootfs))
		}
	}
	sort.Strings(want)
	if len(want) == 0 {
		t.Fatal("find found no setuid/setgid files in a Debian system; the fixture is broken")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("setuid/setgid files:\n got %v\nwant %v (find -perm /6000)", got, want)
	}
	if len(warnings) > 0 {
		t.Logf("warnings: %v", warnings)
	}
}
