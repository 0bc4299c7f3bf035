package boot

import (
	"os"
	"strings"
	"testing"
)

// FuzzGrubCfg feeds hostile grub.cfg files (seeded with the fixtures,
// among them real grub-mkconfig output with grubenv files written by
// grub-editenv) through Parse and Resolve: errors are fine, panics and
// hangs are not.
func FuzzGrubCfg(f *testing.F) {
	for _, p := range []string{"testdata/debian12/boot/grub/grub.cfg", "testdata/al2023/boot/grub2/grub.cfg"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "saved_entry=1>2\n")
	}
	for _, dir := range []string{"default", "saved", "saved-reboot", "boot-partition"} {
		cfg, err := os.ReadFile("testdata/debian12-mkconfig/" + dir + "/boot/grub/grub.cfg")
		if err != nil {
			f.Fatal(err)
		}
		env, err := os.ReadFile("testdata/debian12-mkconfig/" + dir + "/boot/grub/grubenv")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(cfg), string(env))
	}
	f.Add("submenu 'a' { menuentry \"b\\\"\" --id=x { linux /vmlinuz-1 } }", "next_entry=a>x")
	f.Fuzz(func(t *testing.T, cfg, env string) {
		c, err := Parse("boot/grub/grub.cfg", cfg)
		if err != nil {
			return
		}
		e, _ := Parse("boot/grub/grubenv", env)
		d, _ := Parse("etc/default/grub", strings.ReplaceAll(env, "saved_entry", "GRUB_DEFAULT"))
		b, _ := Parse("boot/loader/entries/x.conf", env)
		Resolve([]*File{c, e, d, b})
	})
}
