package lint

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/image"
)

// Options tunes the checks.
type Options struct {
	// AcceptKeys are ENV and LABEL keys that CIS-DI-0010 must not flag.
	AcceptKeys []string
	// AcceptFiles are file names or paths that CIS-DI-0010 must not flag.
	AcceptFiles []string
	// AcceptExtensions are file extensions (".pem") CIS-DI-0010 must not flag.
	AcceptExtensions []string
	// SensitiveWords are more words that, as a part of an ENV or LABEL key
	// ("VAULT" in VAULT_ROLE), make CIS-DI-0010 flag it (Dockle's
	// --sensitive-word).
	SensitiveWords []string
	// SensitiveFiles are more file names or paths CIS-DI-0010 flags.
	SensitiveFiles []string
	// SensitiveExtensions are more file extensions CIS-DI-0010 flags.
	SensitiveExtensions []string
	// ContentTrust, when set, checks CIS-DI-0005 for real: it returns ""
	// when the image carries a valid signature, the reason when it does
	// not, and an error when it could not check (which fails the run).
	// When nil, CIS-DI-0005 follows Dockle and looks at
	// DOCKER_CONTENT_TRUST in Env.
	ContentTrust func(ctx context.Context, img *image.Image) (problem string, err error)
	// Env looks up environment variables of the scanning machine (for
	// Dockle's CIS-DI-0005); nil means none are set.
	Env func(string) string
	// Progress receives the stored bytes of the image as they are read.
	Progress io.Writer
}

// maxAccountFile bounds how much of passwd, shadow and group is read.
const maxAccountFile = 4 << 20

// maxKeyPeek is how much of a possible key file is read to look for a
// private key header.
const maxKeyPeek = 64 << 10

// Handler collects, during the image walk, the files the checks need:
// account databases, setuid/setgid files, credential files and unneeded
// files. It is safe for the concurrent use image.Walk makes of it.
type Handler struct {
	opts Options

	mu    sync.Mutex
	files []seenFile
	warns []string
}

// seenFile is a file a check wants, as seen in one layer.
type seenFile struct {
	kind    fileKind
	path    string
	mode    fs.FileMode
	layer   *image.Layer
	content []byte
	isDir   bool
}

type fileKind int

const (
	kindAccount fileKind = iota
	kindSetuid
	kindCredential
	kindUnneeded
)

// NewHandler returns a Handler for one walk.
func NewHandler(opts Options) *Handler { return &Handler{opts: opts} }

var accountFiles = map[string]bool{"etc/passwd": true, "etc/shadow": true, "etc/group": true, "etc/gshadow": true}

// isAccountFile reports whether p is one of accountFiles, hashing only the
// paths under etc/ (Want runs for every entry of an image).
func isAccountFile(p string) bool { return strings.HasPrefix(p, "etc/") && accountFiles[p] }

// Want implements image.Handler.
func (h *Handler) Want(e *image.Entry) bool {
	if isAccountFile(e.Path) && e.IsRegular() {
		return true
	}
	if e.IsRegular() && e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		return true
	}
	base := path.Base(e.Path)
	if unneededName(base, e.Type == '5') {
		return true
	}
	return e.IsRegular() && h.credentialCandidate(e.Path, base)
}

// Handle implements image.Handler.
func (h *Handler) Handle(e *image.Entry, r io.Reader) error {
	f := seenFile{path: e.Path, mode: e.Mode, layer: e.Layer, isDir: e.Type == '5'}
	base := path.Base(e.Path)
	var files []seenFile
	var warn string
	switch {
	case isAccountFile(e.Path) && e.IsRegular():
		b, err := io.ReadAll(io.LimitReader(r, maxAccountFile+1))
		if err != nil {
			return err
		}
		if len(b) > maxAccountFile {
			warn = fmt.Sprintf("/%s in %s is larger than %d bytes; only the start was checked", e.Path, e.Layer, maxAccountFile)
			b = b[:maxAccountFile]
		}
		f.kind, f.content = kindAccount, b
		files = append(files, f)
	}
	if e.IsRegular() && e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		f.kind = kindSetuid
		files = append(files, f)
	}
	if unneededName(base, f.isDir) {
		f.kind = kindUnneeded
		files = append(files, f)
	}
	if e.IsRegular() && h.credentialCandidate(e.Path, base) {
		is, err := isCredentialFile(e.Path, base, r)
		if err != nil {
			return err
		}
		if is {
			f.kind = kindCredential
			files = append(files, f)
		}
	}
	h.mu.Lock()
	h.files = append(h.files, files...)
	if warn != "" {
		h.warns = append(h.warns, warn)
	}
	h.mu.Unlock()
	return nil
}

// Run walks the image once and returns every lint finding, sorted, and
// the warnings of the walk.
func Run(ctx context.Context, img *image.Image, opts Options) ([]finding.Finding, []string, error) {
	h := NewHandler(opts)
	tree, err := image.Walk(ctx, img, []image.Handler{h}, image.WalkOptions{Progress: opts.Progress})
	if err != nil {
		return nil, nil, err
	}
	fs, err := h.Findings(ctx, img, tree)
	fs = append(fs, tree.EscapeFindings()...)
	return fs, append(tree.Warnings, h.warns...), err
}

// Findings runs every check on what the walk collected and on the image
// configuration and history. Call it once, after the walk.
func (h *Handler) Findings(ctx context.Context, img *image.Image, tree *image.Tree) ([]finding.Finding, error) {
	var out []finding.Finding
	visible := func(f seenFile) bool { return tree.Visible(f.layer.Index, f.path) }
	accounts := map[string]seenFile{}
	for _, f := range h.files {
		if f.kind == kindAccount && visible(f) {
			accounts[f.path] = f
		}
	}
	db := parseAccounts(accounts)
	h.warns = append(h.warns, db.warnings...)

	out = append(out, checkUser(img, db)...)
	trust, err := h.checkContentTrust(ctx, img)
	if err != nil {
		return nil, err
	}
	out = append(out, trust...)
	out = append(out, checkHealthcheck(img)...)
	out = append(out, checkHistory(img)...)
	out = append(out, checkVolumes(img)...)
	out = append(out, checkLatest(img)...)
	out = append(out, h.checkConfigCredentials(img)...)
	out = append(out, db.findings...)
	out = append(out, h.fileFindings(visible)...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Location.Path < out[j].Location.Path
	})
	return out, nil
}

// Warnings returns what the handler could not fully check.
func (h *Handler) Warnings() []string { return h.warns }

func (h *Handler) fileFindings(visible func(seenFile) bool) []finding.Finding {
	var out []finding.Finding
	reportedDirs := map[string]bool{}
	files := append([]seenFile(nil), h.files...)
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	for _, f := range files {
		loc := finding.Location{Path: f.path, Layer: f.layer.Ref()}
		switch f.kind {
		case kindSetuid:
			if !visible(f) {
				continue
			}
			bits := "setuid"
			if f.mode&fs.ModeSetuid == 0 {
				bits = "setgid"
			} else if f.mode&fs.ModeSetgid != 0 {
				bits = "setuid+setgid"
			}
			fi := CheckSetuid.newFinding(fmt.Sprintf("%s file: %s /%s", bits, f.mode, f.path))
			fi.Location = loc
			out = append(out, fi)
		case kindCredential:
			// A credential deleted by a later layer is still in the layer
			// that added it: report it, marked as deleted.
			loc.Deleted = !visible(f)
			fi := CheckCredentials.newFinding("suspicious credential file: /" + f.path)
			fi.Location = loc
			out = append(out, fi)
		case kindUnneeded:
			if !visible(f) || insideReported(f.path, reportedDirs) {
				continue
			}
			if f.isDir {
				reportedDirs[f.path] = true
			}
			fi := CheckUnneeded.newFinding("unnecessary file or directory: /" + f.path)
			fi.Location = loc
			out = append(out, fi)
		}
	}
	return out
}

func insideReported(p string, dirs map[string]bool) bool {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if dirs[d] {
			return true
		}
	}
	return false
}

// unneededName reports files that have no place in an image: VCS
// directories, desktop metadata, package manager caches.
func unneededName(base string, isDir bool) bool {
	switch base {
	case ".DS_Store", "Thumbs.db", ".swp":
		return !isDir
	case ".git", ".svn", ".hg", ".npm", ".yarn-cache", "__pycache__":
		return isDir && base != "__pycache__"
	}
	return false
}

// credentialCandidate reports, from the name alone, whether a file may
// hold credentials; isCredentialFile then looks inside where the name is
// not conclusive.
func (h *Handler) credentialCandidate(p, base string) bool {
	for _, a := range h.opts.AcceptFiles {
		if a == base || strings.TrimPrefix(a, "/") == p {
			return false
		}
	}
	ext := path.Ext(base)
	for _, a := range h.opts.AcceptExtensions {
		if ext != "" && (a == ext || "."+a == ext) {
			return false
		}
	}
	for _, a := range h.opts.SensitiveFiles {
		if a == base || strings.TrimPrefix(a, "/") == p {
			return true
		}
	}
	for _, a := range h.opts.SensitiveExtensions {
		if ext != "" && (a == ext || "."+a == ext) {
			return true
		}
	}
	if credentialNames[base] || p == ".docker/config.json" || strings.HasSuffix(p, "/.docker/config.json") || strings.HasSuffix(p, "/.aws/credentials") {
		return true
	}
	switch ext {
	case ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk":
		// Certificate stores hold public certificates only.
		return !strings.HasPrefix(p, "etc/ssl/certs/") && !strings.HasPrefix(p, "usr/share/ca-certificates/") &&
			!strings.HasPrefix(p, "etc/pki/ca-trust/") && !strings.HasPrefix(p, "usr/share/doc/")
	}
	return false
}

// credentialNames are files that hold credentials by their nature.
var credentialNames = map[string]bool{
	".git-credentials": true, ".netrc": true, "_netrc": true, ".pgpass": true, ".htpasswd": true,
	"id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true,
	".npmrc": true, ".pypirc": true, ".boto": true, "credentials.json": true, "credentials.xml": true,
	"secret_token.rb": true, ".s3cfg": true,
}

// isCredentialFile decides for files whose name is not conclusive by
// their content: key files must hold a private key, package manager
// configs an auth token.
func isCredentialFile(p, base string, r io.Reader) (bool, error) {
	switch base {
	case ".npmrc", ".pypirc", "config.json":
		b, err := io.ReadAll(io.LimitReader(r, maxKeyPeek))
		if err != nil {
			return false, err
		}
		s := string(b)
		return strings.Contains(s, "_authToken") || strings.Contains(s, "_auth=") || strings.Contains(s, "password") ||
			strings.Contains(s, `"auth"`), nil
	}
	switch path.Ext(base) {
	case ".pem", ".key":
		b, err := io.ReadAll(io.LimitReader(r, maxKeyPeek))
		if err != nil {
			return false, err
		}
		return strings.Contains(string(b), "PRIVATE KEY-----"), nil
	}
	return true, nil
}
