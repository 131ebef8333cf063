package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EventKind says what an event records.
type EventKind string

// The event kinds.
const (
	KindRedemption EventKind = "redemption" // uses consumed; reason accepted
	KindVoid       EventKind = "void"       // a redemption undone; reason accepted
	KindAttempt    EventKind = "attempt"    // a refused scan; reason says why
	KindZReport    EventKind = "z_report"   // a terminal closed its day: Z holds the totals
)

// ZReport is what a z_report event records: the terminal's numbered close
// of the period since its previous Z report (the X totals at that moment).
// The totals count the events with seq From..To; a report over no events
// has From = To + 1.
type ZReport struct {
	Number      int    `json:"number"` // 1, 2, … per terminal
	From        uint64 `json:"from"`   // first seq covered
	To          uint64 `json:"to"`     // last seq covered
	Redemptions int    `json:"redemptions"`
	Uses        int    `json:"uses"`
	Value       int64  `json:"value"` // fen
	Voids       int    `json:"voids"`
	VoidedUses  int    `json:"voided_uses"`
	VoidedValue int64  `json:"voided_value"` // fen
	Offline     int    `json:"offline"`      // redemptions decided offline
	Refused     int    `json:"refused"`      // attempts
}

// Mode is how a decision was made: with the hub's claim or from the
// terminal's cache alone.
type Mode string

// The decision modes.
const (
	ModeOnline  Mode = "online"
	ModeOffline Mode = "offline"
)

// Entry is how a code reached the terminal.
type Entry string

// The entry methods.
const (
	EntryScanned Entry = "scanned" // scanner gun, wedge or serial
	EntryKeyed   Entry = "keyed"   // typed by the cashier
	EntryECR     Entry = "ecr"     // sent by the cash register
	EntryImage   Entry = "image"   // decoded from a picture
)

// Hash is a SHA-256 digest, written as lower-case hex.
type Hash [sha256.Size]byte

// String returns the hash in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros: the prev of a terminal's first
// event.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText encodes the hash as hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error { return decodeHex32("hash", b, (*[32]byte)(h)) }

// EventRef names one event, "terminal:seq" in text.
type EventRef struct {
	Terminal string
	Seq      uint64
}

// String writes r as terminal:seq.
func (r EventRef) String() string { return r.Terminal + ":" + strconv.FormatUint(r.Seq, 10) }

// MarshalText writes r as terminal:seq.
func (r EventRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads terminal:seq.
func (r *EventRef) UnmarshalText(b []byte) error {
	v, err := ParseEventRef(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseEventRef reads terminal:seq.
func ParseEventRef(s string) (EventRef, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return EventRef{}, fmt.Errorf("event id %q: want terminal:seq", s)
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil || seq == 0 || s[i+1] == '0' {
		return EventRef{}, fmt.Errorf("event id %q: seq must be a positive integer", s)
	}
	if err := ValidID(s[:i]); err != nil {
		return EventRef{}, fmt.Errorf("event id %q: %w", s, err)
	}
	return EventRef{Terminal: s[:i], Seq: seq}, nil
}

// Event is one entry of a terminal's journal: what was decided, where, when
// and by whom. Terminal and Seq identify it everywhere; Prev chains it to the
// terminal's previous event; the body is signed with the terminal's key.
// Card secrets never appear: Code is always a code id.
type Event struct {
	V        int       `json:"v"`
	Terminal string    `json:"terminal"`
	Seq      uint64    `json:"seq"`
	Prev     Hash      `json:"prev"`
	Kind     EventKind `json:"kind"`
	At       time.Time `json:"at"` // terminal wall time
	Store    string    `json:"store"`
	Cashier  string    `json:"cashier,omitempty"`
	Mode     Mode      `json:"mode"`
	Entry    Entry     `json:"entry,omitempty"`
	Reason   Reason    `json:"reason"`
	Code     string    `json:"code,omitempty"` // code id
	Format   Format    `json:"format,omitempty"`
	Campaign string    `json:"campaign,omitempty"`
	Uses     int       `json:"uses,omitempty"`   // consumed (redemption) or restored (void)
	Amount   int64     `json:"amount,omitempty"` // face value × uses, fen
	Step     int64     `json:"step,omitempty"`   // TOTP step of a dynamic code
	OrderRef string    `json:"order_ref,omitempty"`
	IdemKey  string    `json:"idem_key,omitempty"` // the register's idempotency key
	Voids    *EventRef `json:"voids,omitempty"`    // the redemption a void undoes
	Note     string    `json:"note,omitempty"`     // void reason, attempt detail
	Z        *ZReport  `json:"z,omitempty"`        // a z_report's totals
}

// Ref returns the event's identity.
func (e *Event) Ref() EventRef { return EventRef{Terminal: e.Terminal, Seq: e.Seq} }

// MaxNoteLen bounds Event.Note and references from the register, in bytes.
const MaxNoteLen = 200

// MaxEventBytes bounds one event body. A terminal fills a batch up to
// MaxBatchEvents and MaxMessageBytes, whichever it reaches first.
const MaxEventBytes = 2048

// Validate checks that the event is well formed for its kind.
func (e *Event) Validate() error {
	if e.V != WireVersion {
		return fmt.Errorf("event v %d, want %d", e.V, WireVersion)
	}
	if err := ValidID(e.Terminal); err != nil {
		return fmt.Errorf("event terminal: %w", err)
	}
	if e.Seq == 0 {
		return fmt.Errorf("event %s: seq must start at 1", e.Terminal)
	}
	ref := e.Ref().String()
	if (e.Seq == 1) != e.Prev.IsZero() {
		return fmt.Errorf("event %s: prev must be zero exactly for seq 1", ref)
	}
	if e.At.IsZero() {
		return fmt.Errorf("event %s: missing time", ref)
	}
	if err := ValidID(e.Store); err != nil {
		return fmt.Errorf("event %s store: %w", ref, err)
	}
	if e.Cashier != "" {
		if err := ValidID(e.Cashier); err != nil {
			return fmt.Errorf("event %s cashier: %w", ref, err)
		}
	}
	if e.Mode != ModeOnline && e.Mode != ModeOffline {
		return fmt.Errorf("event %s: mode %q, want online or offline", ref, e.Mode)
	}
	switch e.Entry {
	case "", EntryScanned, EntryKeyed, EntryECR, EntryImage:
	default:
		return fmt.Errorf("event %s: entry %q, want scanned, keyed, ecr or image", ref, e.Entry)
	}
	if !e.Reason.Valid() {
		return fmt.Errorf("event %s: reason %q is not on the closed list", ref, e.Reason)
	}
	if e.Code != "" {
		if err := ValidCodeID(e.Code); err != nil {
			return fmt.Errorf("event %s: %w", ref, err)
		}
	}
	if e.Format != "" && !e.Format.Valid() {
		return fmt.Errorf("event %s: format %q", ref, e.Format)
	}
	if e.Campaign != "" {
		if err := ValidID(e.Campaign); err != nil {
			return fmt.Errorf("event %s campaign: %w", ref, err)
		}
	}
	if e.Uses < 0 || e.Uses > MaxUses || e.Amount < 0 || e.Amount > MaxMoney || e.Step < 0 {
		return fmt.Errorf("event %s: uses, amount and step must be in range", ref)
	}
	for _, s := range [...]string{e.OrderRef, e.IdemKey, e.Note} {
		if len(s) > MaxNoteLen || !utf8.ValidString(s) {
			return fmt.Errorf("event %s: order_ref, idem_key and note must be valid UTF-8 of at most %d bytes", ref, MaxNoteLen)
		}
	}
	if (e.Kind == KindZReport) != (e.Z != nil) {
		return fmt.Errorf("event %s: z is set exactly on a z_report", ref)
	}
	switch e.Kind {
	case KindRedemption, KindVoid:
		if e.Reason != Accepted {
			return fmt.Errorf("event %s: a %s records an accepted decision, not %s", ref, e.Kind, e.Reason)
		}
		if e.Code == "" || e.Campaign == "" || !e.Format.Valid() || e.Uses < 1 {
			return fmt.Errorf("event %s: a %s needs code, format, campaign and uses ≥ 1", ref, e.Kind)
		}
		if (e.Kind == KindVoid) != (e.Voids != nil) {
			return fmt.Errorf("event %s: voids is set exactly on a void", ref)
		}
		if e.Voids != nil {
			if err := ValidID(e.Voids.Terminal); err != nil || e.Voids.Seq == 0 {
				return fmt.Errorf("event %s: voids %q is not an event id", ref, e.Voids)
			}
			if e.Voids.Terminal == e.Terminal && e.Voids.Seq >= e.Seq {
				return fmt.Errorf("event %s: voids %s, which is not an earlier event", ref, e.Voids)
			}
		}
		if e.Kind == KindRedemption && e.Format == FormatDynamic && e.Step == 0 {
			return fmt.Errorf("event %s: a dynamic code's redemption needs its TOTP step", ref)
		}
	case KindAttempt:
		if e.Reason == Accepted {
			return fmt.Errorf("event %s: an attempt records a refusal, not accepted", ref)
		}
		if e.Voids != nil || e.Uses != 0 {
			return fmt.Errorf("event %s: an attempt consumes no uses and voids nothing", ref)
		}
	case KindZReport:
		return e.validateZ(ref)
	default:
		return fmt.Errorf("event %s: kind %q, want redemption, void, attempt or z_report", ref, e.Kind)
	}
	return nil
}

func (e *Event) validateZ(ref string) error {
	z := e.Z
	if e.Reason != Accepted || e.Code != "" || e.Campaign != "" || e.Format != "" || e.Uses != 0 || e.Amount != 0 || e.Voids != nil {
		return fmt.Errorf("event %s: a z_report is accepted and names no code, campaign, uses or amount", ref)
	}
	if z.Number < 1 || z.From < 1 || z.From > z.To+1 || z.To >= e.Seq {
		return fmt.Errorf("event %s: z_report number %d covers seq %d..%d, want number ≥ 1 and 1 ≤ from ≤ to+1 ≤ seq", ref, z.Number, z.From, z.To)
	}
	for _, n := range [...]int64{int64(z.Redemptions), int64(z.Uses), int64(z.Voids), int64(z.VoidedUses), int64(z.Offline), int64(z.Refused), z.Value, z.VoidedValue} {
		if n < 0 {
			return fmt.Errorf("event %s: z_report counts and values must not be negative", ref)
		}
	}
	if span := z.To + 1 - z.From; uint64(z.Redemptions)+uint64(z.Voids)+uint64(z.Refused) > span || z.Offline > z.Redemptions {
		return fmt.Errorf("event %s: z_report counts more events than seq %d..%d holds", ref, z.From, z.To)
	}
	return nil
}

// SignedEvent is an event as it travels and is stored: the exact JSON bytes
// of the body and the terminal's Ed25519 signature over them. Keeping the
// bytes (rather than re-encoding) makes the signature and the chain hash
// independent of any JSON library and of fields a newer minor version adds.
type SignedEvent struct {
	Body json.RawMessage `json:"body"`
	Sig  []byte          `json:"sig"`
}

// eventDomain separates event signatures from any other use of a terminal
// key.
const eventDomain = "hexiao/event/v1\x00"

// SignEvent validates e, encodes its body and signs it with the terminal's
// private key.
func SignEvent(priv ed25519.PrivateKey, e *Event) (SignedEvent, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return SignedEvent{}, fmt.Errorf("sign event: terminal key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	if err := e.Validate(); err != nil {
		return SignedEvent{}, fmt.Errorf("sign event: %w", err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return SignedEvent{}, fmt.Errorf("sign event: %w", err)
	}
	if len(body) > MaxEventBytes {
		return SignedEvent{}, fmt.Errorf("sign event: body is %d bytes, more than %d", len(body), MaxEventBytes)
	}
	return SignedEvent{Body: body, Sig: ed25519.Sign(priv, eventMessage(body))}, nil
}

func eventMessage(body []byte) []byte {
	msg := make([]byte, 0, len(eventDomain)+len(body))
	return append(append(msg, eventDomain...), body...)
}

// Hash returns the event's chain hash: SHA-256 of its body bytes. The next
// event of the same terminal carries it as Prev.
func (s SignedEvent) Hash() Hash { return sha256.Sum256(s.Body) }

// Decode parses and validates the body without checking the signature. The
// body must be canonical: exactly the bytes SignEvent makes of the decoded
// event. That refuses duplicate keys, keys in another case, unknown fields
// and any other spelling, so every reader of the signed bytes (Go, jq, a
// database's JSON type) sees the same event, and re-encoding a batch never
// changes a body. (The hub understands every field a terminal may send —
// CheckCompatible — so canonical means the same to both.)
func (s SignedEvent) Decode() (Event, error) {
	if len(s.Body) > MaxEventBytes {
		return Event{}, fmt.Errorf("event body is %d bytes, more than %d", len(s.Body), MaxEventBytes)
	}
	var e Event
	if err := json.Unmarshal(s.Body, &e); err != nil {
		return Event{}, fmt.Errorf("event body: %w", err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, err
	}
	canon, err := json.Marshal(&e)
	if err != nil || !bytes.Equal(canon, s.Body) {
		return Event{}, fmt.Errorf("event %s: body is not in canonical form (a duplicate, mis-cased or unknown key, or another spelling of a value)", e.Ref())
	}
	return e, nil
}

// Verify checks the signature with the terminal's public key, then decodes
// and validates the body.
func (s SignedEvent) Verify(pub ed25519.PublicKey) (Event, error) {
	if len(pub) != ed25519.PublicKeySize {
		return Event{}, fmt.Errorf("terminal public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if len(s.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, eventMessage(s.Body), s.Sig) {
		return Event{}, fmt.Errorf("event signature does not verify")
	}
	return s.Decode()
}
