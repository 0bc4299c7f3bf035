// Package secrets finds credentials in source trees, git history and image
// layers. A compiled Engine holds the rules; one multi-pattern pass
// (Aho-Corasick) over the content finds every rule keyword, and a rule's
// regular expression runs only on the line (or, for multi-line rules, the
// block) around each hit of one of its keywords.
package secrets
