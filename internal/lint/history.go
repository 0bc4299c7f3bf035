package lint

import (
	"strings"
)

// Instruction is a Dockerfile instruction recovered from an image history
// line, whichever builder wrote it.
type Instruction struct {
	// Cmd is the upper-case instruction ("RUN", "ADD", "COPY", ...), or ""
	// when the line is not recognised.
	Cmd string
	// Args is what follows the instruction; for RUN it is the shell
	// command with any build-argument prefix removed.
	Args string
}

var instructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// ParseHistory recovers the instruction from a history created_by line.
// It understands the classic builder and buildah
// ("/bin/sh -c #(nop)  ADD file:... in /", "/bin/sh -c apt-get update",
// "|2 A=b /bin/sh -c ...") and BuildKit
// ("ADD test.txt /tmp/test.txt # buildkit", "RUN |2 A=b /bin/sh -c ... # buildkit").
func ParseHistory(createdBy string) Instruction {
	s := strings.TrimSpace(createdBy)
	s = strings.TrimSpace(strings.TrimSuffix(s, "# buildkit"))
	if s == "" {
		return Instruction{}
	}
	if rest, ok := afterShell(s); ok {
		if nop, ok := strings.CutPrefix(rest, "#(nop)"); ok {
			return splitInstruction(strings.TrimSpace(nop))
		}
		return Instruction{Cmd: "RUN", Args: rest}
	}
	in := splitInstruction(s)
	if in.Cmd == "RUN" {
		if rest, ok := afterShell(in.Args); ok {
			in.Args = rest
		}
	}
	return in
}

// afterShell strips an optional "|N k=v ..." build-argument prefix and a
// "/bin/sh -c " (or bash, or any "-c") shell prefix.
func afterShell(s string) (string, bool) {
	if strings.HasPrefix(s, "|") {
		// "|N a=b c=d /bin/sh -c cmd": the shell follows the N arguments.
		if i := strings.Index(s, " -c "); i >= 0 && strings.Contains(s[:i], "/") {
			return strings.TrimSpace(s[i+4:]), true
		}
		fields := strings.Fields(s)
		if len(fields) > 1 {
			return strings.Join(fields[1:], " "), true
		}
		return "", true
	}
	for _, sh := range []string{"/bin/sh -c ", "/bin/bash -c ", "/bin/ash -c ", "sh -c "} {
		if rest, ok := strings.CutPrefix(s, sh); ok {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

func splitInstruction(s string) Instruction {
	word, rest, _ := strings.Cut(s, " ")
	up := strings.ToUpper(word)
	if !instructions[up] {
		return Instruction{Args: s}
	}
	return Instruction{Cmd: up, Args: strings.TrimSpace(rest)}
}

// shellCommands splits a shell command line into simple commands at
// &&, ||, ;, | and newlines. It is a heuristic for pattern checks, not a
// shell parser.
func shellCommands(s string) []string {
	f := func(r rune) bool { return r == ';' || r == '&' || r == '|' || r == '\n' }
	var out []string
	for _, c := range strings.FieldsFunc(s, f) {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// hasCommand reports whether one of the simple commands of a RUN line
// starts with the given words (after sudo and env-style prefixes).
func hasCommand(run string, words ...string) bool {
	for _, c := range shellCommands(run) {
		if commandIs(c, words...) {
			return true
		}
	}
	return false
}

func commandIs(c string, words ...string) bool {
	fields := strings.Fields(c)
	for len(fields) > 0 && (fields[0] == "sudo" || fields[0] == "exec" || strings.Contains(fields[0], "=")) {
		fields = fields[1:]
	}
	if len(fields) < len(words) {
		return false
	}
	// Options may sit between the program and its subcommand
	// ("apt-get -y install", "apk --update add").
	if strings.TrimPrefix(fields[0], "/usr/bin/") != words[0] && strings.TrimPrefix(fields[0], "/sbin/") != words[0] {
		return false
	}
	next := 1
	for _, w := range words[1:] {
		found := false
		for next < len(fields) {
			f := fields[next]
			next++
			if f == w {
				found = true
				break
			}
			if !strings.HasPrefix(f, "-") {
				return false
			}
			if valueOptions[f] {
				next++ // skip the option's value
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// valueOptions are package-manager options whose value is a separate word.
var valueOptions = map[string]bool{"-o": true, "-t": true, "-c": true, "-X": true, "--repository": true, "--option": true, "--target-release": true}

// commandWith returns the simple command that starts with words, and
// whether one does.
func commandWith(run string, words ...string) (string, bool) {
	for _, c := range shellCommands(run) {
		if commandIs(c, words...) {
			return c, true
		}
	}
	return "", false
}
