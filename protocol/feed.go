package protocol

import (
	"fmt"
	"time"
)

// ChangeKind says what a change-feed entry changes.
type ChangeKind string

// The change kinds. Each carries exactly one payload: Store, Campaign, Key,
// Lock or Code.
const (
	ChangeStore        ChangeKind = "store"         // Store: a store's region or time zone
	ChangeCampaign     ChangeKind = "campaign"      // Campaign: created or edited
	ChangeKey          ChangeKind = "key"           // Key: issuing key added or retired
	ChangeLock         ChangeKind = "lock"          // Lock: a store's day settled
	ChangeCodeIssued   ChangeKind = "code_issued"   // Code: signed or dynamic code issued
	ChangeCodeImported ChangeKind = "code_imported" // Code: card secret imported
	ChangeCodeRevoked  ChangeKind = "code_revoked"  // Code: revoked for good
	ChangeCodeBlocked  ChangeKind = "code_blocked"  // Code: blocked (e.g. suspected leak)
	ChangeCodeUnblock  ChangeKind = "code_unblocked"
	ChangeCodeRedeemed ChangeKind = "code_redeemed" // Code: uses_left after a redemption elsewhere
	ChangeCodeVoided   ChangeKind = "code_voided"   // Code: uses_left after a void elsewhere
)

// CodeStatus is a code's standing at the hub.
type CodeStatus string

// The code statuses.
const (
	StatusActive  CodeStatus = "active"
	StatusRevoked CodeStatus = "revoked"
	StatusBlocked CodeStatus = "blocked"
)

// CodeState is what a terminal caches about one code. A card secret travels
// only as its keyed hash; a dynamic code's seed travels inside the TLS link
// and is encrypted at rest by the terminal. Scope and validity narrower than
// the campaign's are set here; empty means the campaign's.
type CodeState struct {
	ID         string      `json:"id"`
	Campaign   string      `json:"campaign"`
	Format     Format      `json:"format"`
	SecretHash *SecretHash `json:"secret_hash,omitempty"`
	Seed       []byte      `json:"seed,omitempty"`
	Uses       int         `json:"uses"`
	UsesLeft   int         `json:"uses_left"`
	Status     CodeStatus  `json:"status"`
	ValidFrom  time.Time   `json:"valid_from,omitzero"`
	ValidUntil time.Time   `json:"valid_until,omitzero"`
	Stores     []string    `json:"stores,omitempty"`
	Regions    []string    `json:"regions,omitempty"`
	LastUsed   time.Time   `json:"last_used,omitzero"`  // last redemption anywhere, for min_interval
	LastStep   int64       `json:"last_step,omitempty"` // last TOTP step accepted anywhere
}

// Validate checks the code state for its format.
func (c *CodeState) Validate() error {
	if err := ValidCodeID(c.ID); err != nil {
		return err
	}
	if err := ValidID(c.Campaign); err != nil {
		return fmt.Errorf("code %s campaign: %w", c.ID, err)
	}
	switch c.Format {
	case FormatSigned:
		if c.SecretHash != nil || c.Seed != nil {
			return fmt.Errorf("code %s: a signed code carries no secret hash or seed", c.ID)
		}
	case FormatSecret:
		if c.SecretHash == nil || c.Seed != nil {
			return fmt.Errorf("code %s: a card secret carries its secret_hash and no seed", c.ID)
		}
	case FormatDynamic:
		if len(c.Seed) < MinSeedLen || len(c.Seed) > 64 || c.SecretHash != nil {
			return fmt.Errorf("code %s: a dynamic code carries a seed of %d to 64 bytes and no secret hash", c.ID, MinSeedLen)
		}
	default:
		return fmt.Errorf("code %s: format %q, want signed, secret or dynamic", c.ID, c.Format)
	}
	if c.Uses < 1 || c.Uses > MaxUses || c.UsesLeft < 0 || c.UsesLeft > c.Uses {
		return fmt.Errorf("code %s: uses %d and uses_left %d out of range", c.ID, c.Uses, c.UsesLeft)
	}
	switch c.Status {
	case StatusActive, StatusRevoked, StatusBlocked:
	default:
		return fmt.Errorf("code %s: status %q, want active, revoked or blocked", c.ID, c.Status)
	}
	if !c.ValidFrom.IsZero() && !c.ValidUntil.IsZero() && !c.ValidUntil.After(c.ValidFrom) {
		return fmt.Errorf("code %s: valid_until is not after valid_from", c.ID)
	}
	if c.LastStep < 0 || c.LastStep != 0 && c.Format != FormatDynamic {
		return fmt.Errorf("code %s: last_step belongs to dynamic codes and is not negative", c.ID)
	}
	if err := validIDs("code "+c.ID+" stores", c.Stores); err != nil {
		return err
	}
	return validIDs("code "+c.ID+" regions", c.Regions)
}

// SettlementLock closes a store's business day: no void of that day's
// redemptions is accepted after it.
type SettlementLock struct {
	Store string    `json:"store"`
	Day   string    `json:"day"` // YYYY-MM-DD in the store's time zone
	At    time.Time `json:"at"`
}

// Validate checks the lock.
func (l *SettlementLock) Validate() error {
	if err := ValidID(l.Store); err != nil {
		return fmt.Errorf("lock store: %w", err)
	}
	if _, err := time.Parse(time.DateOnly, l.Day); err != nil {
		return fmt.Errorf("lock day %q: want YYYY-MM-DD", l.Day)
	}
	return nil
}

// Change is one entry of the hub's change feed. Seq is the hub's sequence
// number: strictly increasing across the whole chain, so a store's filtered
// feed has gaps and a cursor is the last Seq a terminal applied.
type Change struct {
	Seq      uint64          `json:"seq"`
	Kind     ChangeKind      `json:"kind"`
	At       time.Time       `json:"at"`
	Store    *Store          `json:"store,omitempty"`
	Campaign *Campaign       `json:"campaign,omitempty"`
	Key      *IssuingKey     `json:"key,omitempty"`
	Lock     *SettlementLock `json:"lock,omitempty"`
	Code     *CodeState      `json:"code,omitempty"`
	By       *ChangeOrigin   `json:"by,omitempty"` // since 1.2.0: who redeemed or voided, on code_redeemed and code_voided only
}

// ChangeOrigin names the event behind a code_redeemed or code_voided change:
// which terminal of which store redeemed or voided the code, when (the
// terminal's clock), how many uses, for how much, online or offline, and by
// which cashier. It never carries a card secret: the code is Change.Code's id.
// Terminals older than 1.2.0 ignore it.
//
// Undone marks the hub giving back an online claim that its terminal's
// journal does not record as claimed (it refused offline after all, or
// redeemed other uses): the redemption (or void) Terminal:Seq that an
// earlier change named did not happen as named. It reverses the change's
// kind: a code_voided change undoes a redemption, a code_redeemed change a
// void. A change about the event the terminal did record follows it.
type ChangeOrigin struct {
	Terminal string    `json:"terminal"`
	Store    string    `json:"store"`
	Seq      uint64    `json:"seq"`  // the event's seq in Terminal's journal
	Kind     EventKind `json:"kind"` // redemption or void
	Uses     int       `json:"uses"`
	Amount   int64     `json:"amount"` // fen
	Mode     Mode      `json:"mode"`
	Cashier  string    `json:"cashier,omitempty"`
	At       time.Time `json:"at"` // the event's terminal time
	Undone   bool      `json:"undone,omitempty"`
}

// Event returns the origin's event identity.
func (o *ChangeOrigin) Event() EventRef { return EventRef{Terminal: o.Terminal, Seq: o.Seq} }

// OriginOf returns the origin a redemption or void event gives the change it
// causes.
func OriginOf(e *Event) *ChangeOrigin {
	return &ChangeOrigin{Terminal: e.Terminal, Store: e.Store, Seq: e.Seq, Kind: e.Kind, Uses: e.Uses,
		Amount: e.Amount, Mode: e.Mode, Cashier: e.Cashier, At: e.At}
}

// Validate checks the origin of a change of the given kind: a redemption
// behind code_redeemed, a void behind code_voided.
func (o *ChangeOrigin) Validate(kind ChangeKind) error {
	want := map[ChangeKind]EventKind{ChangeCodeRedeemed: KindRedemption, ChangeCodeVoided: KindVoid}[kind]
	if want == "" {
		return fmt.Errorf("by is set only on code_redeemed and code_voided, not %s", kind)
	}
	undo := ""
	if o.Undone {
		want, undo = map[EventKind]EventKind{KindRedemption: KindVoid, KindVoid: KindRedemption}[want], " undone"
	}
	if o.Kind != want {
		return fmt.Errorf("by: kind %q, want %s%s on %s", o.Kind, want, undo, kind)
	}
	if err := ValidID(o.Terminal); err != nil {
		return fmt.Errorf("by terminal: %w", err)
	}
	if err := ValidID(o.Store); err != nil {
		return fmt.Errorf("by store: %w", err)
	}
	if o.Seq == 0 {
		return fmt.Errorf("by: seq must be positive")
	}
	if o.Uses < 1 || o.Uses > MaxUses {
		return fmt.Errorf("by: uses %d, want 1 to %d", o.Uses, MaxUses)
	}
	if o.Amount < 0 || o.Amount > MaxMoney {
		return fmt.Errorf("by: amount %d out of range", o.Amount)
	}
	if o.Mode != ModeOnline && o.Mode != ModeOffline {
		return fmt.Errorf("by: mode %q, want online or offline", o.Mode)
	}
	if o.Cashier != "" {
		if err := ValidID(o.Cashier); err != nil {
			return fmt.Errorf("by cashier: %w", err)
		}
	}
	if o.At.IsZero() {
		return fmt.Errorf("by: missing time")
	}
	return nil
}

// Validate checks that the change carries exactly the payload its kind
// needs and that the payload is valid.
func (c *Change) Validate() error {
	if c.Seq == 0 {
		return fmt.Errorf("change: seq must be positive")
	}
	n := 0
	for _, set := range []bool{c.Store != nil, c.Campaign != nil, c.Key != nil, c.Lock != nil, c.Code != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("change %d: carries %d payloads, want exactly one", c.Seq, n)
	}
	var err error
	switch c.Kind {
	case ChangeStore:
		if c.Store == nil {
			return fmt.Errorf("change %d: kind store without a store", c.Seq)
		}
		err = c.Store.Validate()
	case ChangeCampaign:
		if c.Campaign == nil {
			return fmt.Errorf("change %d: kind campaign without a campaign", c.Seq)
		}
		err = c.Campaign.Validate()
	case ChangeKey:
		if c.Key == nil {
			return fmt.Errorf("change %d: kind key without a key", c.Seq)
		}
		err = c.Key.Validate()
	case ChangeLock:
		if c.Lock == nil {
			return fmt.Errorf("change %d: kind lock without a lock", c.Seq)
		}
		err = c.Lock.Validate()
	case ChangeCodeIssued, ChangeCodeImported, ChangeCodeRevoked, ChangeCodeBlocked,
		ChangeCodeUnblock, ChangeCodeRedeemed, ChangeCodeVoided:
		if c.Code == nil {
			return fmt.Errorf("change %d: kind %s without a code", c.Seq, c.Kind)
		}
		err = c.Code.Validate()
	default:
		return fmt.Errorf("change %d: unknown kind %q", c.Seq, c.Kind)
	}
	if err == nil && c.By != nil {
		err = c.By.Validate(c.Kind)
	}
	if err != nil {
		return fmt.Errorf("change %d: %w", c.Seq, err)
	}
	return nil
}

// validChanges checks a list of changes: each valid, seqs strictly
// increasing and above after.
func validChanges(after uint64, cs []Change) error {
	if len(cs) > MaxPageChanges {
		return fmt.Errorf("%d changes, more than %d", len(cs), MaxPageChanges)
	}
	prev := after
	for i := range cs {
		if err := cs[i].Validate(); err != nil {
			return err
		}
		if cs[i].Seq <= prev {
			return fmt.Errorf("change seq %d does not follow %d", cs[i].Seq, prev)
		}
		prev = cs[i].Seq
	}
	return nil
}
