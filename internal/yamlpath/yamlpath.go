// Package yamlpath finds where a value sits in a YAML document, so that
// configuration errors can name the line.
package yamlpath

import "gopkg.in/yaml.v3"

// Line returns the line of the node at a path of mapping keys (string)
// and sequence indexes (int) in a YAML document, or of its nearest parent
// that exists (0 for an empty document).
func Line(n *yaml.Node, keys ...any) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n.Line
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return n.Line
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return n.Line
			}
			n = n.Content[k]
		}
	}
	return n.Line
}
