package store

import (
	"errors"
	"testing"
	"time"
)

// The update record keeps the last success through a failed attempt, and
// a success clears the error.
func testDBUpdate(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	if u, err := s.DBUpdate(ctx); u != nil || err != nil {
		t.Fatalf("before any update: %+v, %v", u, err)
	}
	t1 := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	t2, t3 := t1.Add(time.Hour), t1.Add(2*time.Hour)
	if err := s.RecordDBUpdate(ctx, t1, "v1", "reg/db", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDBUpdate(ctx, t2, "", "", errors.New("signature check failed")); err != nil {
		t.Fatal(err)
	}
	u, err := s.DBUpdate(ctx)
	if err != nil || !u.LastAttempt.Equal(t2) || u.LastSuccess == nil || !u.LastSuccess.Equal(t1) || u.Error != "signature check failed" || u.Version != "v1" || u.Source != "reg/db" {
		t.Fatalf("after a failure: %+v, %v", u, err)
	}
	if err := s.RecordDBUpdate(ctx, t3, "v2", "reg/db", nil); err != nil {
		t.Fatal(err)
	}
	if u, err = s.DBUpdate(ctx); err != nil || !u.LastSuccess.Equal(t3) || u.Error != "" || u.Version != "v2" {
		t.Fatalf("after a success: %+v, %v", u, err)
	}
}
