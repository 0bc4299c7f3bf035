package scan

import (
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/bulwark-sec/bulwark/internal/image"
	"github.com/bulwark-sec/bulwark/internal/secrets"
)

// gitignored offers a handler only the entries of a source tree that its
// .gitignore files do not exclude, nor .git itself,
// as 'bulwark secrets DIR' reads a tree.
type gitignored struct {
	image.Handler
	m gitignore.Matcher
}

// ignoreGitignored wraps each handler so that it never sees what the
// .gitignore files under root exclude.
func ignoreGitignored(root string, hs []image.Handler) ([]image.Handler, error) {
	ps := []gitignore.Pattern{gitignore.ParsePattern(".git", nil)}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // unreadable folders are the walk's to report
		}
		if d.Name() == ".git" {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		var domain []string
		if rel != "." {
			domain = strings.Split(filepath.ToSlash(rel), "/")
		}
		own, err := secrets.ReadIgnoreFile(filepath.Join(p, ".gitignore"), domain)
		ps = append(ps, own...)
		return err
	})
	if err != nil {
		return nil, err
	}
	m := gitignore.NewMatcher(ps)
	out := make([]image.Handler, len(hs))
	for i, h := range hs {
		out[i] = gitignored{h, m}
	}
	return out, nil
}

func (g gitignored) Want(e *image.Entry) bool {
	parts := strings.Split(e.Path, "/")
	// A file under an excluded folder is excluded too.
	for i := 1; i < len(parts); i++ {
		if g.m.Match(parts[:i], true) {
			return false
		}
	}
	return !g.m.Match(parts, e.Mode.IsDir()) && g.Handler.Want(e)
}

func (g gitignored) Handle(e *image.Entry, r io.Reader) error { return g.Handler.Handle(e, r) }
