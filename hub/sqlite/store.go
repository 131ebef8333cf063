package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/hexiao/hexiao/hub"
)

var _ hub.Store = (*Store)(nil)

// Store is a hub ledger in one SQLite file. It is safe for concurrent use;
// the hub.Tx and hub.Reader it hands to Update and View are not, and are
// valid only until fn returns.
type Store struct {
	path string
	w    *sql.DB // the writer pool: one connection, pinned as wconn
	r    *sql.DB // read-only connections: every View
	log  *slog.Logger

	// wconn is the writer connection, held for the Store's life so that
	// its statements stay prepared; the Update holding the token in wsem
	// owns it. Its transactions are plain BEGIN IMMEDIATE …
	// COMMIT rather than sql.Tx, which would start a goroutine for every
	// query to watch the transaction's context.
	wconn *sql.Conn
	wsem  chan struct{}

	// The statements of readQueries and writeQueries prepared on wconn,
	// and of readQueries on the read pool; prepared at Open, read-only
	// after.
	wstmts, rstmts map[string]*sql.Stmt

	broken atomic.Value // error: the writer is stuck in a transaction

	// The checkpointer's connection and its stop and done signals;
	// checkpoints counts the checkpoints it ran.
	ck             *sql.DB
	ckStop, ckDone chan struct{}
	checkpoints    atomic.Int64

	mu      sync.Mutex // guards lastSeq
	lastSeq uint64     // the highest change seq handed out, committed or rolled back
}

// Checkpoints. The writer never checkpoints (wal_autocheckpoint=0): on a
// ledger of random code ids a batch of 500 events writes about 1,000 WAL
// pages, so SQLite's default would make nearly every commit copy the WAL
// into the database and fsync it too. A goroutine with a connection of its
// own runs a PASSIVE checkpoint (it never waits for the writer or readers)
// every checkpointEvery instead, in parallel with the commits. Should the
// WAL still grow past checkpointForce pages (a reader holding an old
// snapshot for long), it holds the writer back for one RESTART checkpoint.
// journal_size_limit trims the WAL file once SQLite starts it over.
const (
	checkpointEvery = 500 * time.Millisecond
	checkpointForce = 100_000  // pages: 400 MiB
	walSizeLimit    = 64 << 20 // bytes
)

// startCheckpointer opens the checkpoint connection and starts the
// checkpointer; Close stops it.
func (s *Store) startCheckpointer() error {
	ck, err := openDB(s.path, false)
	if err != nil {
		return err
	}
	s.ck, s.ckStop, s.ckDone = ck, make(chan struct{}), make(chan struct{})
	go s.checkpointer()
	return nil
}

func (s *Store) checkpointer() {
	defer close(s.ckDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ckStop:
			return
		case <-t.C:
		}
		pages, err := s.checkpoint("PASSIVE")
		if err == nil && pages > checkpointForce {
			s.log.Warn("ledger WAL too long: holding writes for a full checkpoint", "path", s.path, "pages", pages)
			if err = s.lockWriter(context.Background()); err == nil {
				_, err = s.checkpoint("RESTART")
				s.unlockWriter()
			}
		}
		if err != nil {
			s.log.Warn("ledger checkpoint failed; the WAL keeps growing until one succeeds", "path", s.path, "err", err)
		}
	}
}

// checkpoint runs one checkpoint of mode and returns the WAL's length in
// pages.
func (s *Store) checkpoint(mode string) (int64, error) {
	var busy, pages, done int64
	if err := s.ck.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &pages, &done); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", mode, err)
	}
	s.checkpoints.Add(1)
	return pages, nil
}

// readers is the size of the read-only pool.
const readers = 8

// Open opens (creating if needed) the ledger at path and brings its schema
// up to date. A schema newer than this build knows is refused. log may be
// nil.
func Open(path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx := context.Background()
	w, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	applied, err := migrate(ctx, w)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	for _, name := range applied {
		log.Info("ledger migrated", "path", path, "migration", name)
	}
	r, err := openDB(path, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &Store{path: path, w: w, r: r, log: log, wsem: make(chan struct{}, 1)}
	if s.wconn, err = w.Conn(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	var mode string
	if err := s.wconn.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		s.Close()
		return nil, fmt.Errorf("open ledger %s: journal mode %q (%v): the ledger needs WAL, which this file system does not allow", path, mode, err)
	}
	for _, p := range []string{"PRAGMA wal_autocheckpoint = 0",
		fmt.Sprintf("PRAGMA journal_size_limit = %d", walSizeLimit)} {
		if _, err := s.wconn.ExecContext(ctx, p); err != nil {
			s.Close()
			return nil, fmt.Errorf("open ledger %s: %s: %w", path, p, err)
		}
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	if err := s.startCheckpointer(); err != nil {
		s.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return s, nil
}

// openDB opens the writer (one connection, IMMEDIATE transactions,
// synchronous=FULL) or the read-only pool.
func openDB(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	if readOnly {
		q.Set("mode", "ro")
		q.Set("_query_only", "true")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL")
		q.Set("_txlock", "immediate")
		q.Set("_cache_size", "-65536") // KiB: 64 MiB of page cache for the ingest path
	}
	db, err := sql.Open("sqlite3", "file:"+uriPath.Replace(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	if readOnly {
		db.SetMaxOpenConns(readers)
		db.SetMaxIdleConns(readers)
	} else {
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
	}
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return db, nil
}

// uriPath escapes what a URI filename would otherwise read as its query,
// fragment or an escape.
var uriPath = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

// Queries with fixed text, prepared once at Open. rq registers a read
// (prepared on both pools), wq a write (the writer only). Queries built at
// run time (the filters of Events and Alerts) are prepared per transaction.
var readQueries, writeQueries []string

func rq(q string) string { readQueries = append(readQueries, q); return q }
func wq(q string) string { writeQueries = append(writeQueries, q); return q }

func (s *Store) prepare(ctx context.Context) error {
	s.wstmts = map[string]*sql.Stmt{}
	s.rstmts = map[string]*sql.Stmt{}
	add := func(p func(context.Context, string) (*sql.Stmt, error), m map[string]*sql.Stmt, qs []string) error {
		for _, q := range qs {
			st, err := p(ctx, q)
			if err != nil {
				return fmt.Errorf("prepare %.60q: %w", q, err)
			}
			m[q] = st
		}
		return nil
	}
	if err := add(s.wconn.PrepareContext, s.wstmts, readQueries); err != nil {
		return err
	}
	if err := add(s.wconn.PrepareContext, s.wstmts, writeQueries); err != nil {
		return err
	}
	return add(s.r.PrepareContext, s.rstmts, readQueries)
}

// Close closes the database. Updates and Views must have returned.
func (s *Store) Close() error {
	var errs []error
	if s.ck != nil {
		close(s.ckStop)
		<-s.ckDone
	}
	for _, m := range []map[string]*sql.Stmt{s.rstmts, s.wstmts} {
		for _, st := range m {
			errs = append(errs, st.Close())
		}
	}
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close())
	}
	errs = append(errs, s.r.Close(), s.w.Close())
	if s.ck != nil {
		errs = append(errs, s.ck.Close()) // the last connection: SQLite checkpoints the whole WAL
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close ledger %s: %w", s.path, err)
	}
	return nil
}

// lockWriter waits for the writer connection or the end of ctx.
func (s *Store) lockWriter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWriter() { <-s.wsem }

// Ping checks that the writer connection and the read pool answer. It
// does not wait for a running Update.
func (s *Store) Ping(ctx context.Context) error {
	if err, _ := s.broken.Load().(error); err != nil {
		return fmt.Errorf("ledger broken: %w", err)
	}
	if err := s.wconn.PingContext(ctx); err != nil {
		return fmt.Errorf("ping ledger: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping ledger: %w", err)
	}
	return nil
}

// Update runs fn in one BEGIN IMMEDIATE transaction on the writer
// connection and commits it when fn returns nil. It rolls back when fn
// returns an error (returned as is), panics (the panic goes on) or ctx ends
// before the commit. ctx bounds the wait for the writer; once the
// transaction has begun its statements run to the end and ctx is checked
// before the commit (so no statement pays for a cancellation watcher).
func (s *Store) Update(ctx context.Context, fn func(hub.Tx) error) error {
	if err := s.lockWriter(ctx); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	defer s.unlockWriter()
	bg := context.WithoutCancel(ctx)
	if _, err := s.wconn.ExecContext(bg, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("update: begin: %w", err)
	}
	t := &txn{s: s, conn: s.wconn, ctx: bg, prepared: s.wstmts}
	done := false
	defer func() {
		t.close()
		if !done {
			s.rollback(bg)
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	t.close()
	if _, err := s.wconn.ExecContext(bg, "COMMIT"); err != nil {
		// SQLite may leave the transaction open after a failed COMMIT.
		return fmt.Errorf("update: commit: %w", err)
	}
	done = true
	return nil
}

// rollback ends the writer's transaction, unless SQLite already has (it
// rolls back by itself on a full disk or an I/O error). If the connection
// is still in a transaction after a failed ROLLBACK, no Update can begin
// again: the store is marked broken, which Ping reports (and /healthz with
// it) until the hub restarts.
func (s *Store) rollback(ctx context.Context) {
	if !s.inTx() {
		return
	}
	if _, err := s.wconn.ExecContext(ctx, "ROLLBACK"); err != nil && s.inTx() {
		s.log.Error("ledger rollback failed: no write can succeed until the hub restarts", "path", s.path, "err", err)
		s.broken.Store(fmt.Errorf("the writer's rollback failed: %w", err))
	}
}

// errTxLost is what every statement of an Update returns once SQLite has
// rolled its transaction back (after the error that made it).
var errTxLost = errors.New("the ledger transaction was rolled back after an earlier error (disk full or I/O); nothing of it is kept")

// inTx reports whether the writer connection is inside a transaction.
func (s *Store) inTx() bool {
	in := true
	_ = s.wconn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); ok {
			in = !c.AutoCommit()
		}
		return nil
	})
	return in
}

// View runs fn in a read transaction on a read-only connection: it sees
// the snapshot of the ledger as of its first read.
func (s *Store) View(ctx context.Context, fn func(hub.Reader) error) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("view: begin: %w", err)
	}
	t := &txn{s: s, tx: tx, ctx: ctx, prepared: s.rstmts}
	defer func() {
		t.close()
		tx.Rollback()
	}()
	return fn(t)
}

// txn is one transaction; it implements hub.Tx (and, on a read-only
// connection, hub.Reader). It is used by one goroutine at a time.
type txn struct {
	s        *Store
	conn     *sql.Conn // an Update's: the writer connection
	tx       *sql.Tx   // a View's
	ctx      context.Context
	prepared map[string]*sql.Stmt // the connection's or the pool's statements
	stmts    map[string]*sql.Stmt // statements this transaction made, closed with it
	codes    map[string]hub.Code  // see remember
}

// stmt returns q as a statement of this transaction: one prepared at Open
// (on a View's connection through tx.StmtContext), or q prepared now.
func (t *txn) stmt(q string) (*sql.Stmt, error) {
	// SQLite rolls an Update's whole transaction back by itself on a full
	// disk or an I/O error; a statement run after that would commit on its
	// own. So every statement of an Update first checks that the
	// transaction is still there.
	if t.tx == nil && !t.s.inTx() {
		return nil, errTxLost
	}
	p, ok := t.prepared[q]
	if ok && t.tx == nil {
		return p, nil
	}
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	var st *sql.Stmt
	var err error
	switch {
	case ok:
		st = t.tx.StmtContext(t.ctx, p)
	case t.tx != nil:
		st, err = t.tx.PrepareContext(t.ctx, q)
	default:
		st, err = t.conn.PrepareContext(t.ctx, q)
	}
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

// close closes the statements the transaction made.
func (t *txn) close() {
	for q, st := range t.stmts {
		st.Close()
		delete(t.stmts, q)
	}
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	st, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(t.ctx, args...)
}

// insert runs an INSERT through the query path, where the driver binds
// every argument in one cgo call (its exec path makes one call for each:
// 28 for an event). Next steps the statement if the driver has not yet.
func (t *txn) insert(q string, args ...any) error {
	st, err := t.stmt(q)
	if err != nil {
		return err
	}
	rs, err := st.QueryContext(t.ctx, args...)
	if err != nil {
		return err
	}
	rs.Next()
	if err := rs.Err(); err != nil {
		rs.Close()
		return err
	}
	return rs.Close()
}

// insertChunks are the row counts of the multi-row INSERTs chunked
// prepares, largest first; 64 events are 1,792 parameters, well within
// SQLite's limit of 32,766.
var insertChunks = []int{64, 16, 4, 1}

// chunked registers head followed by n groups of cols placeholders for
// each n of insertChunks, as write queries, by n.
func chunked(head string, cols int) map[int]string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	qs := map[int]string{}
	for _, n := range insertChunks {
		qs[n] = wq(head + strings.TrimSuffix(strings.Repeat(group+",", n), ","))
	}
	return qs
}

// savepoint is the prepared statements of one named savepoint.
type savepoint struct{ begin, rollback, release string }

func newSavepoint(name string) savepoint {
	return savepoint{wq("SAVEPOINT " + name), wq("ROLLBACK TO " + name), wq("RELEASE " + name)}
}

// inChunks calls insert(i, n) for consecutive chunks of total rows, each
// n one of insertChunks. When there is more than one chunk they run in
// savepoint sp, so an error leaves none of them applied.
func (t *txn) inChunks(sp savepoint, total int, insert func(i, n int) error) error {
	if total == 0 {
		return nil
	}
	multi := total > 1 && !slices.Contains(insertChunks, total)
	if multi {
		if _, err := t.exec(sp.begin); err != nil {
			return err
		}
	}
	err := func() error {
		for i := 0; i < total; {
			n := insertChunks[len(insertChunks)-1]
			for _, c := range insertChunks {
				if c <= total-i {
					n = c
					break
				}
			}
			if err := insert(i, n); err != nil {
				return err
			}
			i += n
		}
		return nil
	}()
	if !multi {
		return err
	}
	if err != nil {
		if _, rerr := t.exec(sp.rollback); rerr != nil {
			return errors.Join(err, fmt.Errorf("%s: %w", sp.rollback, rerr))
		}
		_, rerr := t.exec(sp.release)
		return errors.Join(err, rerr)
	}
	_, err = t.exec(sp.release)
	return err
}

// row runs a query of at most one row; Scan returns sql.ErrNoRows for none.
func (t *txn) row(q string, args ...any) scanner {
	st, err := t.stmt(q)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(t.ctx, args...)
}

// rows runs a query and calls each for every row until each fails.
func (t *txn) rows(q string, args []any, each func(scanner) error) error {
	st, err := t.stmt(q)
	if err != nil {
		return err
	}
	rs, err := st.QueryContext(t.ctx, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// affected turns an UPDATE that changed no row into hub.ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return hub.ErrNotFound
	}
	return nil
}

// lookupError is a lookup that failed (usually hub.ErrNotFound). Its text
// is built only when read: misses are routine on the ingest path.
type lookupError struct {
	what string
	key  any
	err  error
}

func (e *lookupError) Error() string { return fmt.Sprintf("%s %v: %v", e.what, e.key, e.err) }
func (e *lookupError) Unwrap() error { return e.err }

func lookupFailed(what string, key any, err error) error {
	return &lookupError{what: what, key: key, err: notFound(err)}
}

// notFound turns sql.ErrNoRows into hub.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hub.ErrNotFound
	}
	return err
}

// isDuplicate reports a UNIQUE or PRIMARY KEY violation.
func isDuplicate(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) &&
		(e.ExtendedCode == sqlite3.ErrConstraintUnique || e.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

type scanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
