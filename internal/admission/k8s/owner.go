package k8s

import (
	"encoding/json"
	"regexp"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Workload is what an object is reported to bulwark server as: the
// "kind/name" of the workload whose pods it makes or is.
type Workload struct {
	// Name is "kind/name": "deployment/web" for the Deployment's own
	// object, its ReplicaSets and their pods.
	Name string
	// Owned says that Name is a controller of the object, not the object
	// itself: its deletion leaves the workload running.
	Owned bool
	// Replicas is the object's spec.replicas (nil: the kind has none, or
	// it is not set).
	Replicas *int32
}

// podTemplateHash is the label the Deployment controller puts on the
// pods of its ReplicaSets, whose names are "<deployment>-<hash>".
const podTemplateHash = "pod-template-hash"

// owners are the controllers an object of a kind is reported as, by the
// group/kind of its controller reference's apiVersion and kind.
var owners = map[string]map[string]bool{
	"/Pod":            {"apps/ReplicaSet": true, "apps/StatefulSet": true, "apps/DaemonSet": true, "batch/Job": true, "/ReplicationController": true},
	"apps/ReplicaSet": {"apps/Deployment": true},
	"batch/Job":       {"batch/CronJob": true},
}

// dnsName is a Kubernetes object name (a DNS subdomain).
var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// WorkloadOf reads an object of kind (group/Kind, as in kinds) and names
// the workload it is reported as: a Pod as its ReplicaSet's Deployment
// (the ReplicaSet's name less "-" and the pod's pod-template-hash label),
// or its ReplicaSet, StatefulSet, DaemonSet, Job or ReplicationController;
// a ReplicaSet as its Deployment; a Job as its CronJob; anything else, and
// an object whose controller reference is not one of these or not a
// valid name, as itself (name, or generateName's prefix when it has no
// name yet). fallback is the name when the object has none.
func WorkloadOf(kind string, raw []byte, fallback string) Workload {
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
		Spec     struct {
			Replicas *int32 `json:"replicas"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(raw, &o)
	m := o.Metadata
	self := strings.ToLower(kind[strings.Index(kind, "/")+1:]) + "/"
	w := Workload{Name: self + m.Name, Replicas: o.Spec.Replicas}
	if m.Name == "" {
		w.Name = self + strings.TrimSuffix(m.GenerateName, "-")
		if m.GenerateName == "" {
			w.Name = self + fallback
		}
	}
	ctrl := controller(m.OwnerReferences)
	if ctrl == nil || !dnsName.MatchString(ctrl.Name) {
		return w
	}
	group, _, _ := strings.Cut(ctrl.APIVersion, "/")
	if !strings.Contains(ctrl.APIVersion, "/") {
		group = ""
	}
	if !owners[kind][group+"/"+ctrl.Kind] {
		return w
	}
	name := strings.ToLower(ctrl.Kind) + "/" + ctrl.Name
	if ctrl.Kind == "ReplicaSet" {
		if h := m.Labels[podTemplateHash]; h != "" {
			if dep, ok := strings.CutSuffix(ctrl.Name, "-"+h); ok && dep != "" {
				name = "deployment/" + dep
			}
		}
	}
	return Workload{Name: name, Owned: true, Replicas: w.Replicas}
}

// controller is the one owner reference marked as the controller (nil
// when there is none, or more than one: the API server allows one).
func controller(refs []metav1.OwnerReference) *metav1.OwnerReference {
	var c *metav1.OwnerReference
	for i := range refs {
		if refs[i].Controller != nil && *refs[i].Controller {
			if c != nil {
				return nil
			}
			c = &refs[i]
		}
	}
	return c
}

// scaled are the resources whose scale subresource can take them to zero
// replicas, by resource name.
var scaled = map[string]string{"deployments": "deployment", "replicasets": "replicaset", "statefulsets": "statefulset", "replicationcontrollers": "replicationcontroller"}

// Gone names the workload ("kind/name") an admission request stops, or
// is "": the DELETE of a kind bulwark checks (from its oldObject; not
// when the object is owned: its workload runs on), an object of one
// created or updated with zero replicas, or a scale subresource update to
// zero replicas.
func Gone(req *admissionv1.AdmissionRequest) string {
	kind := req.Kind.Group + "/" + req.Kind.Kind
	var w Workload
	switch {
	case req.SubResource == "scale" && req.Operation == admissionv1.Update:
		k, ok := scaled[req.Resource.Resource]
		var sc autoscalingv1.Scale
		if !ok || json.Unmarshal(req.Object.Raw, &sc) != nil || sc.Spec.Replicas != 0 || !dnsName.MatchString(req.Name) {
			return ""
		}
		return k + "/" + req.Name
	case req.SubResource != "" || kinds[kind].spec == nil:
		return ""
	case req.Operation == admissionv1.Delete:
		w = WorkloadOf(kind, req.OldObject.Raw, req.Name)
	case req.Operation == admissionv1.Create || req.Operation == admissionv1.Update:
		w = WorkloadOf(kind, req.Object.Raw, req.Name)
		if w.Replicas == nil || *w.Replicas != 0 {
			return ""
		}
	default:
		return ""
	}
	if _, name, _ := strings.Cut(w.Name, "/"); w.Owned || !dnsName.MatchString(name) {
		return ""
	}
	return w.Name
}
