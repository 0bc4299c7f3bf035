package secrets

import (
	"bytes"
	"regexp"
)

// The context model: some values (an AWS secret access key, an account
// ID, a password) are secrets only when a keyword names them, and code
// names a value in more ways than "key = value". Starting from a keyword
// hit, the identifier around it (s3_secret_access_key, awsAccountId,
// SMTP_PASSWORD) is found, then the value is looked for where that kind
// of statement puts it:
//
//   - after the identifier and a separator: = : := => , (define('K', 'v'),
//     tuples, VALUES lists), the end of an XML start tag (<K>v</K>), or, for
//     values of a strict shape and after command-line flags, white space
//     (--aws-secret-access-key v, --db-password v);
//   - when the identifier is itself a quoted string that ends its clause
//     (SQL "... SET value = 'v' WHERE name = 's3_secret_access_key'"), in
//     the other string literals of its line, and of the lines above when
//     the line continues a SQL statement (WHERE, AND, SET ...);
//   - when the identifier is the name of a name/value pair (YAML
//     "- name: K" then "value: v", JSON {"name": "K", "value": "v"},
//     ParameterKey/ParameterValue, plist <key>K</key><string>v</string>),
//     in the value field that follows within a few lines (before the name
//     of another pair).

// contextSpec makes a rule find its values through the context model, in
// addition to its own regex.
type contextSpec struct {
	// value must match the whole candidate value.
	value *regexp.Regexp
	// minLen and maxLen bound a value's length, checked before value.
	minLen, maxLen int
	// strict allows white space alone between the identifier and a value:
	// for values of a shape that prose does not have.
	strict bool
}

// Bounds of the context model's reach.
const (
	// maxIdent bounds an identifier.
	maxIdent = 80
	// maxValue bounds a quoted value.
	maxValue = 300
	// ctxLines is how many lines a statement or a name/value pair spans
	// before or after the keyword's line.
	ctxLines = 3
	// ctxReach bounds how far from the identifier a statement is read,
	// so that a long line costs the same as a short one.
	ctxReach = 1 << 10
)

// valueFieldAt returns where the value starts when b[i:] starts a value
// field ("value: ", "ParameterValue=", "<string>", "<value>"), or -1.
func valueFieldAt(b []byte, i int) int {
	for _, tag := range []string{"<string>", "<value>"} {
		if hasPrefixFold(b[i:], tag) {
			return i + len(tag)
		}
	}
	for _, w := range []string{"value", "parametervalue"} {
		if hasPrefixFold(b[i:], w) {
			return fieldSep(b, i+len(w))
		}
	}
	return -1
}

// nameFieldAt reports whether b[i:] starts the name field of a pair.
func nameFieldAt(b []byte, i int) bool {
	if hasPrefixFold(b[i:], "<key>") || hasPrefixFold(b[i:], "<name>") {
		return true
	}
	for _, w := range []string{"name", "key", "parametername", "parameterkey"} {
		if hasPrefixFold(b[i:], w) && fieldSep(b, i+len(w)) >= 0 {
			return true
		}
	}
	return false
}

// fieldSep returns where a field's value starts when b[j:] is the end of
// its name: an optional quote, then :, = or =>, then white space; or -1.
func fieldSep(b []byte, j int) int {
	if j < len(b) && (b[j] == '"' || b[j] == '\'') {
		j++
	}
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	switch {
	case j+1 < len(b) && b[j] == '=' && b[j+1] == '>':
		j += 2
	case j < len(b) && (b[j] == ':' || b[j] == '='):
		j++
	default:
		return -1
	}
	for j < len(b) && isSpace(b[j]) {
		j++
	}
	return j
}

// pairValue finds the value field that follows in b, before the name
// field of another pair, and returns where its value starts, or -1.
func pairValue(b []byte) int {
	for i := 0; i < len(b); i++ {
		switch b[i] | 0x20 {
		case 'v', 'p', 'n', 'k', '<' | 0x20:
		default:
			continue // no field starts with it
		}
		if i > 0 && (isIdentChar(b[i-1]) && b[i-1] != '.' && b[i-1] != '-') {
			continue // not at the start of a word
		}
		if v := valueFieldAt(b, i); v >= 0 {
			return v
		}
		if nameFieldAt(b, i) {
			return -1
		}
	}
	return -1
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// sqlContinued reports whether a line starts by continuing a SQL
// statement begun on the lines above (WHERE, AND, OR, SET, VALUES).
func sqlContinued(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	for _, w := range []string{"where", "and", "or", "set", "values"} {
		if hasPrefixFold(line, w) && (len(line) == len(w) || !isIdentChar(line[len(w)])) {
			return true
		}
	}
	return false
}

// matches reports whether v is a value of the spec's shape.
func (c *contextSpec) matches(v []byte) bool {
	return len(v) >= c.minLen && len(v) <= c.maxLen && c.value.Match(v)
}

// isNameField reports whether the text before an identifier (its quote
// taken out) ends with the name field of a name/value pair: "name: ",
// "Key=", "ParameterKey: ", "<key>" ... (a hand-written check: it runs at
// every keyword hit).
func isNameField(before []byte) bool {
	b := bytes.TrimRight(before, " \t")
	if hasSuffixFold(b, "<key>") || hasSuffixFold(b, "<name>") {
		return true
	}
	switch {
	case bytes.HasSuffix(b, []byte("=>")):
		b = b[:len(b)-2]
	case len(b) > 0 && (b[len(b)-1] == ':' || b[len(b)-1] == '='):
		b = b[:len(b)-1]
	default:
		return false
	}
	b = bytes.TrimRight(b, " \t")
	if len(b) > 0 && (b[len(b)-1] == '"' || b[len(b)-1] == '\'') {
		b = b[:len(b)-1]
	}
	j := len(b)
	for j > 0 && (b[j-1]|0x20 >= 'a' && b[j-1]|0x20 <= 'z') {
		j--
	}
	if j > 0 && (b[j-1] >= '0' && b[j-1] <= '9') {
		return false
	}
	for _, w := range []string{"name", "key", "parametername", "parameterkey"} {
		if bytes.EqualFold(b[j:], []byte(w)) {
			return true
		}
	}
	return false
}

func hasSuffixFold(b []byte, suffix string) bool {
	return len(b) >= len(suffix) && bytes.EqualFold(b[len(b)-len(suffix):], []byte(suffix))
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func isQuote(c byte) bool { return c == '"' || c == '\'' || c == '`' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' }

// lineStart and lineEnd bound the line of buf[i].
func lineStart(buf []byte, i int) int {
	return bytes.LastIndexByte(buf[:i], '\n') + 1
}

func lineEnd(buf []byte, i int) int {
	if j := bytes.IndexByte(buf[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(buf)
}

// contextMatches runs rule ri's context model at a keyword hit buf[hs:he]
// and adds what it finds to s.pending.
func (e *Engine) contextMatches(s *scanState, ri int, buf []byte, hs, he, from, to int) {
	c := e.rules[ri].ctx
	// The identifier around the hit, without leading dashes and dots.
	is, ie := hs, he
	for is > 0 && he-is < maxIdent && isIdentChar(buf[is-1]) {
		is--
	}
	for ie < len(buf) && ie-hs < maxIdent && isIdentChar(buf[ie]) {
		ie++
	}
	flag := is+1 < hs && buf[is] == '-' && buf[is+1] == '-'
	for is < hs && (buf[is] == '-' || buf[is] == '.') {
		is++
	}
	lo, hi := max(0, is-ctxReach), min(len(buf), ie+ctxReach)
	ls, le := lo+lineStart(buf[lo:is], is-lo), ie+lineEnd(buf[ie:hi], 0)
	quote := byte(0)
	if is > ls && isQuote(buf[is-1]) && ie < le && buf[ie] == buf[is-1] {
		quote = buf[is-1]
	}
	add := func(vs, ve int) { e.acceptSpan(s, ri, buf, vs, ve, vs, ve, from, to) }
	// A name/value pair.
	before := buf[max(ls, is-64):is]
	if quote != 0 {
		before = before[:len(before)-1]
	}
	if isNameField(before) {
		rest := ie
		if quote != 0 {
			rest++
		}
		end := le
		// A statement that ends on the line (SQL "WHERE name = 'k';")
		// does not pair with the lines below.
		for n := 0; n < ctxLines && end < hi && bytes.IndexByte(buf[rest:le], ';') < 0; n++ {
			end = end + 1 + lineEnd(buf[end+1:hi], 0)
		}
		if v := pairValue(buf[rest:end]); v >= 0 {
			if vs, ve, ok := readValue(buf, rest+v, end); ok && c.matches(buf[vs:ve]) {
				add(vs, ve)
				return
			}
		}
	}
	// After the identifier and a separator.
	p := ie
	if quote != 0 {
		p++
		if p < le && buf[p] == ']' {
			p++ // an index: env["K"] = v
		}
	}
	for p < le && isSpace(buf[p]) {
		p++
	}
	sepEnd := -1
	switch {
	case p+1 < le && (buf[p] == '=' && buf[p+1] == '>' || buf[p] == ':' && buf[p+1] == '='):
		sepEnd = p + 2
	case p < le && (buf[p] == '=' || buf[p] == ':' || buf[p] == ','):
		sepEnd = p + 1
	case p < le && buf[p] == '>' && is > ls && buf[is-1] == '<':
		sepEnd = p + 1
	case (c.strict || flag) && p > ie && quote == 0:
		sepEnd = p
	}
	if sepEnd >= 0 {
		if vs, ve, ok := readValue(buf, sepEnd, le); ok && c.matches(buf[vs:ve]) {
			add(vs, ve)
			return
		}
	}
	// A quoted name that ends its clause: the other literals of the statement.
	if quote == 0 || sepEnd >= 0 && buf[sepEnd-1] != ',' {
		return
	}
	ss := ls
	for n, cont := 0, sqlContinued(buf[ls:is]); cont && n < ctxLines && ss > lo; n++ {
		prev := lo + lineStart(buf[lo:ss-1], ss-1-lo)
		t := bytes.TrimRight(buf[prev:ss-1], " \t\r")
		if len(t) == 0 || bytes.HasSuffix(t, []byte(";")) || bytes.HasSuffix(t, []byte("{")) || bytes.HasSuffix(t, []byte("}")) {
			break
		}
		ss = prev
		cont = sqlContinued(t) // the statement's first line ends the climb
	}
	for i := ss; i < le; {
		if !isQuote(buf[i]) || i == is-1 {
			i++
			continue
		}
		q := buf[i]
		j := i + 1
		for j < le && j-i <= maxValue && buf[j] != q && buf[j] != '\n' {
			j++
		}
		if j >= le || buf[j] != q {
			i++
			continue
		}
		if i+1 != is && c.matches(buf[i+1:j]) {
			add(i+1, j)
		}
		i = j + 1
	}
}

// readValue reads the value that starts at buf[p] (after white space, an
// opening parenthesis or bracket, a string prefix such as @ or r, and a
// quote) and returns its bounds.
func readValue(buf []byte, p, end int) (int, int, bool) {
	for p < end && (isSpace(buf[p]) || buf[p] == '(' || buf[p] == '[') {
		p++
	}
	if p+1 < end && (buf[p] == '@' || buf[p] == 'r' || buf[p] == 'b' || buf[p] == 'f') && isQuote(buf[p+1]) {
		p++
	}
	if p < end && isQuote(buf[p]) {
		q := buf[p]
		j := p + 1
		for j < end && j-p <= maxValue && buf[j] != q && buf[j] != '\n' {
			j++
		}
		if j >= end || buf[j] != q {
			return 0, 0, false
		}
		return p + 1, j, true
	}
	j := p
	for j < end && j-p <= maxValue {
		c := buf[j]
		if c == '\n' || isSpace(c) || isQuote(c) || c == ',' || c == ';' || c == ')' || c == '}' || c == ']' || c == '<' {
			break
		}
		j++
	}
	return p, j, j > p
}
