package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// TestScanVMBootedKernel: a disk with two kernels installed, an old one
// with both CVEs and an updated one, and a grub.cfg whose default picks
// one of them. The report says which kernel boots and marks the findings
// of that kernel's package; the other kernel's findings stay, unmarked.
func TestScanVMBootedKernel(t *testing.T) {
	db := kernelDB(t)
	for _, tc := range []struct {
		def, booted string
		marked      bool
	}{
		{"1>2", "4.9.0-7-amd64", true}, // Advanced options > the old kernel
		{"0", "4.9.0-8-amd64", false},
		{"", "4.9.0-7-amd64", true}, // no grub.cfg: the /vmlinuz symlink
	} {
		t.Run("default="+tc.def, func(t *testing.T) {
			rootfs := twoKernelRootfs(t, tc.def)
			disk := testutil.BuildDisk(t, rootfs, testutil.DiskOptions{Table: "gpt"})
			code, out, stderr := run(t, "scan", "vm:"+disk, "--db", db, "--offline", "--scanners", "vuln", "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var rep finding.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			k := rep.Target.Kernel
			if k == nil || k.Booted != tc.booted || strings.Join(k.Installed, " ") != "4.9.0-7-amd64 4.9.0-8-amd64" {
				t.Fatalf("kernel %+v, want %s booted", k, tc.booted)
			}
			if len(rep.Findings) != 2 {
				t.Fatalf("%d findings, want the old kernel's 2:\n%s", len(rep.Findings), out)
			}
			for _, f := range rep.Findings {
				if f.Vuln.Package != "linux-image-4.9.0-7-amd64" || f.Vuln.BootedKernel != tc.marked ||
					strings.Contains(f.Message, "boot loader starts") != tc.marked {
					t.Errorf("%s: package %s, booted %v, message %q", f.ID, f.Vuln.Package, f.Vuln.BootedKernel, f.Message)
				}
			}
			_, table, _ := run(t, "scan", "vm:"+disk, "--db", db, "--offline", "--scanners", "vuln")
			if !strings.Contains(table, "boots kernel "+tc.booted) {
				t.Errorf("the table does not say which kernel boots:\n%s", table)
			}
		})
	}
}

// twoKernelRootfs is a Debian 9 system with two signed kernel images and
// the grub.cfg grub-mkconfig writes for them (simple entry, then the
// advanced submenu: new, new recovery, old, old recovery), its default set
// to def (none, and a /vmlinuz symlink, when def is empty).
func twoKernelRootfs(t *testing.T, def string) string {
	t.Helper()
	pkg := func(abi, version string) string {
		return "Package: linux-image-" + abi + "-amd64\nStatus: install ok installed\nArchitecture: amd64\n" +
			"Source: linux-signed-amd64 (" + strings.Replace(version, "-", "+", 1) + ")\nVersion: " + version + "\n\n"
	}
	entry := func(title, abi string) string {
		return "menuentry '" + title + "' --class debian $menuentry_id_option 'gnulinux-" + abi + "' {\n\tlinux\t/boot/vmlinuz-" + abi + " root=UUID=x ro quiet\n}\n"
	}
	files := map[string]string{
		"etc/os-release":      "PRETTY_NAME=\"Debian GNU/Linux 9 (stretch)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"9\"\nVERSION_CODENAME=stretch\nID=debian\n",
		"var/lib/dpkg/status": pkg("4.9.0-7", "4.9.110-3+deb9u2") + pkg("4.9.0-8", "4.9.110-3+deb9u5"),
		"boot/grub/grub.cfg": "set default=\"" + def + "\"\n" + entry("Debian GNU/Linux", "4.9.0-8-amd64") +
			"submenu 'Advanced options for Debian GNU/Linux' {\n" +
			entry("Debian GNU/Linux, with Linux 4.9.0-8-amd64", "4.9.0-8-amd64") + entry("Debian GNU/Linux, with Linux 4.9.0-8-amd64 (recovery mode)", "4.9.0-8-amd64") +
			entry("Debian GNU/Linux, with Linux 4.9.0-7-amd64", "4.9.0-7-amd64") + entry("Debian GNU/Linux, with Linux 4.9.0-7-amd64 (recovery mode)", "4.9.0-7-amd64") + "}\n",
	}
	if def != "" {
		return writeRootfs(t, files)
	}
	delete(files, "boot/grub/grub.cfg")
	root := writeRootfs(t, files)
	if err := os.Symlink("boot/vmlinuz-4.9.0-7-amd64", filepath.Join(root, "vmlinuz")); err != nil {
		t.Fatal(err)
	}
	return root
}
