package scan

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwark-sec/bulwark/internal/image"
)

// Annotations that name an image's base (OCI image spec).
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

// baseLayersFrom returns how many of img's layers are the base image's:
// the length of the common prefix of their uncompressed layer digests.
func baseLayersFrom(img, base *image.Image) int {
	n := 0
	for n < len(img.Layers) && n < len(base.Layers) && img.Layers[n].DiffID != "" && img.Layers[n].DiffID == base.Layers[n].DiffID {
		n++
	}
	return n
}

// baseLayersFromHistory guesses how many layers the base image holds from
// the image's history, as Docker writes it: the base image's history ends
// with its CMD or ENTRYPOINT (an entry that makes no layer), and the
// application's instructions follow. It returns the number of layers
// created up to the last such entry that is followed by at least one
// layer-creating entry, and false when the history shows no such
// boundary.
func baseLayersFromHistory(cfg *v1.ConfigFile) (int, bool) {
	if cfg == nil || len(cfg.History) == 0 {
		return 0, false
	}
	h := cfg.History
	seenLayer := false
	for i := len(h) - 1; i >= 0; i-- {
		if !h[i].EmptyLayer {
			seenLayer = true
			continue
		}
		if !seenLayer {
			continue
		}
		cb := strings.ToUpper(strings.TrimSpace(h[i].CreatedBy))
		cb = strings.TrimSpace(strings.TrimPrefix(cb, "/BIN/SH -C #(NOP)"))
		if strings.HasPrefix(cb, "CMD") || strings.HasPrefix(cb, "ENTRYPOINT") {
			layers := 0
			for _, e := range h[:i] {
				if !e.EmptyLayer {
					layers++
				}
			}
			return layers, true
		}
	}
	return 0, false
}
