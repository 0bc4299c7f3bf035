package boot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readRoot parses every boot file under a testdata root.
func readRoot(t *testing.T, root string) []*File {
	t.Helper()
	var files []*File
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if _, ok := Wanted(rel); !ok {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := Parse(rel, string(b))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// The fixtures are what grub-mkconfig writes on Debian 12 (a submenu of
// advanced options, GRUB_DEFAULT=saved) and on Amazon Linux 2023 (blscfg
// and BLS entries); their grubenv files name an older kernel than the
// newest, as after `grub-set-default` to roll back.
func TestResolveFixtures(t *testing.T) {
	for _, tc := range []struct {
		root, release, entry, reason string
	}{
		{"testdata/debian12", "6.1.0-12-amd64", "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-12-amd64", "saved_entry in grubenv"},
		{"testdata/al2023", "6.1.55-75.123.amzn2023.x86_64", "Amazon Linux (6.1.55-75.123.amzn2023.x86_64) 2023", "saved_entry in grubenv"},
		// Real files (testutil.DebianKernelRootfs): grub-mkconfig's
		// grub.cfg for two signed kernels with Debian's GRUB_DEFAULT=0;
		// with GRUB_DEFAULT=saved and grub-set-default's grubenv naming
		// the older kernel's submenu entry; and then grub-reboot 0.
		{"testdata/debian12-mkconfig/default", "6.1.0-57-amd64", "Debian GNU/Linux", "set default in boot/grub/grub.cfg"},
		{"testdata/debian12-mkconfig/saved", "6.1.0-50-amd64", "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-50-amd64", "saved_entry in grubenv"},
		{"testdata/debian12-mkconfig/saved-reboot", "6.1.0-57-amd64", "Debian GNU/Linux", "next_entry in grubenv"},
		// The saved configuration with /boot a file system of its own:
		// kernel paths relative to it (linux /vmlinuz-...).
		{"testdata/debian12-mkconfig/boot-partition", "6.1.0-50-amd64", "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-50-amd64", "saved_entry in grubenv"},
	} {
		t.Run(tc.root, func(t *testing.T) {
			c := Resolve(readRoot(t, tc.root))
			if c == nil {
				t.Fatal("no choice")
			}
			if c.Release != tc.release || c.Entry != tc.entry || !strings.Contains(c.Reason, tc.reason) || len(c.Warnings) > 0 {
				t.Errorf("got %+v, want release %s entry %q reason ~%q", c, tc.release, tc.entry, tc.reason)
			}
		})
	}
}

func TestDebianMenu(t *testing.T) {
	b, err := os.ReadFile("testdata/debian12/boot/grub/grub.cfg")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("boot/grub/grub.cfg", string(b))
	if err != nil {
		t.Fatal(err)
	}
	// Read by hand: three top-level items (the simple entry, the
	// submenu with four entries, the firmware entry inside an if).
	if len(f.Menu) != 3 || len(f.Menu[1].Sub) != 4 || f.Menu[2].ID != "uefi-firmware" {
		t.Fatalf("menu: %d items", len(f.Menu))
	}
	if f.Menu[0].Kernel != "/boot/vmlinuz-6.1.0-13-amd64" || f.Menu[0].ID != "gnulinux-simple-0badc0de-0000-4000-8000-000000000001" {
		t.Errorf("first entry %+v", f.Menu[0])
	}
	if got := strings.Join(f.Defaults, ","); got != "${next_entry},${saved_entry}" {
		t.Errorf("defaults %q", got)
	}
}

// TestDebianMkconfigMenu reads the menu of a real grub-mkconfig file:
// the simple entry, the advanced submenu (each kernel, then its recovery
// entry, newest first), ids through $menuentry_id_option, and both
// defaults of 00_header's next_entry conditional.
func TestDebianMkconfigMenu(t *testing.T) {
	b, err := os.ReadFile("testdata/debian12-mkconfig/saved/boot/grub/grub.cfg")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, "boot/grub/grub.cfg", string(b))
	const uuid = "0badc0de-0000-4000-8000-000000000001"
	var got []string
	for _, it := range f.Menu {
		got = append(got, it.ID+" "+it.Kernel)
		for _, s := range it.Sub {
			got = append(got, "  "+s.ID+" "+s.Kernel)
		}
	}
	want := []string{
		"gnulinux-simple-" + uuid + " /boot/vmlinuz-6.1.0-57-amd64",
		"gnulinux-advanced-" + uuid + " ",
		"  gnulinux-6.1.0-57-amd64-advanced-" + uuid + " /boot/vmlinuz-6.1.0-57-amd64",
		"  gnulinux-6.1.0-57-amd64-recovery-" + uuid + " /boot/vmlinuz-6.1.0-57-amd64",
		"  gnulinux-6.1.0-50-amd64-advanced-" + uuid + " /boot/vmlinuz-6.1.0-50-amd64",
		"  gnulinux-6.1.0-50-amd64-recovery-" + uuid + " /boot/vmlinuz-6.1.0-50-amd64",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("menu:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := strings.Join(f.Defaults, ","); d != "${next_entry},${saved_entry}" {
		t.Errorf("defaults %q", d)
	}
}

// TestDefaults covers the ways GRUB names its default entry.
func TestDefaults(t *testing.T) {
	cfg := `set default="%s"
menuentry 'Linux 1' --id one { linux /vmlinuz-1.0 }
submenu 'More' --id more {
  menuentry "Linux 2" --id=two { linux (hd0,1)/boot/vmlinuz-2.0 root=/dev/sda1 }
  menuentry 'Linux '\''3' { echo hi ; linux16 /boot/vmlinuz-3.0 }
}
menuentry 'Memtest' { linux16 /boot/memtest86+.bin }
`
	for _, tc := range []struct {
		def, env, grubDefault, want string
		warn                        bool
	}{
		{def: "0", want: "1.0"},
		{def: "1>1", want: "3.0"},
		{def: "1", want: "2.0"}, // a submenu: its first entry
		{def: "more>two", want: "2.0"},
		{def: "More>Linux 2", want: "2.0"},
		{def: "Linux 1", want: "1.0"},
		{def: "9", want: "1.0", warn: true},
		{def: "one>two", want: "1.0", warn: true},
		{def: "2", want: "", warn: true},
		{def: "${saved_entry}", env: "saved_entry=more>1\n", want: "3.0"},
		{def: "${saved_entry}", want: "1.0"},
		{def: "", grubDefault: "1>0", want: "2.0"},
		{def: "", grubDefault: "saved", env: "saved_entry=1>1", want: "3.0"},
	} {
		c := cfg
		if tc.def == "" {
			c = c[strings.Index(c, "\n")+1:]
		} else {
			c = strings.Replace(c, "%s", tc.def, 1)
		}
		files := []*File{mustParse(t, "boot/grub/grub.cfg", c), mustParse(t, "boot/grub/grubenv", tc.env)}
		if tc.grubDefault != "" {
			files = append(files, mustParse(t, "etc/default/grub", "GRUB_DEFAULT='"+tc.grubDefault+"'\n"))
		}
		got := Resolve(files)
		if got == nil || got.Release != tc.want || (len(got.Warnings) > 0) != tc.warn {
			t.Errorf("default %q env %q GRUB_DEFAULT %q: got %+v, want %q (warning %v)", tc.def, tc.env, tc.grubDefault, got, tc.want, tc.warn)
		}
	}
}

func TestNextEntry(t *testing.T) {
	cfg := "if [ \"${next_entry}\" ] ; then\n set default=\"${next_entry}\"\nelse\n set default=\"0\"\nfi\nmenuentry a { linux /vmlinuz-1 }\nmenuentry b { linux /vmlinuz-2 }\n"
	got := Resolve([]*File{mustParse(t, "boot/grub/grub.cfg", cfg), mustParse(t, "boot/grub/grubenv", "next_entry=1\n")})
	if got.Release != "2" || !strings.Contains(got.Reason, "next boot only") {
		t.Errorf("got %+v", got)
	}
	got = Resolve([]*File{mustParse(t, "boot/grub/grub.cfg", cfg)})
	if got.Release != "1" {
		t.Errorf("without next_entry: %+v", got)
	}
}

func TestFallbacks(t *testing.T) {
	got := Resolve([]*File{mustParse(t, "vmlinuz", "boot/vmlinuz-6.1.0-13-amd64")})
	if got == nil || got.Release != "6.1.0-13-amd64" {
		t.Errorf("link: %+v", got)
	}
	got = Resolve([]*File{
		mustParse(t, "boot/loader/entries/a-6.1.9-1.x86_64.conf", "title A\nversion 6.1.9-1.x86_64\nlinux /vmlinuz-6.1.9-1.x86_64\n"),
		mustParse(t, "boot/loader/entries/a-6.1.10-1.x86_64.conf", "title B\nversion 6.1.10-1.x86_64\nlinux /vmlinuz-6.1.10-1.x86_64\n"),
	})
	if got == nil || got.Release != "6.1.10-1.x86_64" {
		t.Errorf("BLS without grub.cfg: %+v", got)
	}
	if Resolve(nil) != nil {
		t.Error("nothing to go by, yet a choice")
	}
}

// TestHostile: bad grub.cfg files are errors or empty menus, never a panic.
func TestHostile(t *testing.T) {
	for _, cfg := range []string{
		strings.Repeat("submenu x {\n", 100),
		"menuentry x { linux",
		"}",
		"menuentry 'unterminated { linux /vmlinuz-1 }",
		"menuentry \"a\\",
		strings.Repeat("menuentry x { }\n", maxEntries+1),
	} {
		f, err := Parse("boot/grub/grub.cfg", cfg)
		if err == nil {
			Resolve([]*File{f})
		}
	}
	if _, err := Parse("boot/grub/grub.cfg", strings.Repeat(" ", MaxFileSize+1)); err == nil {
		t.Error("an oversized grub.cfg was read")
	}
	if _, err := Parse("boot/grub/grub.cfg", strings.Repeat("submenu x {\n", 100)); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("deep nesting: %v", err)
	}
}

func TestPackageRelease(t *testing.T) {
	for _, tc := range []struct {
		name, version, arch string
		rpm                 bool
		want                string
	}{
		{"linux-image-6.1.0-13-amd64", "6.1.55-1", "amd64", false, "6.1.0-13-amd64"},
		{"linux-image-6.1.0-13-amd64-unsigned", "6.1.55-1", "amd64", false, "6.1.0-13-amd64"},
		{"linux-image-unsigned-5.15.0-91-generic", "5.15.0-91.101", "amd64", false, "5.15.0-91-generic"},
		{"linux-modules-5.15.0-91-generic", "5.15.0-91.101", "amd64", false, "5.15.0-91-generic"},
		{"linux-image-amd64", "6.1.55-1", "amd64", false, ""},
		{"linux-headers-6.1.0-13-amd64", "6.1.55-1", "amd64", false, ""},
		{"kernel", "6.1.55-75.123.amzn2023", "x86_64", true, "6.1.55-75.123.amzn2023.x86_64"},
		{"kernel-headers", "6.1.55-75.123.amzn2023", "x86_64", true, ""},
	} {
		if got := PackageRelease(tc.name, tc.version, tc.arch, tc.rpm); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func mustParse(t *testing.T, p, content string) *File {
	t.Helper()
	f, err := Parse(p, content)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return f
}
