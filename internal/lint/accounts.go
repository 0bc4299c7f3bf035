package lint

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// accounts is what the account databases of the final image say.
type accounts struct {
	// uidOf maps user names to UIDs from /etc/passwd.
	uidOf map[string]string
	// gidOf maps group names to GIDs from /etc/group.
	gidOf    map[string]string
	findings []finding.Finding
	warnings []string
}

// parseAccounts reads passwd, shadow and group as the final image has
// them, and runs DKL-LI-0001 and DKL-LI-0002 on them.
func parseAccounts(files map[string]seenFile) accounts {
	a := accounts{uidOf: map[string]string{}, gidOf: map[string]string{}}
	if f, ok := files["etc/passwd"]; ok {
		a.parseIDs(f, 7, a.uidOf, "UID", "user")
	}
	if f, ok := files["etc/group"]; ok {
		a.parseIDs(f, 4, a.gidOf, "GID", "group")
	}
	if f, ok := files["etc/shadow"]; ok {
		a.emptyPasswords(f)
	}
	return a
}

// records splits a colon-separated account file into its records,
// skipping blank lines and comments, with 1-based line numbers.
func records(f seenFile, minFields int, warn func(string)) [][]string {
	var out [][]string
	for i, line := range strings.Split(string(f.content), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ":")
		if len(fields) < minFields {
			warn(fmt.Sprintf("/%s:%d: malformed line with %d fields (want %d), skipped", f.path, i+1, len(fields), minFields))
			continue
		}
		out = append(out, append(fields, fmt.Sprint(i+1)))
	}
	return out
}

func (a *accounts) warn(s string) { a.warnings = append(a.warnings, s) }

// parseIDs fills names -> IDs and reports duplicate IDs and names.
func (a *accounts) parseIDs(f seenFile, minFields int, ids map[string]string, idName, what string) {
	byID := map[string][]string{}
	byName := map[string]int{}
	for _, rec := range records(f, minFields, a.warn) {
		name, id := rec[0], rec[2]
		ids[name] = id
		byID[id] = append(byID[id], name)
		byName[name]++
	}
	var dupIDs []string
	for id, names := range byID {
		if len(names) > 1 {
			dupIDs = append(dupIDs, id)
		}
	}
	sort.Strings(dupIDs)
	for _, id := range dupIDs {
		fi := CheckDuplicateIDs.newFinding(fmt.Sprintf("duplicate %s %s in /%s: %s", idName, id, f.path, strings.Join(byID[id], ", ")))
		fi.Location = finding.Location{Path: f.path, Layer: f.layer.Ref()}
		a.findings = append(a.findings, fi)
	}
	var dupNames []string
	for n, c := range byName {
		if c > 1 {
			dupNames = append(dupNames, n)
		}
	}
	sort.Strings(dupNames)
	for _, n := range dupNames {
		fi := CheckDuplicateIDs.newFinding(fmt.Sprintf("%s %q is defined %d times in /%s", what, n, byName[n], f.path))
		fi.Location = finding.Location{Path: f.path, Layer: f.layer.Ref()}
		a.findings = append(a.findings, fi)
	}
}

// emptyPasswords reports shadow entries whose password field is empty,
// which lets the user log in without a password. Locked ("!", "*") and
// hashed fields are fine.
func (a *accounts) emptyPasswords(f seenFile) {
	for _, rec := range records(f, 2, a.warn) {
		if rec[1] != "" {
			continue
		}
		fi := CheckEmptyPassword.newFinding(fmt.Sprintf("user %q has an empty password", rec[0]))
		line := 0
		fmt.Sscan(rec[len(rec)-1], &line)
		fi.Location = finding.Location{Path: f.path, Line: line, Layer: f.layer.Ref()}
		a.findings = append(a.findings, fi)
	}
}

// isRoot reports whether a USER value runs as root: "", "root", "0",
// "0:0", "root:root", or a name or UID that /etc/passwd maps to UID 0.
func (a *accounts) isRoot(user string) (bool, string) {
	u, _, _ := strings.Cut(strings.TrimSpace(user), ":")
	switch {
	case u == "":
		return true, "no USER is set, so the container runs as root"
	case u == "root":
		return true, fmt.Sprintf("USER %s runs as root", user)
	case strings.Trim(u, "0") == "" && u != "":
		return true, fmt.Sprintf("USER %s is UID 0 (root)", user)
	}
	if uid, ok := a.uidOf[u]; ok && strings.Trim(uid, "0") == "" && uid != "" {
		return true, fmt.Sprintf("USER %s has UID 0 in /etc/passwd", user)
	}
	return false, ""
}
