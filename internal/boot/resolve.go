package boot

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// Choice is the kernel a system's boot loader starts.
type Choice struct {
	// Release is the kernel release ("6.1.0-13-amd64"), "" when the
	// default entry loads no Linux kernel.
	Release string
	// Entry is the default entry's place in the menu, by title
	// ("Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-12-amd64").
	Entry string
	// Reason says how the entry was chosen.
	Reason string
	// Warnings say what in the configuration GRUB would not find.
	Warnings []string
}

// Resolve finds the kernel the boot loader starts from the boot files of
// one system, as GRUB does at boot: the menu of grub.cfg (BLS entries in
// place of its blscfg command, newest version first), the entry named by
// next_entry (for one boot) or by `set default=` with saved_entry from
// grubenv, GRUB_DEFAULT when grub.cfg sets no default, entry 0 when the
// default names nothing. Without grub.cfg: the newest BLS entry, then the
// /vmlinuz symlink. It returns nil when none of these says anything.
func Resolve(files []*File) *Choice {
	var cfg *File
	var env, def map[string]string
	var bls []*Item
	link := ""
	for _, f := range files {
		switch f.Kind {
		case KindGrubCfg:
			if cfg == nil || f.Path == "boot/grub2/grub.cfg" && len(cfg.Menu) == 0 {
				cfg = f
			}
		case KindGrubEnv:
			env = f.Env
		case KindDefaultGrub:
			def = f.Env
		case KindBLS:
			bls = append(bls, f.Menu...)
		case KindLink:
			if link == "" || f.Path == "vmlinuz" {
				link = f.Link
			}
		}
	}
	sortBLS(bls)
	switch {
	case cfg != nil:
		return fromMenu(withBLS(cfg.Menu, bls), cfg, env, def)
	case len(bls) > 0:
		return &Choice{Release: releaseOf(bls[0]), Entry: bls[0].Title, Reason: "the newest Boot Loader Specification entry (boot/loader/entries/" + bls[0].ID + ".conf); no grub.cfg"}
	case link != "" && Release(link) != "":
		return &Choice{Release: Release(link), Reason: "the /vmlinuz symlink points at it; no grub.cfg"}
	}
	return nil
}

// defaultSpec returns the value GRUB's default variable has at boot and
// where it comes from.
func defaultSpec(cfg *File, env, def map[string]string) (string, string) {
	spec, src, usesNext := "", "", false
	for _, d := range cfg.Defaults {
		if isVar(d, "next_entry") {
			usesNext = true
			continue
		}
		spec, src = d, "set default in "+cfg.Path
	}
	if usesNext && env["next_entry"] != "" {
		return env["next_entry"], "next_entry in grubenv (the next boot only)"
	}
	if src == "" {
		if v, ok := def["GRUB_DEFAULT"]; ok {
			spec, src = v, "GRUB_DEFAULT in etc/default/grub (grub.cfg sets no default)"
			if v == "saved" {
				spec = "${saved_entry}"
			}
		}
	}
	if isVar(spec, "saved_entry") {
		spec, src = env["saved_entry"], "saved_entry in grubenv"
	}
	if spec == "" {
		return "0", "GRUB's first entry (no default set)"
	}
	return spec, src
}

func isVar(s, name string) bool { return s == "$"+name || s == "${"+name+"}" }

// fromMenu chooses the default entry of a GRUB menu.
func fromMenu(menu []*Item, cfg *File, env, def map[string]string) *Choice {
	spec, src := defaultSpec(cfg, env, def)
	c := &Choice{}
	it, titles := find(menu, spec)
	if it == nil {
		it, titles = find(menu, "0")
		if it == nil {
			c.Warnings = append(c.Warnings, cfg.Path+": the boot menu has no entry")
			return c
		}
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the default %q (%s) names no menu entry: GRUB starts the first", cfg.Path, spec, src))
		spec, src = "0", "GRUB's first entry"
	}
	c.Release, c.Entry = releaseOf(it), strings.Join(titles, ">")
	c.Reason = fmt.Sprintf("GRUB default %q (%s)", spec, src)
	if c.Release == "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("%s: the default entry %q loads no Linux kernel", cfg.Path, c.Entry))
	}
	return c
}

// find follows a GRUB default ("2", "1>2", an --id, a title, or titles
// and ids joined by ">") through the menu; a submenu it ends on stands for
// the submenu's first entry.
func find(menu []*Item, spec string) (*Item, []string) {
	var titles []string
	parts := strings.Split(spec, ">")
	for i, part := range parts {
		var it *Item
		if n, err := strconv.Atoi(part); err == nil {
			if n >= 0 && n < len(menu) {
				it = menu[n]
			}
		} else {
			for _, m := range menu {
				if m.ID == part || m.Title == part {
					it = m
					break
				}
			}
		}
		if it == nil {
			return nil, nil
		}
		titles = append(titles, it.Title)
		if it.Sub == nil {
			if i < len(parts)-1 {
				return nil, nil
			}
			return it, titles
		}
		menu = it.Sub
	}
	for len(menu) > 0 {
		it := menu[0]
		titles = append(titles, it.Title)
		if it.Sub == nil {
			return it, titles
		}
		menu = it.Sub
	}
	return nil, nil
}

// withBLS puts the BLS entries where grub.cfg runs blscfg.
func withBLS(menu []*Item, bls []*Item) []*Item {
	var out []*Item
	for _, it := range menu {
		if it.BLS {
			out = append(out, bls...)
			continue
		}
		out = append(out, it)
	}
	return out
}

// sortBLS orders BLS entries as GRUB's blscfg does: newest version first
// (RPM version comparison), then by id.
func sortBLS(items []*Item) {
	key := func(it *Item) string {
		if it.Version != "" {
			return it.Version
		}
		return it.ID
	}
	sort.SliceStable(items, func(i, j int) bool {
		if c := rpmversion.NewVersion(key(items[i])).Compare(rpmversion.NewVersion(key(items[j]))); c != 0 {
			return c > 0
		}
		return items[i].ID > items[j].ID
	})
}

// releaseOf is the kernel release an entry loads.
func releaseOf(it *Item) string {
	if r := Release(it.Kernel); r != "" {
		return r
	}
	if it.Kernel != "" {
		return it.Version
	}
	return ""
}
