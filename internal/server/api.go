package server

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/server/config"
	"github.com/bulwark-sec/bulwark/internal/server/dashboard"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/sign"
)

// imageJSON is an image as the API shows it.
type imageJSON struct {
	store.Image
	// Stale is true when the vulnerability findings come from another
	// database version than the one in use: they are not current.
	Stale bool `json:"stale"`
	// Policy is "pass" or "fail" under the configured failOn (and
	// requireSignature), for read images.
	Policy string `json:"policy,omitempty"`
}

// findingJSON is a stored finding as the API shows it.
type findingJSON struct {
	store.Finding
	// Stale is true for a vulnerability finding from another database
	// version than the one in use.
	Stale bool `json:"stale"`
}

// Handler serves the API:
//
//	GET  /healthz
//	GET  /ui/...                            (the dashboard; see package dashboard)
//	GET  /metrics                           (Prometheus; without the token when PublicMetrics)
//	GET  /api/v1/status
//	GET  /api/v1/images
//	GET  /api/v1/images/{digest}
//	GET  /api/v1/images/{digest}/findings   (?state=fixed: those fixed)
//	GET  /api/v1/changes                    (?dbVersion=; the one in use by default)
//	GET  /api/v1/trend
//	GET  /api/v1/deployments                (?digest=; ?gone=true: with those gone)
//	POST /api/v1/deployments
//	POST /api/v1/webhooks/registry
//	POST /api/v1/webhooks/eventbridge
//	POST /api/v1/db/refresh
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/status", s.status)
	api.HandleFunc("GET /api/v1/images", s.listImages)
	api.HandleFunc("GET /api/v1/images/{digest}", s.getImage)
	api.HandleFunc("GET /api/v1/images/{digest}/findings", s.getFindings)
	api.HandleFunc("GET /api/v1/changes", s.getChanges)
	api.HandleFunc("GET /api/v1/trend", s.getTrend)
	api.HandleFunc("GET /api/v1/jobs", s.listJobs)
	api.HandleFunc("POST /api/v1/db/refresh", s.dbRefresh)
	api.HandleFunc("GET /api/v1/deployments", s.getDeployments)
	api.HandleFunc("POST /api/v1/deployments", s.postDeployments)
	mux.Handle("/api/", s.auth(api))
	// The webhooks take their sender's shared secret, or the token.
	mux.Handle("POST /api/v1/webhooks/registry", s.hookAuth(s.o.Webhooks.Registry, http.HandlerFunc(s.registryWebhook)))
	mux.Handle("POST /api/v1/webhooks/eventbridge", s.hookAuth(s.o.Webhooks.EventBridge.Hook, http.HandlerFunc(s.eventBridgeWebhook)))
	mux.Handle("/ui/", dashboard.New(dashboard.Options{Store: s.o.Store, Status: s.dashStatus, FailOn: s.o.FailOn, RequireSignature: s.o.RequireSignature, Token: s.o.Token}))
	mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	if s.o.PublicMetrics {
		mux.Handle("GET /metrics", s.metrics.Handler())
	} else {
		mux.Handle("GET /metrics", s.auth(s.metrics.Handler()))
	}
	return s.metrics.Instrument(mux)
}

// tokenOK tells whether a request carries the bearer token (or none is
// configured).
func (s *Server) tokenOK(r *http.Request) bool {
	return s.o.Token == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+s.o.Token)) == 1
}

func unauthorized(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark"`)
	httpError(w, http.StatusUnauthorized, err)
}

func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r) {
			unauthorized(w, errors.New("a bearer token is required"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hookAuth lets a webhook in with its shared secret header, or with the
// API token; with neither configured, the webhook is open.
func (s *Server) hookAuth(hook config.Hook, h http.Handler) http.Handler {
	if hook.Secret == "" {
		return s.auth(h)
	}
	want := []byte(hook.Secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(hook.Header)), want) != 1 && (s.o.Token == "" || !s.tokenOK(r)) {
			unauthorized(w, fmt.Errorf("the webhook's shared secret (header %s) or the bearer token is required", hook.Header))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func httpError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

func (s *Server) storeError(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		httpError(w, http.StatusNotFound, err)
		return
	}
	fmt.Fprintf(s.o.Log, "bulwark server: store: %v\n", err)
	httpError(w, http.StatusInternalServerError, errors.New("the store failed; see the server log"))
}

// dashStatus is what the dashboard shows of the server.
func (s *Server) dashStatus() dashboard.Status {
	st := s.cur.Load()
	meta := st.db.Metadata()
	ds := dashboard.Status{DBVersion: st.version, DBBuiltAt: meta.BuiltAt.UTC(), Advisories: meta.Advisories, ImageReads: s.Reads()}
	if s.o.Update != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if u, err := s.o.Store.DBUpdate(ctx); err == nil {
			ds.Update = u
		}
	}
	return ds
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.cur.Load()
	meta := st.db.Metadata()
	upd, err := s.updateStatus(r.Context())
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{
		"dbVersion":  st.version,
		"dbBuiltAt":  meta.BuiltAt.UTC(),
		"advisories": meta.Advisories,
		"imageReads": s.Reads(),
		"dbUpdate":   upd,
	})
}

func (s *Server) view(r *http.Request, im store.Image) (imageJSON, error) {
	v := imageJSON{Image: im}
	if im.State != store.StateDone {
		return v, nil
	}
	v.Stale = im.DBVersion != s.DBVersion()
	if s.o.RequireSignature && im.Signature != string(sign.Signed) {
		v.Policy = "fail"
		return v, nil
	}
	// The counts decide when a severity fails, or when only severities
	// matter; the findings are read only otherwise (kev, epss).
	for sev, n := range im.Counts {
		if x, err := finding.ParseSeverity(sev); err == nil && n > 0 && s.o.FailOn.FailsSeverity(x) {
			v.Policy = "fail"
			return v, nil
		}
	}
	if s.o.FailOn.BySeverityOnly() {
		v.Policy = "pass"
		return v, nil
	}
	fs, err := s.o.Store.Findings(r.Context(), im.Digest)
	if err != nil {
		return v, err
	}
	v.Policy = "pass"
	for i := range fs {
		if s.o.FailOn.Fails(&fs[i].Finding) {
			v.Policy = "fail"
			break
		}
	}
	return v, nil
}

// DefaultImages is how many images GET /api/v1/images lists unless
// ?limit= says otherwise (0: all).
const DefaultImages = 100

// streamPage is how many images a read of the store takes while the
// whole list is streamed.
var streamPage = 500

// listImages serves a page of the stored images: ?limit= of them after
// the digest ?after=; "next" is the ?after= of the next page, absent on
// the last. ?limit=0 streams them all.
func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r, DefaultImages)
	if !ok {
		return
	}
	after := r.URL.Query().Get("after")
	if limit == 0 {
		s.streamImages(w, r, after)
		return
	}
	ims, err := s.o.Store.Images(r.Context(), after, limit)
	if err != nil {
		s.storeError(w, err)
		return
	}
	out := make([]imageJSON, 0, len(ims))
	for _, im := range ims {
		v, err := s.view(r, im)
		if err != nil {
			s.storeError(w, err)
			return
		}
		out = append(out, v)
	}
	page := map[string]any{"dbVersion": s.DBVersion(), "images": out}
	if len(ims) == limit {
		page["next"] = ims[len(ims)-1].Digest
	}
	writeJSON(w, page)
}

// streamImages writes every image after the digest after as one JSON
// object like a page's, reading the store streamPage images at a time
// (each read one query for the images and their counts, one for their
// tags): the list is never whole in memory and the store is not held
// while the client reads. A store error after the first read aborts the
// response, so that the client sees it cut short rather than complete.
func (s *Server) streamImages(w http.ResponseWriter, r *http.Request, after string) {
	ims, err := s.o.Store.Images(r.Context(), after, streamPage)
	if err != nil {
		s.storeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	version, _ := json.Marshal(s.DBVersion())
	fmt.Fprintf(bw, "{\"dbVersion\": %s, \"images\": [", version)
	enc := json.NewEncoder(bw)
	for n := 0; ; {
		for _, im := range ims {
			v, err := s.view(r, im)
			if err != nil {
				fmt.Fprintf(s.o.Log, "bulwark server: store: %v\n", err)
				panic(http.ErrAbortHandler)
			}
			if n > 0 {
				bw.WriteByte(',')
			}
			n++
			if err := enc.Encode(v); err != nil {
				return // the client went away
			}
		}
		if len(ims) < streamPage {
			break
		}
		if ims, err = s.o.Store.Images(r.Context(), ims[len(ims)-1].Digest, streamPage); err != nil {
			fmt.Fprintf(s.o.Log, "bulwark server: store: %v\n", err)
			panic(http.ErrAbortHandler)
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	im, err := s.o.Store.Image(r.Context(), r.PathValue("digest"))
	if err != nil {
		s.storeError(w, err)
		return
	}
	v, err := s.view(r, *im)
	if err != nil {
		s.storeError(w, err)
		return
	}
	fs, err := s.findings(r, im.Digest)
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, map[string]any{"image": v, "findings": fs})
}

func (s *Server) findings(r *http.Request, digest string) ([]findingJSON, error) {
	fs, err := s.o.Store.Findings(r.Context(), digest)
	if err != nil {
		return nil, err
	}
	cur := s.DBVersion()
	out := make([]findingJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, findingJSON{Finding: f, Stale: f.Gate == finding.GateVuln && f.DBVersion != cur})
	}
	return out, nil
}

func (s *Server) getFindings(w http.ResponseWriter, r *http.Request) {
	var fs any
	var err error
	switch state := r.URL.Query().Get("state"); state {
	case "", "open":
		fs, err = s.findings(r, r.PathValue("digest"))
	case "fixed":
		fs, err = s.o.Store.Fixed(r.Context(), r.PathValue("digest"))
	default:
		httpError(w, http.StatusBadRequest, fmt.Errorf("state %q: want open or fixed", state))
		return
	}
	if err != nil {
		s.storeError(w, err)
		return
	}
	writeJSON(w, fs)
}

func (s *Server) dbRefresh(w http.ResponseWriter, r *http.Request) {
	res, err := s.Refresh(r.Context())
	if err != nil {
		fmt.Fprintf(s.o.Log, "bulwark server: database refresh: %v\n", err)
		httpError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, res)
}
