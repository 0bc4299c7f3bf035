// Package k8s is bulwark's Kubernetes admission webhook: it reads
// AdmissionReview v1 requests for Pods and the workloads that embed a pod
// template, decides on their images with an admission.Decider, and answers
// (validating) or rewrites tags to verified digests (mutating).
package k8s

import (
	"encoding/json"
	"errors"
	"fmt"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// MaxContainers is the most containers one object may name.
const MaxContainers = 200

// Container is one container image of an object, with the JSON pointer of
// its image field (for the mutating patch).
type Container struct {
	// Name is the container's name.
	Name string
	// Image is the image as written.
	Image string
	// Path is the JSON pointer of the image field in the object.
	Path string
}

// errSkip says that the request needs no decision (no pod runs from it).
var errSkip = errors.New("nothing to check")

// ParseReview decodes an AdmissionReview v1 and checks that it is one.
func ParseReview(body []byte) (*admissionv1.AdmissionReview, error) {
	var rv admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &rv); err != nil {
		return nil, fmt.Errorf("the body is not an AdmissionReview (JSON): %w", err)
	}
	if rv.APIVersion != "admission.k8s.io/v1" || rv.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("apiVersion %q kind %q: want admission.k8s.io/v1 AdmissionReview", rv.APIVersion, rv.Kind)
	}
	if rv.Request == nil {
		return nil, errors.New("the AdmissionReview has no request")
	}
	if rv.Request.UID == "" {
		return nil, errors.New("the AdmissionReview request has no uid")
	}
	return &rv, nil
}

// Containers returns the containers of the object an admission request is
// about, or errSkip when none will run from it (DELETE, CONNECT, a status
// update). An object bulwark cannot read is an error: it is denied.
func Containers(req *admissionv1.AdmissionRequest) ([]Container, error) {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return nil, errSkip
	}
	kind := req.Kind.Group + "/" + req.Kind.Kind
	if req.SubResource != "" && !(kind == "/Pod" && req.SubResource == "ephemeralcontainers") {
		return nil, errSkip
	}
	raw := req.Object.Raw
	if len(raw) == 0 {
		return nil, fmt.Errorf("%s %s: the request carries no object", req.Kind.Kind, req.Name)
	}
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("kind %s (group %q) is not one bulwark checks (Pod, PodTemplate, ReplicationController, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob); remove it from the webhook's rules", req.Kind.Kind, req.Kind.Group)
	}
	spec, err := k.spec(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: the object does not decode: %w", req.Kind.Kind, req.Name, err)
	}
	base := k.base
	if spec == nil {
		return nil, fmt.Errorf("%s %s: no pod template", req.Kind.Kind, req.Name)
	}
	n := len(spec.InitContainers) + len(spec.Containers) + len(spec.EphemeralContainers)
	if n > MaxContainers {
		return nil, fmt.Errorf("%s %s names %d containers, more than the %d bulwark checks in one object", req.Kind.Kind, req.Name, n, MaxContainers)
	}
	out := make([]Container, 0, n)
	add := func(field string, i int, name, image string) error {
		if image == "" {
			return fmt.Errorf("%s %s: container %q has no image", req.Kind.Kind, req.Name, name)
		}
		out = append(out, Container{Name: name, Image: image, Path: fmt.Sprintf("%s/%s/%d/image", base, field, i)})
		return nil
	}
	for i, c := range spec.InitContainers {
		if err := add("initContainers", i, c.Name, c.Image); err != nil {
			return nil, err
		}
	}
	for i, c := range spec.Containers {
		if err := add("containers", i, c.Name, c.Image); err != nil {
			return nil, err
		}
	}
	for i, c := range spec.EphemeralContainers {
		if err := add("ephemeralContainers", i, c.Name, c.Image); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kind says where a kind keeps its pod spec.
type kind struct {
	// base is the JSON pointer of the pod spec.
	base string
	spec func(raw []byte) (*corev1.PodSpec, error)
}

// specOf decodes an object of type T and returns its pod spec.
func specOf[T any](get func(*T) *corev1.PodSpec) func([]byte) (*corev1.PodSpec, error) {
	return func(raw []byte) (*corev1.PodSpec, error) {
		var o T
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, err
		}
		return get(&o), nil
	}
}

const templateSpec = "/spec/template/spec"

// kinds are the kinds checked, by group/kind.
var kinds = map[string]kind{
	"/Pod":         {"/spec", specOf(func(o *corev1.Pod) *corev1.PodSpec { return &o.Spec })},
	"/PodTemplate": {"/template/spec", specOf(func(o *corev1.PodTemplate) *corev1.PodSpec { return &o.Template.Spec })},
	"/ReplicationController": {templateSpec, specOf(func(o *corev1.ReplicationController) *corev1.PodSpec {
		if o.Spec.Template == nil {
			return nil
		}
		return &o.Spec.Template.Spec
	})},
	"apps/Deployment":  {templateSpec, specOf(func(o *appsv1.Deployment) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	"apps/ReplicaSet":  {templateSpec, specOf(func(o *appsv1.ReplicaSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	"apps/StatefulSet": {templateSpec, specOf(func(o *appsv1.StatefulSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	"apps/DaemonSet":   {templateSpec, specOf(func(o *appsv1.DaemonSet) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	"batch/Job":        {templateSpec, specOf(func(o *batchv1.Job) *corev1.PodSpec { return &o.Spec.Template.Spec })},
	"batch/CronJob": {"/spec/jobTemplate/spec/template/spec", specOf(func(o *batchv1.CronJob) *corev1.PodSpec {
		return &o.Spec.JobTemplate.Spec.Template.Spec
	})},
}
