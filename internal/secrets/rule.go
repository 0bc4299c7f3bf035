package secrets

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Rule describes one kind of secret.
type Rule struct {
	// ID is the stable rule identifier reported in findings ("aws-access-key-id").
	ID string
	// Title says what was found, for people.
	Title string
	// Severity is the severity of a finding of this rule.
	Severity finding.Severity
	// Keywords are case-insensitive literals one of which must occur near a
	// match; the regex runs only around their hits. A rule without keywords
	// runs its regex over the whole content (slower; custom rules only).
	Keywords []string
	// Regex finds the secret; the secret is capture group SecretGroup, or
	// the first non-empty group when SecretGroup is 0, or the whole match
	// when the regex has no groups.
	Regex *regexp.Regexp
	// SecretGroup selects the capture group that holds the secret.
	SecretGroup int
	// MinEntropy, when above 0, is the Shannon entropy a secret must reach.
	MinEntropy float64
	// Multiline lets the regex see the block after a keyword hit (private
	// keys) instead of its line only.
	Multiline bool
	// Paths, when set, limits the rule to files whose path matches.
	Paths *regexp.Regexp
	// Allow lists regexes; a secret matching one is not a finding.
	Allow []*regexp.Regexp
	// Stopwords are case-insensitive words; a secret containing one is not a finding.
	Stopwords []string
	// KeepPlaceholders turns off the placeholder filter for the rule.
	KeepPlaceholders bool
	// Validate, when set, must accept the secret (checksums, decodings).
	Validate func(secret string) bool
	// Fallback marks a generic rule, reported only where no other rule
	// matched an overlapping secret.
	Fallback bool
	// Fix says what to do about a finding.
	Fix string

	// anchor says where the regex starts relative to a keyword hit.
	anchor anchor
	// anchored returns Regex anchored at the start of its input.
	anchored func() *regexp.Regexp
	// ctx, when set, also finds values through the context model.
	ctx *contextSpec
	// spanMatch makes a finding span the regex's whole match (a private
	// key from BEGIN to END) rather than its secret group.
	spanMatch bool
}

// anchor says where a built-in rule's regex starts relative to a hit of
// one of its keywords, so that it runs once, anchored, per hit instead of
// searching the whole line.
type anchor int

const (
	// anchorNone: the regex searches the line (or block) of the hit.
	anchorNone anchor = iota
	// anchorAt: the regex starts where the keyword starts.
	anchorAt
	// anchorBefore: the regex starts one byte before the keyword (a
	// boundary character), or at the keyword at the start of the input.
	anchorBefore
)

// check reports whether a rule is usable, naming what is wrong.
func (r *Rule) check() error {
	switch {
	case r.ID == "":
		return fmt.Errorf("rule without an id")
	case r.Regex == nil:
		return fmt.Errorf("rule %q: no regex", r.ID)
	case r.SecretGroup < 0 || r.SecretGroup > r.Regex.NumSubexp():
		return fmt.Errorf("rule %q: secret group %d does not exist (the regex has %d groups)", r.ID, r.SecretGroup, r.Regex.NumSubexp())
	}
	for _, k := range r.Keywords {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("rule %q: empty keyword", r.ID)
		}
	}
	return nil
}

// accept applies the rule's own filters to a secret.
func (r *Rule) accept(secret string) bool {
	if !r.KeepPlaceholders && IsPlaceholder(secret) {
		return false
	}
	if r.MinEntropy > 0 && Entropy(secret) < r.MinEntropy {
		return false
	}
	for _, a := range r.Allow {
		if a.MatchString(secret) {
			return false
		}
	}
	if len(r.Stopwords) > 0 {
		lower := strings.ToLower(secret)
		for _, w := range r.Stopwords {
			if strings.Contains(lower, w) {
				return false
			}
		}
	}
	if r.Validate != nil && !r.Validate(secret) {
		return false
	}
	return true
}

func (r *Rule) fix() string {
	if r.Fix != "" {
		return r.Fix
	}
	return "Revoke and rotate the credential, then remove it from the file (and from history: it stays in every commit and image layer that has it)."
}
