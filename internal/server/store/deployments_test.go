package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/deployment"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Deployments reported gone (one digest, or every digest of a name) stop
// being listed as running and in events, are listed with goneAt when
// asked, come back with a newer running report but not with an older one;
// a gone report older than the last running one is ignored (the reports
// crossed). A complete report marks exactly the deployments of its scope
// that it leaves out and that were last seen before it.
func testGone(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	d1, d2 := dig("1"), dig("2")
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	gone := func(m int) *time.Time { g := at(m); return &g }
	k8s := func(ns, name, digest string, m int) deployment.Deployment {
		return deployment.Deployment{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: ns, Name: name, Digest: digest, SeenAt: at(m)}
	}
	ecs := deployment.Deployment{Platform: deployment.ECS, Cluster: "prod", Name: "api", Digest: d1, SeenAt: at(0)}
	report := func(ds ...deployment.Deployment) {
		t.Helper()
		if err := s.ReportDeployments(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	// names lists the deployments of a digest ("" all) as name[:gone].
	names := func(digest string, withGone bool) string {
		t.Helper()
		ds, err := s.Deployments(ctx, digest, withGone)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			n := d.String() + "@" + d.Digest[7:8]
			if d.GoneAt != nil {
				n += ":gone" + d.GoneAt.Sub(t0).String()
			}
			out = append(out, n)
		}
		return strings.Join(out, " ")
	}
	check := func(what, digest string, withGone bool, want string) {
		t.Helper()
		if got := names(digest, withGone); got != want {
			t.Errorf("%s:\n got %s\nwant %s", what, got, want)
		}
	}
	report(k8s("shop", "deployment/web", d1, 0), k8s("shop", "deployment/web", d2, 0), k8s("shop", "cronjob/backup", d2, 0), k8s("ops", "deployment/x", d2, 0), ecs)

	web1 := k8s("shop", "deployment/web", d1, 0)
	web1.GoneAt = gone(5)
	report(web1)
	check("web's d1 gone", d1, false, "ecs/prod/api@1")
	check("web's d1 gone, listed with gone", d1, true, "ecs/prod/api@1 kubernetes/prod/shop/deployment/web@1:gone5m0s")
	report(k8s("shop", "deployment/web", d1, 3))
	check("a running report older than goneAt", d1, false, "ecs/prod/api@1")
	report(k8s("shop", "deployment/web", d1, 6))
	check("a running report newer than goneAt", d1, true, "ecs/prod/api@1 kubernetes/prod/shop/deployment/web@1")
	web1.GoneAt = gone(4)
	report(web1)
	check("a gone report older than the last running one", d1, false, "ecs/prod/api@1 kubernetes/prod/shop/deployment/web@1")

	// Every digest of a name.
	report(deployment.Deployment{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: "shop", Name: "deployment/web", GoneAt: gone(10)})
	check("deployment/web gone", "", false, "ecs/prod/api@1 kubernetes/prod/ops/deployment/x@2 kubernetes/prod/shop/cronjob/backup@2")

	// An event of d1 names only where it still runs.
	if _, err := s.Add(ctx, "r", "repo", d1, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Assessed(ctx, d1, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(),
		Vulns: []finding.Finding{{Gate: finding.GateVuln, ID: "CVE-1", Severity: finding.High}}}); err != nil {
		t.Fatal(err)
	}
	ids, _ := s.Undispatched(ctx, 10)
	ev, err := s.Event(ctx, ids[len(ids)-1])
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Deployments) != 1 || ev.Deployments[0].String() != "ecs/prod/api" {
		t.Errorf("event deployments %+v, want only ecs/prod/api", ev.Deployments)
	}

	// A snapshot of namespace shop at minute 20: web runs d2 again, the
	// cronjob is gone; cronjob/late, reported after the snapshot was
	// taken, stays; ops and ECS are another scope.
	report(k8s("shop", "cronjob/late", d1, 25))
	n, err := s.Reconcile(ctx, deployment.Scope{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: "shop", At: at(20)},
		[]deployment.Deployment{k8s("shop", "deployment/web", d2, 20)})
	if err != nil || n != 1 {
		t.Fatalf("Reconcile: %d gone, %v; want 1 (cronjob/backup)", n, err)
	}
	check("after the shop snapshot", "", true, "ecs/prod/api@1 kubernetes/prod/shop/cronjob/late@1 kubernetes/prod/shop/deployment/web@1:gone10m0s "+
		"kubernetes/prod/ops/deployment/x@2 kubernetes/prod/shop/cronjob/backup@2:gone20m0s kubernetes/prod/shop/deployment/web@2")
	// A whole-cluster snapshot of ECS that lists nothing.
	if n, err := s.Reconcile(ctx, deployment.Scope{Platform: deployment.ECS, Cluster: "prod", At: at(30)}, nil); err != nil || n != 1 {
		t.Fatalf("empty ECS snapshot: %d gone, %v; want 1", n, err)
	}
	check("after the empty ECS snapshot", d1, false, "kubernetes/prod/shop/cronjob/late@1")

	// One workload's report (a rolling update of cronjob/late to d2):
	// its d1 is gone, the other workloads of the namespace stay.
	if n, err := s.Reconcile(ctx, deployment.Scope{Platform: deployment.Kubernetes, Cluster: "prod", Namespace: "shop", Name: "cronjob/late", At: at(40)},
		[]deployment.Deployment{k8s("shop", "cronjob/late", d2, 40)}); err != nil || n != 1 {
		t.Fatalf("a workload's report: %d gone, %v; want 1 (its d1)", n, err)
	}
	check("after cronjob/late's report", "", false, "kubernetes/prod/ops/deployment/x@2 kubernetes/prod/shop/cronjob/late@2 kubernetes/prod/shop/deployment/web@2")
}
