package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Files under the data directory.
const (
	DBFile     = "terminal.db"
	KeyFile    = "terminal.key" // the terminal's Ed25519 signing key (seed), 0600
	CacheKey   = "cache.key"    // AES-256 key sealing dynamic-code seeds, 0600
	PepperFile = "pepper"       // the hub's card-secret pepper, 0600
	LockFile   = "lock"         // held by the process that has the store open
)

var _ terminal.Store = (*Store)(nil)

// Store is the terminal's SQLite file and key files. It is safe for
// concurrent use.
type Store struct {
	dir   string
	lock  *os.File
	w     *sql.DB // one connection: every write, in IMMEDIATE transactions
	r     *sql.DB // read-only connections
	log   *slog.Logger
	priv  ed25519.PrivateKey
	seal  *sealer
	hash  *protocol.SecretHasher
	stmts statements

	// wmu serialises the operations that take the next seq or replace the
	// cache (Pend, Append, Import), so concurrent callers cannot race for
	// one seq.
	wmu sync.Mutex

	mu        sync.RWMutex // guards the fields below
	id        terminal.Identity
	ring      *protocol.KeyRing
	campaigns map[string]protocol.Campaign
	exposure  map[string]exposure // offline redemptions not yet acknowledged, by campaign
	contact   time.Time
	headSeq   uint64
	headHash  protocol.Hash
	revoked   string        // why the hub revoked this terminal; "" while it is not
	offset    time.Duration // hub clock minus terminal clock, as last measured
	forced    bool          // a manager forced the terminal offline
}

type exposure struct {
	count int
	value int64
}

// Setup is what a new terminal's data directory starts with.
type Setup struct {
	Terminal string
	Store    string
	Region   string // until a snapshot brings the store's own
	Timezone string // IANA zone, until a snapshot brings the store's own
	Pepper   []byte // the hub's card-secret pepper
	// Key is the terminal's event-signing key when enrollment made it (its
	// public half is registered at the hub); nil makes a new one.
	Key ed25519.PrivateKey
}

// ErrNotSetUp is returned by Open for a directory Init never prepared.
var ErrNotSetUp = errors.New("no terminal here")

// Init prepares dir for a new terminal: the database with its identity, a
// new signing key, a cache key and the pepper. It refuses a directory that
// already holds a terminal.
func Init(ctx context.Context, dir string, s Setup) error {
	if err := protocol.ValidID(s.Terminal); err != nil {
		return fmt.Errorf("terminal id: %w", err)
	}
	if err := protocol.ValidID(s.Store); err != nil {
		return fmt.Errorf("store id: %w", err)
	}
	if s.Region != "" {
		if err := protocol.ValidID(s.Region); err != nil {
			return fmt.Errorf("region: %w", err)
		}
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("timezone %q: %w", s.Timezone, err)
	}
	if len(s.Pepper) < protocol.MinPepperLen {
		return fmt.Errorf("pepper is %d bytes, want at least %d", len(s.Pepper), protocol.MinPepperLen)
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err == nil {
		return fmt.Errorf("%s already holds a terminal", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	priv := s.Key
	if priv == nil {
		var err error
		if _, priv, err = ed25519.GenerateKey(nil); err != nil {
			return fmt.Errorf("generate terminal key: %w", err)
		}
	} else if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("terminal key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := writeSecret(filepath.Join(dir, KeyFile), priv.Seed()); err != nil {
		return err
	}
	if err := writeSecret(filepath.Join(dir, CacheKey), randomBytes(32)); err != nil {
		return err
	}
	if err := writeSecret(filepath.Join(dir, PepperFile), s.Pepper); err != nil {
		return err
	}
	db, err := openDB(filepath.Join(dir, DBFile), false)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate(ctx, db); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO meta (k, v) VALUES
		('terminal', ?), ('store', ?), ('region', ?), ('timezone', ?), ('head_seq', '0'), ('head_hash', ?)`,
		s.Terminal, s.Store, s.Region, s.Timezone, protocol.Hash{}.String())
	if err != nil {
		return fmt.Errorf("write identity: %w", err)
	}
	return nil
}

// Open opens the terminal in dir: migrates the schema, loads the keys and
// the identity, and verifies the journal's chain. A damaged or truncated
// journal is an error (a *CorruptError), never repaired.
func Open(ctx context.Context, dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run hexiao-terminal init or enroll first)", dir, ErrNotSetUp)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(ctx, dir, path, log)
	if err != nil {
		lock.Close()
		return nil, err
	}
	s.lock = lock
	return s, nil
}

// lockDir takes an exclusive lock on the data directory, so two processes
// (a headless terminal and an import, say) never share one journal.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s is in use by another hexiao-terminal process: stop it first", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

func open(ctx context.Context, dir, path string, log *slog.Logger) (*Store, error) {
	seed, err := readSecret(filepath.Join(dir, KeyFile), ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	ck, err := readSecret(filepath.Join(dir, CacheKey), 32)
	if err != nil {
		return nil, err
	}
	pepper, err := readSecret(filepath.Join(dir, PepperFile), 0)
	if err != nil {
		return nil, err
	}
	hasher, err := protocol.NewSecretHasher(pepper)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PepperFile, err)
	}
	seal, err := newSealer(ck)
	if err != nil {
		return nil, err
	}
	w, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	r, err := openDB(path, true)
	if err != nil {
		w.Close()
		return nil, err
	}
	s := &Store{dir: dir, w: w, r: r, log: log, priv: ed25519.NewKeyFromSeed(seed), seal: seal, hash: hasher}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	if err := migrate(ctx, s.w); err != nil {
		return err
	}
	if err := s.stmts.prepare(ctx, s.w, s.r); err != nil {
		return err
	}
	if err := s.loadMeta(ctx); err != nil {
		return err
	}
	if err := s.reloadCache(ctx); err != nil {
		return err
	}
	if err := s.verifyJournal(ctx); err != nil {
		return err
	}
	return s.loadExposure(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	s.stmts.close()
	err := errors.Join(s.r.Close(), s.w.Close())
	if s.lock != nil {
		s.lock.Close() // releases the flock
	}
	return err
}

// PublicKey is the terminal's signing public key.
func (s *Store) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

func openDB(path string, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	if readOnly {
		q.Set("_query_only", "true")
	} else {
		q.Set("_txlock", "immediate")
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if readOnly {
		db.SetMaxOpenConns(4)
	} else {
		db.SetMaxOpenConns(1)
	}
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// migrate applies the embedded migrations not yet applied, in order, each
// in its own transaction; user_version counts them.
func migrate(ctx context.Context, db *sql.DB) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var have int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if have > len(names) {
		return fmt.Errorf("database schema %d is newer than this build's %d: upgrade hexiao-terminal", have, len(names))
	}
	for i := have; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(i+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %w", names[i], err)
		}
	}
	return nil
}

func (s *Store) loadMeta(ctx context.Context) error {
	m, err := readMeta(ctx, s.r)
	if err != nil {
		return err
	}
	if m["terminal"] == "" || m["store"] == "" {
		return fmt.Errorf("%s: %w (identity missing)", s.dir, ErrNotSetUp)
	}
	id := terminal.Identity{Terminal: m["terminal"], Store: m["store"], Region: m["region"]}
	if id.Location, err = time.LoadLocation(m["timezone"]); err != nil {
		return fmt.Errorf("store time zone %q: %w", m["timezone"], err)
	}
	headSeq, err := strconv.ParseUint(m["head_seq"], 10, 64)
	if err != nil {
		return &CorruptError{Problem: fmt.Sprintf("head_seq %q is not a number", m["head_seq"])}
	}
	var headHash protocol.Hash
	if err := headHash.UnmarshalText([]byte(m["head_hash"])); err != nil {
		return &CorruptError{Problem: fmt.Sprintf("head_hash: %v", err)}
	}
	var contact time.Time
	if v := m["last_contact"]; v != "" {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			contact = time.UnixMilli(ms)
		}
	}
	var offset time.Duration
	if v := m["clock_offset"]; v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			offset = time.Duration(n)
		}
	}
	s.mu.Lock()
	s.id, s.headSeq, s.headHash, s.contact = id, headSeq, headHash, contact
	s.revoked, s.offset, s.forced = m["revoked"], offset, m["force_offline"] == "true"
	s.mu.Unlock()
	return nil
}

func readMeta(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT k, v FROM meta")
	if err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read meta: %w", err)
		}
		m[k] = v
	}
	return m, rows.Err()
}

// Identity is who this terminal is.
func (s *Store) Identity() terminal.Identity {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.id
}

// KeyRing is the issuing keys in the cache.
func (s *Store) KeyRing() *protocol.KeyRing {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ring
}

// Hasher hashes card secrets with the pepper.
func (s *Store) Hasher() *protocol.SecretHasher { return s.hash }

// LastContact is when the hub last answered.
func (s *Store) LastContact() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.contact
}

// SetLastContact records a hub contact (durably, for the offline age after
// a restart).
func (s *Store) SetLastContact(ctx context.Context, t time.Time) error {
	if err := setMeta(ctx, s.w, "last_contact", strconv.FormatInt(t.UnixMilli(), 10)); err != nil {
		return fmt.Errorf("record hub contact: %w", err)
	}
	s.mu.Lock()
	s.contact = t
	s.mu.Unlock()
	return nil
}

// OfflineExposure is the offline redemptions of a campaign the hub has not
// acknowledged.
func (s *Store) OfflineExposure(campaign string) (int, int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	x := s.exposure[campaign]
	return x.count, x.value
}

func (s *Store) loadExposure(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT campaign, count(*), coalesce(sum(amount), 0)
		FROM journal JOIN outbox USING (seq)
		WHERE kind = 'redemption' AND mode = 'offline' GROUP BY campaign`)
	if err != nil {
		return fmt.Errorf("read offline exposure: %w", err)
	}
	defer rows.Close()
	m := map[string]exposure{}
	for rows.Next() {
		var c string
		var x exposure
		if err := rows.Scan(&c, &x.count, &x.value); err != nil {
			return fmt.Errorf("read offline exposure: %w", err)
		}
		m[c] = x
	}
	s.mu.Lock()
	s.exposure = m
	s.mu.Unlock()
	return rows.Err()
}

func writeSecret(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

// readSecret reads a key file, checking its size (0: at least 16 bytes) and
// that no one but the owner may read it.
func readSecret(path string, size int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is mode %o: make it 0600 (chmod 600 %s)", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if size > 0 && len(b) != size || size == 0 && len(b) < protocol.MinPepperLen {
		return nil, fmt.Errorf("key file %s is %d bytes: damaged", path, len(b))
	}
	return b, nil
}

// CorruptError is a journal that does not verify: the terminal refuses to
// run on it rather than repair it.
type CorruptError struct {
	Seq     uint64
	Problem string
}

func (e *CorruptError) Error() string {
	if e.Seq == 0 {
		return "the journal is damaged: " + e.Problem + " (nothing was repaired: keep the data directory and call support)"
	}
	return fmt.Sprintf("the journal is damaged at event %d: %s (nothing was repaired: keep the data directory and call support)", e.Seq, e.Problem)
}
