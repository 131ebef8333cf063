package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Size limits every decoder enforces before and after parsing.
const (
	MaxMessageBytes  = 1 << 20 // any one MQTT payload
	MaxBatchEvents   = 500     // events in one EventBatch
	MaxPageChanges   = 1000    // changes in one FeedPage or FeedPush
	MaxSnapshotCodes = 2000    // codes in one SnapshotPage
	maxTokenLen      = 256     // snapshot resume tokens
	maxVersionLen    = 64
)

// ErrTooLarge is returned (wrapped) for a payload over MaxMessageBytes.
var ErrTooLarge = errors.New("message too large")

// Header is embedded in every message: V is the wire version. Encode sets
// it; Decode refuses any value but WireVersion.
type Header struct {
	V int `json:"v"`
}

func (h *Header) header() *Header { return h }

// Message is implemented by every payload type in this package.
type Message interface {
	Validate() error
	header() *Header
}

// Encode stamps the wire version on m, validates it and encodes it as JSON.
func Encode(m Message) ([]byte, error) {
	m.header().V = WireVersion
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("encode %T: %w", m, err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", m, err)
	}
	if len(b) > MaxMessageBytes {
		return nil, fmt.Errorf("encode %T: %w: %d bytes, limit %d", m, ErrTooLarge, len(b), MaxMessageBytes)
	}
	return b, nil
}

// Decode parses data into m and validates it. Unknown fields are ignored (a
// newer minor version may add some); a missing or different wire version,
// a payload over MaxMessageBytes and any invalid field are errors.
func Decode(data []byte, m Message) error {
	if len(data) > MaxMessageBytes {
		return fmt.Errorf("decode %T: %w: %d bytes, limit %d", m, ErrTooLarge, len(data), MaxMessageBytes)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return fmt.Errorf("decode %T: %w", m, err)
	}
	if v := m.header().V; v != WireVersion {
		return fmt.Errorf("decode %T: wire version %d, this build speaks %d", m, v, WireVersion)
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("decode %T: %w", m, err)
	}
	return nil
}

// EventBatch carries a terminal's journal events, oldest first, to the hub.
// The hub verifies the chain and signatures, commits, then acknowledges.
// Sent is the terminal's clock when it published the batch (for clock
// skew; the events' own times may be hours old).
type EventBatch struct {
	Header
	Terminal string        `json:"terminal"`
	Sent     time.Time     `json:"sent"`
	Events   []SignedEvent `json:"events"`
}

// Validate checks the batch's shape; VerifyChain checks its content.
func (b *EventBatch) Validate() error {
	if err := ValidID(b.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if len(b.Events) == 0 || len(b.Events) > MaxBatchEvents {
		return fmt.Errorf("batch of %d events, want 1 to %d", len(b.Events), MaxBatchEvents)
	}
	if b.Sent.IsZero() {
		return fmt.Errorf("batch: missing sent")
	}
	for i, e := range b.Events {
		if len(e.Body) == 0 || len(e.Sig) == 0 {
			return fmt.Errorf("event %d: missing body or sig", i)
		}
		if len(e.Body) > MaxEventBytes {
			return fmt.Errorf("event %d: body is %d bytes, more than %d", i, len(e.Body), MaxEventBytes)
		}
	}
	return nil
}

// Ack is the hub's application acknowledgement: every event of Terminal up
// to and including Seq is committed to the ledger, and Hash is the hash of
// event Seq. The terminal may delete those events from its outbox and no
// others. Refused, when set, says the hub cannot take the event after Seq
// (a fork or bad signature); re-sending it will not help.
type Ack struct {
	Header
	Terminal string        `json:"terminal"`
	Seq      uint64        `json:"seq"`
	Hash     Hash          `json:"hash"`
	HubTime  time.Time     `json:"hub_time"`
	Refused  *ChainRefusal `json:"refused,omitempty"`
}

// ChainRefusal tells a terminal why the hub stopped at its watermark.
type ChainRefusal struct {
	Seq    uint64    `json:"seq"`
	Kind   BreakKind `json:"kind"`
	Detail string    `json:"detail"`
}

// Validate checks the ack.
func (a *Ack) Validate() error {
	if err := ValidID(a.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if (a.Seq == 0) != a.Hash.IsZero() {
		return fmt.Errorf("ack seq %d: hash must be zero exactly when seq is 0", a.Seq)
	}
	if a.HubTime.IsZero() {
		return fmt.Errorf("ack: missing hub_time")
	}
	if r := a.Refused; r != nil && (r.Seq != a.Seq+1 || r.Kind == "" || len(r.Detail) > MaxNoteLen) {
		return fmt.Errorf("ack: refused must name seq %d, a kind and a short detail", a.Seq+1)
	}
	return nil
}

// ClaimRequest asks the hub to take uses of a code (Kind redemption) or to
// give back the uses of an earlier redemption (Kind void, naming it in
// Voids) for the pending event Terminal:Seq. It is idempotent by that event
// id: asking again returns the first answer. The event the terminal finally
// journals at that seq settles the claim: if it is not the redemption (or
// void) the claim asked for — the terminal heard no answer in time and
// decided otherwise — the hub undoes the claim when the event arrives.
type ClaimRequest struct {
	Header
	Terminal string    `json:"terminal"`
	Seq      uint64    `json:"seq"`
	Kind     EventKind `json:"kind"`
	Store    string    `json:"store"`
	Code     string    `json:"code"`
	Format   Format    `json:"format"`
	Campaign string    `json:"campaign"`
	Uses     int       `json:"uses"`
	Step     int64     `json:"step,omitempty"`    // TOTP step of a dynamic code
	Voids    *EventRef `json:"voids,omitempty"`   // the redemption a void undoes
	At       time.Time `json:"at"`                // terminal time
	Cashier  string    `json:"cashier,omitempty"` // since 1.2.0: who is signed in, for the feed's by
}

// Validate checks the claim.
func (c *ClaimRequest) Validate() error {
	if err := ValidID(c.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if c.Seq == 0 {
		return fmt.Errorf("claim: seq must be positive")
	}
	if err := ValidID(c.Store); err != nil {
		return fmt.Errorf("claim store: %w", err)
	}
	if err := ValidCodeID(c.Code); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	if !c.Format.Valid() {
		return fmt.Errorf("claim: format %q", c.Format)
	}
	if err := ValidID(c.Campaign); err != nil {
		return fmt.Errorf("claim campaign: %w", err)
	}
	if c.Uses < 1 || c.Uses > MaxUses || c.Step < 0 {
		return fmt.Errorf("claim: uses %d out of range 1 to %d", c.Uses, MaxUses)
	}
	switch c.Kind {
	case KindRedemption:
		if c.Voids != nil {
			return fmt.Errorf("claim: a redemption voids nothing")
		}
		if c.Format == FormatDynamic && c.Step == 0 {
			return fmt.Errorf("claim: a dynamic code's redemption needs its TOTP step")
		}
	case KindVoid:
		if c.Voids == nil || ValidID(c.Voids.Terminal) != nil || c.Voids.Seq == 0 ||
			c.Voids.Terminal == c.Terminal && c.Voids.Seq >= c.Seq {
			return fmt.Errorf("claim: a void names an earlier redemption in voids")
		}
	default:
		return fmt.Errorf("claim: kind %q, want redemption or void", c.Kind)
	}
	if c.At.IsZero() {
		return fmt.Errorf("claim: missing time")
	}
	if c.Cashier != "" {
		if err := ValidID(c.Cashier); err != nil {
			return fmt.Errorf("claim cashier: %w", err)
		}
	}
	return nil
}

// ClaimReply is the hub's answer to a ClaimRequest: Reason accepted means
// the uses are taken (or given back) and the terminal commits the event
// online; any other reason is a refusal the terminal shows as is. LastUse,
// on used_up and too_soon, says where and when the code was last redeemed.
type ClaimReply struct {
	Header
	Terminal string    `json:"terminal"`
	Seq      uint64    `json:"seq"`
	Reason   Reason    `json:"reason"`
	UsesLeft int       `json:"uses_left"`
	LastUse  *Use      `json:"last_use,omitempty"`
	HubTime  time.Time `json:"hub_time"`
}

// Use says where and when a code was redeemed.
type Use struct {
	Store    string    `json:"store"`
	Terminal string    `json:"terminal"`
	At       time.Time `json:"at"`
}

// Validate checks the reply.
func (c *ClaimReply) Validate() error {
	if err := ValidID(c.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if c.Seq == 0 || !c.Reason.Valid() || c.UsesLeft < 0 || c.UsesLeft > MaxUses || c.HubTime.IsZero() {
		return fmt.Errorf("claim reply: want seq > 0, a listed reason, uses_left in range and hub_time")
	}
	if u := c.LastUse; u != nil && (ValidID(u.Store) != nil || ValidID(u.Terminal) != nil || u.At.IsZero()) {
		return fmt.Errorf("claim reply: last_use needs store, terminal and at")
	}
	return nil
}

// FeedRequest asks for the changes after cursor After, at most Limit of
// them (0: the hub's default, at most MaxPageChanges).
type FeedRequest struct {
	Header
	Terminal string `json:"terminal"`
	After    uint64 `json:"after"`
	Limit    int    `json:"limit,omitempty"`
}

// Validate checks the request.
func (f *FeedRequest) Validate() error {
	if err := ValidID(f.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if f.Limit < 0 || f.Limit > MaxPageChanges {
		return fmt.Errorf("feed request: limit %d, want 0 to %d", f.Limit, MaxPageChanges)
	}
	return nil
}

// FeedPage answers a FeedRequest: the changes in the terminal's scope after
// After, in order. Next is the cursor to store once they are applied (the
// last change's seq, or further when the hub skipped changes out of scope);
// More says another page is waiting. Problem, when set, says the hub cannot
// serve the request (and the page carries no changes).
type FeedPage struct {
	Header
	Terminal string   `json:"terminal"`
	After    uint64   `json:"after"`
	Next     uint64   `json:"next"`
	More     bool     `json:"more"`
	Changes  []Change `json:"changes"`
	Problem  *Problem `json:"problem,omitempty"`
}

// ProblemCode says why the hub cannot serve a feed or snapshot request.
type ProblemCode string

// The problems a FeedPage or SnapshotPage can report, and what the terminal
// does about each.
const (
	ProblemCursorExpired ProblemCode = "cursor_expired" // the feed no longer reaches back to the cursor: take a snapshot
	ProblemResumeExpired ProblemCode = "resume_expired" // the resume token is too old: start the snapshot again
	ProblemUnknown       ProblemCode = "unknown_terminal"
	ProblemRevoked       ProblemCode = "terminal_revoked" // wipe the cache and refuse to redeem
)

// Problem is a refusal of a feed or snapshot request.
type Problem struct {
	Code    ProblemCode `json:"code"`
	Message string      `json:"message"`
}

func (p *Problem) validate() error {
	switch p.Code {
	case ProblemCursorExpired, ProblemResumeExpired, ProblemUnknown, ProblemRevoked:
	default:
		return fmt.Errorf("problem code %q", p.Code)
	}
	if len(p.Message) > MaxNoteLen {
		return fmt.Errorf("problem message longer than %d bytes", MaxNoteLen)
	}
	return nil
}

// Validate checks the page.
func (f *FeedPage) Validate() error {
	if err := ValidID(f.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if f.Problem != nil {
		if len(f.Changes) > 0 || f.More || f.Next != f.After {
			return fmt.Errorf("feed page: a problem page carries no changes and keeps the cursor")
		}
		return f.Problem.validate()
	}
	if err := validChanges(f.After, f.Changes); err != nil {
		return fmt.Errorf("feed page: %w", err)
	}
	if f.Next < f.After || len(f.Changes) > 0 && f.Next < f.Changes[len(f.Changes)-1].Seq {
		return fmt.Errorf("feed page: next %d is behind its changes", f.Next)
	}
	if f.More && f.Next == f.After {
		return fmt.Errorf("feed page: more pages but the cursor does not move")
	}
	return nil
}

// FeedPush is a live change pushed to every terminal of Store. After is the
// seq of the previous change in that store's scope: a terminal whose cursor
// is below After missed something and asks for a FeedPage instead of
// applying the push.
type FeedPush struct {
	Header
	Store   string   `json:"store"`
	After   uint64   `json:"after"`
	Changes []Change `json:"changes"`
}

// Validate checks the push.
func (f *FeedPush) Validate() error {
	if err := ValidID(f.Store); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if len(f.Changes) == 0 {
		return fmt.Errorf("feed push: no changes")
	}
	if err := validChanges(f.After, f.Changes); err != nil {
		return fmt.Errorf("feed push: %w", err)
	}
	return nil
}

// SnapshotRequest asks for the next page of the terminal's snapshot: an
// empty Resume starts a new snapshot, otherwise it is the Resume of the last
// page received.
type SnapshotRequest struct {
	Header
	Terminal string `json:"terminal"`
	Resume   string `json:"resume,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// Validate checks the request.
func (s *SnapshotRequest) Validate() error {
	if err := ValidID(s.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if len(s.Resume) > maxTokenLen || s.Limit < 0 || s.Limit > MaxSnapshotCodes {
		return fmt.Errorf("snapshot request: resume at most %d bytes, limit 0 to %d", maxTokenLen, MaxSnapshotCodes)
	}
	return nil
}

// SnapshotPage is one page of everything a terminal's store may redeem, as
// of the hub's feed seq AsOf: after the Last page, the terminal follows the
// feed from AsOf. Stores, campaigns, keys and locks come on the first page;
// codes are paged. The same pages, one JSON object a line, are the snapshot
// file `hexiao-terminal import` reads. Acked, for a snapshot made for one
// Terminal, is the seq up to which that terminal's own events are already
// counted in the codes' uses; the terminal re-applies only its later ones.
type SnapshotPage struct {
	Header
	Terminal  string           `json:"terminal,omitempty"`
	Snapshot  string           `json:"snapshot"`
	AsOf      uint64           `json:"as_of"`
	Acked     uint64           `json:"acked,omitempty"` // Terminal's events up to this seq are counted in it
	Page      int              `json:"page"`
	Stores    []Store          `json:"stores,omitempty"`
	Campaigns []Campaign       `json:"campaigns,omitempty"`
	Keys      []IssuingKey     `json:"keys,omitempty"`
	Locks     []SettlementLock `json:"locks,omitempty"`
	Codes     []CodeState      `json:"codes,omitempty"`
	Resume    string           `json:"resume,omitempty"`
	Last      bool             `json:"last"`
	Problem   *Problem         `json:"problem,omitempty"`
}

// Validate checks the page and everything in it.
func (s *SnapshotPage) Validate() error {
	if s.Terminal != "" {
		if err := ValidID(s.Terminal); err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
	}
	if s.Acked != 0 && s.Terminal == "" {
		return fmt.Errorf("snapshot page %d: acked needs the terminal it counts", s.Page)
	}
	if s.Problem != nil {
		if len(s.Stores)+len(s.Campaigns)+len(s.Keys)+len(s.Locks)+len(s.Codes) > 0 || s.Resume != "" {
			return fmt.Errorf("snapshot page: a problem page carries nothing else")
		}
		return s.Problem.validate()
	}
	if err := ValidID(s.Snapshot); err != nil {
		return fmt.Errorf("snapshot id: %w", err)
	}
	if s.Page < 0 || len(s.Resume) > maxTokenLen || s.Last != (s.Resume == "") {
		return fmt.Errorf("snapshot page %d: resume is set exactly on pages before the last", s.Page)
	}
	if len(s.Codes) > MaxSnapshotCodes {
		return fmt.Errorf("snapshot page %d: %d codes, more than %d", s.Page, len(s.Codes), MaxSnapshotCodes)
	}
	for i := range s.Stores {
		if err := s.Stores[i].Validate(); err != nil {
			return fmt.Errorf("snapshot page %d: %w", s.Page, err)
		}
	}
	for i := range s.Campaigns {
		if err := s.Campaigns[i].Validate(); err != nil {
			return fmt.Errorf("snapshot page %d: %w", s.Page, err)
		}
	}
	for i := range s.Keys {
		if err := s.Keys[i].Validate(); err != nil {
			return fmt.Errorf("snapshot page %d: %w", s.Page, err)
		}
	}
	for i := range s.Locks {
		if err := s.Locks[i].Validate(); err != nil {
			return fmt.Errorf("snapshot page %d: %w", s.Page, err)
		}
	}
	for i := range s.Codes {
		if err := s.Codes[i].Validate(); err != nil {
			return fmt.Errorf("snapshot page %d: %w", s.Page, err)
		}
	}
	return nil
}

// PresenceState is a terminal's connection state as its presence says.
type PresenceState string

// The presence states: online is the birth message, offline the last will
// (or a clean goodbye).
const (
	PresenceOnline  PresenceState = "online"
	PresenceOffline PresenceState = "offline"
)

// Presence is a terminal's retained birth message and its last will. The hub
// measures clock skew by comparing Clock with its own receive time, but only
// on a live delivery: a retained copy (delivered with the retain flag, e.g.
// after the hub restarts) carries an old clock and says nothing about skew.
type Presence struct {
	Header
	Terminal    string        `json:"terminal"`
	Store       string        `json:"store,omitempty"`
	State       PresenceState `json:"state"`
	Protocol    string        `json:"protocol,omitempty"` // protocol Version
	App         string        `json:"app,omitempty"`      // build version
	Mode        Mode          `json:"mode,omitempty"`     // how the terminal decides now
	Outbox      int           `json:"outbox"`             // events not yet acknowledged
	OfflineAge  Duration      `json:"offline_age,omitzero"`
	LastContact time.Time     `json:"last_contact,omitzero"`
	Clock       time.Time     `json:"clock,omitzero"` // terminal time at publish
}

// Validate checks the presence. A last will carries only the terminal and
// the offline state, since it is written long before it is sent.
func (p *Presence) Validate() error {
	if err := ValidID(p.Terminal); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	switch p.State {
	case PresenceOffline:
		return nil
	case PresenceOnline:
	default:
		return fmt.Errorf("presence: state %q, want online or offline", p.State)
	}
	if err := ValidID(p.Store); err != nil {
		return fmt.Errorf("presence store: %w", err)
	}
	if _, err := parseVersion(p.Protocol); err != nil {
		return fmt.Errorf("presence protocol: %w", err)
	}
	if len(p.App) > maxVersionLen || p.Outbox < 0 || p.OfflineAge < 0 || p.Clock.IsZero() {
		return fmt.Errorf("presence: want app ≤ %d bytes, outbox and offline_age ≥ 0, and clock", maxVersionLen)
	}
	if p.Mode != ModeOnline && p.Mode != ModeOffline {
		return fmt.Errorf("presence: mode %q, want online or offline", p.Mode)
	}
	return nil
}

// VersionAnnounce is the hub's retained statement of the protocol it
// speaks. A terminal checks CheckCompatible(Protocol, Version) before it
// redeems online and refuses to run if they are incompatible.
type VersionAnnounce struct {
	Header
	Protocol string    `json:"protocol"`
	App      string    `json:"app,omitempty"`
	At       time.Time `json:"at"`
}

// Validate checks the announcement.
func (v *VersionAnnounce) Validate() error {
	if _, err := parseVersion(v.Protocol); err != nil {
		return fmt.Errorf("version announce: %w", err)
	}
	if len(v.App) > maxVersionLen || v.At.IsZero() {
		return fmt.Errorf("version announce: want app ≤ %d bytes and at", maxVersionLen)
	}
	return nil
}

// CheckOrigin checks that a message received from a terminal names that
// terminal and, where it names one, the store it is enrolled in. The hub
// takes terminal and store from the topic, the broker login and enrollment,
// never from the payload, and refuses a payload that claims otherwise.
func CheckOrigin(m Message, terminal, store string) error {
	var gotTerminal, gotStore string
	switch v := m.(type) {
	case *EventBatch:
		gotTerminal = v.Terminal
	case *ClaimRequest:
		gotTerminal, gotStore = v.Terminal, v.Store
	case *FeedRequest:
		gotTerminal = v.Terminal
	case *SnapshotRequest:
		gotTerminal = v.Terminal
	case *Presence:
		gotTerminal, gotStore = v.Terminal, v.Store
	default:
		return fmt.Errorf("%T is not sent by terminals", m)
	}
	if gotTerminal != terminal {
		return fmt.Errorf("%T names terminal %q, sender is %q", m, gotTerminal, terminal)
	}
	if gotStore != "" && gotStore != store {
		return fmt.Errorf("%T names store %q, terminal %s is enrolled in %q", m, gotStore, terminal, store)
	}
	return nil
}
