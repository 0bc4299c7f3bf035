package k8s

import (
	"testing"
)

func FuzzReview(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"r.example/a:v1"}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","kind":"CronJob"},"operation":"UPDATE","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"name":"i","image":"x"}]}}}}}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"ReplicationController"},"operation":"CREATE","object":{"spec":{}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"kind":"Pod"},"subResource":"ephemeralcontainers","operation":"UPDATE","object":{"spec":{"ephemeralContainers":[{"name":"d","image":"busybox"}]}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rv, err := ParseReview(b)
		if err != nil {
			return
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
