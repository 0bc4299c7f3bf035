package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// A rolling update as the admission webhook sees it: the Deployment's
// update to a new image of one container (its sidecar unchanged), then
// the new ReplicaSet's pods. The old digest is no longer reported under
// the Deployment (gone as of the update), the sidecar and the new digest
// run, and another Deployment running the old digest keeps it; rolling
// back brings the old digest back.
func TestRollingUpdate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(t, dir)
	st.SetDeploymentExpiry(time.Hour)
	db := filepath.Join(dir, "vulndb.bwdb")
	writeDB(t, db, time.Unix(1, 0).UTC(), npmAdvisory("GHSA-other", "not-stored", "2.0.0"))
	srv, err := New(ctx, Options{Store: st, DBFile: db, Token: token, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	api := httptest.NewServer(srv.Handler())
	defer api.Close()
	adm := reportingAdmission(t, api.URL)

	v1, v2, side := fmt.Sprintf("sha256:%064x", 1), fmt.Sprintf("sha256:%064x", 2), fmt.Sprintf("sha256:%064x", 3)
	containers := func(app string) string {
		return `"containers":[{"name":"app","image":"127.0.0.1:5000/app@` + app + `"},{"name":"log","image":"127.0.0.1:5000/log@` + side + `"}]`
	}
	n := 0
	review := func(kind, op, name, object string) {
		t.Helper()
		n++
		group := map[string]string{"Pod": ""}[kind]
		if group == "" && kind != "Pod" {
			group = "apps"
		}
		body := fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"%d",
		 "kind":{"group":%q,"version":"v1","kind":%q},"operation":%q,"name":%q,"namespace":"shop","object":%s}}`, n, group, kind, op, name, object)
		admit(t, adm, body)
		time.Sleep(20 * time.Millisecond) // the reports are sent in the background, in order
	}
	deploymentObj := func(name, app string) string {
		return `{"metadata":{"name":"` + name + `","namespace":"shop"},"spec":{"replicas":2,"template":{"spec":{` + containers(app) + `}}}}`
	}
	pod := func(rs, hash, app string) string {
		return `{"metadata":{"generateName":"` + rs + `-","namespace":"shop","labels":{"pod-template-hash":"` + hash + `"},
		 "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"` + rs + `","uid":"u","controller":true}]},"spec":{` + containers(app) + `}}`
	}
	// running lists the running deployments as "name digest", sorted.
	running := func() []string {
		ds, err := st.Deployments(ctx, "", false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Name+" "+d.Digest)
		}
		slices.Sort(out)
		return out
	}
	waitRunning := func(what string, want ...string) {
		t.Helper()
		slices.Sort(want)
		testutil.WaitFor(t, 10*time.Second, what, func() bool { return slices.Equal(running(), want) })
	}

	review("Deployment", "CREATE", "web", deploymentObj("web", v1))
	review("Pod", "CREATE", "", pod("web-aaa", "aaa", v1))
	review("Deployment", "CREATE", "api", deploymentObj("api", v1))
	waitRunning("the first rollout", "deployment/web "+v1, "deployment/web "+side, "deployment/api "+v1, "deployment/api "+side)

	// kubectl set image deployment/web app=...@v2: the Deployment's
	// update, then the new ReplicaSet's pods (the old ones are deleted
	// by their ReplicaSet: not reported).
	review("Deployment", "UPDATE", "web", deploymentObj("web", v2))
	review("Pod", "CREATE", "", pod("web-bbb", "bbb", v2))
	waitRunning("the rolling update", "deployment/web "+v2, "deployment/web "+side, "deployment/api "+v1, "deployment/api "+side)
	gone, err := st.Deployments(ctx, v1, true)
	if err != nil {
		t.Fatal(err)
	}
	var goneNames []string
	for _, d := range gone {
		if d.GoneAt != nil {
			goneNames = append(goneNames, d.Name)
		}
	}
	if !slices.Equal(goneNames, []string{"deployment/web"}) {
		t.Errorf("the old digest is gone from %v, want deployment/web only", goneNames)
	}
	// A rollback replaces again.
	review("Deployment", "UPDATE", "web", deploymentObj("web", v1))
	waitRunning("the rollback", "deployment/web "+v1, "deployment/web "+side, "deployment/api "+v1, "deployment/api "+side)
}
