package host

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// evalAccounts runs the checks on passwd, shadow and group.
func evalAccounts(c *Check, e *env) Result {
	passwd, group := e.passwd(), e.group()
	shadow, shadowAt := e.shadow()
	fail := func(p, format string, args ...any) Result {
		return Result{Status: Fail, Path: p, Detail: fmt.Sprintf(format, args...)}
	}
	if len(passwd) == 0 {
		return Result{Status: Fail, Path: "etc/passwd", Detail: "/etc/passwd is missing or empty"}
	}
	switch c.Test {
	case "uid0_only_root":
		var bad []string
		for _, r := range passwd {
			if r[2] == "0" && r[0] != "root" {
				bad = append(bad, r[0])
			}
		}
		if len(bad) > 0 {
			return fail("etc/passwd", "UID 0 besides root: %s", strings.Join(bad, ", "))
		}
	case "gid0_only_root":
		var bad []string
		for _, r := range passwd {
			switch r[0] {
			case "root", "sync", "shutdown", "halt", "operator":
				continue
			}
			if r[3] == "0" {
				bad = append(bad, r[0])
			}
		}
		if len(bad) > 0 {
			return fail("etc/passwd", "primary GID 0 besides root: %s", strings.Join(bad, ", "))
		}
	case "group_gid0_only_root":
		for _, r := range group {
			if r[2] == "0" && r[0] != "root" {
				return fail("etc/group", "group %s has GID 0", r[0])
			}
		}
	case "shadowed":
		for _, r := range passwd {
			if r[1] != "x" {
				return fail("etc/passwd", "%s has its password hash in /etc/passwd, not x", r[0])
			}
		}
	case "no_empty_passwords":
		if len(shadow) == 0 {
			return fail("etc/shadow", "/etc/shadow is missing or empty")
		}
		for i, r := range shadow {
			if r[1] == "" {
				return Result{Status: Fail, Path: "etc/shadow", Line: shadowAt[i].Line, Detail: fmt.Sprintf("/etc/shadow:%d: %s has an empty password", shadowAt[i].Line, r[0])}
			}
		}
	case "groups_exist":
		gids := map[string]bool{}
		for _, r := range group {
			gids[r[2]] = true
		}
		for _, r := range passwd {
			if !gids[r[3]] {
				return fail("etc/passwd", "%s's group %s is not in /etc/group", r[0], r[3])
			}
		}
	case "shadow_group_empty":
		for _, r := range group {
			if r[0] == "shadow" {
				if strings.TrimSpace(r[3]) != "" {
					return fail("etc/group", "the shadow group has members: %s", r[3])
				}
				for _, u := range passwd {
					if u[3] == r[2] {
						return fail("etc/passwd", "%s has the shadow group as its primary group", u[0])
					}
				}
			}
		}
	case "dup_uids":
		return dups(passwd, 2, "etc/passwd", "UID")
	case "dup_gids":
		return dups(group, 2, "etc/group", "GID")
	case "dup_users":
		return dups(passwd, 0, "etc/passwd", "user name")
	case "dup_groups":
		return dups(group, 0, "etc/group", "group name")
	case "system_accounts_nologin":
		uidMin := e.uidMin()
		for _, r := range passwd {
			uid, err := strconv.Atoi(r[2])
			if err != nil || uid >= uidMin || uid == 65534 {
				continue
			}
			switch r[0] {
			case "root", "sync", "shutdown", "halt":
				continue
			}
			if !strings.HasSuffix(r[6], "nologin") && !strings.HasSuffix(r[6], "/false") {
				return fail("etc/passwd", "system account %s has the login shell %s", r[0], r[6])
			}
		}
	case "last_change_past":
		today := int(time.Now().Unix() / 86400)
		for i, r := range shadow {
			if len(r) > 2 && r[2] != "" {
				if d, err := strconv.Atoi(r[2]); err == nil && d > today {
					return Result{Status: Fail, Path: "etc/shadow", Line: shadowAt[i].Line, Detail: fmt.Sprintf("%s's last password change is in the future", r[0])}
				}
			}
		}
	case "interactive_homes":
		uidMin := e.uidMin()
		unknown := ""
		for _, r := range passwd {
			uid, err := strconv.Atoi(r[2])
			if err != nil || uid < uidMin || uid == 65534 || strings.HasSuffix(r[6], "nologin") || strings.HasSuffix(r[6], "/false") {
				continue
			}
			f := e.fs.Stat(r[5])
			switch {
			case f == nil:
				return fail("etc/passwd", "%s's home %s does not exist", r[0], r[5])
			case f.UID >= 0 && f.UID != uid:
				return fail(f.Path, "%s's home %s is owned by %s", r[0], r[5], e.userName(f.UID))
			case f.Mode.Perm()&0o027 != 0:
				return fail(f.Path, "%s's home %s has mode %04o (want 0750 or stricter)", r[0], r[5], f.Mode.Perm())
			case f.UID < 0:
				unknown = f.Path
			}
		}
		if unknown != "" {
			return Result{Status: NotChecked, Path: unknown, Detail: "/" + unknown + ": owner unknown: the reader of this file system gave none"}
		}
	case "root_path":
		return Result{Status: NotChecked, Detail: "root's PATH is set at login by the shell's start-up files; it needs a running shell"}
	default:
		return Result{Status: NotChecked, Detail: "unknown accounts test " + c.Test}
	}
	return Result{Status: Pass, Path: "etc/passwd"}
}

func (e *env) uidMin() int {
	b, _ := e.fs.Read("etc/login.defs")
	uidMin := 1000
	for _, st := range ParseKeyValue("etc/login.defs", b, "") {
		if st.Key == "UID_MIN" {
			if n, err := strconv.Atoi(st.Value); err == nil {
				uidMin = n
			}
		}
	}
	return uidMin
}

func dups(recs [][]string, field int, file, what string) Result {
	seen := map[string]string{}
	for _, r := range recs {
		if prev, ok := seen[r[field]]; ok {
			return Result{Status: Fail, Path: file, Detail: fmt.Sprintf("%s %s is used by %s and %s", what, r[field], prev, r[0])}
		}
		seen[r[field]] = r[0]
	}
	return Result{Status: Pass, Path: file}
}

// evalInventory judges the whole-tree inventories the walk made.
func evalInventory(c *Check, e *env) Result {
	list := func(paths []string) string {
		var out []string
		for i, p := range paths {
			if i == 10 {
				out = append(out, fmt.Sprintf("and %d more", len(paths)-10))
				break
			}
			out = append(out, "/"+p)
		}
		return strings.Join(out, ", ")
	}
	switch c.Test {
	case "world_writable":
		if len(e.fs.WorldWritable) > 0 {
			return Result{Status: Fail, Path: e.fs.WorldWritable[0], Detail: fmt.Sprintf("%d world-writable file(s) or folder(s) without the sticky bit: %s", len(e.fs.WorldWritable), list(e.fs.WorldWritable))}
		}
	case "unowned":
		var bad, unknown []string
		for k, paths := range e.fs.Owners {
			_, u := e.users[k[0]]
			_, g := e.groups[k[1]]
			switch {
			case k[0] < 0:
				unknown = append(unknown, paths...)
			case !u || !g:
				bad = append(bad, paths...)
			}
		}
		sort.Strings(bad)
		sort.Strings(unknown)
		if len(bad) > 0 {
			return Result{Status: Fail, Path: bad[0], Detail: "files whose owner or group is not in /etc/passwd or /etc/group: " + list(bad)}
		}
		if len(unknown) > 0 {
			return Result{Status: NotChecked, Path: unknown[0], Detail: "owners unknown: the reader of this file system gave none"}
		}
	case "setid":
		return Result{Status: NotChecked, Detail: fmt.Sprintf("%d setuid/setgid file(s) to review: %s", len(e.fs.SetID), list(e.fs.SetID))}
	default:
		return Result{Status: NotChecked, Detail: "unknown inventory test " + c.Test}
	}
	return Result{Status: Pass}
}
