package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Config is what a Hub is made of. Zero values take the defaults.
type Config struct {
	Store   Store
	Secrets *Secrets
	Now     func() time.Time // time.Now
	Rand    io.Reader        // crypto/rand.Reader
	Log     *slog.Logger
	App     string // build version, announced to terminals

	// GapGrace is how long events may wait for missing predecessors
	// (re-sends out of order are normal) before a chain_gap alert (2 min).
	GapGrace time.Duration
	// ParkLimit bounds the out-of-order events held per terminal (2000).
	ParkLimit int
	// EnrollmentTTL is how long an enrollment token lives (24 h).
	EnrollmentTTL time.Duration
	// ResumeTTL is how long a snapshot resume token stays valid (1 h).
	ResumeTTL time.Duration
	// OfflineAlertAfter is how long a terminal may stay offline, or unseen
	// since its enrollment, before Sweep raises a terminal_offline alert
	// (30 min; negative: never).
	OfflineAlertAfter time.Duration
	// SweepEvery is how often Run sweeps (1 min).
	SweepEvery time.Duration
}

// Hub applies the ledger rules over a Store. Every method is safe for
// concurrent use.
type Hub struct {
	store Store
	sec   *Secrets
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	cfg   Config

	// wmu orders the writes that add changes, alerts or events, so notices
	// and feed pushes leave in the order their seqs were given.
	wmu      sync.Mutex
	lastPush map[string]uint64 // guarded by wmu: last change seq pushed per store
	pushBase uint64            // guarded by wmu: feed head when the hub started

	gmu     sync.Mutex  // guards the group commit's queue
	waiting []*groupReq // updates waiting for the next group commit
	leading bool        // a caller is leading a group commit

	mu        sync.RWMutex // guards the fields below
	stores    map[string]protocol.Store
	campaigns map[string]protocol.Campaign
	signer    *protocol.SigningKey // the key new codes are signed with
	ring      *protocol.KeyRing

	// livePresence holds the terminals whose presence arrived live since
	// the hub started; a retained copy replayed later is older and ignored.
	livePresence sync.Map

	parkMu sync.Mutex // guards parked
	parked map[string]*parking

	termLocks sync.Map // terminal id → *sync.Mutex: one ingest per terminal at a time

	subMu sync.Mutex // guards subs
	subs  map[*subscriber]struct{}

	cache totalsCache // recent days of the roll-up, for Overview

	stats Stats
}

// Stats are the hub's counters since start, for /metrics.
type Stats struct {
	Events         atomic.Int64 // events ingested
	Duplicates     atomic.Int64 // events received again and ignored
	Parked         atomic.Int64 // events held for missing predecessors
	Refused        atomic.Int64 // events refused (forged, fork)
	Batches        atomic.Int64
	IngestCommits  atomic.Int64 // ledger transactions that committed batches (a group commit takes several)
	ClaimsAccepted atomic.Int64
	ClaimsRefused  atomic.Int64
	Alerts         atomic.Int64
	FeedPages      atomic.Int64
	SnapshotPages  atomic.Int64
	Dropped        atomic.Int64 // notices a slow subscriber missed
}

// New makes a hub over cfg.Store. On first start it creates the first
// issuing key.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	if cfg.Store == nil || cfg.Secrets == nil {
		return nil, errors.New("hub: a store and secrets are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.GapGrace <= 0 {
		cfg.GapGrace = 2 * time.Minute
	}
	if cfg.ParkLimit <= 0 {
		cfg.ParkLimit = 2000
	}
	if cfg.EnrollmentTTL <= 0 {
		cfg.EnrollmentTTL = 24 * time.Hour
	}
	if cfg.ResumeTTL <= 0 {
		cfg.ResumeTTL = time.Hour
	}
	h := &Hub{
		store: cfg.Store, sec: cfg.Secrets, now: cfg.Now, rand: cfg.Rand, log: cfg.Log, cfg: cfg,
		lastPush: map[string]uint64{}, parked: map[string]*parking{}, subs: map[*subscriber]struct{}{},
	}
	if err := h.load(ctx); err != nil {
		return nil, err
	}
	if err := h.ensureTotals(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// load fills the caches and makes the first issuing key if there is none.
func (h *Hub) load(ctx context.Context) error {
	var keys []Key
	var current []byte
	err := h.store.View(ctx, func(r Reader) error {
		stores, err := r.Stores()
		if err != nil {
			return err
		}
		h.stores = make(map[string]protocol.Store, len(stores))
		for _, s := range stores {
			h.stores[s.ID] = s
		}
		camps, err := r.Campaigns()
		if err != nil {
			return err
		}
		h.campaigns = make(map[string]protocol.Campaign, len(camps))
		for _, c := range camps {
			h.campaigns[c.ID] = c
		}
		if h.pushBase, err = r.FeedHead(); err != nil {
			return err
		}
		keys, err = r.Keys()
		if err != nil {
			return err
		}
		current, err = r.Meta(metaSigner)
		if errors.Is(err, ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("load ledger: %w", err)
	}
	if len(keys) == 0 {
		if _, err := h.RotateKey(ctx); err != nil {
			return fmt.Errorf("first issuing key: %w", err)
		}
		return nil
	}
	return h.setKeys(keys, string(current))
}

// Stats returns the hub's counters.
func (h *Hub) Stats() *Stats { return &h.stats }

// Now is the hub's clock.
func (h *Hub) Now() time.Time { return h.now() }

// Hasher is the card-secret hasher terminals share with the hub.
func (h *Hub) Hasher() *protocol.SecretHasher { return h.sec.Hasher() }

// Pepper is the card-secret pepper a terminal receives at enrollment.
func (h *Hub) Pepper() []byte { return append([]byte(nil), h.sec.Pepper...) }

// Ping checks the ledger.
func (h *Hub) Ping(ctx context.Context) error { return h.store.Ping(ctx) }

// Announcement is the hub's retained version message.
func (h *Hub) Announcement() protocol.VersionAnnounce {
	return protocol.VersionAnnounce{Protocol: protocol.Version, App: h.cfg.App, At: h.now().UTC()}
}

// Error is a refusal a caller can act on: bad input, an unknown id, a
// conflict. Its message says what to fix and never holds a secret.
type Error struct {
	Kind ErrorKind
	Msg  string
}

// ErrorKind classifies an Error for the API's status codes.
type ErrorKind string

// The error kinds.
const (
	Invalid  ErrorKind = "invalid"   // the request is malformed or breaks a rule (400/422)
	NotFound ErrorKind = "not_found" // an id names nothing (404)
	Conflict ErrorKind = "conflict"  // the request clashes with what exists (409)
)

func (e *Error) Error() string { return e.Msg }

func invalid(format string, a ...any) error {
	return &Error{Kind: Invalid, Msg: fmt.Sprintf(format, a...)}
}

func notFound(format string, a ...any) error {
	return &Error{Kind: NotFound, Msg: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) error {
	return &Error{Kind: Conflict, Msg: fmt.Sprintf(format, a...)}
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}
