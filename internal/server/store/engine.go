package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" driver
)

// dialect is what differs between the engines.
type dialect struct {
	name string
	// numbered placeholders ($1, $2...) instead of "?".
	numbered bool
}

var (
	sqliteDialect   = dialect{name: "sqlite"}
	postgresDialect = dialect{name: "postgres", numbered: true}
)

// rebind rewrites the "?" placeholders of q for the engine.
func (d dialect) rebind(q string) string {
	if !d.numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n, quoted := 0, false
	for i, r := range q {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == '?' && !quoted:
			// "?N" names its argument: "$N"; a bare "?" is the next one.
			if i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				b.WriteByte('$')
				continue
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// conn is what a pool and a transaction share.
type conn interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
	PrepareContext(context.Context, string) (*sql.Stmt, error)
}

// execer runs statements written with "?" placeholders on either engine.
type execer struct {
	c conn
	d dialect
}

// bind passes strings holding NUL bytes (HistoryKey) as bytes on
// PostgreSQL, whose text cannot hold them (its history key is bytea).
func (d dialect) bind(args []any) []any {
	if !d.numbered {
		return args
	}
	for i, a := range args {
		if s, ok := a.(string); ok && strings.IndexByte(s, 0) >= 0 {
			args[i] = []byte(s)
		}
	}
	return args
}

func (e execer) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return e.c.ExecContext(ctx, e.d.rebind(q), e.d.bind(args)...)
}

func (e execer) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return e.c.QueryContext(ctx, e.d.rebind(q), e.d.bind(args)...)
}

func (e execer) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return e.c.QueryRowContext(ctx, e.d.rebind(q), e.d.bind(args)...)
}

func (e execer) PrepareContext(ctx context.Context, q string) (stmt, error) {
	st, err := e.c.PrepareContext(ctx, e.d.rebind(q))
	return stmt{st, e.d}, err
}

// stmt is a prepared statement binding its arguments for the engine.
type stmt struct {
	*sql.Stmt
	d dialect
}

func (s stmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return s.Stmt.ExecContext(ctx, s.d.bind(args)...)
}

func (s *SQL) x() execer { return execer{s.db, s.dialect} }

// OpenURL opens the store a --database URL names: "postgres://..." (or
// "postgresql://...") for PostgreSQL, "sqlite://PATH" or a plain path for
// SQLite.
func OpenURL(ctx context.Context, u string) (*SQL, error) {
	switch {
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return OpenPostgres(ctx, u)
	case strings.HasPrefix(u, "sqlite://"):
		return Open(ctx, strings.TrimPrefix(u, "sqlite://"))
	case strings.Contains(u, "://"):
		return nil, fmt.Errorf("database %q: not postgres://... or sqlite://PATH", Redact(u))
	}
	return Open(ctx, u)
}

// Redact hides the password of a database URL for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// Open opens (creating it when missing) the SQLite store at path and
// brings its schema up to date. Its page cache holds 64 MiB (SQLite's
// default, 2 MiB, made every whole-store request read its pages again).
func Open(ctx context.Context, path string) (*SQL, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-65536)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and this keeps every
	// transaction free of busy errors.
	db.SetMaxOpenConns(1)
	s := &SQL{db: db, dialect: sqliteDialect}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// OpenPostgres opens the store in the PostgreSQL database of a
// "postgres://" URL and brings its schema up to date.
func OpenPostgres(ctx context.Context, u string) (*SQL, error) {
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(u), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", Redact(u), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s: %w", Redact(u), err)
	}
	s := &SQL{db: stdlib.OpenDBFromPool(pool), dialect: postgresDialect, pool: pool}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("database %s: %w", Redact(u), err)
	}
	return s, nil
}
