package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestScanDebianKernels runs the kernel case on a real Debian 12 system:
// two of Debian's signed kernels installed by apt, GRUB's configuration
// written by grub-mkconfig and grub-set-default (testutil.KernelRoot). As
// rootfs:DIR and as GPT disk images (one file system; /boot on a
// partition of its own, mounted through fstab), bulwark names the kernel
// grub-mkconfig's menu boots (the first entry with GRUB_DEFAULT=0, the
// saved entry of the older kernel with GRUB_DEFAULT=saved), and a
// Debian-tracker advisory against the linux source version of the booted
// kernel fails the gate with that kernel's findings marked; advisories
// fixed at the installed versions pass. The secret scanner runs too and
// finds nothing in the kernels' files. The root file system takes a few
// minutes to build the first time and the disk 1.6 GB, so this runs only
// in CI (BULWARK_INTEGRATION=1) and never with -short.
func TestScanDebianKernels(t *testing.T) {
	if testing.Short() || !testutil.Integration() {
		t.Skip("builds a Debian root file system with kernels and a disk of it: BULWARK_INTEGRATION=1 runs it")
	}
	k := testutil.DebianKernelRootfs(t)
	old, cur := k.Kernels[0], k.Kernels[1]
	const (
		both    = "CVE-2026-90001" // fixed after both kernels
		oldOnly = "CVE-2026-90002" // fixed in the newer kernel
	)
	vulnDB := trackerDB(t, map[string]string{both: cur.Version + "+1", oldOnly: cur.Version})
	fixedDB := trackerDB(t, map[string]string{both: old.Version, oldOnly: old.Version})
	saved := k.With(t, k.Saved)
	disk := testutil.BuildDisk(t, saved, testutil.DiskOptions{Table: "gpt"})
	bootDisk := testutil.BuildDisk(t, k.With(t, k.BootPartition), testutil.DiskOptions{Table: "gpt", SeparateBoot: true})
	installed := old.Release + " " + cur.Release
	for _, tc := range []struct {
		name, target string
		booted       testutil.Kernel
		entry        string
		reason       string
	}{
		{"rootfs-default", "rootfs:" + k.Dir, cur, "Debian GNU/Linux", `GRUB default "0" (set default in boot/grub/grub.cfg)`},
		{"rootfs-saved", "rootfs:" + saved, old, "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux " + old.Release,
			fmt.Sprintf("GRUB default %q (saved_entry in grubenv)", testutil.SavedEntry(old.Release))},
		{"vm-gpt-saved", "vm:" + disk, old, "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux " + old.Release,
			fmt.Sprintf("GRUB default %q (saved_entry in grubenv)", testutil.SavedEntry(old.Release))},
		{"vm-gpt-boot-partition", "vm:" + bootDisk, old, "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux " + old.Release,
			fmt.Sprintf("GRUB default %q (saved_entry in grubenv)", testutil.SavedEntry(old.Release))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := run(t, "scan", tc.target, "--db", vulnDB, "--offline", "--scanners", "vuln,secret", "--fail-on", "any", "--format", "json")
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the gate fails)\n%s", code, stderr)
			}
			var rep finding.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			kern := rep.Target.Kernel
			if kern == nil || kern.Booted != tc.booted.Release || kern.Entry != tc.entry || kern.Reason != tc.reason ||
				strings.Join(kern.Installed, " ") != installed {
				t.Fatalf("kernel %+v\nwant booted %s, entry %q, reason %q, installed %s", kern, tc.booted.Release, tc.entry, tc.reason, installed)
			}
			// Each vulnerable kernel image package has its finding; only
			// the booted one's are marked.
			want := map[string]bool{both + " " + old.Package: true, both + " " + cur.Package: true, oldOnly + " " + old.Package: true}
			for _, f := range rep.Findings {
				if f.Vuln == nil || !strings.HasPrefix(f.Vuln.Package, "linux-image-") {
					t.Errorf("unexpected finding %s %+v", f.ID, f.Vuln)
					continue
				}
				key := f.ID + " " + f.Vuln.Package
				if f.Vuln.Package == "linux-image-amd64" { // the metapackage, same source
					continue
				}
				if !want[key] {
					t.Errorf("unexpected finding %s", key)
				}
				delete(want, key)
				if marked := f.Vuln.Package == tc.booted.Package; f.Vuln.BootedKernel != marked {
					t.Errorf("%s: bootedKernel %v, want %v", key, f.Vuln.BootedKernel, marked)
				}
			}
			for key := range want {
				t.Errorf("missing finding %s", key)
			}
			if code, out, stderr := run(t, "scan", tc.target, "--db", fixedDB, "--offline", "--scanners", "vuln,secret", "--fail-on", "any", "--format", "json"); code != 0 {
				t.Errorf("fixed advisories: exit %d, want 0\n%s\n%s", code, stderr, out)
			}
		})
	}
	// The packages bulwark reads from the disk are what dpkg-query lists.
	code, out, stderr := run(t, "sbom", "vm:"+disk, "--format", "json")
	if code != 0 {
		t.Fatalf("sbom: exit %d\n%s", code, stderr)
	}
	var sb inventory.SBOM
	if err := json.Unmarshal([]byte(out), &sb); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range sb.Packages {
		if p.Ecosystem == inventory.Debian {
			got = append(got, p.Name+" "+p.Version)
		}
	}
	slices.Sort(got)
	if want := testutil.DpkgQuery(t, saved); !slices.Equal(got, want) {
		t.Errorf("packages from the disk differ from dpkg-query's (%d vs %d):\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

// trackerDB builds a database from Debian security tracker records for the
// linux source package in bookworm: CVE id -> fixed version.
func trackerDB(t *testing.T, fixed map[string]string) string {
	t.Helper()
	cves := map[string]any{}
	for id, v := range fixed {
		cves[id] = map[string]any{
			"description": "test advisory for the linux kernel",
			"scope":       "local",
			"releases": map[string]any{"bookworm": map[string]any{
				"status": "resolved", "repositories": map[string]string{"bookworm": v}, "fixed_version": v, "urgency": "not yet assigned",
			}},
		}
	}
	b, err := json.Marshal(map[string]any{"linux": cves})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("BULWARK_CACHE_DIR", filepath.Join(dir, "cache"))
	src, db := filepath.Join(dir, "debian-tracker.json"), filepath.Join(dir, "v.bwdb")
	if err := os.WriteFile(src, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "db", "build", "-o", db, "--debian-tracker", src); code != 0 {
		t.Fatalf("db build: %d\n%s", code, stderr)
	}
	return db
}
