package secrets

import (
	"bytes"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
)

// literal is a string that every match of a rule's regex contains: a
// window of content without it cannot match, and the regex (the costly
// part of a keyword hit: apt's package lists hold tens of thousands of
// "https://" and "github" that are not the start of a secret) need not
// run there.
type literal struct {
	s    string // ASCII; lower case when fold
	fold bool   // ASCII letters match either case
}

// maxLiterals is how many literals are checked before a rule's regex runs.
const maxLiterals = 2

// maxFoldWindow is the longest window searched for a case-folded literal
// (longer ones, a multi-line rule's block, go to the regex directly).
const maxFoldWindow = 4 << 10

// requiredLiterals returns up to maxLiterals literals that every match of
// rule r's regex holds, the most telling first, leaving out those that
// each of the rule's keywords holds (a keyword hit has them already).
func requiredLiterals(r *Rule) []literal {
	re, err := syntax.Parse(r.Regex.String(), syntax.Perl)
	if err != nil {
		return nil // not expected: the same pattern compiled
	}
	var lits []literal
	for _, l := range required(re, nil) {
		inAll := len(r.Keywords) > 0
		for _, k := range r.Keywords {
			inAll = inAll && strings.Contains(strings.ToLower(k), strings.ToLower(l.s))
		}
		if !inAll && !slices.Contains(lits, l) {
			lits = append(lits, l)
		}
	}
	// Exact literals first (a plain search), then the longer.
	score := func(l literal) int {
		n := len(l.s)
		if !l.fold {
			n += 100
		}
		return n
	}
	for i := 1; i < len(lits); i++ {
		for j := i; j > 0 && score(lits[j]) > score(lits[j-1]); j-- {
			lits[j], lits[j-1] = lits[j-1], lits[j]
		}
	}
	return lits[:min(len(lits), maxLiterals)]
}

// required appends the literals that every match of re holds: those of
// its concatenated parts, of its groups and of parts repeated at least
// once (alternations and optional parts hold none for sure).
func required(re *syntax.Regexp, out []literal) []literal {
	switch re.Op {
	case syntax.OpLiteral:
		return appendLiteral(out, re.Rune, re.Flags&syntax.FoldCase != 0)
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0], out)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0], out)
		}
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			out = required(sub, out)
		}
	}
	return out
}

// appendLiteral appends the runs of runes that literal holds as bytes
// (ASCII; when fold, only runes whose case-folded forms are all ASCII:
// under (?i) "s" also matches U+017F and "k" U+212A, which split a run).
func appendLiteral(out []literal, runes []rune, fold bool) []literal {
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			out = append(out, literal{s: b.String(), fold: fold})
			b.Reset()
		}
	}
	for _, c := range runes {
		if !asciiFold(c, fold) {
			flush()
			continue
		}
		if fold {
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	flush()
	return out
}

// asciiFold reports whether c is ASCII and, when fold, whether every rune
// that c matches case-insensitively is ASCII too.
func asciiFold(c rune, fold bool) bool {
	if c >= 0x80 {
		return false
	}
	if fold {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f >= 0x80 {
				return false
			}
		}
	}
	return true
}

// mayMatch reports whether window holds every one of lits (false means
// the rule cannot match in it).
func mayMatch(lits []literal, window []byte) bool {
	for _, l := range lits {
		if !l.fold {
			if !bytes.Contains(window, []byte(l.s)) {
				return false
			}
			continue
		}
		if len(window) <= maxFoldWindow && !containsFold(window, l.s) {
			return false
		}
	}
	return true
}

// containsFold reports whether b holds lower (ASCII, lower case) with
// ASCII letters in either case.
func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if lowerASCII(b[i]) != lower[0] {
			continue
		}
		j := 1
		for j < len(lower) && lowerASCII(b[i+j]) == lower[j] {
			j++
		}
		if j == len(lower) {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
