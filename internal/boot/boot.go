// Package boot finds which installed kernel a Linux system's boot loader
// starts, from its files alone: GRUB's grub.cfg menu (menu entries,
// submenus, `set default=`), grubenv (saved_entry, next_entry),
// /etc/default/grub (GRUB_DEFAULT), Boot Loader Specification entries
// (/boot/loader/entries/*.conf, as Fedora and Amazon Linux 2023 use them
// through GRUB's blscfg), and the /vmlinuz symlink as a fallback.
//
// Parse reads one such file; Resolve combines the files of one system.
// Everything read is untrusted: sizes, nesting and entry counts are
// bounded, and a file that cannot be read is an error naming it.
package boot

import (
	"fmt"
	"path"
	"strings"
)

// Kinds of boot file (File.Kind).
const (
	KindGrubCfg     = "grub.cfg"
	KindGrubEnv     = "grubenv"
	KindDefaultGrub = "default-grub"
	KindBLS         = "bls"
	KindLink        = "vmlinuz-link"
)

// MaxFileSize bounds the boot files read.
const MaxFileSize = 4 << 20

// Item is one item of a boot menu: an entry that starts a kernel, or a
// submenu.
type Item struct {
	// Title is the entry's title as the menu shows it.
	Title string `json:"title,omitempty"`
	// ID is GRUB's --id, or a BLS entry's file name without ".conf".
	ID string `json:"id,omitempty"`
	// Kernel is the kernel image path the entry loads ("/boot/vmlinuz-6.1.0-13-amd64").
	Kernel string `json:"kernel,omitempty"`
	// Version is a BLS entry's version field.
	Version string `json:"version,omitempty"`
	// Sub holds a submenu's items (nil for an entry).
	Sub []*Item `json:"sub,omitempty"`
	// BLS marks where GRUB's blscfg command puts the BLS entries.
	BLS bool `json:"bls,omitempty"`

	loader bool // a linux command, while parsing
}

// File is what one boot file says.
type File struct {
	// Path is the file, relative to the root ("boot/grub/grub.cfg").
	Path string `json:"path"`
	// Kind is one of the Kind constants.
	Kind string `json:"kind"`
	// Menu is grub.cfg's menu, or the one entry of a BLS file.
	Menu []*Item `json:"menu,omitempty"`
	// Defaults are grub.cfg's `set default=` values in file order.
	Defaults []string `json:"defaults,omitempty"`
	// Env holds grubenv's variables, or GRUB_DEFAULT from /etc/default/grub.
	Env map[string]string `json:"env,omitempty"`
	// Link is the target of the /vmlinuz symlink.
	Link string `json:"link,omitempty"`
}

// Wanted reports whether p (relative to the root, no leading slash) is a
// boot file Parse reads, and which kind.
func Wanted(p string) (string, bool) {
	switch p {
	case "boot/grub/grub.cfg", "boot/grub2/grub.cfg":
		return KindGrubCfg, true
	case "boot/grub/grubenv", "boot/grub2/grubenv":
		return KindGrubEnv, true
	case "etc/default/grub":
		return KindDefaultGrub, true
	}
	if strings.HasPrefix(p, "boot/loader/entries/") && strings.HasSuffix(p, ".conf") && path.Dir(p) == "boot/loader/entries" {
		return KindBLS, true
	}
	return "", false
}

// WantedLink reports whether p is a symlink Parse reads: /vmlinuz or
// /boot/vmlinuz, which Debian's kernel packages point at the newest kernel.
func WantedLink(p string) bool { return p == "vmlinuz" || p == "boot/vmlinuz" }

// Parse reads one boot file (or, for a link, its target). The error says
// what in the file is wrong; callers name the file.
func Parse(p, content string) (*File, error) {
	if len(content) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	kind, ok := Wanted(p)
	if !ok && WantedLink(p) {
		kind = KindLink
	}
	var f *File
	switch kind {
	case KindGrubCfg:
		var err error
		if f, err = parseGrubCfg(content); err != nil {
			return nil, err
		}
		f.Menu = cleanMenu(f.Menu)
	case KindGrubEnv:
		f = &File{Env: parseEnv(content)}
	case KindDefaultGrub:
		f = &File{}
		if v, ok := parseDefaultGrub(content); ok {
			f.Env = map[string]string{"GRUB_DEFAULT": v}
		}
	case KindBLS:
		f = &File{Menu: []*Item{parseBLS(path.Base(p), content)}}
	case KindLink:
		f = &File{Link: content}
	default:
		return nil, fmt.Errorf("not a boot file")
	}
	f.Path, f.Kind = p, kind
	return f, nil
}

// parseBLS reads a Boot Loader Specification entry: "key value" lines.
func parseBLS(name, s string) *Item {
	it := &Item{ID: strings.TrimSuffix(name, ".conf")}
	for _, l := range splitLines(s) {
		k, v, _ := strings.Cut(l, " ")
		v = strings.TrimSpace(v)
		switch k {
		case "title":
			it.Title = v
		case "version":
			it.Version = v
		case "linux":
			it.Kernel = v
		}
	}
	return it
}

// Release returns the kernel release a kernel image path names
// ("/boot/vmlinuz-6.1.0-13-amd64" -> "6.1.0-13-amd64"), or "".
func Release(kernel string) string {
	b := path.Base(kernel)
	for _, prefix := range []string{"vmlinuz-", "vmlinux-", "kernel-", "bzImage-", "Image-"} {
		if r, ok := strings.CutPrefix(b, prefix); ok {
			return r
		}
	}
	return ""
}

// PackageRelease returns the kernel release whose image or modules an OS
// package installs, or "": Debian and Ubuntu name it in the package
// (linux-image-6.1.0-13-amd64, linux-image-unsigned-..., linux-modules-...),
// RPM distributions install it as kernel or kernel-core VERSION-RELEASE.ARCH
// (rpm is true for an RPM package, whose version is VERSION-RELEASE).
func PackageRelease(name, version, arch string, rpm bool) string {
	if rpm {
		switch name {
		case "kernel", "kernel-core", "kernel-modules", "kernel-modules-core", "kernel-modules-extra", "kernel-default", "kernel-uek", "kernel-uek-core":
			if arch == "" {
				return version
			}
			return version + "." + arch
		}
		return ""
	}
	for _, prefix := range []string{"linux-image-unsigned-", "linux-image-", "linux-modules-extra-", "linux-modules-"} {
		if r, ok := strings.CutPrefix(name, prefix); ok {
			if r != "" && r[0] >= '0' && r[0] <= '9' {
				return strings.TrimSuffix(r, "-unsigned")
			}
			return ""
		}
	}
	return ""
}
