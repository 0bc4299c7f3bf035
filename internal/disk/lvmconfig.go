package disk

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// lvmSection is one { } section of LVM's text metadata format: values
// (a string, a number as written, or a list of them) and subsections.
type lvmSection struct {
	values   map[string][]string
	lists    map[string]bool
	sections map[string]*lvmSection
}

func newLVMSection() *lvmSection {
	return &lvmSection{values: map[string][]string{}, lists: map[string]bool{}, sections: map[string]*lvmSection{}}
}

// str returns a scalar value ("" when absent or a list).
func (s *lvmSection) str(k string) string {
	if v := s.values[k]; len(v) == 1 && !s.lists[k] {
		return v[0]
	}
	return ""
}

// num returns a number value (0 when absent or not a number).
func (s *lvmSection) num(k string) int64 {
	n, _ := strconv.ParseInt(s.str(k), 10, 64)
	return n
}

// list returns a list value.
func (s *lvmSection) list(k string) []string {
	if s.lists[k] {
		return s.values[k]
	}
	return nil
}

// has reports whether the list k holds v.
func (s *lvmSection) has(k, v string) bool {
	for _, x := range s.list(k) {
		if x == v {
			return true
		}
	}
	return false
}

// section returns a subsection (empty when absent).
func (s *lvmSection) section(k string) *lvmSection {
	if sub := s.sections[k]; sub != nil {
		return sub
	}
	return newLVMSection()
}

// names returns the subsection names, sorted.
func (s *lvmSection) names() []string {
	var out []string
	for k := range s.sections {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lvmParser reads LVM's text metadata format: `name = value` and
// `name { ... }`, values are "strings", numbers or [lists], # comments.
type lvmParser struct {
	s   string
	pos int
}

const maxLVMDepth = 16

// parseLVMConfig parses a volume group description.
func parseLVMConfig(text string) (*lvmSection, error) {
	p := &lvmParser{s: text}
	root, err := p.items(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.s) {
		return nil, fmt.Errorf("unexpected } at byte %d", p.pos)
	}
	return root, nil
}

func (p *lvmParser) skipSpace() {
	for p.pos < len(p.s) {
		switch c := p.s[p.pos]; {
		case c == '#':
			for p.pos < len(p.s) && p.s[p.pos] != '\n' {
				p.pos++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		default:
			return
		}
	}
}

func isLVMWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.+-/", c) >= 0
}

func (p *lvmParser) word() string {
	start := p.pos
	for p.pos < len(p.s) && isLVMWord(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// items reads name = value and name { } items until a } or the end.
func (p *lvmParser) items(depth int) (*lvmSection, error) {
	if depth > maxLVMDepth {
		return nil, fmt.Errorf("sections nested more than %d deep", maxLVMDepth)
	}
	sec := newLVMSection()
	for {
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] == '}' {
			return sec, nil
		}
		name := p.word()
		if name == "" {
			return nil, fmt.Errorf("unexpected %q at byte %d", p.s[p.pos], p.pos)
		}
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("%s: unexpected end", name)
		}
		switch p.s[p.pos] {
		case '{':
			p.pos++
			sub, err := p.items(depth + 1)
			if err != nil {
				return nil, err
			}
			if p.pos >= len(p.s) {
				return nil, fmt.Errorf("section %s is not closed", name)
			}
			p.pos++
			sec.sections[name] = sub
		case '=':
			p.pos++
			p.skipSpace()
			if p.pos < len(p.s) && p.s[p.pos] == '[' {
				p.pos++
				var list []string
				for {
					p.skipSpace()
					if p.pos < len(p.s) && p.s[p.pos] == ']' {
						p.pos++
						break
					}
					v, err := p.scalar()
					if err != nil {
						return nil, fmt.Errorf("%s: %w", name, err)
					}
					list = append(list, v)
					p.skipSpace()
					if p.pos < len(p.s) && p.s[p.pos] == ',' {
						p.pos++
					}
				}
				sec.values[name], sec.lists[name] = list, true
				continue
			}
			v, err := p.scalar()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			sec.values[name], sec.lists[name] = []string{v}, false
		default:
			return nil, fmt.Errorf("%s: expected = or { at byte %d", name, p.pos)
		}
	}
}

// scalar reads a "string" (with \ escapes) or a number.
func (p *lvmParser) scalar() (string, error) {
	if p.pos >= len(p.s) {
		return "", fmt.Errorf("unexpected end")
	}
	if p.s[p.pos] != '"' {
		w := p.word()
		if w == "" {
			return "", fmt.Errorf("unexpected %q at byte %d", p.s[p.pos], p.pos)
		}
		return w, nil
	}
	var b strings.Builder
	for p.pos++; p.pos < len(p.s); p.pos++ {
		c := p.s[p.pos]
		if c == '"' {
			p.pos++
			return b.String(), nil
		}
		if c == '\\' && p.pos+1 < len(p.s) {
			p.pos++
			c = p.s[p.pos]
		}
		b.WriteByte(c)
	}
	return "", fmt.Errorf("a string is not closed")
}
