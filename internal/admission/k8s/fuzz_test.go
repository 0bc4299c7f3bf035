package k8s

import (
	"strings"
	"testing"
)

func FuzzReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"r.example/a:v1"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","kind":"CronJob"},"operation":"UPDATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"x"}]}}}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"ReplicationController"},"operation":"CREATE","object":{"spec":{}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{"ephemeralContainers":[{"name":"d","image":"busybox"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"apps","kind":"Deployment"},"name":"web","operation":"DELETE","oldObject":{"metadata":{"name":"web"}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"metadata":{"generateName":"web-abc-","labels":{"pod-template-hash":"abc"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-abc","controller":true}]},"spec":{"containers":[{"name":"a","image":"x"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"autoscaling","kind":"Scale"},"resource":{"resource":"deployments"},"subResource":"scale","name":"web","operation":"UPDATE","object":{"spec":{}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rv, err := ParseReview(b)
		if err != nil {
			return
		}
		// Whatever it reports gone or running is a valid name, and only a
		// workload it checks.
		if g := Gone(rv.Request); g != "" {
			kind, name, ok := strings.Cut(g, "/")
			if !ok || name == "" || strings.ContainsAny(g, "\x00\n\r") || kind != strings.ToLower(kind) {
				t.Fatalf("gone %q", g)
			}
		}
		if _, ok := kinds[rv.Request.Kind.Group+"/"+rv.Request.Kind.Kind]; ok {
			w := WorkloadOf(rv.Request.Kind.Group+"/"+rv.Request.Kind.Kind, rv.Request.Object.Raw, "x")
			if !strings.Contains(w.Name, "/") || (w.Owned && strings.ContainsAny(w.Name, "\x00\n\r")) {
				t.Fatalf("workload %+v", w)
			}
		}
		cs, err := Containers(rv.Request)
		if err != nil {
			return
		}
		if len(cs) > MaxContainers {
			t.Fatalf("%d containers accepted", len(cs))
		}
		for _, c := range cs {
			if c.Image == "" || c.Path == "" {
				t.Fatalf("container %+v", c)
			}
		}
	})
}
