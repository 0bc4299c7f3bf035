// Package notify delivers the server's finding events (store.Event) to
// webhook targets: the event as JSON, or a Slack-compatible message
// ({"text": ...}), each signed with HMAC-SHA256 over the timestamp and
// the body so that the receiver can check it came from this server.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bulwark-sec/bulwark/internal/server/store"
)

// Formats of a target.
const (
	// FormatJSON posts the event itself.
	FormatJSON = "json"
	// FormatSlack posts a Slack incoming-webhook message.
	FormatSlack = "slack"
)

// Headers of a delivery.
const (
	// HeaderEvent is the event's ID, the same on every retry: receivers
	// can drop a repeat with it.
	HeaderEvent = "X-Bulwark-Event"
	// HeaderTimestamp is the Unix time of the attempt, signed with the
	// body.
	HeaderTimestamp = "X-Bulwark-Timestamp"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// target's secret, of the timestamp, ".", and the body.
	HeaderSignature = "X-Bulwark-Signature"
)

// Target is where events are delivered.
type Target struct {
	// Name identifies the target in the store's delivery records.
	Name string
	// URL receives a POST per event.
	URL string
	// Secret keys the signature (none when empty).
	Secret string
	// Format is FormatJSON (default) or FormatSlack.
	Format string
	// OnlyDeployed delivers only the events of images running somewhere
	// (Event.Deployments not empty).
	OnlyDeployed bool
}

// Wants reports whether the target takes an event.
func (t Target) Wants(ev *store.Event) bool {
	return !t.OnlyDeployed || len(ev.Deployments) > 0
}

// Timeout bounds one delivery attempt.
const Timeout = 10 * time.Second

// Sign returns the signature header value of a body sent at a time.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within
// maxAge of now: what a receiver does.
func Verify(secret, timestamp, signature string, body []byte, maxAge time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("timestamp %q is not a Unix time", timestamp)
	}
	if d := time.Since(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return fmt.Errorf("timestamp %s is more than %s away", timestamp, maxAge)
	}
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature)) {
		return fmt.Errorf("signature does not match")
	}
	return nil
}

// Body renders an event for a target's format.
func Body(format string, ev *store.Event) ([]byte, error) {
	if format != FormatSlack {
		return json.Marshal(ev)
	}
	return json.Marshal(map[string]string{"text": Text(ev)})
}

// Text is an event as a short message for people (Slack's mrkdwn).
func Text(ev *store.Event) string {
	var b strings.Builder
	ref := ev.Image.Registry + "/" + ev.Image.Repository
	if len(ev.Image.Tags) > 0 {
		ref += ":" + strings.Join(ev.Image.Tags, ",")
	}
	fmt.Fprintf(&b, "*%s* (%s): %d new, %d fixed finding(s)", ref, ev.Image.Digest, len(ev.New), len(ev.Fixed))
	if ev.Reason == store.ReasonRematch {
		fmt.Fprintf(&b, " after the database update to %s", ev.DBVersion)
	}
	if len(ev.Deployments) > 0 {
		names := make([]string, len(ev.Deployments))
		for i, d := range ev.Deployments {
			names[i] = d.String()
		}
		fmt.Fprintf(&b, "\nrunning in %s", strings.Join(names, ", "))
	}
	const most = 10
	for _, part := range []struct {
		label string
		fs    []store.EventFinding
	}{{"new", ev.New}, {"fixed", ev.Fixed}} {
		for i, f := range part.fs {
			if i == most {
				fmt.Fprintf(&b, "\n• … %d more %s", len(part.fs)-most, part.label)
				break
			}
			fmt.Fprintf(&b, "\n• %s %s %s", part.label, f.Severity, f.ID)
			if f.Package != "" {
				fmt.Fprintf(&b, " in %s %s", f.Package, f.Version)
			}
			if part.label == "new" && f.FixedVersion != "" {
				fmt.Fprintf(&b, " (fixed in %s)", f.FixedVersion)
			}
		}
	}
	return b.String()
}

// Deliver posts an event to a target once; any answer but 2xx is an
// error (the job queue retries it).
func Deliver(ctx context.Context, c *http.Client, t Target, ev *store.Event) error {
	body, err := Body(t.Format, ev)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification target %s: %w", t.Name, err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bulwark-server")
	req.Header.Set(HeaderEvent, strconv.FormatInt(ev.ID, 10))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if t.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(t.Secret, ts, body))
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("notification target %s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notification target %s: %s: %s", t.Name, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
