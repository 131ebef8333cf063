package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// ErrNotFound is returned by a Store for a code, campaign or event it does
// not hold.
var ErrNotFound = errors.New("not found")

// Identity is who this terminal is: its id, the store it is enrolled in,
// that store's region and time zone (for scope, redemption hours and the
// business day).
type Identity struct {
	Terminal string
	Store    string
	Region   string
	Location *time.Location
}

// Store is the terminal's local cache and journal. Every method is safe for
// concurrent use; Append and Pend are durable when they return nil.
type Store interface {
	Identity() Identity
	KeyRing() *protocol.KeyRing
	Hasher() *protocol.SecretHasher

	// CodeByID and CodeBySecret return a cached code (a dynamic code with its
	// seed decrypted) or ErrNotFound.
	CodeByID(ctx context.Context, id string) (protocol.CodeState, error)
	CodeBySecret(ctx context.Context, h protocol.SecretHash) (protocol.CodeState, error)
	Campaign(ctx context.Context, id string) (protocol.Campaign, error)
	// Settled reports whether the store's business day is locked.
	Settled(ctx context.Context, store, day string) (bool, error)
	// OfflineExposure is what this terminal has redeemed offline of a
	// campaign that the hub has not yet acknowledged.
	OfflineExposure(campaign string) (count int, value int64)
	// LastContact is when the hub last answered (zero: never).
	LastContact() time.Time
	// Revoked says why HQ revoked this terminal ("" while it is not): a
	// revoked terminal redeems nothing.
	Revoked() string
	// ForcedOffline and SetForcedOffline keep a manager's force-offline
	// switch across restarts, with who and why in a log.
	ForcedOffline() bool
	SetForcedOffline(ctx context.Context, at time.Time, manager string, off bool, note string) error

	// Pend durably records a decision under way (before a claim) and
	// returns the seq its final event will take.
	Pend(ctx context.Context, p Pending) (uint64, error)
	// Pending lists the decisions a crash left unfinished, oldest first.
	Pending(ctx context.Context) ([]Pending, error)
	// Append chains, signs and durably records e as the next event (e.Seq
	// is set when it finishes a Pend, clearing that pending row; otherwise
	// no decision may be pending), applies up to the code in the same
	// transaction, and returns the event's id. On error nothing is
	// recorded.
	Append(ctx context.Context, e protocol.Event, up *CodeUpdate) (protocol.EventRef, error)
	// ByIdemKey returns this terminal's earlier event recorded with the
	// register's idempotency key, or ErrNotFound.
	ByIdemKey(ctx context.Context, key string) (protocol.Event, error)
	// Redemption returns one of this terminal's journal events and the uses
	// already voided of it.
	Redemption(ctx context.Context, seq uint64) (protocol.Event, int, error)
	// LastZ returns the last z_report event, or ErrNotFound before the first.
	LastZ(ctx context.Context) (protocol.Event, error)
	// EventsAfter returns the journal's events after seq, in order.
	EventsAfter(ctx context.Context, seq uint64) ([]protocol.Event, error)
}

// HubLink asks the hub to arbitrate a claim. It returns an error when the
// hub did not answer before ctx's deadline or could not be reached.
type HubLink interface {
	Claim(ctx context.Context, req protocol.ClaimRequest) (protocol.ClaimReply, error)
}

// CodeUpdate is what a decision does to a cached code. Changes apply as
// deltas to the row as it is at commit time, so a cache update that lands
// while a claim is under way (an import, the feed) is not overwritten.
type CodeUpdate struct {
	// Code is the state the decision saw; it is inserted, with Delta or
	// SetLeft applied, if the cache lacks the code (a signed code seen for
	// the first time).
	Code protocol.CodeState
	// Delta is added to uses left (negative: uses taken), within 0..uses.
	Delta int
	// SetLeft, when not nil, replaces uses left: the hub's authoritative
	// count after a claim.
	SetLeft *int
	// Status, when not empty, replaces the status (the hub said so).
	Status protocol.CodeStatus
	// Used and Step, when not zero, raise the last use time and the last
	// dynamic time step.
	Used time.Time
	Step int64
}

// Pending is a decision journaled before its claim, so a restart can finish
// it.
type Pending struct {
	Seq   uint64         `json:"seq"`
	Claim protocol.Event `json:"event"` // the event the claim asked for
}

// Config holds the engine's tunables. Zero values take the defaults.
type Config struct {
	ClaimTimeout   time.Duration // how long a claim may wait for the hub (800 ms)
	FailureLimit   int           // failed scans that trip the rate limit (10)
	FailureWindow  time.Duration // the window they are counted in (60 s)
	RateLimitPause time.Duration // how long the counter is refused after (60 s)
}

func (c Config) withDefaults() Config {
	if c.ClaimTimeout <= 0 {
		c.ClaimTimeout = 800 * time.Millisecond
	}
	if c.FailureLimit <= 0 {
		c.FailureLimit = 10
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = time.Minute
	}
	if c.RateLimitPause <= 0 {
		c.RateLimitPause = time.Minute
	}
	return c
}

// Engine decides redemptions at one counter: Prepare previews, Commit
// decides and records, Void undoes. It serialises Commit and Void, since
// one terminal's journal is one sequence.
type Engine struct {
	store Store
	link  HubLink // nil: always offline
	now   func() time.Time
	cfg   Config
	log   *slog.Logger

	mu           sync.Mutex // serialises Commit, Void and Resolve; guards the fields below
	online       bool       // the hub answered the last claim
	forceOffline bool       // a manager switched the terminal offline
	failures     []time.Time
	pausedUntil  time.Time
	resolved     bool   // pending decisions from a crash are resolved
	pendingSeq   uint64 // seq of an unanswered claim the offline decision finishes
}

// New makes an engine on store. link may be nil for a terminal without a
// hub. now is the clock (time.Now in production).
func New(store Store, link HubLink, now func() time.Time, cfg Config, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{store: store, link: link, now: now, cfg: cfg.withDefaults(), log: log, online: link != nil,
		forceOffline: store.ForcedOffline()}
}

// Online reports whether the next commit will claim at the hub.
func (e *Engine) Online() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.link != nil && e.online && !e.forceOffline
}

// SetReachable tells the engine the hub link is back (or gone): the sync
// layer calls it when it hears from the hub or loses it.
func (e *Engine) SetReachable(ok bool) {
	e.mu.Lock()
	e.online = ok
	e.mu.Unlock()
}

// ForceOffline switches claims off (a manager's decision) or back on,
// recording who and why; the switch survives a restart.
func (e *Engine) ForceOffline(ctx context.Context, manager string, off bool, note string) error {
	if err := protocol.ValidID(manager); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	if len(note) > protocol.MaxNoteLen || !utf8.ValidString(note) {
		return fmt.Errorf("note: at most %d bytes of UTF-8", protocol.MaxNoteLen)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.store.SetForcedOffline(ctx, e.now(), manager, off, note); err != nil {
		return err
	}
	e.forceOffline = off
	e.log.Info("mode switched by a manager", "manager", manager, "forced_offline", off, "note", note)
	return nil
}

// ForcedOffline reports whether a manager switched the terminal offline.
func (e *Engine) ForcedOffline() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.forceOffline
}

// Input is one code presented at the counter.
type Input struct {
	Text     string         // as scanned or typed, already normalised by the driver
	Uses     int            // uses to take; 0 means 1
	Entry    protocol.Entry // how it arrived
	Cashier  string
	OrderRef string // the register's order reference
	IdemKey  string // the register's idempotency key
}

// Preview is what Prepare found: the code, its campaign and what a Commit
// would do, or the reason it would be refused.
type Preview struct {
	Reason   protocol.Reason
	Detail   string // why, for logs; never a card secret
	Code     protocol.CodeState
	Campaign protocol.Campaign
	Uses     int   // uses the commit would take
	Amount   int64 // face value × uses, fen
	Step     int64 // TOTP step of a dynamic code
}

// Decision is the outcome of a Commit: the verdict the cashier sees.
type Decision struct {
	Preview
	Mode  protocol.Mode
	Event protocol.EventRef // the journaled event (zero if none could be written)
	// UsesLeft is the code's remaining uses after the decision, as known here.
	UsesLeft int
	At       time.Time
	// Err is set when the decision could not be journaled (reason
	// cannot_record, or a refusal whose attempt event was lost).
	Err error
	// Replayed says the register's idempotency key was used before: this
	// is that earlier decision, not a new one.
	Replayed bool
}

// Accepted reports whether the customer is served.
func (d Decision) Accepted() bool { return d.Reason == protocol.Accepted }

func (e *Engine) ident() Identity { return e.store.Identity() }

func businessDay(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(time.DateOnly)
}

// errRecord wraps a failed durable write.
func errRecord(err error) error { return fmt.Errorf("record: %w", err) }

// maxRef bounds the register's references and the cashier's id.
const maxRef = protocol.MaxNoteLen

// checkInput refuses fields the journal could not record, before anything
// is written, so a bad field can never leave a pending decision behind.
func checkInput(in Input) error {
	if in.Cashier != "" {
		if err := protocol.ValidID(in.Cashier); err != nil {
			return fmt.Errorf("cashier: %w", err)
		}
	}
	for name, v := range map[string]string{"order_ref": in.OrderRef, "idem_key": in.IdemKey} {
		if len(v) > maxRef || !utf8.ValidString(v) {
			return fmt.Errorf("%s must be valid UTF-8 of at most %d bytes", name, maxRef)
		}
	}
	return nil
}
