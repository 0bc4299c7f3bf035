package trivyfmt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"

	"github.com/bulwark-sec/bulwark/internal/regular"
)

// MaxTemplateOutput bounds what a template may write (a template is
// configuration, but a loop in one should end in an error, not a full
// disk).
const MaxTemplateOutput = 256 << 20

// MaxTemplateSize bounds a template file.
const MaxTemplateSize = 1 << 20

// Funcs are the functions a template may call, named as Trivy's templates
// call them: escapeXML, endWithPeriod, toLower/lower, toUpper/upper,
// toString, sourceID, now, date FORMAT TIME, join SEP LIST, default DEF
// VALUE, contains SUBSTR S, appVersion. Nothing reads the environment or
// files (Trivy dropped env for the same reason: CI secrets).
func Funcs(version string) template.FuncMap {
	return template.FuncMap{
		"escapeXML": func(s string) string {
			var b bytes.Buffer
			xml.EscapeText(&b, []byte(s))
			return b.String()
		},
		"endWithPeriod": func(s string) string {
			if strings.HasSuffix(s, ".") {
				return s
			}
			return s + "."
		},
		"toLower":  strings.ToLower,
		"lower":    strings.ToLower,
		"toUpper":  strings.ToUpper,
		"upper":    strings.ToUpper,
		"toString": func(v any) string { return fmt.Sprint(v) },
		"sourceID": func(s string) string { return s },
		"now":      time.Now,
		"date":     func(layout string, t time.Time) string { return t.Format(layout) },
		"join":     func(sep string, list []string) string { return strings.Join(list, sep) },
		"default": func(def, v any) any {
			if v == nil || v == "" || v == 0 || v == false {
				return def
			}
			return v
		},
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"appVersion": func() string { return version },
	}
}

// Template is a parsed report template.
type Template struct {
	name string
	t    *template.Template
}

// ParseTemplate parses a --template value: the template text, or @FILE
// to read it from FILE (as Trivy's --template "@contrib/junit.tpl"; bulwark
// ships no contrib folder, see docs/scan.md). Errors name the template.
func ParseTemplate(spec, version string) (*Template, error) {
	name, text := "--template", spec
	if file, ok := strings.CutPrefix(spec, "@"); ok {
		name = file
		b, err := readTemplate(file)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("template %s is empty; give the template text or @FILE", name)
	}
	t, err := template.New(name).Funcs(Funcs(version)).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return &Template{name: name, t: t}, nil
}

func readTemplate(file string) ([]byte, error) {
	// A FIFO or a device is refused, not waited on.
	f, _, err := regular.Open(file)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", file, err)
	}
	if len(b) > MaxTemplateSize {
		return nil, fmt.Errorf("template %s: larger than %d bytes", file, MaxTemplateSize)
	}
	return b, nil
}

// errTooLarge stops a template that writes too much.
var errTooLarge = errors.New("output larger than 256 MiB")

type limitWriter struct {
	w    io.Writer
	left int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, errTooLarge
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// Execute runs the template on the results, written to w.
func (t *Template) Execute(w io.Writer, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	if err := t.t.Execute(&limitWriter{w: w, left: MaxTemplateOutput}, results); err != nil {
		return fmt.Errorf("template %s: %w", t.name, err)
	}
	return nil
}
