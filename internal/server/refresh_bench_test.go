package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwark-sec/bulwark/internal/finding"
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/vulndb"
)

// storedImages fills a store with n read images of 50 npm packages each
// (drawn from 500 names); the first three also hold "rare".
func storedImages(b testing.TB, st store.Store, n int) {
	ctx := context.Background()
	for i := range n {
		sb := &inventory.SBOM{Target: finding.Target{Name: fmt.Sprint(i)}}
		for j := range 50 {
			sb.Packages = append(sb.Packages, inventory.Package{Name: fmt.Sprintf("pkg%d", (i*7+j*13)%500), Version: "1.0.0", Ecosystem: inventory.NPM, Kind: inventory.KindLang})
		}
		if i < 3 {
			sb.Packages = append(sb.Packages, inventory.Package{Name: "rare", Version: "1.0.0", Ecosystem: inventory.NPM, Kind: inventory.KindLang})
		}
		raw, _ := json.Marshal(sb)
		d := fmt.Sprintf("sha256:%064x", i)
		if _, err := st.Add(ctx, "r", "repo", d, ""); err != nil {
			b.Fatal(err)
		}
		if err := st.Assessed(ctx, d, &store.Assessment{SBOM: raw, Packages: PackageIndex(sb), DBVersion: "none", At: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh: a database update that adds an advisory for a package
// of 3 of 1,000 stored images (each with 50 packages, 100 advisories
// besides). "touched" is the server's refresh (re-match those 3); "all"
// re-matches every image from its stored inventory, the floor of a server
// without the package index (a rescan also reads every image).
func BenchmarkRefresh(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	storedImages(b, st, 1000)
	var base []vulndb.Advisory
	for i := range 100 {
		base = append(base, npmAdvisory(fmt.Sprintf("GHSA-%d", i), fmt.Sprintf("pkg%d", i*5), "2.0.0"))
	}
	db := filepath.Join(dir, "vulndb.bwdb")
	versions := [][]vulndb.Advisory{append(base[:len(base):len(base)], npmAdvisory("GHSA-rare", "rare", "2.0.0")), base}
	writeDB(b, db, time.Unix(1, 0).UTC(), base...)
	srv, err := New(context.Background(), Options{Store: st, DBFile: db, Log: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	if err := srv.WaitRematch(ctx); err != nil {
		b.Fatal(err)
	}
	round := 0
	b.Run("touched", func(b *testing.B) {
		for range b.N {
			i := round
			round++
			b.StopTimer()
			writeDB(b, db, time.Unix(int64(i+2), 0).UTC(), versions[i%2]...)
			b.StartTimer()
			res, err := srv.Refresh(ctx)
			if err != nil || res.Queued != 3 {
				b.Fatalf("refresh: %+v, %v; want 3 queued", res, err)
			}
			if err := srv.WaitRematch(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		digests := make([]string, 1000)
		for i := range digests {
			digests[i] = fmt.Sprintf("sha256:%064x", i)
		}
		for range b.N {
			st := srv.cur.Load()
			if _, err := srv.rematch(ctx, st, digests); err != nil {
				b.Fatal(err)
			}
		}
	})
}
