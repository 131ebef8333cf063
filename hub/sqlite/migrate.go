package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migration is one embedded schema change: migrations/NNNN_name.sql is
// version NNNN.
type migration struct {
	version int
	name    string
	body    string
}

// schemaMigrations records every migration applied, with when.
const schemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	applied INTEGER NOT NULL
)`

// loadMigrations returns the embedded migrations in order and checks they
// are numbered 1, 2, 3… without a gap.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []migration
	for i, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want number %04d", path, i+1)
		}
		body, err := migrations.ReadFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, body: string(body)})
	}
	return out, nil
}

// schemaVersion is the newest schema version this build knows.
func schemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the embedded migrations the database lacks, in order,
// each in its own transaction with its row in schema_migrations, and
// returns their names. A database that records a version this build does
// not know is refused before anything is written.
func migrate(ctx context.Context, db *sql.DB) ([]string, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schemaMigrations); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []string
	for _, m := range ms {
		done, err := apply(ctx, db, m, len(ms))
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// apply runs m unless the database has it; it reads the database's version
// inside the transaction, so two processes opening one file cannot both
// apply m.
func apply(ctx context.Context, db *sql.DB, m migration, known int) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	defer tx.Rollback()
	var have int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if have > known {
		return false, fmt.Errorf("ledger schema version %d is newer than this build's %d: run a newer hexiao-hub", have, known)
	}
	if have >= m.version {
		return false, nil
	}
	if have != m.version-1 {
		return false, fmt.Errorf("migrate %s: ledger is at schema version %d", m.name, have)
	}
	if _, err := tx.ExecContext(ctx, m.body); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.version)); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate %s: %w", m.name, err)
	}
	return true, nil
}
