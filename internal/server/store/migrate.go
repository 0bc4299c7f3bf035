package store

import (
	"context"
	"fmt"
	"strings"
)

// migrations are the schema versions in SQLite's SQL (postgresSQL makes
// PostgreSQL's), in order; migration i brings the schema to version i+1. Append only: a released migration never changes.
var migrations = []string{
	`CREATE TABLE images (
		id          INTEGER PRIMARY KEY,
		digest      TEXT NOT NULL UNIQUE,
		registry    TEXT NOT NULL,
		repository  TEXT NOT NULL,
		state       TEXT NOT NULL,
		error       TEXT NOT NULL DEFAULT '',
		attempts    INTEGER NOT NULL DEFAULT 0,
		added_at    TEXT NOT NULL,
		assessed_at TEXT,
		db_version  TEXT NOT NULL DEFAULT '',
		sbom        BLOB
	);
	CREATE TABLE tags (
		image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		tag      TEXT NOT NULL,
		PRIMARY KEY (image_id, tag)
	);
	CREATE TABLE packages (
		ecosystem TEXT NOT NULL,
		name      TEXT NOT NULL,
		version   TEXT NOT NULL,
		image_id  INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		PRIMARY KEY (ecosystem, name, version, image_id)
	) WITHOUT ROWID;
	CREATE INDEX packages_image ON packages(image_id);
	CREATE TABLE findings (
		image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		seq        INTEGER NOT NULL,
		gate       TEXT NOT NULL,
		severity   TEXT NOT NULL,
		db_version TEXT NOT NULL DEFAULT '',
		data       BLOB NOT NULL,
		PRIMARY KEY (image_id, seq)
	);`,
	// The finding history: one row per finding an image ever had
	// (HistoryKey), open while fixed_at is NULL. new_version and
	// fixed_version name the database version whose re-match made it new
	// or fixed ('' when a read of the image did); data keeps a fixed
	// finding as last reported. Existing findings start their history at
	// their image's assessment.
	`CREATE TABLE history (
		image_id      INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		key           TEXT NOT NULL,
		gate          TEXT NOT NULL,
		finding_id    TEXT NOT NULL,
		severity      TEXT NOT NULL,
		first_seen    TEXT NOT NULL,
		new_version   TEXT NOT NULL DEFAULT '',
		fixed_at      TEXT,
		fixed_version TEXT NOT NULL DEFAULT '',
		data          BLOB,
		PRIMARY KEY (image_id, key)
	) WITHOUT ROWID;
	CREATE INDEX history_new ON history(new_version) WHERE new_version != '';
	CREATE INDEX history_fixed ON history(fixed_version) WHERE fixed_version != '';
	-- backfill: SQLite stores made before the history (a PostgreSQL store starts with it)
	INSERT OR IGNORE INTO history (image_id, key, gate, finding_id, severity, first_seen)
		SELECT f.image_id, f.gate || char(0) || json_extract(f.data, '$.id') || char(0) || COALESCE(json_extract(f.data, '$.fingerprint'), ''),
			f.gate, json_extract(f.data, '$.id'), f.severity, COALESCE(i.assessed_at, i.added_at)
		FROM findings f JOIN images i ON i.id = f.image_id;`,
	// The outbox: one event per change of an image's findings (new and
	// fixed), written with the findings; dispatched once handed to the job
	// queue; deliveries record each target that received it.
	`CREATE TABLE events (
		id         INTEGER PRIMARY KEY,
		image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		created_at TEXT NOT NULL,
		dispatched INTEGER NOT NULL DEFAULT 0,
		payload    BLOB NOT NULL
	);
	CREATE INDEX events_undispatched ON events(id) WHERE dispatched = 0;
	CREATE TABLE deliveries (
		event_id     INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
		target       TEXT NOT NULL,
		delivered_at TEXT NOT NULL,
		PRIMARY KEY (event_id, target)
	);`,
	// Where images run (admission hooks and the deployments API report
	// it; a row not re-reported expires), each read image's signature
	// status, and when an image was last pushed, polled or reported
	// running (retention).
	`CREATE TABLE deployments (
		platform   TEXT NOT NULL,
		cluster    TEXT NOT NULL,
		namespace  TEXT NOT NULL,
		name       TEXT NOT NULL,
		digest     TEXT NOT NULL,
		first_seen TEXT NOT NULL,
		seen_at    TEXT NOT NULL,
		PRIMARY KEY (platform, cluster, namespace, name, digest)
	) WITHOUT ROWID;
	CREATE INDEX deployments_digest ON deployments(digest);
	CREATE INDEX deployments_seen ON deployments(seen_at);
	ALTER TABLE images ADD COLUMN signature TEXT NOT NULL DEFAULT '';
	ALTER TABLE images ADD COLUMN signer TEXT NOT NULL DEFAULT '';
	ALTER TABLE images ADD COLUMN seen_at TEXT;
	CREATE INDEX events_created ON events(created_at);
	CREATE INDEX history_fixed_at ON history(fixed_at) WHERE fixed_at IS NOT NULL;`,
	// The summaries that keep whole-store requests from reading every
	// finding (summary.go): image_counts, an image's findings by severity
	// (a row per image from its Add; image_risk orders the overview);
	// version_changes, per database version and image, the findings its
	// re-match made new (still open) and fixed (a row only while either is
	// not 0); trend, the findings first seen and fixed per day (UTC) by
	// severity. Written in the transaction that changes the findings; the
	// statements after the tables fill them from what a store of the
	// previous schema holds, on both engines.
	`CREATE TABLE image_counts (
		image_id   INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
		repository TEXT NOT NULL,
		critical   INTEGER NOT NULL DEFAULT 0,
		high       INTEGER NOT NULL DEFAULT 0,
		medium     INTEGER NOT NULL DEFAULT 0,
		low        INTEGER NOT NULL DEFAULT 0,
		info       INTEGER NOT NULL DEFAULT 0,
		unknown    INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX image_risk ON image_counts(critical DESC, high DESC, medium DESC, low DESC, repository, image_id);
	CREATE TABLE version_changes (
		db_version TEXT NOT NULL,
		repository TEXT NOT NULL,
		image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		added      INTEGER NOT NULL,
		fixed      INTEGER NOT NULL,
		PRIMARY KEY (db_version, repository, image_id)
	) WITHOUT ROWID;
	CREATE INDEX version_changes_image ON version_changes(image_id);
	CREATE TABLE trend (
		day      TEXT NOT NULL,
		severity TEXT NOT NULL,
		added    INTEGER NOT NULL,
		fixed    INTEGER NOT NULL,
		PRIMARY KEY (day, severity)
	) WITHOUT ROWID;
	CREATE INDEX images_state ON images(state, db_version);
	INSERT INTO image_counts (image_id, repository, critical, high, medium, low, info, unknown)
		SELECT i.id, i.repository,
			COALESCE(SUM(CASE WHEN f.severity = 'CRITICAL' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.severity = 'HIGH' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.severity = 'MEDIUM' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.severity = 'LOW' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.severity = 'INFO' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN f.severity NOT IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFO') THEN 1 ELSE 0 END), 0)
		FROM images i LEFT JOIN findings f ON f.image_id = i.id GROUP BY i.id, i.repository;
	INSERT INTO version_changes (db_version, repository, image_id, added, fixed)
		SELECT c.v, i.repository, i.id, SUM(c.a), SUM(c.f) FROM (
			SELECT new_version AS v, image_id, 1 AS a, 0 AS f FROM history WHERE new_version != '' AND fixed_at IS NULL
			UNION ALL
			SELECT fixed_version, image_id, 0, 1 FROM history WHERE fixed_version != ''
		) c JOIN images i ON i.id = c.image_id GROUP BY c.v, i.repository, i.id;
	INSERT INTO trend (day, severity, added, fixed)
		SELECT t.day, t.severity, SUM(t.a), SUM(t.f) FROM (
			SELECT substr(first_seen, 1, 10) AS day, severity, 1 AS a, 0 AS f FROM history
			UNION ALL
			SELECT substr(fixed_at, 1, 10), severity, 0, 1 FROM history WHERE fixed_at IS NOT NULL
		) t GROUP BY t.day, t.severity;`,
	// The server's own database update schedule (one row, shared by the
	// servers on the store): when an update was last tried, when one last
	// succeeded, the last attempt's error ('' after a success), and what
	// the last success installed from where.
	`CREATE TABLE db_update (
		id           INTEGER PRIMARY KEY CHECK (id = 1),
		attempted_at TEXT NOT NULL,
		succeeded_at TEXT,
		error        TEXT NOT NULL DEFAULT '',
		version      TEXT NOT NULL DEFAULT '',
		source       TEXT NOT NULL DEFAULT ''
	);`,
	// When a deployment stopped running (reported gone, or left out of a
	// complete report of its scope); NULL while it runs.
	`ALTER TABLE deployments ADD COLUMN gone_at TEXT;`,
	// Each database version's totals of version_changes (findings new and
	// fixed, images changed), kept with it (summary.go), so that an
	// update's changes are counted without summing a row per image.
	`CREATE TABLE version_totals (
		db_version TEXT PRIMARY KEY,
		added      INTEGER NOT NULL,
		fixed      INTEGER NOT NULL,
		images     INTEGER NOT NULL
	);
	INSERT INTO version_totals (db_version, added, fixed, images)
		SELECT db_version, SUM(added), SUM(fixed), COUNT(*) FROM version_changes GROUP BY db_version;`,
	// Deletions in the registry (deletes.go): a tag belongs to a
	// repository of the image's registry (the same digest is often pushed
	// to several repositories with the same tag), so that a tag deleted in
	// one repository leaves the others'; existing tags belong to their
	// image's repository. deleted_at is when the image's manifest was
	// deleted from the registry (NULL while it is there).
	`CREATE TABLE repo_tags (
		image_id   INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
		repository TEXT NOT NULL,
		tag        TEXT NOT NULL,
		PRIMARY KEY (image_id, repository, tag)
	);
	INSERT INTO repo_tags (image_id, repository, tag) SELECT t.image_id, i.repository, t.tag FROM tags t JOIN images i ON i.id = t.image_id;
	DROP TABLE tags;
	ALTER TABLE repo_tags RENAME TO tags;
	CREATE INDEX tags_repository ON tags(repository, tag);
	ALTER TABLE images ADD COLUMN deleted_at TEXT;`,
	// The store's totals for the overview and the metrics (totals.go):
	// the images by state and database version, and the findings of all
	// images by severity (one row), so that they are not counted over
	// every image at each request. An image's fixed findings by an index
	// of their own: through history_fixed_at, PostgreSQL read the entry
	// of every fixed finding of every image to find one image's.
	`CREATE INDEX history_image_fixed ON history(image_id, fixed_at) WHERE fixed_at IS NOT NULL;
	CREATE TABLE image_totals (
		state      TEXT NOT NULL,
		db_version TEXT NOT NULL,
		images     INTEGER NOT NULL,
		PRIMARY KEY (state, db_version)
	) WITHOUT ROWID;
	CREATE TABLE finding_totals (
		id       INTEGER PRIMARY KEY CHECK (id = 1),
		critical INTEGER NOT NULL,
		high     INTEGER NOT NULL,
		medium   INTEGER NOT NULL,
		low      INTEGER NOT NULL,
		info     INTEGER NOT NULL,
		unknown  INTEGER NOT NULL
	);
	INSERT INTO image_totals (state, db_version, images)
		SELECT state, db_version, COUNT(*) FROM images GROUP BY state, db_version;
	INSERT INTO finding_totals (id, critical, high, medium, low, info, unknown)
		SELECT 1, COALESCE(SUM(critical), 0), COALESCE(SUM(high), 0), COALESCE(SUM(medium), 0), COALESCE(SUM(low), 0), COALESCE(SUM(info), 0), COALESCE(SUM(unknown), 0)
		FROM image_counts;`,
}

// postgresSQL turns a migration into PostgreSQL's SQL: its types, and
// without the backfill of data only an older SQLite store can hold.
func postgresSQL(q string) string {
	if i := strings.Index(q, "-- backfill"); i >= 0 {
		q = q[:i]
	}
	return postgresTypes.Replace(q)
}

// postgresTypes turns SQLite types into PostgreSQL's.
var postgresTypes = strings.NewReplacer(
	"id          INTEGER PRIMARY KEY", "id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
	"id         INTEGER PRIMARY KEY", "id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
	"INTEGER NOT NULL REFERENCES", "BIGINT NOT NULL REFERENCES",
	"INTEGER PRIMARY KEY REFERENCES", "BIGINT PRIMARY KEY REFERENCES",
	"BLOB", "BYTEA",
	// HistoryKey holds NUL bytes, which PostgreSQL's text cannot.
	"key           TEXT NOT NULL", "key           BYTEA NOT NULL",
	") WITHOUT ROWID;", ");",
)

// SchemaVersion is the schema version this bulwark writes.
func SchemaVersion() int { return len(migrations) }

// migrationLock is the PostgreSQL advisory lock that keeps servers
// starting together from migrating at once.
const migrationLock = 0x62756c77 // "bulw"

// migrate applies the missing migrations, each in a transaction that also
// records it in the bulwark_migrations table.
func (s *SQL) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx execer) error {
		if s.pool != nil {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLock); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bulwark_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM bulwark_migrations`).Scan(&have); err != nil {
			return err
		}
		if s.pool == nil && have == 0 {
			// Stores made before the migrations table counted in user_version.
			if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
				return err
			}
		}
		if have > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this bulwark's (%d): upgrade bulwark", have, len(migrations))
		}
		for v := have; v < len(migrations); v++ {
			q := migrations[v]
			if s.pool != nil {
				q = postgresSQL(q)
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migration %d: %w", v+1, err)
			}
		}
		for v := 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO bulwark_migrations (version, applied_at) VALUES (?, ?) ON CONFLICT DO NOTHING`, v, now()); err != nil {
				return err
			}
		}
		return nil
	})
}
