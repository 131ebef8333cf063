package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/storetest"
	"github.com/hexiao/hexiao/protocol"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) hub.Store {
		s, err := Open(filepath.Join(t.TempDir(), "hub.db"), nil)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// queryer is the writer connection or the read pool.
type queryer interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// pragma reads a pragma on one connection.
func pragma(t *testing.T, db queryer, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("pragma %s: %v", name, err)
	}
	return v
}

func TestPragmas(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	for _, c := range []struct {
		db         queryer
		pool, name string
		want       string
	}{
		{s.wconn, "writer", "journal_mode", "wal"},
		{s.wconn, "writer", "synchronous", "2"}, // FULL
		{s.wconn, "writer", "foreign_keys", "1"},
		{s.wconn, "writer", "busy_timeout", "10000"},
		{s.wconn, "writer", "query_only", "0"},
		{s.wconn, "writer", "wal_autocheckpoint", "0"}, // the checkpointer does it
		{s.wconn, "writer", "journal_size_limit", "67108864"},
		{s.r, "reader", "journal_mode", "wal"},
		{s.r, "reader", "query_only", "1"},
		{s.r, "reader", "busy_timeout", "10000"},
	} {
		if got := pragma(t, c.db, c.name); got != c.want {
			t.Errorf("%s %s: got %s, want %s", c.pool, c.name, got, c.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool: got %d connections, want 1", n)
	}
	// The read pool refuses writes even through a hub.Tx it was given.
	err := s.View(context.Background(), func(r hub.Reader) error {
		return r.(hub.Tx).SetMeta("k", []byte("v"))
	})
	if err == nil {
		t.Error("a write inside View succeeded")
	}
}

func TestMigrationsRecorded(t *testing.T) {
	s, path := openTemp(t)
	var n, max int
	if err := s.wconn.QueryRowContext(context.Background(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != schemaVersion() || max != schemaVersion() || n < 1 {
		t.Errorf("schema_migrations: got %d rows up to version %d, want %d", n, max, schemaVersion())
	}
	var name string
	if err := s.wconn.QueryRowContext(context.Background(), "SELECT name FROM schema_migrations WHERE version = 1").Scan(&name); err != nil || name != "0001_init" {
		t.Errorf("migration 1: got %q (%v), want 0001_init", name, err)
	}
	if v := pragma(t, s.wconn, "user_version"); v != strconv.Itoa(schemaVersion()) {
		t.Errorf("user_version: got %s, want %d", v, schemaVersion())
	}
	s.Close()
	// Opening again applies nothing.
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.wconn.QueryRowContext(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != schemaVersion() {
		t.Errorf("after reopening: %d migrations recorded (%v), want %d", n, err, schemaVersion())
	}
}

func TestReopenKeepsData(t *testing.T) {
	s, path := openTemp(t)
	ctx := context.Background()
	var seq uint64
	err := s.Update(ctx, func(tx hub.Tx) error {
		if err := tx.SetMeta("pepper-id", []byte("p1")); err != nil {
			return err
		}
		if err := tx.InsertCodes([]hub.Code{{ID: "KEEP", Campaign: "C", Format: "signed", Uses: 2, Status: "active"}}); err != nil {
			return err
		}
		if _, _, err := tx.TakeUses("KEEP", 1, hubUse(), 0); err != nil {
			return err
		}
		seqs, err := tx.AddChanges(hub.Change{Audience: hub.Audience{All: true}})
		if err == nil {
			seq = seqs[0]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(ctx, func(r hub.Reader) error {
		v, err := r.Meta("pepper-id")
		if err != nil || string(v) != "p1" {
			t.Errorf("meta after reopening: got %q, %v", v, err)
		}
		c, err := r.Code("KEEP")
		if err != nil || c.Used != 1 || c.LastUse != hubUse() {
			t.Errorf("code after reopening: got %+v, %v", c, err)
		}
		head, err := r.FeedHead()
		if err != nil || head != seq {
			t.Errorf("feed head after reopening: got %d, %v, want %d", head, err, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A new process never reuses a seq either.
	err = s.Update(ctx, func(tx hub.Tx) error {
		next, err := tx.AddChanges(hub.Change{Audience: hub.Audience{All: true}})
		if err == nil && next[0] <= seq {
			t.Errorf("seq after reopening: got %d, want above %d", next[0], seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A ledger made by a build that knew only migration 1 opens with its
// events intact: they were ingested with no hub-corrected time.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	first, err := migrations.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for _, q := range []string{schemaMigrations, string(first),
		"INSERT INTO schema_migrations (version, name, applied) VALUES (1, '0001_init', 0)",
		`INSERT INTO events (v, terminal, seq, prev, kind, at, store, cashier, mode, entry, reason, code, format, campaign,
			uses, amount, step, order_ref, idem_key, voids_terminal, voids_seq, note, body, sig, hash, received, flags)
		VALUES (1, 'T-1', 1, zeroblob(32), 'redemption', ` + strconv.FormatInt(at.UnixMicro(), 10) + `, 'S-1', '', 'offline', '',
			'accepted', 'C-1', 'secret', 'CAMP', 1, 2500, 0, '', '', NULL, NULL, '', x'7b7d', x'00', zeroblob(32), 1, NULL)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s…: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("open a version 1 ledger: %v", err)
	}
	defer s.Close()
	err = s.View(ctx, func(r hub.Reader) error {
		e, err := r.Event(protocol.EventRef{Terminal: "T-1", Seq: 1})
		if err != nil {
			return err
		}
		if !e.At.Equal(at) || !e.HubAt.IsZero() || e.Code != "C-1" {
			t.Errorf("event after migrating: at %s, hub_at %s, code %s; want %s, zero, C-1", e.At, e.HubAt, e.Code, at)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.wconn.ExecContext(context.Background(), "INSERT INTO schema_migrations (version, name, applied) VALUES (?, 'from_the_future', 0)",
		schemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path, nil)
	if err == nil {
		t.Fatal("a ledger with a newer schema opened")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}

// TestOddPath opens a ledger whose path holds the characters a URI
// filename gives a meaning to.
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?x=1#frag%41")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hub.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Update(context.Background(), func(tx hub.Tx) error { return tx.SetMeta("k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the ledger is not at %s: %v", path, err)
	}
	err = s.View(context.Background(), func(r hub.Reader) error {
		_, err := r.Meta("k")
		return err
	})
	if err != nil {
		t.Errorf("read back: %v", err)
	}
}

// TestViewDuringUpdate has a View read while an Update holds an
// uncommitted write: the View is not blocked and sees the old value.
func TestViewDuringUpdate(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx hub.Tx) error { return tx.SetMeta("k", []byte("old")) }); err != nil {
		t.Fatal(err)
	}
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx hub.Tx) error {
			if err := tx.SetMeta("k", []byte("new")); err != nil {
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	read := func() string {
		var v []byte
		err := s.View(ctx, func(r hub.Reader) error {
			var err error
			v, err = r.Meta("k")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if got := read(); got != "old" {
		t.Errorf("View during an uncommitted Update: got %q, want old", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "new" {
		t.Errorf("View after the commit: got %q, want new", got)
	}
}

// TestUpdateWaitHonoursContext: an Update waiting for the writer gives up
// when its context ends.
func TestUpdateWaitHonoursContext(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	hold, release := make(chan struct{}), make(chan struct{})
	go s.Update(context.Background(), func(hub.Tx) error {
		close(hold)
		<-release
		return nil
	})
	<-hold
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Update(ctx, func(hub.Tx) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting Update: got %v, want the context's deadline", err)
	}
}

// TestCheckpointer: the writer never checkpoints, the checkpointer does:
// shortly after a commit the main database file alone (without its WAL)
// holds it.
func TestCheckpointer(t *testing.T) {
	s, path := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	err := s.Update(ctx, func(tx hub.Tx) error {
		return tx.InsertCodes([]hub.Code{{ID: "CKPT", Campaign: "C", Format: "signed", Uses: 1, Status: "active"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	before := s.checkpoints.Load()
	deadline := time.Now().Add(10 * time.Second)
	for s.checkpoints.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within 10 s of a commit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A copy of the database file alone: what the checkpoint copied.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(cp, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.View(ctx, func(r hub.Reader) error {
		_, err := r.Code("CKPT")
		return err
	})
	if err != nil {
		t.Errorf("the database file without its WAL lacks the commit: %v", err)
	}
}

// TestTxLost: once SQLite has rolled an Update's transaction back by itself
// (as it does on a full disk), no later statement of that Update runs, so
// none can commit on its own; the Update fails and nothing is kept.
func TestTxLost(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	err := s.Update(ctx, func(tx hub.Tx) error {
		if err := tx.SetMeta("before", []byte("x")); err != nil {
			return err
		}
		// What SQLite does after SQLITE_FULL or an I/O error.
		if _, err := s.wconn.ExecContext(ctx, "ROLLBACK"); err != nil {
			return err
		}
		if err := tx.SetMeta("after", []byte("y")); !errors.Is(err, errTxLost) {
			t.Errorf("a write after the rollback: %v, want errTxLost", err)
		}
		return nil // a careless fn that carries on
	})
	if err == nil {
		t.Error("the Update committed after its transaction was lost")
	}
	err = s.View(ctx, func(r hub.Reader) error {
		for _, k := range []string{"before", "after"} {
			if v, err := r.Meta(k); !errors.Is(err, hub.ErrNotFound) {
				t.Errorf("meta %s: %q, %v; want nothing kept", k, v, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx hub.Tx) error { return tx.SetMeta("next", []byte("z")) }); err != nil {
		t.Errorf("the next Update: %v", err)
	}
}

// A ledger at version 4 (hourly totals, no daily roll-up) gets its daily
// roll-up filled from the hourly one when migrated.
func TestMigrateDailyTotals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{schemaMigrations}
	for _, m := range ms[:4] {
		qs = append(qs, m.body, fmt.Sprintf("INSERT INTO schema_migrations (version, name, applied) VALUES (%d, '%s', 0)", m.version, m.name))
	}
	qs = append(qs, `INSERT INTO totals (day, store, campaign, hour, mode, redemptions, voids, uses, value) VALUES
		('2026-03-14', 'S-1', 'C-1', 9, 'online', 2, 0, 2, 5000), ('2026-03-14', 'S-1', 'C-1', 17, 'online', 1, 1, 0, 0),
		('2026-03-14', 'S-1', 'C-1', 17, 'offline', 1, 0, 1, 2500), ('2026-03-15', 'S-2', 'C-1', 0, 'online', 1, 0, 1, 2500)`)
	for _, q := range qs {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s…: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatalf("open a version 4 ledger: %v", err)
	}
	defer s.Close()
	var got []hub.Totals
	err = s.View(ctx, func(r hub.Reader) error {
		got, err = r.Totals(hub.TotalsFilter{Daily: true})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	key := func(day, store, mode string) hub.TotalsKey {
		return hub.TotalsKey{Day: day, Store: store, Campaign: "C-1", Hour: -1, Mode: protocol.Mode(mode)}
	}
	want := []hub.Totals{
		{TotalsKey: key("2026-03-14", "S-1", "offline"), Redemptions: 1, Uses: 1, Value: 2500},
		{TotalsKey: key("2026-03-14", "S-1", "online"), Redemptions: 3, Voids: 1, Uses: 2, Value: 5000},
		{TotalsKey: key("2026-03-15", "S-2", "online"), Redemptions: 1, Uses: 1, Value: 2500},
	}
	if !slices.Equal(got, want) {
		t.Errorf("daily totals after migrating:\n got %+v\nwant %+v", got, want)
	}
}
