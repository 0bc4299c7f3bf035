package k8s

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/bulwark-sec/bulwark/internal/admission"
)

// TestManifests decodes the shipped manifests into the Kubernetes types
// (unknown fields are errors) and checks that the webhooks send only the
// kinds bulwark checks, to the paths it serves.
func TestManifests(t *testing.T) {
	resourceKinds := map[string]string{
		"pods": "/Pod", "pods/ephemeralcontainers": "/Pod", "podtemplates": "/PodTemplate", "replicationcontrollers": "/ReplicationController",
		"deployments": "apps/Deployment", "replicasets": "apps/ReplicaSet", "statefulsets": "apps/StatefulSet", "daemonsets": "apps/DaemonSet",
		"jobs": "batch/Job", "cronjobs": "batch/CronJob",
	}
	seen := map[string]bool{}
	for _, file := range []string{"../../../deploy/kubernetes/bulwark-admission.yaml", "../../../deploy/kubernetes/webhook.yaml"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// The caBundle placeholder is filled in at install time.
		b = bytes.ReplaceAll(b, []byte("REPLACE_WITH_BASE64_CA_PEM"), nil)
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			raw, _ := json.Marshal(doc)
			strict := func(v any) {
				d := json.NewDecoder(bytes.NewReader(raw))
				d.DisallowUnknownFields()
				if err := d.Decode(v); err != nil {
					t.Fatalf("%s: %s: %v", file, doc["kind"], err)
				}
			}
			seen[doc["kind"].(string)] = true
			switch doc["kind"] {
			case "ValidatingWebhookConfiguration":
				var v admissionregistrationv1.ValidatingWebhookConfiguration
				strict(&v)
				for _, w := range v.Webhooks {
					if strings.HasPrefix(w.Name, "gone.") {
						checkGoneWebhook(t, w, resourceKinds)
						continue
					}
					checkWebhook(t, w.ClientConfig, w.Rules, w.FailurePolicy, "/validate", resourceKinds)
				}
			case "MutatingWebhookConfiguration":
				var v admissionregistrationv1.MutatingWebhookConfiguration
				strict(&v)
				for _, w := range v.Webhooks {
					checkWebhook(t, w.ClientConfig, w.Rules, w.FailurePolicy, "/mutate", resourceKinds)
				}
			case "Deployment":
				var v appsv1.Deployment
				strict(&v)
				if args := strings.Join(v.Spec.Template.Spec.Containers[0].Args, " "); !strings.HasPrefix(args, "admission ") || !strings.Contains(args, "--policy=") {
					t.Errorf("the Deployment does not run bulwark admission with a policy: %s", args)
				}
			case "Service":
				var v corev1.Service
				strict(&v)
			case "ConfigMap":
				var v corev1.ConfigMap
				strict(&v)
				if _, err := admission.ParsePolicy([]byte(v.Data["policy.yaml"])); err != nil {
					t.Errorf("the shipped policy does not parse: %v", err)
				}
			default:
				t.Errorf("%s: unexpected kind %v", file, doc["kind"])
			}
		}
	}
	for _, k := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Deployment", "Service", "ConfigMap"} {
		if !seen[k] {
			t.Errorf("no %s in deploy/kubernetes", k)
		}
	}
}

func checkWebhook(t *testing.T, cc admissionregistrationv1.WebhookClientConfig, rules []admissionregistrationv1.RuleWithOperations, fp *admissionregistrationv1.FailurePolicyType, path string, resourceKinds map[string]string) {
	t.Helper()
	if cc.Service == nil || cc.Service.Path == nil || *cc.Service.Path != path {
		t.Errorf("webhook does not call %s", path)
	}
	if fp == nil || *fp != admissionregistrationv1.Fail {
		t.Errorf("webhook %s does not fail closed", path)
	}
	for _, r := range rules {
		for _, res := range r.Resources {
			k, ok := resourceKinds[res]
			if _, checked := kinds[k]; !ok || !checked {
				t.Errorf("webhook %s sends %s, which bulwark does not check", path, res)
			}
		}
	}
}

// checkGoneWebhook: the webhook that reports deletions and scales to zero
// never blocks them (failurePolicy Ignore) and sends only what Gone reads.
func checkGoneWebhook(t *testing.T, w admissionregistrationv1.ValidatingWebhook, resourceKinds map[string]string) {
	t.Helper()
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore || w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNoneOnDryRun {
		t.Errorf("webhook %s: failurePolicy %v sideEffects %v; want Ignore and NoneOnDryRun", w.Name, w.FailurePolicy, w.SideEffects)
	}
	if w.ClientConfig.Service == nil || w.ClientConfig.Service.Path == nil || *w.ClientConfig.Service.Path != "/validate" {
		t.Errorf("webhook %s does not call /validate", w.Name)
	}
	for _, r := range w.Rules {
		for _, res := range r.Resources {
			base, sub, _ := strings.Cut(res, "/")
			_, checked := kinds[resourceKinds[base]]
			ok := checked && (sub == "" && fmt.Sprint(r.Operations) == "[DELETE]" || sub == "scale" && scaled[base] != "" && fmt.Sprint(r.Operations) == "[UPDATE]")
			if !ok {
				t.Errorf("webhook %s sends %v %s, which Gone does not read", w.Name, r.Operations, res)
			}
		}
	}
}
