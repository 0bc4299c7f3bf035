// Package build turns a Dockerfile into an image: natively in Go for a
// Dockerfile with no RUN (FROM + COPY/ADD + ENV/USER/CMD/...), or by driving
// an image builder installed on the machine (buildah, podman, docker buildx,
// buildctl, kaniko) for anything else. Every way ends in an OCI image
// layout directory that the rest of bulwark opens like any other image.
package build

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// MaxDockerfileSize is the largest Dockerfile Parse accepts.
const MaxDockerfileSize = 1 << 20

// Instruction is one Dockerfile instruction, continuation lines joined.
type Instruction struct {
	// Cmd is the instruction in upper case ("FROM", "COPY", ...).
	Cmd string
	// Flags are the leading --name=value options (COPY --chown=1:1).
	Flags []string
	// Args are the arguments: the elements of the JSON (exec) form, or the
	// whitespace-separated words of the shell form.
	Args []string
	// JSON is true when the arguments were written in the JSON form.
	JSON bool
	// Raw is the text after the instruction and its flags, as written.
	Raw string
	// Line is the 1-based line the instruction starts on.
	Line int
}

// Flag returns the value of a --name=value flag and whether it was given.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		k, v, _ := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// String renders the instruction as an image history line shows it.
func (in Instruction) String() string {
	parts := append([]string{in.Cmd}, in.Flags...)
	return strings.Join(append(parts, in.Raw), " ")
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	// Name is the file name, used in errors.
	Name string
	// Instructions are in file order.
	Instructions []Instruction
}

var knownInstructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// Parse reads a Dockerfile. It joins continuation lines (a trailing
// backslash), drops comments and blank lines, and returns an error naming
// the file and line of anything it does not understand.
func Parse(r io.Reader, name string) (*Dockerfile, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDockerfileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxDockerfileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; is it really a Dockerfile?", name, MaxDockerfileSize)
	}
	df := &Dockerfile{Name: name}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 64*1024), MaxDockerfileSize+1)
	var (
		cur   strings.Builder
		start int
		n     int
	)
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		in, err := parseInstruction(text, start)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		df.Instructions = append(df.Instructions, in)
		return nil
	}
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // comments, inside continuations too, as Docker does
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(df.Instructions) == 0 {
		return nil, fmt.Errorf("%s: no instructions; a Dockerfile starts with FROM", name)
	}
	if first := df.Instructions[0]; first.Cmd != "FROM" && first.Cmd != "ARG" {
		return nil, fmt.Errorf("%s:%d: the first instruction must be FROM (or ARG), not %s", name, first.Line, first.Cmd)
	}
	return df, nil
}

func parseInstruction(text string, line int) (Instruction, error) {
	word, rest, _ := strings.Cut(text, " ")
	if i := strings.IndexAny(word, "\t"); i >= 0 {
		word, rest = text[:i], text[i+1:]
	}
	cmd := strings.ToUpper(word)
	if !knownInstructions[cmd] {
		return Instruction{}, fmt.Errorf("unknown instruction %q", word)
	}
	in := Instruction{Cmd: cmd, Line: line}
	rest = strings.TrimSpace(rest)
	for strings.HasPrefix(rest, "--") {
		f, r, _ := strings.Cut(rest, " ")
		in.Flags = append(in.Flags, f)
		rest = strings.TrimSpace(r)
	}
	if strings.HasPrefix(rest, "<<") {
		return Instruction{}, fmt.Errorf("%s: heredocs are not supported; put the content in a file and COPY it", cmd)
	}
	in.Raw = rest
	if strings.HasPrefix(rest, "[") {
		var args []string
		if err := json.Unmarshal([]byte(rest), &args); err == nil {
			in.Args, in.JSON = args, true
			return in, nil
		}
		// Not valid JSON: Docker treats it as the shell form.
	}
	in.Args = strings.Fields(rest)
	if len(in.Args) == 0 && cmd != "CMD" && cmd != "ENTRYPOINT" {
		return Instruction{}, fmt.Errorf("%s needs arguments", cmd)
	}
	return in, nil
}
