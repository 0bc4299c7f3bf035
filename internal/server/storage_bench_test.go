package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwark-sec/bulwark/internal/server/store"
	"github.com/bulwark-sec/bulwark/internal/testutil/postgres"
)

// BenchmarkStorage reports the bytes a stored image takes (inventory,
// package index, tags) on each engine: 1,000 images of 50 npm packages
// (storedImages), SQLite's file size after a checkpoint and PostgreSQL's
// database size growth.
func BenchmarkStorage(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	b.Run("sqlite", func(b *testing.B) {
		for range b.N {
			path := filepath.Join(b.TempDir(), "s.db")
			st, err := store.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			storedImages(b, st, n)
			if _, err := st.DB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				b.Fatal(err)
			}
			st.Close()
			fi, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(fi.Size())/n, "bytes/image")
		}
	})
	b.Run("postgres", func(b *testing.B) {
		pg := postgres.Start(b)
		for range b.N {
			st, err := store.OpenPostgres(ctx, pg.NewDB(b))
			if err != nil {
				b.Fatal(err)
			}
			size := func() float64 {
				var v int64
				if err := st.DB().QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&v); err != nil {
					b.Fatal(err)
				}
				return float64(v)
			}
			before := size()
			storedImages(b, st, n)
			if _, err := st.DB().ExecContext(ctx, `CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric((size()-before)/n, "bytes/image")
			st.Close()
		}
	})
}
