package dashboard

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// TestRows: the rows rendered in Go are the markup the templates made of
// them (kept here as the reference), hostile values escaped alike.
func TestRows(t *testing.T) {
	ref := template.Must(template.New("").Funcs(funcs).Parse(`{{define "counts"}}{{$c := .}}{{range sevs}}<td class="n {{lower .}}{{if index $c .}} some{{end}}">{{index $c .}}</td>{{end}}{{end}}` +
		`{{define "images"}}{{range .}}<tr class="{{.State}}{{if .Stale}} stale{{end}}">
<td><a href="/ui/images/{{.Digest}}">{{.Registry}}/{{.Repository}}</a></td>
<td>{{range $i, $t := .Tags}}{{if $i}}, {{end}}{{$t}}{{end}}</td>
<td><code>{{short .Digest}}</code></td>
<td>{{.State}}{{with .Error}} <span class="error" title="{{.}}">!</span>{{end}}</td>
{{template "counts" .Counts}}
<td>{{if .DeletedAt}}<span class="badge stale">deleted</span>{{else if .Stale}}<span class="badge stale">stale</span>{{else if eq .State "done"}}current{{end}}</td>
</tr>
{{end}}{{end}}` +
		`{{define "changes"}}{{range .}}<tr class="{{.Kind}}">
<td><span class="badge {{.Kind}}">{{.Kind}}</span></td><td><a href="/ui/images/{{.Digest}}">{{.Repository}}</a></td><td><code>{{short .Digest}}</code></td>
<td><span class="sev {{lower .Severity}}">{{.Severity}}</span></td><td>{{.ID}}</td><td>{{when .At}}</td>
</tr>
{{end}}{{end}}`))
	d := "sha256:" + strings.Repeat("0a", 32)
	hostile := `<script>alert("x&y")</script>'`
	rows := []row{
		{Image: store.Image{Digest: d, Registry: "r", Repository: "team/app", State: store.StateDone, Tags: []string{"1", "latest"}, Counts: map[string]int{"HIGH": 3, "LOW": 1}}},
		{Image: store.Image{Digest: d, Registry: "r", Repository: hostile, State: store.StateDone, Tags: []string{hostile}, Counts: map[string]int{}}, Stale: true},
		{Image: store.Image{Digest: d, Registry: hostile, Repository: "x", State: store.StateFailed, Error: hostile, Tags: []string{}}},
		{Image: store.Image{Digest: "sha256:short", Repository: "y", State: store.StatePending}},
		{Image: store.Image{Digest: d, Registry: "r", Repository: "gone", State: store.StateDone, DeletedAt: &time.Time{}}, Stale: true},
	}
	changes := []store.Change{
		{Digest: d, Repository: "team/app", Kind: "new", ID: "CVE-1", Severity: "CRITICAL", At: time.Date(2026, 3, 1, 22, 5, 9, 0, time.UTC)},
		{Digest: d, Repository: hostile, Kind: "fixed", ID: hostile, Severity: hostile},
	}
	for _, c := range []struct {
		name string
		data any
		got  template.HTML
	}{{"images", rows, imageRows(rows)}, {"changes", changes, changeRows(changes)}} {
		var want strings.Builder
		if err := ref.ExecuteTemplate(&want, c.name, c.data); err != nil {
			t.Fatal(err)
		}
		if got := string(c.got); got != want.String() {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, got, want.String())
		}
	}
}
