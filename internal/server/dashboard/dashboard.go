// Package dashboard is the web dashboard of `bulwark server`: HTML pages
// rendered on the server with html/template (no JavaScript, CSS embedded,
// charts as inline SVG), served by the same process as the API under
// /ui/. It shows the images by risk, an image's findings and layers with
// their history, what the last database update changed, the database and
// job status, and the trend of open findings. With a token set, a page
// needs the token as a bearer token or the session cookie the login page
// sets from it.
package dashboard

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/policy"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

//go:embed assets
var assets embed.FS

// MaxRows is how many images a page of the overview lists.
const MaxRows = 200

// cookieName is the session cookie the login page sets.
const cookieName = "bulwark_session"

// Status is what the server says about itself.
type Status struct {
	// DBVersion is the vulnerability database version in use.
	DBVersion string
	// DBBuiltAt is when that database was built.
	DBBuiltAt time.Time
	// Advisories counts the database's advisories.
	Advisories int
	// ImageReads counts the images read from registries since the start.
	ImageReads int64
	// Update is the record of the database update schedule (nil: none,
	// or not run yet).
	Update *store.DBUpdate
}

// Options configures the dashboard.
type Options struct {
	// Store holds the images and findings shown.
	Store store.Store
	// Status reports the database in use and the reads.
	Status func() Status
	// FailOn judges each image's policy status.
	FailOn policy.FailOn
	// RequireSignature fails the policy status of images not signed.
	RequireSignature bool
	// Token, when set, is required (bearer or session cookie).
	Token string
}

type dashboard struct {
	o    Options
	tmpl *template.Template
}

// New returns the handler of the pages under /ui/.
func New(o Options) http.Handler {
	d := &dashboard{o: o, tmpl: template.Must(template.New("").Funcs(funcs).ParseFS(assets, "assets/*.html"))}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/login", d.loginPage)
	mux.HandleFunc("POST /ui/login", d.login)
	mux.HandleFunc("POST /ui/logout", d.logout)
	mux.HandleFunc("GET /ui/style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "max-age=3600")
		b, _ := assets.ReadFile("assets/style.css")
		w.Write(b)
	})
	mux.Handle("GET /ui/{$}", d.auth(d.overview))
	mux.Handle("GET /ui/images/{digest}", d.auth(d.image))
	mux.Handle("GET /ui/changes", d.auth(d.changes))
	return mux
}

// session is the cookie value for the token: a MAC of it, so that the
// cookie does not carry the token itself.
func (d *dashboard) session() string {
	m := hmac.New(sha256.New, []byte(d.o.Token))
	m.Write([]byte("bulwark dashboard session"))
	return hex.EncodeToString(m.Sum(nil))
}

func (d *dashboard) authorized(r *http.Request) bool {
	if d.o.Token == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return subtle.ConstantTimeCompare([]byte(h), []byte("Bearer "+d.o.Token)) == 1
	}
	c, err := r.Cookie(cookieName)
	return err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(d.session())) == 1
}

func (d *dashboard) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.authorized(r) {
			if r.Header.Get("Authorization") != "" {
				d.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Error": "the token is wrong", "Next": r.URL.RequestURI()})
				return
			}
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

// next is where to go after logging in: a path of the dashboard only.
func next(v string) string {
	if !strings.HasPrefix(v, "/ui/") || strings.HasPrefix(v, "//") || strings.ContainsAny(v, "\\\r\n") {
		return "/ui/"
	}
	return v
}

func (d *dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, http.StatusOK, "login.html", map[string]any{"Next": next(r.URL.Query().Get("next"))})
}

func (d *dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		d.render(w, http.StatusBadRequest, "login.html", map[string]any{"Error": "the form could not be read"})
		return
	}
	to := next(r.PostForm.Get("next"))
	if d.o.Token != "" && subtle.ConstantTimeCompare([]byte(r.PostForm.Get("token")), []byte(d.o.Token)) != 1 {
		d.render(w, http.StatusUnauthorized, "login.html", map[string]any{"Error": "the token is wrong", "Next": to})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: d.session(), Path: "/ui/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int((12 * time.Hour).Seconds())})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/ui/", HttpOnly: true, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

func (d *dashboard) render(w http.ResponseWriter, code int, name string, data any) {
	var b strings.Builder
	if err := d.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprint(w, b.String())
}

func (d *dashboard) fail(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, store.ErrNotFound) {
		code = http.StatusNotFound
	}
	d.render(w, code, "error.html", map[string]any{"Code": code, "Error": err.Error()})
}

// row is an image as the overview lists it.
type row struct {
	store.Image
	Stale bool
}

// overview shows the status, the last update's changes, the trend and a
// page of MaxRows images by risk (?page=N, from 1): each from the
// store's summaries and the risk index, none from the findings.
func (d *dashboard) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := d.o.Status()
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			d.render(w, http.StatusBadRequest, "error.html", map[string]any{"Code": http.StatusBadRequest, "Error": fmt.Sprintf("page %q: want a number from 1", p)})
			return
		}
		page = n
	}
	stats, err := d.o.Store.Stats(ctx, st.DBVersion)
	if err != nil {
		d.fail(w, err)
		return
	}
	ims, err := d.o.Store.ByRisk(ctx, (page-1)*MaxRows, MaxRows)
	if err != nil {
		d.fail(w, err)
		return
	}
	rows := make([]row, 0, len(ims))
	for _, im := range ims {
		rows = append(rows, row{Image: im, Stale: im.State == store.StateDone && im.DBVersion != st.DBVersion})
	}
	ch, err := d.o.Store.Changes(ctx, st.DBVersion, 10)
	if err != nil {
		d.fail(w, err)
		return
	}
	trend, err := d.o.Store.Trend(ctx)
	if err != nil {
		d.fail(w, err)
		return
	}
	pages := max(1, (stats.Total+MaxRows-1)/MaxRows)
	d.render(w, http.StatusOK, "overview.html", map[string]any{
		"Status": st, "Images": rows, "Total": stats.Total, "States": stats.States, "Stale": stats.Stale,
		"Page": page, "Pages": pages, "First": (page-1)*MaxRows + 1, "Last": (page-1)*MaxRows + len(rows),
		"Changes": ch, "Chart": chart(trend), "Auth": d.o.Token != "",
	})
}

// layer is one image layer with the findings it brings.
type layer struct {
	Index     int
	CreatedBy string
	Digest    string
	Counts    map[string]int
	Total     int
}

func (d *dashboard) image(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := d.o.Status()
	im, err := d.o.Store.Image(ctx, r.PathValue("digest"))
	if err != nil {
		d.fail(w, err)
		return
	}
	fs, err := d.o.Store.Findings(ctx, im.Digest)
	if err != nil {
		d.fail(w, err)
		return
	}
	fixed, err := d.o.Store.Fixed(ctx, im.Digest)
	if err != nil {
		d.fail(w, err)
		return
	}
	deps, err := d.o.Store.Deployments(ctx, im.Digest, true)
	if err != nil {
		d.fail(w, err)
		return
	}
	gone := slices.DeleteFunc(deps, func(d deployment.Deployment) bool { return d.GoneAt == nil })
	slices.SortStableFunc(fs, func(a, b store.Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.ID, b.ID))
	})
	policyStatus := "pass"
	byLayer := map[int]*layer{}
	for i := range fs {
		if d.o.FailOn.Fails(&fs[i].Finding) {
			policyStatus = "fail"
		}
		l := fs[i].Location.Layer
		if l == nil {
			continue
		}
		x := byLayer[l.Index]
		if x == nil {
			x = &layer{Index: l.Index, CreatedBy: l.CreatedBy, Digest: cmp.Or(l.Digest, l.DiffID), Counts: map[string]int{}}
			byLayer[l.Index] = x
		}
		x.Counts[fs[i].Severity.String()]++
		x.Total++
	}
	layers := make([]*layer, 0, len(byLayer))
	for _, l := range byLayer {
		layers = append(layers, l)
	}
	slices.SortFunc(layers, func(a, b *layer) int { return cmp.Compare(a.Index, b.Index) })
	if d.o.RequireSignature && im.Signature != string(sign.Signed) {
		policyStatus = "fail"
	}
	if im.State != store.StateDone {
		policyStatus = ""
	}
	d.render(w, http.StatusOK, "image.html", map[string]any{
		"Status": st, "Image": im, "Stale": im.State == store.StateDone && im.DBVersion != st.DBVersion,
		"Policy": policyStatus, "Findings": fs, "Fixed": fixed, "Layers": layers, "Auth": d.o.Token != "", "Gone": gone,
	})
}

func (d *dashboard) changes(w http.ResponseWriter, r *http.Request) {
	st := d.o.Status()
	v := cmp.Or(r.URL.Query().Get("dbVersion"), st.DBVersion)
	ch, err := d.o.Store.Changes(r.Context(), v, MaxRows*5)
	if err != nil {
		d.fail(w, err)
		return
	}
	d.render(w, http.StatusOK, "changes.html", map[string]any{"Status": st, "Version": v, "Changes": ch, "More": ch.New + ch.Fixed - len(ch.List), "Auth": d.o.Token != ""})
}

// severities are the severity names from the highest down, as columns.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW"}

// short is a digest's first 12 hex digits.
func short(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// when shows a time (a time.Time or *time.Time) to the minute in UTC, or
// nothing when it is not set.
func when(t any) string {
	switch v := t.(type) {
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04")
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04")
	}
	return ""
}

var funcs = template.FuncMap{
	"short":      short,
	"imageRows":  imageRows,
	"changeRows": changeRows,
	"sevs":       func() []string { return severities },
	"lower":      strings.ToLower,
	"when":       when,
	"layerOf": func(f store.Finding) string {
		if f.Location.Layer == nil {
			return ""
		}
		return fmt.Sprint(f.Location.Layer.Index)
	},
	"pkg": func(f store.Finding) string {
		if f.Vuln == nil {
			return f.Location.String()
		}
		s := f.Vuln.Package + " " + f.Vuln.InstalledVersion
		if f.Vuln.FixedVersion != "" {
			s += " → " + f.Vuln.FixedVersion
		}
		return s
	},
	"isVuln": func(g finding.Gate) bool { return g == finding.GateVuln },
	"add":    func(a, b int) int { return a + b },
	"path":   url.PathEscape,
}
