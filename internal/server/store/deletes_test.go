package store

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// Tags deleted from a repository leave the image's tags of the others;
// a manifest deleted from the repository its image was recorded under
// marks it deleted once no repository tags it: no longer re-matched, a
// pending one not read; pushed again, it is back.
func testDeletes(t *testing.T, url string) {
	ctx, s := openTest(t, url)
	d1, d2, d3 := dig("1"), dig("2"), dig("3")
	for _, p := range []struct{ repo, d, tag string }{{"a", d1, "1"}, {"a", d1, "2"}, {"b", d1, "1"}, {"a", d2, "3"}, {"a", d3, "4"}} {
		if _, err := s.Add(ctx, "r", p.repo, p.d, p.tag); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{d1, d2} {
		if err := s.Assessed(ctx, d, &Assessment{SBOM: json.RawMessage(`{}`), DBVersion: "v1", At: time.Now(), Packages: []Package{{"npm", "lodash", "4.0.0"}}}); err != nil {
			t.Fatal(err)
		}
	}
	tags := func(d string) []string {
		t.Helper()
		im, err := s.Image(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return im.Tags
	}
	if got := tags(d1); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("d1's tags %v; want [1 2] (1 once, though in two repositories)", got)
	}
	if left, err := s.Untag(ctx, "r", "a", []string{"2", "1", "nope"}); err != nil || len(left) != 0 {
		t.Fatalf("Untag a:1, a:2 = %v, %v; want none untagged (b:1 is left)", left, err)
	}
	if got := tags(d1); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("d1's tags after untagging a:1 and a:2: %v; want b's [1]", got)
	}
	if tg, _ := s.Tagged(ctx); len(tg) != 3 || tg[0] != (Tagged{"r", "b", "1", d1}) {
		t.Fatalf("Tagged = %+v; want b:1 of d1 first", tg)
	}
	// Another registry's repository a is not this one.
	if left, err := s.Untag(ctx, "other", "a", []string{"3"}); err != nil || len(left) != 0 || len(tags(d2)) != 1 {
		t.Fatalf("Untag in another registry = %v, %v; d2's tags %v", left, err, tags(d2))
	}
	// Deleted from a, while b still tags it: not deleted.
	if ok, err := s.Delete(ctx, "r", "a", d1, time.Now()); err != nil || ok {
		t.Fatalf("Delete d1 from a while b tags it = %v, %v; want false", ok, err)
	}
	if left, err := s.Untag(ctx, "r", "b", []string{"1"}); err != nil || !slices.Equal(left, []string{d1}) {
		t.Fatalf("Untag b:1 = %v, %v; want [d1] left without tags", left, err)
	}
	// Deleted from b, which it was not recorded under: not deleted.
	if ok, err := s.Delete(ctx, "r", "b", d1, time.Now()); err != nil || ok {
		t.Fatalf("Delete d1 from b = %v, %v; want false", ok, err)
	}
	if ok, err := s.Delete(ctx, "r", "a", d1, time.Now()); err != nil || !ok {
		t.Fatalf("Delete d1 from a = %v, %v; want true", ok, err)
	}
	if ok, err := s.Delete(ctx, "r", "a", d1, time.Now()); err != nil || ok {
		t.Fatalf("Delete d1 again = %v, %v; want false", ok, err)
	}
	if im, _ := s.Image(ctx, d1); im.DeletedAt == nil || im.State != StateDone {
		t.Fatalf("deleted d1: %+v; want deletedAt and still done", im)
	}
	// No longer re-matched (though a change to its packages touches it,
	// so that it is not kept current either).
	if got, _ := s.ImagesWith(ctx, []Package{{Ecosystem: "npm", Name: "lodash"}}); !slices.Equal(got, []string{d1, d2}) {
		t.Errorf("ImagesWith lodash = %v; want d1 and d2", got)
	}
	if got, _ := s.ImagesNotAt(ctx, "v2", nil); !slices.Equal(got, []string{d2}) {
		t.Errorf("ImagesNotAt v2 = %v; want only d2", got)
	}
	if w, err := s.Rematched(ctx, []Rematch{{Digest: d1, Version: "v2", At: time.Now()}, {Digest: d2, Version: "v2", At: time.Now()}}); err != nil || !slices.Equal(w, []string{d2}) {
		t.Errorf("Rematched d1, d2 = %v, %v; want d2 only written", w, err)
	}
	// A pending image deleted: failed, not read; pushed again: pending.
	// (its tags in the repository go with it).
	if ok, err := s.Delete(ctx, "r", "a", d3, time.Now()); err != nil || !ok || len(tags(d3)) != 0 {
		t.Fatalf("Delete d3 = %v, %v, tags %v; want true, none left", ok, err, tags(d3))
	}
	if im, _ := s.Image(ctx, d3); im.State != StateFailed || im.Error != notRead {
		t.Errorf("pending image deleted: %+v; want failed, %q", im, notRead)
	}
	if p, _ := s.Pending(ctx); len(p) != 0 {
		t.Errorf("pending after the delete: %v", p)
	}
	if isNew, err := s.Add(ctx, "r", "a", d3, "4"); err != nil || !isNew {
		t.Fatalf("Add of the deleted unread d3 = %v, %v; want it to wait to be read", isNew, err)
	}
	if im, _ := s.Image(ctx, d3); im.State != StatePending || im.DeletedAt != nil || im.Error != "" || !slices.Equal(im.Tags, []string{"4"}) {
		t.Errorf("d3 pushed again: %+v", im)
	}
	if isNew, err := s.Add(ctx, "r", "a", d1, "5"); err != nil || isNew {
		t.Fatalf("Add of the deleted read d1 = %v, %v; want false (read already)", isNew, err)
	}
	if im, _ := s.Image(ctx, d1); im.DeletedAt != nil || im.State != StateDone {
		t.Errorf("d1 pushed again: %+v", im)
	}
	if _, err := s.Delete(ctx, "r", "a", dig("9"), time.Now()); err != nil {
		t.Errorf("Delete of an unknown digest: %v", err)
	}
}
