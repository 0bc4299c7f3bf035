package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

func event() *store.Event {
	return &store.Event{ID: 7, Reason: store.ReasonRematch, DBVersion: "v2",
		Image: store.EventImage{Digest: "sha256:ab", Registry: "reg:5000", Repository: "team/app", Tags: []string{"1.0"}},
		New:   []store.EventFinding{{Gate: "vuln", ID: "GHSA-x", Severity: "HIGH", Package: "lodash", Version: "4.17.20", FixedVersion: "4.17.21"}},
		Fixed: []store.EventFinding{}}
}

// A delivery carries the event and a signature the receiver verifies; a
// changed body, a wrong secret or an old timestamp fail verification.
func TestDeliverSigned(t *testing.T) {
	got := make(chan *http.Request, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r
	}))
	defer srv.Close()
	if err := Deliver(context.Background(), srv.Client(), Target{Name: "t", URL: srv.URL, Secret: "k"}, event()); err != nil {
		t.Fatal(err)
	}
	r := <-got
	ts, sig := r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature)
	if r.Header.Get(HeaderEvent) != "7" || Verify("k", ts, sig, body, time.Minute) != nil {
		t.Fatalf("headers %v do not verify", r.Header)
	}
	var ev store.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.New[0].ID != "GHSA-x" {
		t.Errorf("body %s: %v", body, err)
	}
	old := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for name, err := range map[string]error{
		"changed body": Verify("k", ts, sig, append(body, ' '), time.Minute),
		"wrong secret": Verify("j", ts, sig, body, time.Minute),
		"old":          Verify("k", old, Sign("k", time.Now().Add(-time.Hour).Unix(), body), body, time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// A target answering 500 is an error naming it; the Slack format is a
// text message.
func TestDeliverErrorAndSlack(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	err := Deliver(context.Background(), srv.Client(), Target{Name: "slack", URL: srv.URL, Format: FormatSlack}, event())
	if err == nil || !strings.Contains(err.Error(), "notification target slack: 500") {
		t.Fatalf("error %v", err)
	}
	var msg map[string]string
	if err := json.Unmarshal(body, &msg); err != nil || !strings.Contains(msg["text"], "*reg:5000/team/app:1.0*") || !strings.Contains(msg["text"], "new HIGH GHSA-x in lodash 4.17.20 (fixed in 4.17.21)") {
		t.Errorf("slack message %s: %v", body, err)
	}
}
