package secrets

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Reasons a file is skipped, as the summary counts them.
const (
	SkipBinary      = "binary"
	SkipUnreadable  = "unreadable"
	SkipSymlink     = "symlink"
	SkipSpecial     = "not a regular file"
	SkipTooLarge    = "too large"
	SkipAllowlisted = "allowlisted path"
	SkipIgnored     = "gitignored"
	SkipExcluded    = "excluded (written by bulwark)"
)

// DirOptions configures a scan of a directory tree.
type DirOptions struct {
	Options
	// NoGitignore scans files that .gitignore files exclude.
	NoGitignore bool
	// Exclude are files and folders (absolute paths) not to scan: what
	// the caller writes itself, such as a pipeline's artifacts.
	Exclude []string
}

type fileJob struct {
	abs, rel string
	size     int64
}

// ScanDir scans every regular file under root (or root itself, if it is a
// file), reading files in parallel. Symbolic links are never followed;
// those that are broken or point outside the root are reported. The .git
// directory is not scanned, nor, unless NoGitignore, what .gitignore files
// exclude. Unreadable files and directories are reported and skipped.
func ScanDir(ctx context.Context, root string, opts DirOptions) (*Result, error) {
	eng, err := opts.engine()
	if err != nil {
		return nil, err
	}
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", root, err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", root, err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return nil, fmt.Errorf("source %q: %w", root, err)
	}
	c := newCollector(&opts.Options)
	jobs := make(chan fileJob, 256)
	wg := startWorkers(opts.Workers, jobs, func() func(fileJob) {
		buf := make([]byte, BufferSize)
		return func(j fileJob) {
			if ctx.Err() == nil {
				scanFile(eng, c, j, buf)
			}
		}
	})
	var walkErr error
	if !info.IsDir() {
		jobs <- fileJob{abs: realRoot, rel: filepath.Base(root), size: info.Size()}
	} else {
		walkErr = walkTree(ctx, realRoot, &opts, excludeSet(opts.Exclude), c, jobs)
	}
	close(jobs)
	wg.Wait()
	if walkErr != nil {
		return nil, fmt.Errorf("source %q: %w", root, walkErr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.result(), nil
}

// excludeSet resolves the paths to exclude as the walk sees them:
// absolute, symbolic links evaluated.
func excludeSet(paths []string) map[string]bool {
	set := map[string]bool{}
	for _, p := range paths {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if a, err := filepath.Abs(p); err == nil {
			set[a] = true
		}
	}
	return set
}

// walkTree sends the files to scan under root to jobs.
func walkTree(ctx context.Context, root string, opts *DirOptions, exclude map[string]bool, c *collector, jobs chan<- fileJob) error {
	ignores := map[string][]gitignore.Pattern{}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rel, relErr := filepath.Rel(root, p)
		if relErr != nil {
			return relErr
		}
		rel = filepath.ToSlash(rel)
		if err != nil {
			c.skip(rel, SkipUnreadable, err.Error())
			if d != nil && d.IsDir() && rel != "." {
				return fs.SkipDir
			}
			if rel == "." {
				return err
			}
			return nil
		}
		parent := "."
		if i := strings.LastIndexByte(rel, '/'); i >= 0 {
			parent = rel[:i]
		}
		if exclude[p] && rel != "." {
			if d.IsDir() {
				c.skip(rel+"/", SkipExcluded, "")
				return fs.SkipDir
			}
			c.skip(rel, SkipExcluded, "")
			return nil
		}
		if d.IsDir() {
			if rel == "." {
				if !opts.NoGitignore {
					ignores["."] = append(readIgnoreFile(filepath.Join(root, ".git", "info", "exclude"), nil, c),
						readIgnoreFile(filepath.Join(p, ".gitignore"), nil, c)...)
				}
				return nil
			}
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			if !opts.NoGitignore {
				pats := ignores[parent]
				if ignored(pats, rel, true) {
					c.skip(rel+"/", SkipIgnored, "")
					return fs.SkipDir
				}
				own := readIgnoreFile(filepath.Join(p, ".gitignore"), strings.Split(rel, "/"), c)
				if len(own) > 0 {
					pats = append(pats[:len(pats):len(pats)], own...)
				}
				ignores[rel] = pats
			}
			if c.skipPath(rel + "/") {
				c.skip(rel+"/", SkipAllowlisted, "")
				return fs.SkipDir
			}
			return nil
		}
		if !opts.NoGitignore && ignored(ignores[parent], rel, false) {
			c.skip(rel, SkipIgnored, "")
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			c.skip(rel, SkipSymlink, symlinkProblem(root, p))
			return nil
		}
		if !d.Type().IsRegular() {
			c.skip(rel, SkipSpecial, "")
			return nil
		}
		if c.skipPath(rel) {
			c.skip(rel, SkipAllowlisted, "")
			return nil
		}
		info, err := d.Info()
		if err != nil {
			c.skip(rel, SkipUnreadable, err.Error())
			return nil
		}
		if opts.MaxFileSize > 0 && info.Size() > opts.MaxFileSize {
			c.skip(rel, SkipTooLarge, fmt.Sprintf("%d bytes, over --max-file-size", info.Size()))
			return nil
		}
		select {
		case jobs <- fileJob{abs: p, rel: rel, size: info.Size()}:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
}

// symlinkProblem says what is wrong with a symlink worth a warning
// (broken, or pointing outside the root), or "" for an ordinary one.
func symlinkProblem(root, p string) string {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		dest, _ := os.Readlink(p)
		return fmt.Sprintf("broken symbolic link to %q", dest)
	}
	if rel, err := filepath.Rel(root, target); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return fmt.Sprintf("symbolic link to %q, outside the scanned tree; not followed", target)
	}
	return ""
}

// readIgnoreFile reads the patterns of one .gitignore-style file; one that
// cannot be read is a warning.
func readIgnoreFile(file string, domain []string, c *collector) []gitignore.Pattern {
	ps, err := ReadIgnoreFile(file, domain)
	if err != nil {
		c.warn("%s: not read, its patterns are not applied: %v", file, err)
	}
	return ps
}

// ReadIgnoreFile reads the patterns of one .gitignore-style file, whose
// folder is domain (path elements below the root); a missing file has
// none.
func ReadIgnoreFile(file string, domain []string) ([]gitignore.Pattern, error) {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, domain))
	}
	return ps, sc.Err()
}

// ignored applies gitignore patterns, the last matching one winning.
func ignored(ps []gitignore.Pattern, rel string, isDir bool) bool {
	if len(ps) == 0 {
		return false
	}
	parts := strings.Split(rel, "/")
	for i := len(ps) - 1; i >= 0; i-- {
		switch ps[i].Match(parts, isDir) {
		case gitignore.Exclude:
			return true
		case gitignore.Include:
			return false
		}
	}
	return false
}

// scanFile scans one file of a tree.
func scanFile(eng *Engine, c *collector, j fileJob, buf []byte) {
	// O_NONBLOCK: a FIFO swapped in after the walk looked must not hang the scan.
	f, err := os.OpenFile(j.abs, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		c.skip(j.rel, SkipUnreadable, err.Error())
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		c.skip(j.rel, SkipSpecial, "")
		return
	}
	ms, err := eng.ScanReader(j.rel, f, buf, true)
	if errors.Is(err, ErrBinary) {
		c.skip(j.rel, SkipBinary, "")
		return
	}
	if err != nil {
		c.skip(j.rel, SkipUnreadable, err.Error())
		if len(ms) == 0 {
			return
		}
	}
	c.scanned(j.size)
	c.add(j.rel, finding.Location{}, ms, nil)
}
