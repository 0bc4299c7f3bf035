package finding

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Gate names the kind of check that produced a finding.
type Gate string

// The gates bulwark runs.
const (
	GateLint    Gate = "lint"
	GateSecrets Gate = "secrets"
	GateVuln    Gate = "vuln"
	GateSign    Gate = "sign"
	GateHost    Gate = "host"
	// GateImage is the integrity of the image itself: entries that leave
	// its root. Its findings fail every command that reads the image.
	GateImage Gate = "image"
)

// LayerRef says which image layer a finding comes from.
type LayerRef struct {
	// Index is the layer's position, 0 for the base layer.
	Index int `json:"index"`
	// Digest is the layer's blob digest as stored (compressed) where known.
	Digest string `json:"digest,omitempty"`
	// DiffID is the digest of the uncompressed layer tar.
	DiffID string `json:"diffID,omitempty"`
	// CreatedBy is the history line that added the layer.
	CreatedBy string `json:"createdBy,omitempty"`
}

// Location says where in the target a finding is.
type Location struct {
	// Path is a file path inside the image or tree, without a leading slash
	// for images and relative to the root for trees.
	Path string `json:"path,omitempty"`
	// Line is the 1-based line number in Path, 0 when not applicable.
	Line int `json:"line,omitempty"`
	// Column is the 1-based byte column where the finding starts in Line,
	// 0 when not recorded.
	Column int `json:"column,omitempty"`
	// EndLine and EndColumn locate the finding's last byte, for findings
	// that record their extent (a secret, a private key block).
	EndLine   int `json:"endLine,omitempty"`
	EndColumn int `json:"endColumn,omitempty"`
	// Field is an image config field such as "config.User" or "history[3]".
	Field string `json:"field,omitempty"`
	// Layer is the image layer the finding comes from, if any.
	Layer *LayerRef `json:"layer,omitempty"`
	// Deleted is true when the file was removed by a later layer but is
	// still shipped in the layer that added it.
	Deleted bool `json:"deleted,omitempty"`
}

// String renders a location for a person: "path:line, field, layer N
// (digest)". Paths print as the finding records them, relative to the
// image or tree root.
func (l Location) String() string {
	var parts []string
	if l.Path != "" {
		p := strings.TrimPrefix(l.Path, "/")
		if l.Line > 0 {
			p += fmt.Sprintf(":%d", l.Line)
			if l.Column > 0 {
				p += fmt.Sprintf(":%d", l.Column)
			}
			if l.EndLine > l.Line && l.EndColumn > 0 {
				p += fmt.Sprintf("-%d:%d", l.EndLine, l.EndColumn)
			}
		}
		if l.Deleted {
			p += " (deleted in a later layer)"
		}
		parts = append(parts, p)
	}
	if l.Field != "" {
		parts = append(parts, l.Field)
	}
	if l.Layer != nil {
		d := l.Layer.Digest
		if d == "" {
			d = l.Layer.DiffID
		}
		if len(d) > 19 {
			d = d[:19]
		}
		s := fmt.Sprintf("layer %d", l.Layer.Index)
		if d != "" {
			s += " " + d
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// Suppression records why a finding does not count against its gate.
type Suppression struct {
	// Kind is how it was suppressed: "ignore", "accept", "vex", "baseline", "inline".
	Kind string `json:"kind"`
	// Reason is the justification given, if any.
	Reason string `json:"reason,omitempty"`
	// Source names the file or flag the suppression came from.
	Source string `json:"source,omitempty"`
}

// Finding is one result of one gate.
type Finding struct {
	Gate     Gate     `json:"gate"`
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Severity Severity `json:"severity"`
	// Message gives the details of this occurrence.
	Message  string   `json:"message,omitempty"`
	Location Location `json:"location"`
	// Fix says how to resolve the finding.
	Fix        string   `json:"fix,omitempty"`
	References []string `json:"references,omitempty"`
	// Fingerprint identifies the finding stably across runs, for baselines
	// and allowlists.
	Fingerprint string       `json:"fingerprint,omitempty"`
	Suppressed  *Suppression `json:"suppressed,omitempty"`
	// Failing is set by the policy on a finding that fails its gate.
	Failing bool `json:"failing,omitempty"`

	// Secret holds the details of a secrets finding.
	Secret *SecretDetail `json:"secret,omitempty"`
	// Vuln holds the details of a vulnerability finding.
	Vuln *VulnDetail `json:"vuln,omitempty"`
	// Host holds the details of a host benchmark finding.
	Host *HostDetail `json:"host,omitempty"`
}

// Target describes what was scanned.
type Target struct {
	// Name is the target as the user gave it.
	Name string `json:"name"`
	// Kind is "image", "dir" or "git".
	Kind string `json:"kind"`
	// Digest is the image manifest digest, where there is one.
	Digest string `json:"digest,omitempty"`
	// OS is the operating system found in the target, if any.
	OS *OS `json:"os,omitempty"`
	// Kernel lists the Linux kernels a system (disk image, root file
	// system) has installed and which one its boot loader starts.
	Kernel *Kernel `json:"kernel,omitempty"`
}

// Kernel says which Linux kernels are installed and which one boots.
type Kernel struct {
	// Booted is the kernel release the boot loader starts
	// ("6.1.0-13-amd64"), empty when it cannot be told.
	Booted string `json:"booted,omitempty"`
	// Entry is the boot menu entry that starts it, by title.
	Entry string `json:"entry,omitempty"`
	// Reason says how Booted was found (or why it was not).
	Reason string `json:"reason,omitempty"`
	// Installed lists the kernel releases that installed packages provide.
	Installed []string `json:"installed,omitempty"`
}

// OS identifies an operating system release.
type OS struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Version  string `json:"version,omitempty"`
	Codename string `json:"codename,omitempty"`
}

// Report is everything one run found.
type Report struct {
	Tool      string    `json:"tool"`
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	Target    Target    `json:"target"`
	// Gates lists the gates that ran, so that an empty Findings list can
	// be told apart from a gate that did not run.
	Gates    []Gate    `json:"gates"`
	Findings []Finding `json:"findings"`
	// Warnings lists what could not be examined (skipped files and the like).
	Warnings []string `json:"warnings,omitempty"`
	// Database is the vulnerability database the report used (nil when
	// the vulnerability gate did not run).
	Database *Database `json:"database,omitempty"`
}

// Database says which vulnerability database a report used.
type Database struct {
	// SchemaVersion is the database's format version.
	SchemaVersion int `json:"schemaVersion"`
	// BuiltAt is when the database was built.
	BuiltAt time.Time `json:"builtAt"`
	// Sources are its advisory sources, each with its own date.
	Sources []DatabaseSource `json:"sources,omitempty"`
}

// DatabaseSource is one advisory source of a database.
type DatabaseSource struct {
	// Kind is osv, ghsa, nvd, debian-tracker, alpine-secdb, kev or epss.
	Kind string `json:"kind"`
	// Date is the newest date the source carries.
	Date time.Time `json:"date,omitzero"`
	// Records is the number of records read from it.
	Records int `json:"records"`
}

// Sort orders the findings by gate, then severity (most serious first),
// then ID and location, so that every writer prints them the same way.
func (r *Report) Sort() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := &r.Findings[i], &r.Findings[j]
		if a.Gate != b.Gate {
			return a.Gate < b.Gate
		}
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Location.Path != b.Location.Path {
			return a.Location.Path < b.Location.Path
		}
		return a.Location.Line < b.Location.Line
	})
}

// Active returns the findings that are not suppressed.
func (r *Report) Active() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Suppressed == nil {
			out = append(out, f)
		}
	}
	return out
}
