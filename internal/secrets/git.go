package secrets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// GitOptions configures a scan of git history.
type GitOptions struct {
	Options
	// Since, when set, limits the scan to the commits after this revision
	// (Since..HEAD); by default every commit reachable from HEAD is scanned.
	Since string
	// Git is the git executable (default: "git" on PATH).
	Git string
}

// maxDiffBuffer bounds the added lines of one file in one commit held at
// once; past it they are scanned in pieces.
const maxDiffBuffer = 8 << 20

// commitMark starts each commit header in the log output.
const commitMark = "\x00\x00bulwark-commit\x00"

// gitDiff is the lines one commit added to one file.
type gitDiff struct {
	commit, author, date, path string
	data                       []byte
	lines                      []int // line number in the file of each line of data
}

// ScanGit scans the lines every commit reachable from HEAD (or after
// opts.Since) added, by streaming `git log -p` from the repository at dir.
// Each finding names the commit, its author and date, the file and the
// line. If git stops part way (a corrupt object), what was read is kept,
// and a warning says where the history could not be read.
func ScanGit(ctx context.Context, dir string, opts GitOptions) (*Result, error) {
	eng, err := opts.engine()
	if err != nil {
		return nil, err
	}
	gitBin := opts.Git
	if gitBin == "" {
		gitBin = "git"
	}
	rev := "HEAD"
	if opts.Since != "" {
		if strings.HasPrefix(opts.Since, "-") {
			return nil, fmt.Errorf("git repository %q: --since %q: not a revision", dir, opts.Since)
		}
		rev = opts.Since + "..HEAD"
	}
	// Check the repository and the revision first, so that a mistake is an
	// error rather than an empty, passing scan.
	check := exec.CommandContext(ctx, gitBin, "-C", dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	if out, err := check.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git repository %q: no commit at HEAD (is it a git repository with commits?): %v %s", dir, err, bytes.TrimSpace(out))
	}
	if opts.Since != "" {
		check := exec.CommandContext(ctx, gitBin, "-C", dir, "rev-parse", "--verify", "--quiet", opts.Since+"^{commit}")
		if err := check.Run(); err != nil {
			return nil, fmt.Errorf("git repository %q: --since %q is not a commit of the repository", dir, opts.Since)
		}
	}
	cmd := exec.CommandContext(ctx, gitBin, "-C", dir, "-c", "core.quotePath=false", "log", "-p", "-U0",
		"--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--full-index",
		"--format=%x00%x00bulwark-commit%x00%H%x00%an <%ae>%x00%aI", rev, "--")
	var stderr bytes.Buffer
	cmd.Stderr = &limitedWriter{w: &stderr, n: 64 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("git repository %q: %w", dir, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git repository %q: starting git: %w", dir, err)
	}
	c := newCollector(&opts.Options)
	jobs := make(chan *gitDiff, 64)
	wg := startWorkers(opts.Workers, jobs, func() func(*gitDiff) {
		return func(d *gitDiff) { scanDiff(eng, c, d) }
	})
	commits, parseErr := parseGitLog(stdout, c, jobs)
	close(jobs)
	wg.Wait()
	if parseErr != nil {
		io.Copy(io.Discard, stdout) //nolint:errcheck // let git finish
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if parseErr != nil {
		return nil, fmt.Errorf("git repository %q: reading git log: %w", dir, parseErr)
	}
	if waitErr != nil {
		msg := strings.TrimSpace(stderr.String())
		if commits == 0 {
			return nil, fmt.Errorf("git repository %q: git log failed: %v: %s", dir, waitErr, msg)
		}
		c.warn("git repository %q: history could not be read past commit %d (%v): %s; the commits before it were scanned", dir, commits, waitErr, msg)
	}
	res := c.result()
	return res, nil
}

// parseGitLog reads `git log -p -U0` output and sends the added lines of
// each file of each commit to jobs. It returns the number of commits read.
func parseGitLog(r io.Reader, c *collector, jobs chan<- *gitDiff) (int, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var commit, author, date string
	var cur *gitDiff
	commits := 0
	newLine := 0 // next line number in the new file
	inHunk := false
	flush := func() {
		if cur != nil && len(cur.data) > 0 {
			jobs <- cur
		}
		cur = nil
	}
	for {
		line, truncated, err := readLine(br, maxDiffBuffer)
		if err == io.EOF {
			break
		}
		if err != nil {
			return commits, err
		}
		switch {
		case bytes.HasPrefix(line, []byte(commitMark)):
			flush()
			inHunk = false
			fields := strings.SplitN(string(line[len(commitMark):]), "\x00", 3)
			for len(fields) < 3 {
				fields = append(fields, "")
			}
			commit, author, date = fields[0], fields[1], fields[2]
			commits++
		case bytes.HasPrefix(line, []byte("diff --git ")):
			flush()
			inHunk = false
		case !inHunk && bytes.HasPrefix(line, []byte("+++ ")):
			p := string(line[4:])
			if p == "/dev/null" {
				cur = nil
				continue
			}
			p = strings.TrimPrefix(unquoteGitPath(p), "b/")
			if c.skipPath(p) {
				c.skip(p+"@"+shortCommit(commit), SkipAllowlisted, "")
				continue
			}
			cur = &gitDiff{commit: commit, author: author, date: date, path: p}
		case bytes.HasPrefix(line, []byte("@@ ")):
			inHunk = true
			newLine = hunkStart(line)
		case bytes.HasPrefix(line, []byte("Binary files ")):
			c.skip(string(line), SkipBinary, "")
		case inHunk && len(line) > 0 && line[0] == '+':
			if cur != nil {
				if len(cur.data)+len(line) > maxDiffBuffer && len(cur.data) > 0 {
					next := &gitDiff{commit: cur.commit, author: cur.author, date: cur.date, path: cur.path}
					jobs <- cur
					cur = next
				}
				cur.data = append(cur.data, line[1:]...)
				cur.data = append(cur.data, '\n')
				cur.lines = append(cur.lines, newLine)
				if truncated {
					c.warn("%s@%s: line %d is longer than %d bytes; only its start was scanned", cur.path, shortCommit(commit), newLine, maxDiffBuffer)
				}
			}
			newLine++
		}
	}
	flush()
	return commits, nil
}

// readLine reads one line without its newline, keeping at most max bytes
// of it (truncated is then true) and discarding the rest.
func readLine(br *bufio.Reader, max int) (line []byte, truncated bool, err error) {
	var acc []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(acc)+len(frag) <= max {
			if acc == nil && err == nil {
				return frag[:len(frag)-1], false, nil
			}
			acc = append(acc, frag...)
		} else {
			truncated = true
			if room := max - len(acc); room > 0 {
				acc = append(acc, frag[:room]...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(acc) == 0 {
				return nil, false, io.EOF
			}
			return acc, truncated, nil
		case err != nil:
			return nil, false, err
		}
		return bytes.TrimSuffix(acc, []byte("\n")), truncated, nil
	}
}

// hunkStart returns the first new-file line of a "@@ -a,b +c,d @@" header.
func hunkStart(line []byte) int {
	i := bytes.Index(line, []byte(" +"))
	if i < 0 {
		return 1
	}
	rest := line[i+2:]
	end := bytes.IndexAny(rest, ", ")
	if end < 0 {
		end = len(rest)
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil || n < 0 {
		return 1
	}
	return n
}

// unquoteGitPath undoes git's C-style quoting of unusual file names.
func unquoteGitPath(p string) string {
	if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		if s, err := strconv.Unquote(p); err == nil {
			return s
		}
	}
	return p
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// scanDiff scans the added lines of one file in one commit.
func scanDiff(eng *Engine, c *collector, d *gitDiff) {
	ms := eng.ScanBytes(d.path, d.data)
	c.scanned(int64(len(d.data)))
	for i := range ms {
		if l := ms[i].Line - 1; l >= 0 && l < len(d.lines) {
			ms[i].Line = d.lines[l]
		}
		if l := ms[i].EndLine - 1; l >= 0 && l < len(d.lines) {
			ms[i].EndLine = d.lines[l]
		}
	}
	c.add(d.path, finding.Location{}, ms, func(sd *finding.SecretDetail) {
		sd.Commit, sd.Author, sd.Date = d.commit, d.author, d.date
	})
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k]) //nolint:errcheck // a bytes.Buffer
		l.n -= k
	}
	return len(p), nil
}
