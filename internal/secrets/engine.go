package secrets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Tuning of the scan windows and chunks.
const (
	// lineReach is how far a single-line rule's window extends either side
	// of a keyword hit when the line is longer.
	lineReach = 4 << 10
	// blockReach is how far a multi-line rule's window extends after a hit.
	blockReach = 32 << 10
	// chunkSize is how much of a file is scanned at once.
	chunkSize = 1 << 20
	// overlap is how much of a chunk's end is scanned again at the start of
	// the next one, so that a secret across the boundary is whole in one.
	overlap = 64 << 10
	// sniffSize is how much of a file is looked at to tell binary content.
	sniffSize = 8 << 10
)

// Engine is a compiled rule set. It is safe for concurrent use.
type Engine struct {
	rules []*Rule
	kw    *keywordIndex
	// patRules maps each keyword pattern to the rules that use it.
	patRules [][]int
	// always lists the rules without keywords.
	always []int
	// lits[i] returns the literals that every match of rule i holds
	// (computed on first use, as the anchored regexes).
	lits []func() []literal
	// pathRules is true when some rule is limited to paths.
	pathRules bool
	// states holds scan states for reuse (see newState).
	states sync.Pool
}

// NewEngine compiles rules into an engine. Rule IDs must be unique.
func NewEngine(rules []*Rule) (*Engine, error) {
	e := &Engine{rules: rules, lits: make([]func() []literal, len(rules))}
	seen := map[string]bool{}
	patIndex := map[string]int{}
	var patterns []string
	for i, r := range rules {
		if err := r.check(); err != nil {
			return nil, err
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("rule %q is defined twice", r.ID)
		}
		seen[r.ID] = true
		if r.anchor != anchorNone && r.anchored == nil {
			// Compiled on first use: most rules see no keyword hit in a
			// scan, and compiling them all was half the engine's start.
			// Only built-in rules have an anchor; TestAnchoredCompile
			// compiles every one.
			pattern := `^(?:` + r.Regex.String() + `)`
			r.anchored = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
		}
		e.lits[i] = sync.OnceValue(func() []literal { return requiredLiterals(r) })
		if r.Paths != nil {
			e.pathRules = true
		}
		if len(r.Keywords) == 0 {
			e.always = append(e.always, i)
			continue
		}
		for _, k := range r.Keywords {
			k = strings.ToLower(k)
			pi, ok := patIndex[k]
			if !ok {
				pi = len(patterns)
				patIndex[k] = pi
				patterns = append(patterns, k)
				e.patRules = append(e.patRules, nil)
			}
			if !slices.Contains(e.patRules[pi], i) {
				e.patRules[pi] = append(e.patRules[pi], i)
			}
		}
	}
	e.kw = newKeywordIndex(patterns)
	return e, nil
}

// Rules returns the engine's rules.
func (e *Engine) Rules() []*Rule { return e.rules }

// Match is one secret found in some content.
type Match struct {
	// Rule is the rule that matched.
	Rule *Rule
	// Secret is the secret itself.
	Secret string
	// Offset is the byte offset of the secret in the content.
	Offset int64
	// Line is the 1-based line number of the finding's start: the
	// secret's, or for a rule that spans its whole match (a private key
	// block), the match's.
	Line int
	// Column is the 1-based byte column of the finding's start in Line.
	Column int
	// EndLine and EndColumn locate the finding's last byte.
	EndLine, EndColumn int
	// LineHash identifies the content of the line(s) the secret is on.
	LineHash string
	// Inline is true when the line carries a bulwark:ignore comment.
	Inline bool

	ri int // index of Rule in the engine
	// spanStart and spanEnd are the offsets of what the finding spans
	// (relative to the chunk until it is placed).
	spanStart, spanEnd int64
}

// ErrBinary is returned by ScanReader for content that is not text.
var ErrBinary = errors.New("binary content")

// IsBinary reports whether content looks binary: a NUL byte in its start.
func IsBinary(head []byte) bool {
	return bytes.IndexByte(head[:min(len(head), sniffSize)], 0) >= 0
}

// ScanBytes scans content held in memory. path is used for rules limited
// to some paths.
func (e *Engine) ScanBytes(path string, data []byte) []Match {
	s := e.newState(path)
	defer e.states.Put(s)
	e.scanChunk(s, data, 0, 0, len(data), 1)
	return s.out
}

// BufferSize is the size of the scratch buffer ScanReader wants.
const BufferSize = chunkSize + overlap + lineReach

// ScanReader scans content of any size in chunks, with buf (BufferSize
// bytes; nil allocates one) as scratch, so memory stays bounded whatever
// the size of the content or of its lines. When sniff is true, content
// whose start looks binary is refused with ErrBinary. Content larger
// than a chunk is scanned by several goroutines, a chunk each (see
// windowScanner), with the same result.
func (e *Engine) ScanReader(path string, r io.Reader, buf []byte, sniff bool) ([]Match, error) {
	return e.scanReader(path, r, buf, sniff, min(runtime.GOMAXPROCS(0), maxWindowWorkers))
}

// scanReader is ScanReader with workers goroutines scanning the chunks
// of content larger than one (1: the caller's goroutine alone).
func (e *Engine) scanReader(path string, r io.Reader, buf []byte, sniff bool, workers int) (ms []Match, err error) {
	if cap(buf) < BufferSize {
		buf = make([]byte, BufferSize)
	}
	buf = buf[:cap(buf)]
	s := e.newState(path)
	defer e.states.Put(s)
	var par *windowScanner // the workers, once the content proves larger than a chunk
	if workers > 1 {
		defer func() {
			if par != nil {
				ms = par.finish()
			}
		}()
	}
	var base int64 // offset of buf[0] in the content
	line := 1      // line number at buf[0]
	carry := 0     // bytes kept from the previous round at the start of buf
	from := 0      // where the unreported part of buf starts
	for first := true; ; first = false {
		var n int
		var err error
		if first && sniff {
			// The start first: a binary file costs one small read, not a
			// chunk's.
			n, err = io.ReadFull(r, buf[:sniffSize])
			if (err == nil || err == io.EOF || err == io.ErrUnexpectedEOF) && IsBinary(buf[:n]) {
				return nil, ErrBinary
			}
			if err == nil {
				var m int
				m, err = io.ReadFull(r, buf[n:])
				n += m
			}
		} else {
			n, err = io.ReadFull(r, buf[carry:])
		}
		end := carry + n
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return s.out, err
		}
		to := end
		if !eof {
			to = end - overlap
		}
		// Keep the unreported tail, plus some of what precedes it so that a
		// keyword just before the tail is seen again with its secret.
		start := max(0, to-lineReach)
		next := buf
		if to > from {
			if par == nil && !eof && workers > 1 {
				// More than a chunk: scan the chunks on the window
				// workers the other scans leave free, if any.
				if n := takeWindowSlots(workers); n > 0 {
					par = e.newWindowScanner(path, n)
				} else {
					workers = 1
				}
			}
			if par == nil {
				e.scanChunk(s, buf[:end], base, from, to, line)
			} else {
				next = par.scan(buf[:end], base, from, to, line)
			}
		}
		if eof {
			return s.out, nil
		}
		line += bytes.Count(buf[:start], newline)
		copy(next, buf[start:end])
		buf = next
		base += int64(start)
		carry = end - start
		from = to - start
	}
}

var newline = []byte{'\n'}

// scanState is the state of one scan of one piece of content.
type scanState struct {
	e    *Engine
	skip []bool // rules that do not apply to the path
	// scannedTo[i] is the end of the region rule i's regex already ran on.
	scannedTo []int
	out       []Match
	pending   []Match
	specific  [][2]int64
	hits      []keywordHit
}

// newState returns a scan state for path from the engine's pool (one
// scan a file: allocating its per-rule slices each time cost more than
// the scan of a small file); put it back with e.states.Put once its out
// has been handed over.
func (e *Engine) newState(path string) *scanState {
	s, _ := e.states.Get().(*scanState)
	if s == nil {
		s = &scanState{e: e, scannedTo: make([]int, len(e.rules))}
		if e.pathRules {
			s.skip = make([]bool, len(e.rules))
		}
	}
	s.out = nil
	if e.pathRules {
		for i, r := range e.rules {
			s.skip[i] = r.Paths != nil && !r.Paths.MatchString(path)
		}
	}
	return s
}

// scanChunk scans buf and records the matches whose secret starts in
// buf[from:to]. base is the content offset of buf[0], line the line number there.
func (e *Engine) scanChunk(s *scanState, buf []byte, base int64, from, to, line int) {
	clear(s.scannedTo)
	s.pending = s.pending[:0]
	if len(e.patRules) > 0 {
		s.hits = e.kw.find(buf, s.hits[:0])
		for _, hit := range s.hits {
			hs, he := hit.End-e.kw.lens[hit.Keyword], hit.End
			lineEnd := -1
			for _, ri := range e.patRules[hit.Keyword] {
				if s.skip != nil && s.skip[ri] {
					continue
				}
				r := e.rules[ri]
				if r.anchor != anchorNone {
					start := hs
					if r.anchor == anchorBefore && hs > 0 {
						start = hs - 1
					}
					var end int
					if r.Multiline {
						end = min(len(buf), hs+blockReach)
					} else {
						if lineEnd < 0 {
							lineEnd = min(len(buf), he+lineReach)
							if i := bytes.IndexByte(buf[he:lineEnd], '\n'); i >= 0 {
								lineEnd = he + i
							}
						}
						end = lineEnd
					}
					var loc []int
					if w := buf[start:end]; mayMatch(e.lits[ri](), w) {
						loc = r.anchored().FindSubmatchIndex(w)
					}
					if loc != nil {
						e.accept(s, ri, buf, start, loc, from, to)
					} else if r.ctx != nil {
						e.contextMatches(s, ri, buf, hs, he, from, to)
					}
					continue
				}
				if s.scannedTo[ri] > hs {
					continue
				}
				ws, we, clamped := window(buf, hs, he, r.Multiline)
				last := e.runRule(s, ri, buf, ws, we, from, to)
				next := we
				if clamped {
					// The window was cut short of the line or block end: let a
					// later hit open a window that reaches further.
					next = max(last, ws+(we-ws)/2)
				}
				s.scannedTo[ri] = next
			}
		}
	}
	for _, ri := range e.always {
		if s.skip != nil && s.skip[ri] {
			continue
		}
		e.runRule(s, ri, buf, 0, len(buf), from, to)
	}
	if len(s.pending) == 0 {
		return
	}
	slices.SortFunc(s.pending, func(a, b Match) int {
		if a.spanStart != b.spanStart {
			return int(a.spanStart - b.spanStart)
		}
		if a.spanEnd != b.spanEnd {
			return int(b.spanEnd - a.spanEnd) // the wider first
		}
		if a.Offset != b.Offset {
			return int(a.Offset - b.Offset)
		}
		return a.ri - b.ri
	})
	dropShadowed(s)
	dropContained(s)
	pos := 0
	var prev *Match
	for i := range s.pending {
		m := &s.pending[i]
		if m.Rule == nil {
			continue
		}
		if prev != nil && prev.Offset == m.Offset+base && (prev.ri == m.ri || len(prev.Secret) == len(m.Secret)) {
			// Found again through another keyword's window, or the same
			// secret found by a second rule: report it once.
			continue
		}
		prev = m
		ss, se := int(m.spanStart), int(max(m.spanEnd-1, m.spanStart))
		line += bytes.Count(buf[pos:ss], newline)
		pos = ss
		m.Line = line
		m.Column = ss - lineStart(buf, ss) + 1
		m.EndLine = line + bytes.Count(buf[ss:se], newline)
		m.EndColumn = se - lineStart(buf, se) + 1
		m.Offset += base
		m.spanStart += base
		m.spanEnd += base
		s.out = append(s.out, *m)
	}
}

// dropContained removes (sets Rule to nil) the matches that lie inside
// the span of a wider match of a rule that spans its whole match (a
// private key block, a service-account key file): one finding for one
// secret. s.pending is sorted by span start, the widest first.
func dropContained(s *scanState) {
	end := int64(-1)
	for i := range s.pending {
		m := &s.pending[i]
		if m.Rule == nil {
			continue
		}
		if m.spanEnd <= end {
			m.Rule = nil
			continue
		}
		if m.Rule.spanMatch {
			end = m.spanEnd
		}
	}
}

// dropShadowed removes (sets Rule to nil) the matches of fallback rules
// that overlap a match of a specific rule. s.pending is sorted by offset.
func dropShadowed(s *scanState) {
	s.specific = s.specific[:0]
	for _, m := range s.pending {
		if !m.Rule.Fallback {
			s.specific = append(s.specific, [2]int64{m.spanStart, m.spanEnd})
		}
	}
	if len(s.specific) == 0 {
		return
	}
	k := 0
	for i := range s.pending {
		m := &s.pending[i]
		if !m.Rule.Fallback {
			continue
		}
		a, b := m.spanStart, m.spanEnd
		for k < len(s.specific) && s.specific[k][1] <= a {
			k++
		}
		if k < len(s.specific) && s.specific[k][0] < b {
			m.Rule = nil
		}
	}
}

// window returns the part of buf a rule's regex runs on for a keyword hit
// at buf[hs:he]: its line, or for a multi-line rule the block from its line
// on, cut to a bounded reach (clamped is then true).
func window(buf []byte, hs, he int, multiline bool) (ws, we int, clamped bool) {
	lo := max(0, hs-lineReach)
	ws = lo
	if i := bytes.LastIndexByte(buf[lo:hs], '\n'); i >= 0 {
		ws = lo + i + 1
	}
	reach := lineReach
	if multiline {
		reach = blockReach
	}
	hi := min(len(buf), he+reach)
	if multiline {
		return ws, hi, hi < len(buf)
	}
	we = hi
	clamped = hi < len(buf)
	if i := bytes.IndexByte(buf[he:hi], '\n'); i >= 0 {
		we = he + i
		clamped = false
	}
	return ws, we, clamped
}

// runRule runs rule ri's regex on buf[ws:we], adds the accepted matches
// whose secret starts in [from, to) to s.pending (offsets relative to buf),
// and returns the end of the last match (ws if none).
func (e *Engine) runRule(s *scanState, ri int, buf []byte, ws, we, from, to int) int {
	last := ws
	if !mayMatch(e.lits[ri](), buf[ws:we]) {
		return last
	}
	for _, loc := range e.rules[ri].Regex.FindAllSubmatchIndex(buf[ws:we], -1) {
		last = ws + loc[1]
		e.accept(s, ri, buf, ws, loc, from, to)
	}
	return last
}

// accept checks one regex match of rule ri found in buf[ws:] and adds it
// to s.pending if its secret starts in [from, to) and passes the filters.
func (e *Engine) accept(s *scanState, ri int, buf []byte, ws int, loc []int, from, to int) {
	r := e.rules[ri]
	ss, se := secretSpan(r, loc)
	if ss < 0 {
		return
	}
	ps, pe := ss, se
	if r.spanMatch {
		ps, pe = loc[0], loc[1]
	}
	e.acceptSpan(s, ri, buf, ss+ws, se+ws, ps+ws, pe+ws, from, to)
}

// acceptSpan adds the secret buf[ss:se], a finding that spans buf[ps:pe],
// to s.pending if the secret starts in [from, to) and passes rule ri's
// filters.
func (e *Engine) acceptSpan(s *scanState, ri int, buf []byte, ss, se, ps, pe, from, to int) {
	r := e.rules[ri]
	if ss < from || ss >= to {
		return
	}
	secret := string(buf[ss:se])
	if !r.accept(secret) {
		return
	}
	ls, le := lineBounds(buf, ss, se)
	lineText := buf[ls:le]
	s.pending = append(s.pending, Match{
		Rule:      r,
		ri:        ri,
		Secret:    secret,
		Offset:    int64(ss),
		LineHash:  hashLine(lineText),
		Inline:    hasInlineIgnore(lineText),
		spanStart: int64(ps),
		spanEnd:   int64(pe),
	})
}

// secretSpan picks the secret out of a regex match.
func secretSpan(r *Rule, loc []int) (int, int) {
	if r.SecretGroup > 0 {
		return loc[2*r.SecretGroup], loc[2*r.SecretGroup+1]
	}
	for g := 1; 2*g+1 < len(loc); g++ {
		if loc[2*g] >= 0 && loc[2*g+1] > loc[2*g] {
			return loc[2*g], loc[2*g+1]
		}
	}
	if len(loc) > 2 {
		// Every group is empty: there is no secret in this match.
		return -1, -1
	}
	return loc[0], loc[1]
}

// lineBounds returns the line(s) holding buf[ss:se], cut to a bounded reach.
func lineBounds(buf []byte, ss, se int) (int, int) {
	lo := max(0, ss-lineReach)
	ls := lo
	if i := bytes.LastIndexByte(buf[lo:ss], '\n'); i >= 0 {
		ls = lo + i + 1
	}
	hi := min(len(buf), se+lineReach)
	le := hi
	if i := bytes.IndexByte(buf[se:hi], '\n'); i >= 0 {
		le = se + i
	}
	return ls, le
}

// hashLine identifies a line's content, ignoring surrounding white space.
func hashLine(line []byte) string {
	sum := sha256.Sum256(bytes.TrimSpace(line))
	return hex.EncodeToString(sum[:8])
}

// Fingerprint returns the stable identity of a finding: the rule, the file
// and the content of the line, so that it survives lines moving around.
func Fingerprint(ruleID, path, lineHash string) string {
	sum := sha256.Sum256([]byte(ruleID + "\x00" + path + "\x00" + lineHash))
	return hex.EncodeToString(sum[:16])
}
