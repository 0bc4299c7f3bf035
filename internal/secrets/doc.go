// Package secrets finds credentials in source trees, git history and image
// layers. A compiled Engine holds the rules; one pass over the content
// (a filter on byte triples, then a trie walk where it stops; see
// keywordIndex) finds every rule keyword, and a rule's
// regular expression runs only on the line (or, for multi-line rules, the
// block) around each hit of one of its keywords.
package secrets
