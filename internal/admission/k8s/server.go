package k8s

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/deployment"
)

// MaxBody is the largest AdmissionReview accepted (the API server sends
// objects of at most 3 MiB or so).
const MaxBody = 4 << 20

// Handler serves /validate, /mutate and /healthz.
type Handler struct {
	dec *admission.Decider
	log *slog.Logger
	mux *http.ServeMux
	// rep tells bulwark server what was allowed (nil: the policy has no
	// report section).
	rep *deployment.Reporter
}

// NewHandler returns the webhook's HTTP handler. Every decision is logged
// on log; with the policy's report section, each allowed object is
// reported to bulwark server in the background.
func NewHandler(dec *admission.Decider, log *slog.Logger) *Handler {
	h := &Handler{dec: dec, log: log, mux: http.NewServeMux(), rep: deployment.NewReporter(dec.Policy().Report)}
	h.mux.HandleFunc("POST /validate", func(w http.ResponseWriter, r *http.Request) { h.review(w, r, false) })
	h.mux.HandleFunc("POST /mutate", func(w http.ResponseWriter, r *http.Request) { h.review(w, r, true) })
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// review answers one AdmissionReview. A body that is not one is a 400 (the
// API server then applies the webhook's failurePolicy); an object bulwark
// cannot read is a denial.
func (h *Handler) review(w http.ResponseWriter, r *http.Request, mutate bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		http.Error(w, fmt.Sprintf("Content-Type %q: send application/json", ct), http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			http.Error(w, fmt.Sprintf("the AdmissionReview is larger than %d bytes", MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	rv, err := ParseReview(body)
	if err != nil {
		h.log.Warn("bad AdmissionReview", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := h.respond(r, rv.Request, mutate)
	out := admissionv1.AdmissionReview{TypeMeta: rv.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (h *Handler) respond(r *http.Request, req *admissionv1.AdmissionRequest, mutate bool) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID}
	attrs := []any{"uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation, "mutate", mutate}
	if h.rep != nil && (req.DryRun == nil || !*req.DryRun) {
		if gone := Gone(req); gone != "" {
			go h.reportGone(req, gone)
		}
	}
	cs, err := Containers(req)
	if errors.Is(err, errSkip) {
		resp.Allowed = true
		return resp
	}
	if err != nil {
		h.log.Info("denied", append(attrs, "reason", err.Error())...)
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: "bulwark denied: " + err.Error()}
		return resp
	}
	images := make([]string, len(cs))
	for i, c := range cs {
		images[i] = c.Image
	}
	decide := h.dec.Decide
	if mutate {
		decide = h.dec.DecideToPin
	}
	dec := decide(r.Context(), images)
	msg := dec.Message()
	h.log.Info(map[bool]string{true: "allowed", false: "denied"}[dec.Allowed], append(attrs, "decision", msg)...)
	if !dec.Allowed {
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: msg}
		return resp
	}
	resp.Allowed = true
	for _, v := range dec.Verdicts {
		if v.Undecided {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("bulwark could not verify %s and allowed it (%s)", v.Image, dec.OnError))
		}
	}
	if mutate {
		resp.Patch, resp.PatchType = pinPatch(cs, dec)
	}
	if h.rep != nil && (req.DryRun == nil || !*req.DryRun) {
		go h.report(req, dec)
	}
	return resp
}

// report tells bulwark server where the allowed object's digests run:
// the cluster of the policy, the request's namespace, and the workload
// the object is or makes pods for (WorkloadOf). An object scaled to zero
// runs nothing: Gone reports it. The workload's own object (a
// Deployment, not its ReplicaSets and pods) holds the pod template every
// container runs from: when each of its images has a digest, the report
// replaces what the workload ran (the images a rolling update replaces
// stop being reported under it; a rollback brings them back).
func (h *Handler) report(req *admissionv1.AdmissionRequest, dec *admission.Decision) {
	w := WorkloadOf(req.Kind.Group+"/"+req.Kind.Kind, req.Object.Raw, req.Name)
	if w.Replicas != nil && *w.Replicas == 0 {
		return
	}
	now := time.Now().UTC()
	var ds []deployment.Deployment
	for _, d := range dec.Digests() {
		ds = append(ds, deployment.Deployment{Platform: deployment.Kubernetes, Cluster: h.dec.Policy().Cluster, Namespace: req.Namespace,
			Name: w.Name, Digest: d, SeenAt: now})
	}
	if w.Owned || len(ds) == 0 || !allDigests(dec) {
		h.send(req, ds)
		return
	}
	scope := deployment.Scope{Platform: deployment.Kubernetes, Cluster: h.dec.Policy().Cluster, Namespace: req.Namespace, Name: w.Name, At: now}
	if err := h.rep.Replace(context.Background(), scope, ds); err != nil {
		h.log.Warn("report", "uid", req.UID, "err", err)
	}
}

// allDigests tells whether every image of a decision has its digest (one
// allowed unverified has none).
func allDigests(dec *admission.Decision) bool {
	for _, v := range dec.Verdicts {
		if v.Digest == "" {
			return false
		}
	}
	return true
}

// reportGone tells bulwark server that a workload (every digest of it)
// stopped running.
func (h *Handler) reportGone(req *admissionv1.AdmissionRequest, name string) {
	now := time.Now().UTC()
	h.send(req, []deployment.Deployment{{Platform: deployment.Kubernetes, Cluster: h.dec.Policy().Cluster, Namespace: req.Namespace, Name: name, SeenAt: now, GoneAt: &now}})
}

// send reports deployments, logging a failure.
func (h *Handler) send(req *admissionv1.AdmissionRequest, ds []deployment.Deployment) {
	if err := h.rep.Report(context.Background(), ds); err != nil {
		h.log.Warn("report", "uid", req.UID, "err", err)
	}
}

// pinPatch is the JSONPatch that rewrites each tag-only image to the digest
// it was verified at (image:tag@sha256:...), or nil when all are pinned.
func pinPatch(cs []Container, dec *admission.Decision) ([]byte, *admissionv1.PatchType) {
	type op struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value string `json:"value"`
	}
	var ops []op
	for i, c := range cs {
		v := dec.Verdicts[i]
		if v.Digest == "" || strings.Contains(c.Image, "@") {
			continue
		}
		ops = append(ops, op{"replace", c.Path, c.Image + "@" + v.Digest})
	}
	if len(ops) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(ops)
	if err != nil {
		return nil, nil
	}
	pt := admissionv1.PatchTypeJSONPatch
	return b, &pt
}
