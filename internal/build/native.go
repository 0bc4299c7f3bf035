package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ErrNeedsBuilder is wrapped by the error NativeSupported returns for a
// Dockerfile that only a real image builder can build.
var ErrNeedsBuilder = errors.New("needs an image builder")

// MaxContextBytes bounds what one COPY or ADD may put in a layer, since the
// native builder holds a layer in memory while it compresses it.
const MaxContextBytes = 512 << 20

// NativeComment is the history comment of every step the native builder makes.
const NativeComment = "bulwark native build"

// BaseFunc resolves the image a FROM line names.
type BaseFunc func(ctx context.Context, ref string) (v1.Image, error)

// NativeOptions configures BuildNative.
type NativeOptions struct {
	// Context is the build context directory.
	Context string
	// BuildArgs override ARG defaults.
	BuildArgs map[string]string
	// Base resolves FROM (FROM scratch needs none).
	Base BaseFunc
	// Created is the creation time recorded in the image (default: the
	// Unix epoch, so that the same input gives the same digest).
	Created time.Time
}

// NativeSupported returns nil when the native builder can build the
// Dockerfile: one stage, no RUN, no ONBUILD, no ADD of a URL, no COPY --from.
// Otherwise the error wraps ErrNeedsBuilder and names the line.
func NativeSupported(df *Dockerfile) error {
	froms := 0
	for _, in := range df.Instructions {
		why := ""
		switch in.Cmd {
		case "FROM":
			froms++
			if froms > 1 {
				why = "a second FROM (multi-stage build)"
			}
		case "RUN":
			why = "RUN"
		case "ONBUILD":
			why = "ONBUILD"
		case "COPY", "ADD":
			if _, ok := in.Flag("from"); ok {
				why = in.Cmd + " --from"
			}
			for _, a := range in.Args {
				if strings.Contains(a, "://") || strings.HasPrefix(a, "git@") {
					why = in.Cmd + " of a URL"
				}
			}
		}
		if why != "" {
			return fmt.Errorf("%s:%d: %s %w (the native builder does only FROM, COPY, ADD of local files and config instructions)", df.Name, in.Line, why, ErrNeedsBuilder)
		}
	}
	return nil
}

// BuildNative builds a Dockerfile without RUN in Go: each COPY or ADD
// becomes one layer, every other instruction a change of the image
// configuration, each with its history line.
func BuildNative(ctx context.Context, df *Dockerfile, o NativeOptions) (v1.Image, error) {
	if err := NativeSupported(df); err != nil {
		return nil, err
	}
	created := o.Created
	if created.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	ign, err := readDockerignore(o.Context)
	if err != nil {
		return nil, err
	}
	b := &nativeBuild{df: df, o: o, created: v1.Time{Time: created}, ign: ign, args: map[string]string{}, declared: map[string]bool{}}
	for _, in := range df.Instructions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := b.step(ctx, in); err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", df.Name, in.Line, in.Cmd, err)
		}
	}
	if b.img == nil {
		return nil, fmt.Errorf("%s: no FROM instruction", df.Name)
	}
	cf, err := b.img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = b.created
	return mutate.ConfigFile(b.img, cf)
}

type nativeBuild struct {
	df       *Dockerfile
	o        NativeOptions
	created  v1.Time
	ign      *ignoreList
	img      v1.Image
	args     map[string]string
	declared map[string]bool
}

// lookup resolves a variable: ENV of the image, then ARG values.
func (b *nativeBuild) lookup(name string) (string, bool) {
	if b.img != nil {
		if cf, err := b.img.ConfigFile(); err == nil {
			for _, e := range cf.Config.Env {
				if k, v, _ := strings.Cut(e, "="); k == name {
					return v, true
				}
			}
		}
	}
	v, ok := b.args[name]
	return v, ok
}

func (b *nativeBuild) expand(s string) string { return Expand(s, b.lookup) }

func (b *nativeBuild) step(ctx context.Context, in Instruction) error {
	if in.Cmd == "ARG" {
		for _, a := range in.Args {
			k, v, hasDefault := strings.Cut(a, "=")
			b.declared[k] = true
			if bv, ok := b.o.BuildArgs[k]; ok {
				b.args[k] = bv
			} else if hasDefault {
				b.args[k] = b.expand(v)
			}
		}
		return nil
	}
	if in.Cmd == "FROM" {
		ref := b.expand(in.Args[0])
		if len(in.Args) > 1 && !(len(in.Args) == 3 && strings.EqualFold(in.Args[1], "AS")) {
			return fmt.Errorf("want FROM IMAGE [AS NAME], got %q", in.Raw)
		}
		if ref == "scratch" {
			cf := &v1.ConfigFile{OS: "linux", Architecture: runtime.GOARCH, RootFS: v1.RootFS{Type: "layers"}}
			img, err := mutate.ConfigFile(empty.Image, cf)
			if err != nil {
				return err
			}
			b.img = img
			return nil
		}
		if b.o.Base == nil {
			return fmt.Errorf("base image %q: no way to fetch base images was configured", ref)
		}
		img, err := b.o.Base(ctx, ref)
		if err != nil {
			return fmt.Errorf("base image %q: %w", ref, err)
		}
		b.img = img
		return nil
	}
	if b.img == nil {
		return fmt.Errorf("comes before FROM")
	}
	switch in.Cmd {
	case "COPY", "ADD":
		return b.copy(in)
	}
	cf, err := b.img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	c := &cf.Config
	switch in.Cmd {
	case "ENV":
		kvs, err := keyValues(in, b.expand)
		if err != nil {
			return err
		}
		for _, kv := range kvs {
			c.Env = setEnv(c.Env, kv[0], kv[1])
		}
	case "LABEL":
		kvs, err := keyValues(in, b.expand)
		if err != nil {
			return err
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range kvs {
			c.Labels[kv[0]] = kv[1]
		}
	case "MAINTAINER":
		cf.Author = in.Raw
	case "USER":
		c.User = b.expand(in.Args[0])
	case "WORKDIR":
		c.WorkingDir = b.workdir(b.expand(in.Raw))
	case "CMD":
		c.Cmd = b.execForm(in, c.Shell)
	case "ENTRYPOINT":
		c.Entrypoint = b.execForm(in, c.Shell)
	case "SHELL":
		if !in.JSON {
			return fmt.Errorf("SHELL needs the JSON form: SHELL [\"/bin/sh\", \"-c\"]")
		}
		c.Shell = in.Args
	case "EXPOSE":
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range in.Args {
			p = b.expand(p)
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			c.ExposedPorts[p] = struct{}{}
		}
	case "VOLUME":
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range in.Args {
			c.Volumes[b.expand(v)] = struct{}{}
		}
	case "STOPSIGNAL":
		c.StopSignal = b.expand(in.Args[0])
	case "HEALTHCHECK":
		hc, err := parseHealthcheck(in)
		if err != nil {
			return err
		}
		c.Healthcheck = hc
	default:
		return fmt.Errorf("not supported by the native builder")
	}
	cf.History = append(cf.History, v1.History{Created: b.created, CreatedBy: in.String(), Comment: NativeComment, EmptyLayer: true})
	img, err := mutate.ConfigFile(b.img, cf)
	if err != nil {
		return err
	}
	b.img = img
	return nil
}

func (b *nativeBuild) workdir(p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	base := "/"
	if cf, err := b.img.ConfigFile(); err == nil && cf.Config.WorkingDir != "" {
		base = cf.Config.WorkingDir
	}
	return path.Join(base, p)
}

func (b *nativeBuild) execForm(in Instruction, shell []string) []string {
	if in.JSON {
		return in.Args
	}
	if in.Raw == "" {
		return nil
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), in.Raw)
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if ek, _, _ := strings.Cut(e, "="); ek == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// keyValues parses ENV and LABEL arguments: k=v pairs (quotes allowed), or
// the legacy "ENV key value with spaces".
func keyValues(in Instruction, expand func(string) string) ([][2]string, error) {
	words, err := shellWords(in.Raw)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("needs key=value")
	}
	if !strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(strings.TrimSpace(in.Raw), " ")
		return [][2]string{{k, expand(strings.TrimSpace(v))}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", w)
		}
		out = append(out, [2]string{k, expand(v)})
	}
	return out, nil
}

// shellWords splits on blanks, honouring single and double quotes and
// backslash escapes.
func shellWords(s string) ([]string, error) {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		in    bool
		esc   bool
	)
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc = true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

func parseHealthcheck(in Instruction) (*v1.HealthConfig, error) {
	if len(in.Args) > 0 && strings.EqualFold(in.Args[0], "NONE") && !in.JSON {
		return &v1.HealthConfig{Test: []string{"NONE"}}, nil
	}
	hc := &v1.HealthConfig{}
	for _, f := range in.Flags {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		switch k {
		case "interval", "timeout", "start-period", "start-interval":
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, fmt.Errorf("--%s=%q: %w", k, v, err)
			}
			switch k {
			case "interval":
				hc.Interval = d
			case "timeout":
				hc.Timeout = d
			case "start-period":
				hc.StartPeriod = d
			}
		case "retries":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("--retries=%q: want a number", v)
			}
			hc.Retries = n
		default:
			return nil, fmt.Errorf("unknown option %s", f)
		}
	}
	rest := strings.TrimSpace(in.Raw)
	word, cmd, _ := strings.Cut(rest, " ")
	if !strings.EqualFold(word, "CMD") {
		return nil, fmt.Errorf("want HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE")
	}
	cmd = strings.TrimSpace(cmd)
	var args []string
	if strings.HasPrefix(cmd, "[") {
		parsed, err := parseInstruction("CMD "+cmd, in.Line)
		if err == nil && parsed.JSON {
			args = parsed.Args
		}
	}
	if args != nil {
		hc.Test = append([]string{"CMD"}, args...)
	} else {
		hc.Test = []string{"CMD-SHELL", cmd}
	}
	return hc, nil
}

// copy builds the layer of a COPY or ADD: sources from the context,
// archives unpacked by ADD, owner and mode from --chown and --chmod.
func (b *nativeBuild) copy(in Instruction) error {
	var args []string
	for _, a := range in.Args {
		args = append(args, b.expand(a))
	}
	if len(args) < 2 {
		return fmt.Errorf("needs at least one source and a destination")
	}
	srcs, dest := args[:len(args)-1], args[len(args)-1]
	uid, gid := 0, 0
	if v, ok := in.Flag("chown"); ok {
		u, g, hasG := strings.Cut(b.expand(v), ":")
		var err error
		if uid, err = strconv.Atoi(u); err != nil {
			return fmt.Errorf("--chown=%s: the native builder takes numeric UID[:GID] only", v)
		}
		gid = uid
		if hasG {
			if gid, err = strconv.Atoi(g); err != nil {
				return fmt.Errorf("--chown=%s: the native builder takes numeric UID[:GID] only", v)
			}
		}
	}
	var mode *int64
	if v, ok := in.Flag("chmod"); ok {
		m, err := strconv.ParseInt(v, 8, 32)
		if err != nil || m < 0 || m > 07777 {
			return fmt.Errorf("--chmod=%s: want an octal mode such as 0644", v)
		}
		mode = &m
	}
	for _, f := range in.Flags {
		k, _, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if k != "chown" && k != "chmod" && k != "link" {
			return fmt.Errorf("option %s is not supported by the native builder", f)
		}
	}
	destDir := strings.HasSuffix(dest, "/") || len(srcs) > 1
	dest = b.workdir(dest)
	w := &layerWriter{dirs: map[string]bool{}, uid: uid, gid: gid, mode: mode, mtime: b.created.Time}
	for _, s := range srcs {
		matches, err := b.contextGlob(s)
		if err != nil {
			return err
		}
		if len(matches) > 1 {
			destDir = true
		}
		for _, m := range matches {
			if err := b.addSource(w, in.Cmd == "ADD", m, dest, destDir); err != nil {
				return err
			}
		}
	}
	layer, err := w.layer()
	if err != nil {
		return err
	}
	img, err := mutate.Append(b.img, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: b.created, CreatedBy: in.String(), Comment: NativeComment},
	})
	if err != nil {
		return err
	}
	b.img = img
	return nil
}

// contextGlob resolves a source inside the context; it may not leave it.
func (b *nativeBuild) contextGlob(src string) ([]string, error) {
	if rel := path.Clean(filepath.ToSlash(src)); rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, fmt.Errorf("source %q leaves the build context", src)
	}
	clean := path.Clean("/" + filepath.ToSlash(src))
	root, err := filepath.Abs(b.o.Context)
	if err != nil {
		return nil, err
	}
	pattern := filepath.Join(root, filepath.FromSlash(clean))
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", src, err)
	}
	var out []string
	for _, m := range matches {
		rel, err := filepath.Rel(root, m)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		if rel != "." && b.ign.excluded(filepath.ToSlash(rel)) {
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("source %q: no such file in the build context %s", src, b.o.Context)
	}
	sort.Strings(out)
	return out, nil
}

func (b *nativeBuild) addSource(w *layerWriter, isAdd bool, src, dest string, destDir bool) error {
	root, _ := filepath.Abs(b.o.Context)
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		// A directory's contents go into dest.
		return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if p != src && b.ign.excluded(filepath.ToSlash(rel)) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			sub, _ := filepath.Rel(src, p)
			target := path.Join(dest, filepath.ToSlash(sub))
			return w.addFile(p, target)
		})
	}
	if isAdd {
		if ok, err := w.addArchive(src, dest); ok || err != nil {
			return err
		}
	}
	target := dest
	if destDir {
		target = path.Join(dest, filepath.Base(src))
	}
	return w.addFile(src, target)
}

// layerWriter writes a layer tar in memory.
type layerWriter struct {
	buf      bytes.Buffer
	tw       *tar.Writer
	dirs     map[string]bool
	uid, gid int
	mode     *int64
	mtime    time.Time
	size     int64
}

func (w *layerWriter) writer() *tar.Writer {
	if w.tw == nil {
		w.tw = tar.NewWriter(&w.buf)
	}
	return w.tw
}

func (w *layerWriter) parents(p string) error {
	var missing []string
	for d := path.Dir(p); d != "/" && d != "." && !w.dirs[d]; d = path.Dir(d) {
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		w.dirs[d] = true
		if err := w.writer().WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, ModTime: w.mtime, Uid: w.uid, Gid: w.gid, Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	return nil
}

func (w *layerWriter) addFile(src, target string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if err := w.parents(target); err != nil {
		return err
	}
	name := strings.TrimPrefix(target, "/")
	hdr := &tar.Header{Name: name, ModTime: w.mtime, Uid: w.uid, Gid: w.gid, Mode: int64(st.Mode().Perm()), Format: tar.FormatPAX}
	if w.mode != nil {
		hdr.Mode = *w.mode
	}
	switch {
	case st.IsDir():
		if w.dirs[target] || name == "" {
			return nil
		}
		w.dirs[target] = true
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		return w.writer().WriteHeader(hdr)
	case st.Mode()&fs.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, link
		return w.writer().WriteHeader(hdr)
	case st.Mode().IsRegular():
		w.size += st.Size()
		if w.size > MaxContextBytes {
			return fmt.Errorf("more than %d MiB to copy; use an image builder for large contexts", MaxContextBytes>>20)
		}
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size()
		if err := w.writer().WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(w.writer(), io.LimitReader(f, st.Size())); err != nil {
			return fmt.Errorf("reading %s: %w", src, err)
		}
		return nil
	}
	return fmt.Errorf("%s: not a regular file, directory or symlink", src)
}

// addArchive unpacks a local tar (plain or gzip) into dest, as ADD does.
// It returns false when src is not an archive.
func (w *layerWriter) addArchive(src, dest string) (bool, error) {
	f, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false, nil
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	first := true
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return !first, nil
		}
		if err != nil {
			if first {
				return false, nil // not an archive: copied as a file
			}
			return true, fmt.Errorf("unpacking %s: %w", src, err)
		}
		first = false
		target := path.Join(dest, path.Clean("/"+hdr.Name))
		if err := w.parents(target); err != nil {
			return true, err
		}
		h := *hdr
		h.Name = strings.TrimPrefix(target, "/")
		if h.Typeflag == tar.TypeDir {
			w.dirs[target] = true
			h.Name += "/"
		}
		if h.Typeflag == tar.TypeLink {
			h.Linkname = strings.TrimPrefix(path.Join(dest, path.Clean("/"+h.Linkname)), "/")
		}
		w.size += h.Size
		if w.size > MaxContextBytes {
			return true, fmt.Errorf("unpacking %s: more than %d MiB", src, MaxContextBytes>>20)
		}
		if err := w.writer().WriteHeader(&h); err != nil {
			return true, err
		}
		if _, err := io.Copy(w.writer(), tr); err != nil {
			return true, fmt.Errorf("unpacking %s: %w", src, err)
		}
	}
}

func (w *layerWriter) layer() (v1.Layer, error) {
	if err := w.writer().Close(); err != nil {
		return nil, err
	}
	data := w.buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// ignoreList is a .dockerignore file: patterns, "!" exceptions, last match wins.
type ignoreList struct{ patterns []string }

func readDockerignore(dir string) (*ignoreList, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return &ignoreList{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading .dockerignore: %w", err)
	}
	l := &ignoreList{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := path.Clean("/" + strings.TrimPrefix(line, "!"))[1:]
		if neg {
			p = "!" + p
		}
		l.patterns = append(l.patterns, p)
	}
	return l, nil
}

func (l *ignoreList) excluded(rel string) bool {
	out := false
	for _, p := range l.patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		if matchIgnore(p, rel) {
			out = !neg
		}
	}
	return out
}

// matchIgnore matches a pattern against a path or any of its parents;
// "**" matches any number of directories.
func matchIgnore(pattern, rel string) bool {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if globMatch(strings.Split(pattern, "/"), strings.Split(p, "/")) {
			return true
		}
	}
	return false
}

func globMatch(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if globMatch(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// Expand substitutes $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alt} as
// Dockerfiles do; unknown variables become empty.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && s[i+1] == '$' {
			out.WriteByte('$')
			i++
			continue
		}
		if c != '$' || i+1 >= len(s) {
			out.WriteByte(c)
			continue
		}
		if s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				out.WriteString(s[i:])
				break
			}
			expr := s[i+2 : i+end]
			i += end
			name, word, op := expr, "", ""
			if j := strings.Index(expr, ":"); j >= 0 && j+1 < len(expr) {
				name, op, word = expr[:j], expr[j+1:j+2], expr[j+2:]
			}
			v, ok := lookup(name)
			switch op {
			case "-":
				if !ok || v == "" {
					v = word
				}
			case "+":
				if ok && v != "" {
					v = word
				} else {
					v = ""
				}
			}
			out.WriteString(v)
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			out.WriteByte('$')
			continue
		}
		v, _ := lookup(s[i+1 : j])
		out.WriteString(v)
		i = j - 1
	}
	return out.String()
}
