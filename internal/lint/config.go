package lint

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
)

// checkUser is CIS-DI-0001: the image must not run as root.
func checkUser(img *image.Image, db accounts) []finding.Finding {
	if img.IsFilesystem() {
		return nil // a root filesystem has no configuration to check
	}
	root, why := db.isRoot(img.Config.Config.User)
	if !root {
		return nil
	}
	f := CheckRootUser.newFinding("Last user should not be root: " + why)
	f.Location.Field = "config.User"
	return []finding.Finding{f}
}

// checkContentTrust is CIS-DI-0005: with a verifier, a real signature
// check; without one, Dockle's check of DOCKER_CONTENT_TRUST.
func (h *Handler) checkContentTrust(ctx context.Context, img *image.Image) ([]finding.Finding, error) {
	if h.opts.ContentTrust != nil {
		problem, err := h.opts.ContentTrust(ctx, img)
		if err != nil {
			return nil, fmt.Errorf("checking the image signature (CIS-DI-0005): %w", err)
		}
		if problem == "" {
			return nil, nil
		}
		f := CheckContentTrust.newFinding("the image has no valid signature: " + problem)
		f.Location.Field = "signature"
		return []finding.Finding{f}, nil
	}
	env := h.opts.Env
	if env != nil && env("DOCKER_CONTENT_TRUST") == "1" {
		return nil, nil
	}
	f := CheckContentTrust.newFinding("export DOCKER_CONTENT_TRUST=1 before docker pull/build, or check the signature with --verify-key")
	return []finding.Finding{f}, nil
}

// checkHealthcheck is CIS-DI-0006.
func checkHealthcheck(img *image.Image) []finding.Finding {
	if img.IsFilesystem() {
		return nil
	}
	hc := img.Config.Config.Healthcheck
	var msg string
	switch {
	case hc == nil || len(hc.Test) == 0:
		msg = "not found HEALTHCHECK statement"
	case strings.EqualFold(hc.Test[0], "NONE"):
		msg = "HEALTHCHECK NONE disables the health check"
	default:
		return nil
	}
	f := CheckHealthcheck.newFinding(msg)
	f.Location.Field = "config.Healthcheck"
	return []finding.Finding{f}
}

// checkHistory runs the checks that read the build history: CIS-DI-0007,
// CIS-DI-0009, DKL-DI-0001, DKL-DI-0003, DKL-DI-0004 and DKL-DI-0005.
func checkHistory(img *image.Image) []finding.Finding {
	var out []finding.Finding
	firstLayerSeen := false
	for hi, h := range img.Config.History {
		in := ParseHistory(h.CreatedBy)
		at := func(c Check, msg string) {
			f := c.newFinding(msg)
			f.Location.Field = fmt.Sprintf("history[%d]", hi)
			if l := img.LayerForHistory(hi); l != nil {
				f.Location.Layer = l.Ref()
			}
			out = append(out, f)
		}
		createsLayer := !h.EmptyLayer
		switch in.Cmd {
		case "ADD":
			// The base image's own root filesystem ("ADD file:<hash> in /"
			// as the first layer) is how base images are made, not an
			// application's choice.
			isBaseRootfs := !firstLayerSeen && strings.HasPrefix(in.Args, "file:") && strings.HasSuffix(in.Args, " in /")
			if !isBaseRootfs {
				at(CheckAdd, "Use COPY : "+strings.TrimSpace(h.CreatedBy))
			}
		case "RUN":
			run := in.Args
			if containsWord(run, "sudo") {
				at(CheckSudo, "Avoid sudo in RUN: "+run)
			}
			checkRun(run, at)
		}
		if createsLayer {
			firstLayerSeen = true
		}
	}
	return out
}

// checkRun applies the package-manager checks to one RUN command.
func checkRun(run string, at func(Check, string)) {
	aptUpdate := hasCommand(run, "apt-get", "update") || hasCommand(run, "apt", "update")
	aptInstall := hasCommand(run, "apt-get", "install") || hasCommand(run, "apt", "install")
	apkUpdate := hasCommand(run, "apk", "update")
	apkAdd := hasCommand(run, "apk", "add")
	upgrade := hasCommand(run, "apt-get", "upgrade") || hasCommand(run, "apt", "upgrade") ||
		hasCommand(run, "apt-get", "dist-upgrade") || hasCommand(run, "apt", "full-upgrade") || hasCommand(run, "apk", "upgrade")
	if (aptUpdate && !aptInstall && !upgrade) || (apkUpdate && !apkAdd && !upgrade) {
		at(CheckUpdateAlone, "Always combine update and install command: "+run)
	}
	if c, ok := commandWith(run, "apt-get", "dist-upgrade"); ok {
		at(CheckDistUpgrade, "Avoid : "+c)
	} else if c, ok := commandWith(run, "apt", "full-upgrade"); ok {
		at(CheckDistUpgrade, "Avoid : "+c)
	}
	if c, ok := commandWith(run, "apk", "add"); ok && !strings.Contains(c, "--no-cache") && !strings.Contains(run, "/var/cache/apk") {
		at(CheckApkNoCache, "Use --no-cache option if use 'apk add': "+c)
	}
	if aptInstall && !strings.Contains(run, "/var/lib/apt/lists") {
		at(CheckAptLists, "Use 'rm -rf /var/lib/apt/lists' after 'apt-get install|update' : "+run)
	}
}

func containsWord(s, w string) bool {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == ';' || r == '&' || r == '|' || r == '(' || r == ')' || r == '`' || r == '"' || r == '\''
	}) {
		if f == w {
			return true
		}
	}
	return false
}

// checkVolumes is DKL-DI-0002.
func checkVolumes(img *image.Image) []finding.Finding {
	var vols []string
	for v := range img.Config.Config.Volumes {
		vols = append(vols, v)
	}
	sort.Strings(vols)
	var out []finding.Finding
	for _, v := range vols {
		clean := "/" + strings.Trim(v, "/")
		for _, s := range []string{"/sys", "/dev", "/proc"} {
			if clean == s || strings.HasPrefix(clean, s+"/") {
				f := CheckSensitiveMount.newFinding("Avoid mounting sensitive dirs : " + v)
				f.Location.Field = "config.Volumes"
				out = append(out, f)
			}
		}
	}
	return out
}

// checkLatest is DKL-DI-0006: a registry reference with the tag "latest",
// or with no tag at all, which means "latest"; or an archive or layout
// saved under the tag "latest".
func checkLatest(img *image.Image) []finding.Finding {
	var latest, field string
	if img.Kind == image.KindRegistry {
		ref, err := name.ParseReference(img.Name, name.WeakValidation)
		if tag, ok := ref.(name.Tag); err == nil && ok && tag.TagStr() == "latest" {
			latest, field = img.Name, "reference"
		}
	}
	for _, t := range img.Tags {
		// An OCI ref.name may be a bare tag; docker's RepoTags are repo:tag.
		tag := t
		if i := strings.LastIndex(t, ":"); i >= 0 && !strings.Contains(t[i:], "/") {
			tag = t[i+1:]
		}
		if latest == "" && tag == "latest" {
			latest, field = t, "tags"
		}
	}
	if latest == "" {
		return nil
	}
	f := CheckLatestTag.newFinding("Avoid 'latest' tag: " + latest)
	f.Location.Field = field
	return []finding.Finding{f}
}

// Words that, as a whole part of an ENV or LABEL key, mark a credential.
// "KEY" alone is not one: GPG_KEY and the like hold public fingerprints.
var credentialWords = map[string]bool{
	"PASSWORD": true, "PASSWD": true, "PASS": true, "SECRET": true, "TOKEN": true,
	"CREDENTIAL": true, "CREDENTIALS": true, "APIKEY": true,
}

var credentialPairs = [][2]string{{"API", "KEY"}, {"ACCESS", "KEY"}, {"PRIVATE", "KEY"}, {"SECRET", "KEY"}, {"AUTH", "KEY"}}

// credentialKey reports whether an ENV or LABEL key names a credential:
// one of its parts is a credential word or one of the extra words.
func credentialKey(key string, extra []string) bool {
	parts := strings.FieldsFunc(strings.ToUpper(key), func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	for i, p := range parts {
		if credentialWords[p] {
			return true
		}
		for _, w := range extra {
			if strings.EqualFold(w, p) {
				return true
			}
		}
		if i > 0 {
			for _, pair := range credentialPairs {
				if parts[i-1] == pair[0] && p == pair[1] {
					return true
				}
			}
		}
	}
	return false
}

// checkConfigCredentials is CIS-DI-0010 for ENV and LABEL entries.
func (h *Handler) checkConfigCredentials(img *image.Image) []finding.Finding {
	accepted := map[string]bool{}
	for _, k := range h.opts.AcceptKeys {
		accepted[strings.ToUpper(k)] = true
	}
	var out []finding.Finding
	flag := func(key, value, field, what string) {
		if value == "" || accepted[strings.ToUpper(key)] || !credentialKey(key, h.opts.SensitiveWords) || placeholder(value) {
			return
		}
		f := CheckCredentials.newFinding(fmt.Sprintf("Suspicious %s key found : %s (value redacted)", what, key))
		f.Location.Field = field
		out = append(out, f)
	}
	for _, e := range img.Config.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		flag(k, v, "config.Env."+k, "ENV")
	}
	var labels []string
	for k := range img.Config.Config.Labels {
		labels = append(labels, k)
	}
	sort.Strings(labels)
	for _, k := range labels {
		flag(k, img.Config.Config.Labels[k], "config.Labels."+k, "LABEL")
	}
	return out
}

// placeholder reports values that point at a secret rather than hold one
// (a path to a mounted secret file, a variable reference).
func placeholder(v string) bool {
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "$") || strings.HasPrefix(v, "file:")
}
