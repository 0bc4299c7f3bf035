package boot

import (
	"fmt"
	"strings"
)

// Limits on a grub.cfg, which comes from the disk and is not trusted.
const (
	maxDepth   = 32
	maxEntries = 10000
)

// token is one word of a GRUB script, or a separator: "\n" ends a
// command ("\n" also stands for ";"), "{" and "}" open and close a block.
type token struct {
	word string
	sep  byte // 0 for a word, else '\n', '{' or '}'
}

// lexGrub splits a GRUB script into words and separators, as GRUB's shell
// does: quotes ('...' literal, "..." with backslash escapes), backslash
// escapes, comments from a # at the start of a word. Variables are left as
// written ("${saved_entry}"); the one that matters in menu entries,
// $menuentry_id_option, becomes "--id".
func lexGrub(s string) []token {
	var toks []token
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			word := w.String()
			if word == "$menuentry_id_option" || word == "${menuentry_id_option}" {
				word = "--id"
			}
			if word == "{" || word == "}" {
				toks = append(toks, token{sep: word[0]})
			} else {
				toks = append(toks, token{word: word})
			}
		}
		w.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == ';':
			flush()
			toks = append(toks, token{sep: '\n'})
		case c == ' ' || c == '\t' || c == '\r':
			flush()
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case c == '\\':
			inWord = true
			if i+1 < len(s) {
				i++
				if s[i] != '\n' {
					w.WriteByte(s[i])
				}
			}
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$\n", s[i+1]) >= 0 {
					i++
					if s[i] == '\n' {
						continue
					}
				}
				w.WriteByte(s[i])
			}
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	flush()
	return toks
}

// grubParser reads the menu of a grub.cfg from its tokens.
type grubParser struct {
	toks    []token
	pos     int
	entries int
	cfg     *File
}

// parseGrubCfg reads the menu entries (with their submenus) and the
// `set default=` values of a grub.cfg. The menu is what GRUB shows when
// every conditional is true; function bodies are skipped.
func parseGrubCfg(s string) (*File, error) {
	p := &grubParser{toks: lexGrub(s), cfg: &File{Kind: KindGrubCfg}}
	menu, err := p.block(0, false)
	if err != nil {
		return nil, err
	}
	p.cfg.Menu = menu
	return p.cfg, nil
}

// command returns the words up to the next separator and the separator
// ('\n', '{', '}' or 0 at the end).
func (p *grubParser) command() ([]string, byte) {
	var words []string
	for p.pos < len(p.toks) {
		t := p.toks[p.pos]
		p.pos++
		if t.sep != 0 {
			return words, t.sep
		}
		words = append(words, t.word)
	}
	return words, 0
}

// block reads commands until the "}" that closes the block (nested) or the
// end of the file (top level), and returns the menu items found in it.
func (p *grubParser) block(depth int, nested bool) ([]*Item, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("blocks nested more than %d deep", maxDepth)
	}
	var items []*Item
	for {
		words, sep := p.command()
		switch sep {
		case 0:
			if nested {
				return nil, fmt.Errorf("a block opened with { is not closed")
			}
			p.simple(words, &items)
			return items, nil
		case '}':
			if !nested {
				return nil, fmt.Errorf("a } closes no block")
			}
			p.simple(words, &items)
			return items, nil
		case '\n':
			p.simple(words, &items)
		case '{':
			inner, err := p.block(depth+1, true)
			if err != nil {
				return nil, err
			}
			if len(words) == 0 {
				items = append(items, inner...)
				continue
			}
			switch words[0] {
			case "menuentry", "submenu":
				p.entries++
				if p.entries > maxEntries {
					return nil, fmt.Errorf("more than %d menu entries", maxEntries)
				}
				it := menuItem(words)
				if words[0] == "submenu" {
					it.Sub = inner
					if it.Sub == nil {
						it.Sub = []*Item{}
					}
				} else {
					it.Kernel = kernelOf(inner)
				}
				items = append(items, it)
			case "function":
				// Not part of the menu unless called; GRUB's own
				// generated files call none that add entries.
			default:
				items = append(items, inner...)
			}
		}
	}
}

// simple handles a command without a block: `set default=...`, a
// kernel-loading command (kept as a pseudo item for the enclosing entry)
// and blscfg (the BLS entries' place in the menu).
func (p *grubParser) simple(words []string, items *[]*Item) {
	if len(words) == 0 {
		return
	}
	switch words[0] {
	case "set":
		for _, w := range words[1:] {
			if v, ok := strings.CutPrefix(w, "default="); ok {
				p.cfg.Defaults = append(p.cfg.Defaults, v)
			}
		}
	case "linux", "linuxefi", "linux16", "kernel":
		if len(words) > 1 {
			*items = append(*items, &Item{Kernel: words[1], loader: true})
		}
	case "blscfg":
		*items = append(*items, &Item{BLS: true})
	}
}

// kernelOf returns the kernel an entry's body loads: its first linux
// command.
func kernelOf(body []*Item) string {
	for _, it := range body {
		if it.loader {
			return it.Kernel
		}
	}
	return ""
}

// menuItem reads a menuentry or submenu command's title and --id.
func menuItem(words []string) *Item {
	it := &Item{}
	withValue := map[string]bool{"--class": true, "--users": true, "--hotkey": true, "--id": true}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if withValue[w] && i+1 < len(words) {
			if w == "--id" {
				it.ID = words[i+1]
			}
			i++
			continue
		}
		if v, ok := strings.CutPrefix(w, "--id="); ok {
			it.ID = v
			continue
		}
		if strings.HasPrefix(w, "--") {
			continue
		}
		if it.Title == "" {
			it.Title = w
		}
	}
	return it
}

// cleanMenu drops the kernel-loading pseudo items that are not menu
// entries (a linux command outside any menuentry).
func cleanMenu(items []*Item) []*Item {
	out := items[:0]
	for _, it := range items {
		if it.loader {
			continue
		}
		if it.Sub != nil {
			it.Sub = cleanMenu(it.Sub)
		}
		out = append(out, it)
	}
	return out
}

// parseEnv reads a grubenv block: NAME=VALUE lines, # padding.
func parseEnv(s string) map[string]string {
	env := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			env[k] = v
		}
	}
	return env
}

// parseDefaultGrub reads GRUB_DEFAULT from /etc/default/grub (a shell
// fragment: the last assignment wins, quotes removed).
func parseDefaultGrub(s string) (string, bool) {
	val, found := "", false
	for _, t := range splitLines(s) {
		if v, ok := strings.CutPrefix(t, "GRUB_DEFAULT="); ok {
			words := lexGrub(v)
			val, found = "", true
			if len(words) > 0 && words[0].sep == 0 {
				val = words[0].word
			}
		}
	}
	return val, found
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.TrimPrefix(l, "export "))
		}
	}
	return out
}
