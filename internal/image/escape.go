package image

import (
	"archive/tar"
	"fmt"
	"path"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Escape is a layer entry that would leave the image root if the layer
// were unpacked: a name with "..", an absolute name, or a symbolic or hard
// link whose target is outside the root. The walk skips it (handlers never
// see it) and goes on; the image is hostile, so every command reports it.
type Escape struct {
	// Layer is the layer the entry is in.
	Layer *Layer
	// Entry is the entry's name as stored in the layer.
	Entry string
	// Reason says how it leaves the root.
	Reason string
}

// maxEscapes bounds the escapes recorded per layer; the rest are counted.
const maxEscapes = 100

// escapeReason returns why a tar entry (its name, type flag and link
// target) leaves the image root, or "".
func escapeReason(name string, typeflag byte, linkname string) string {
	if strings.HasPrefix(name, "/") {
		return "absolute path; image layers hold relative paths only"
	}
	if hasDotDot(name) {
		return `path with ".." climbs out of the image root`
	}
	switch typeflag {
	case tar.TypeSymlink:
		if t := linkname; !path.IsAbs(t) && outside(path.Join(path.Dir(strings.TrimSuffix(name, "/")), t)) {
			return fmt.Sprintf("symbolic link to %q points outside the image root", t)
		}
	case tar.TypeLink:
		if t := linkname; strings.HasPrefix(t, "/") || hasDotDot(t) {
			return fmt.Sprintf("hard link to %q points outside the image root", t)
		}
	}
	return ""
}

// hasDotDot reports whether a slash path has ".." as one of its
// elements, without splitting it (it runs for every entry of every layer).
func hasDotDot(name string) bool {
	return name == ".." || strings.HasPrefix(name, "../") || strings.HasSuffix(name, "/..") || strings.Contains(name, "/../")
}

func outside(cleaned string) bool { return cleaned == ".." || strings.HasPrefix(cleaned, "../") }

// recordEscape keeps an escape of the layer, up to maxEscapes.
func (lp *layerPaths) recordEscape(l *Layer, name, reason string) {
	if len(lp.escapes) < maxEscapes {
		lp.escapes = append(lp.escapes, Escape{Layer: l, Entry: name, Reason: reason})
		return
	}
	lp.moreEscapes++
}

// EscapeID is the ID of the finding an escaping entry gives.
const EscapeID = "BW-IMG-0001"

// EscapeFindings returns one CRITICAL finding (gate "image") per entry
// that leaves the image root, naming its layer and entry, and one for
// each layer's escapes beyond those listed. Commands add them to their
// report, so the verdict fails while the rest of the report stands.
func (t *Tree) EscapeFindings() []finding.Finding {
	if t == nil {
		return nil
	}
	var out []finding.Finding
	add := func(l *Layer, entry, msg string) {
		out = append(out, finding.Finding{
			Gate: finding.GateImage, ID: EscapeID, Title: "Layer entry leaves the image root", Severity: finding.Critical,
			Message:  msg,
			Location: finding.Location{Path: entry, Layer: l.Ref()},
			Fix:      "Do not use this image: a layer entry that leaves the root overwrites files outside it when unpacked (path traversal). Rebuild it from a trusted source.",
		})
	}
	for _, lp := range t.layers {
		for _, e := range lp.escapes {
			add(e.Layer, e.Entry, fmt.Sprintf("%s: entry %q: %s (skipped)", e.Layer, e.Entry, e.Reason))
		}
		if lp.moreEscapes > 0 {
			l := lp.escapes[0].Layer
			add(l, "", fmt.Sprintf("%s: %d more entries leave the image root (skipped)", l, lp.moreEscapes))
		}
	}
	return out
}
