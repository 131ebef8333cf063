package hub

import (
	"context"
	"crypto/ed25519"
	"errors"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Store errors every implementation returns (wrapped or not) so the rules can
// tell them apart with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Store is the hub's ledger database. The rules live in this package; a
// Store only reads and writes rows, inside transactions. hub/storetest is
// the conformance suite every implementation passes.
type Store interface {
	// Update runs fn in one read-write transaction and commits it when fn
	// returns nil; on an error nothing fn wrote remains. Updates that touch
	// the same terminal or code are serialised (SQLite: one writer;
	// PostgreSQL: the row locks Tx methods document).
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction that sees one snapshot.
	View(ctx context.Context, fn func(Reader) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Reader reads the ledger. Lookups of one row return ErrNotFound when it does
// not exist.
type Reader interface {
	// Meta returns a value the hub keeps about itself, or ErrNotFound.
	Meta(key string) ([]byte, error)

	StoreByID(id string) (protocol.Store, error)
	Stores() ([]protocol.Store, error)
	Campaign(id string) (protocol.Campaign, error)
	Campaigns() ([]protocol.Campaign, error)
	Keys() ([]Key, error)

	// Terminal returns a terminal. Inside an Update it locks the terminal's
	// row until the transaction ends, so ingests of one terminal serialise.
	Terminal(id string) (Terminal, error)
	Terminals() ([]Terminal, error)
	Enrollment(tokenHash []byte) (Enrollment, error)

	// Code returns a code by id, CodeBySecret by a card secret's keyed hash.
	// Inside an Update they lock the row until the transaction ends.
	Code(id string) (Code, error)
	CodeBySecret(h protocol.SecretHash) (Code, error)
	// Codes returns those of ids that exist, each once, in no particular
	// order: one round trip for a batch (an Update may keep them to answer
	// Code later in the transaction).
	Codes(ids []string) ([]Code, error)
	// CodesAfter returns up to limit codes with ids greater than after, in id
	// order.
	CodesAfter(after string, limit int) ([]Code, error)
	// CountCodes counts the codes of a campaign ("" for all).
	CountCodes(campaign string) (int, error)

	// Event returns one ingested event.
	Event(ref protocol.EventRef) (Event, error)
	// CodeEvents returns the redemptions and voids of a code in the order
	// they were ingested.
	CodeEvents(code string) ([]Event, error)
	// Events calls fn for each event matching f, in ingest order, and stops
	// at the first error fn returns.
	Events(f EventFilter, fn func(Event) error) error

	// Claim returns the claim a terminal made for one of its seqs.
	Claim(ref protocol.EventRef) (Claim, error)
	// Claims returns the claims terminal made for seqs from to to
	// (inclusive), in seq order: what an ingested batch settles.
	Claims(terminal string, from, to uint64) ([]Claim, error)

	// FeedHead is the highest change seq (0 when the feed is empty).
	FeedHead() (uint64, error)
	// Changes returns up to limit changes with seq greater than after, in
	// seq order.
	Changes(after uint64, limit int) ([]Change, error)

	Locks(store string) ([]protocol.SettlementLock, error)
	Locked(store, day string) (bool, error)
	// LocksBetween returns the locks of store ("" for every store) for
	// days from to to, inclusive ("" leaves that end open), by store and
	// day.
	LocksBetween(store, from, to string) ([]protocol.SettlementLock, error)

	// Totals returns the roll-up rows f selects (summed over each day's
	// hours when f.Daily), in key order: day, store, campaign, hour, mode.
	Totals(f TotalsFilter) ([]Totals, error)

	// Alerts returns the alerts matching f, newest first.
	Alerts(f AlertFilter) ([]Alert, error)
	Alert(id int64) (Alert, error)
	// OpenAlert returns the newest unacknowledged alert of kind about key
	// (a code id or a terminal id, as the kind says), or ErrNotFound.
	OpenAlert(kind AlertKind, key string) (Alert, error)

	AccountReader // accounts_store.go: users, sessions, API tokens
}

// Tx reads and writes the ledger inside an Update.
type Tx interface {
	Reader

	SetMeta(key string, value []byte) error
	PutStore(s protocol.Store) error
	PutCampaign(c protocol.Campaign) error
	PutKey(k Key) error
	PutTerminal(t Terminal) error
	PutEnrollment(e Enrollment) error

	// InsertCodes adds new codes; an id or a secret hash already present is
	// ErrExists and nothing is inserted.
	InsertCodes(codes []Code) error
	// TakeUses is the claim: one conditional update that adds uses to the
	// code's used count only if the code is active, used+uses ≤ Uses and,
	// when step > 0, step > LastStep; it sets LastUse to use and raises
	// LastStep to step. It returns the code after the update and whether it
	// happened; when refused the code is as it stands.
	TakeUses(id string, uses int, use protocol.Use, step int64) (Code, bool, error)
	// AddUses adds delta (negative: uses given back) to the code's used
	// count without a condition, never below zero. When use is not nil and
	// later than LastUse it becomes LastUse; a step above LastStep raises
	// it. Offline events, voids and undone claims use it: what happened at a
	// counter is recorded whatever the count.
	AddUses(id string, delta int, use *protocol.Use, step int64) (Code, error)
	// SetStatus changes a code's status and returns the code.
	SetStatus(id string, status protocol.CodeStatus) (Code, error)

	// InsertEvents adds ingested events; if any (terminal, seq) is already
	// present it is ErrExists and none of es is inserted.
	InsertEvents(es ...Event) error
	// SetHead records a terminal's verified chain head (its ack watermark).
	SetHead(terminal string, seq uint64, hash protocol.Hash) error

	// PutClaim records a claim's decision; one already recorded for the
	// same ref is ErrExists.
	PutClaim(c Claim) error
	// SettleClaim marks a claim settled by the event at its seq.
	SettleClaim(ref protocol.EventRef, undone bool) error

	// AddChanges appends to the change feed and returns the seqs the
	// changes were given, in order: higher than any seq handed out before,
	// committed or not.
	AddChanges(cs ...Change) ([]uint64, error)
	PutLock(l protocol.SettlementLock) error

	// AddTotals adds each row's counts to the roll-up row of its key,
	// creating it at zero first. Keys may repeat.
	AddTotals(ts ...Totals) error
	// ClearTotals deletes every roll-up row (before a rebuild).
	ClearTotals() error

	// AddAlert records a new alert and returns its id; UpdateAlert replaces
	// the parties, detail and acknowledgement of an existing one.
	AddAlert(a Alert) (int64, error)
	UpdateAlert(a Alert) error

	AccountTx // accounts_store.go: users, sessions, API tokens
}

// Key is one of the hub's issuing keys: the public half terminals trust and
// the private half, sealed with the hub's master key.
type Key struct {
	protocol.IssuingKey
	SealedPrivate []byte
	Created       time.Time
}

// TerminalStatus is whether a terminal may still connect and redeem.
type TerminalStatus string

// The terminal statuses.
const (
	TerminalActive  TerminalStatus = "active"
	TerminalRevoked TerminalStatus = "revoked"
)

// Terminal is an enrolled counter terminal: its store, its event-signing key,
// its MQTT login and what the hub last heard from it.
type Terminal struct {
	ID       string
	Store    string
	Public   ed25519.PublicKey
	Secret   []byte // SHA-256 of the MQTT password; empty: cannot log in
	Status   TerminalStatus
	Created  time.Time
	Head     uint64        // ack watermark: every event up to Head is in the ledger
	HeadHash protocol.Hash // hash of event Head
	LastSeen time.Time
	Presence *protocol.Presence // the last birth or will
	// Skew is terminal clock minus hub clock, measured on the last live
	// presence; SkewKnown says whether it was ever measured.
	Skew      time.Duration
	SkewKnown bool
}

// SkewFlagged reports whether t's clock is known to be more than SkewLimit
// off the hub's: the hub's rules then read its events' times corrected.
func (t *Terminal) SkewFlagged() bool {
	return t.SkewKnown && (t.Skew > SkewLimit || t.Skew < -SkewLimit)
}

// HubTime returns at, a time on t's clock, on the hub's clock (at − Skew)
// and true when t's skew is flagged; at unchanged and false when the hub
// trusts t's clock (skew within SkewLimit, or never measured).
func (t *Terminal) HubTime(at time.Time) (time.Time, bool) {
	if !t.SkewFlagged() {
		return at, false
	}
	return at.Add(-t.Skew), true
}

// Enrollment is a one-time token that lets a new terminal join a store.
// Only the token's SHA-256 is stored.
type Enrollment struct {
	TokenHash []byte
	Store     string
	Terminal  string
	Created   time.Time
	Expires   time.Time
	Used      time.Time // zero: not used yet
}

// Code is a code as the ledger holds it. Used is the net number of uses
// consumed (redemptions minus voids) and may exceed Uses after offline
// over-redemption; UsesLeft is never negative.
type Code struct {
	ID         string
	Campaign   string
	Format     protocol.Format
	SecretHash *protocol.SecretHash // card secrets only
	SealedSeed []byte               // dynamic codes only, sealed with the master key
	Uses       int
	Used       int
	Status     protocol.CodeStatus
	ValidFrom  time.Time
	ValidUntil time.Time
	Stores     []string
	Regions    []string
	LastUse    protocol.Use // the latest redemption: where and when
	LastStep   int64
	OrderRef   string
	Issued     time.Time
}

// UsesLeft is how many uses remain, never below zero.
func (c *Code) UsesLeft() int { return max(0, c.Uses-c.Used) }

// Flag marks an ingested event the ledger had to accept against the rules.
type Flag string

// The flags.
const (
	FlagOverRedemption Flag = "over_redemption" // took more uses than were left
	FlagScope          Flag = "scope_violation" // redeemed where the code is not valid
	FlagUnknownCode    Flag = "unknown_code"    // names a code the hub does not know
	FlagRevoked        Flag = "revoked"         // redeemed after a revocation or block
	FlagAfterLock      Flag = "after_lock"      // void of a settled day
)

// Event is an ingested journal event with its signed bytes and what the hub
// made of it.
type Event struct {
	protocol.Event
	// ID is the event's place in ingest order, given by the Store when it
	// inserts the event and set on every event it returns (0 on one not yet
	// inserted): the cursor EventFilter.AfterID pages with.
	ID       int64
	Body     []byte
	Sig      []byte
	Hash     protocol.Hash
	Received time.Time
	// HubAt is At on the hub's clock, set when the terminal's clock was
	// flagged (Terminal.SkewFlagged) as the event was ingested; zero when
	// the hub trusted At. At itself is signed and never changes.
	HubAt time.Time
	Flags []Flag
}

// RuleTime is the time the hub's rules read for e: HubAt when the hub
// corrected the terminal's clock, else the terminal's At.
func (e *Event) RuleTime() time.Time {
	if !e.HubAt.IsZero() {
		return e.HubAt
	}
	return e.At
}

// EventFilter selects events. Zero fields match everything.
type EventFilter struct {
	Store    string
	Terminal string
	Code     string
	Kinds    []protocol.EventKind
	From, To time.Time // terminal time, To exclusive
	AfterID  int64     // ingest order cursor: events after it
	BeforeID int64     // ingest order cursor: events before it (0: no bound)
	Newest   bool      // newest first: descending ingest order
	Limit    int
}

// Claim is an online claim and the hub's decision on it.
type Claim struct {
	protocol.EventRef
	Kind    protocol.EventKind
	Code    string
	Uses    int
	Step    int64
	Voids   *protocol.EventRef
	Taken   bool // the uses were taken (or given back, for a void)
	Reply   protocol.ClaimReply
	At      time.Time // hub time
	Settled bool      // the event at this seq has been ingested
	Undone  bool      // settling it gave the uses back
}

// Audience is who a change is for: every store, or the stores and regions
// named.
type Audience struct {
	All     bool
	Stores  []string
	Regions []string
}

// Admits reports whether a change for a reaches store in region.
func (a Audience) Admits(store, region string) bool {
	if a.All {
		return true
	}
	for _, s := range a.Stores {
		if s == store {
			return true
		}
	}
	for _, r := range a.Regions {
		if r == region && r != "" {
			return true
		}
	}
	return false
}

// Change is a change-feed entry and its audience.
type Change struct {
	protocol.Change
	Audience Audience
}

// AlertKind names what an alert is about. The list is closed.
type AlertKind string

// The alert kinds.
const (
	AlertOverRedemption AlertKind = "over_redemption" // a code redeemed more times than it allows
	AlertScope          AlertKind = "scope_violation" // a code redeemed where it is not valid
	AlertForged         AlertKind = "forged_event"    // bad signature, another terminal's or store's event, unreadable body
	AlertFork           AlertKind = "chain_fork"      // two different events at one seq
	AlertGap            AlertKind = "chain_gap"       // events missing from a terminal's chain
	AlertUnknownCode    AlertKind = "unknown_code"    // a redemption of a code the hub does not know
	AlertRevoked        AlertKind = "revoked_redeemed"
	AlertAfterLock      AlertKind = "void_after_settlement"
	AlertRevokedTerm    AlertKind = "revoked_terminal"  // a revoked terminal sent events
	AlertMalformed      AlertKind = "malformed_message" // a terminal sent a batch or claim that does not decode (or an unknown version)
	AlertClockSkew      AlertKind = "clock_skew"        // a terminal's clock is more than SkewLimit off the hub's
	AlertTermOffline    AlertKind = "terminal_offline"  // a terminal offline (or never seen) longer than Config.OfflineAlertAfter
	AlertOfflineCap     AlertKind = "offline_cap"       // a terminal refused codes because an offline cap was reached
)

// AlertKinds returns every alert kind.
func AlertKinds() []AlertKind {
	return []AlertKind{AlertOverRedemption, AlertScope, AlertForged, AlertFork, AlertGap,
		AlertUnknownCode, AlertRevoked, AlertAfterLock, AlertRevokedTerm, AlertMalformed, AlertClockSkew,
		AlertTermOffline, AlertOfflineCap}
}

// Alert is something HQ must look at.
type Alert struct {
	ID        int64               `json:"id"`
	Kind      AlertKind           `json:"kind"`
	Key       string              `json:"-"` // what OpenAlert finds it by: a code or terminal id
	Code      string              `json:"code_id,omitempty"`
	Stores    []string            `json:"stores"`
	Terminals []string            `json:"terminals"`
	Events    []protocol.EventRef `json:"events,omitempty"`
	At        time.Time           `json:"at"`
	Detail    string              `json:"detail"`
	Acked     time.Time           `json:"acked_at,omitzero"`
	AckedBy   string              `json:"acked_by,omitempty"`
	Note      string              `json:"note,omitempty"`
}

// AlertFilter selects alerts. Zero fields match everything.
type AlertFilter struct {
	Kind  AlertKind
	Since time.Time
	Store string
	Open  bool // only unacknowledged
	Limit int
}
