package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// SkewLimit is the clock difference beyond which a terminal is flagged:
// its offline time rules then run on hub-corrected time.
const SkewLimit = 2 * time.Minute

// TerminalSpec is what registering a terminal needs: its id, store, event
// signing public key and MQTT password.
type TerminalSpec struct {
	ID       string
	Store    string
	Public   ed25519.PublicKey
	Password []byte
}

// RegisterTerminal enrolls a terminal directly (enrollment tokens do the
// same from the counter).
func (h *Hub) RegisterTerminal(ctx context.Context, spec TerminalSpec) (TerminalInfo, error) {
	if err := protocol.ValidID(spec.ID); err != nil {
		return TerminalInfo{}, invalid("terminal id: %v", err)
	}
	if _, ok := h.storeByID(spec.Store); !ok {
		return TerminalInfo{}, notFound("no store %q", spec.Store)
	}
	if len(spec.Public) != ed25519.PublicKeySize {
		return TerminalInfo{}, invalid("terminal %s: public key of %d bytes, want %d", spec.ID, len(spec.Public), ed25519.PublicKeySize)
	}
	if len(spec.Password) < 16 {
		return TerminalInfo{}, invalid("terminal %s: MQTT password of %d bytes, want at least 16", spec.ID, len(spec.Password))
	}
	sum := sha256.Sum256(spec.Password)
	t := Terminal{ID: spec.ID, Store: spec.Store, Public: spec.Public, Secret: sum[:], Status: TerminalActive, Created: h.now().UTC()}
	err := h.update(ctx, func(w *writer) error {
		if _, err := w.tx.Terminal(t.ID); err == nil {
			return conflict("terminal %s exists", t.ID)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := w.tx.PutTerminal(t); err != nil {
			return err
		}
		w.term = &t
		return nil
	})
	if err != nil {
		return TerminalInfo{}, err
	}
	return InfoOf(t), nil
}

// RevokeTerminal shuts a terminal out: its login is refused, its events
// are refused, and on its next contact it is told to wipe its cache.
func (h *Hub) RevokeTerminal(ctx context.Context, id string) (TerminalInfo, error) {
	var t Terminal
	err := h.update(ctx, func(w *writer) error {
		var err error
		t, err = w.tx.Terminal(id)
		if errors.Is(err, ErrNotFound) {
			return notFound("no terminal %q", id)
		}
		if err != nil || t.Status == TerminalRevoked {
			return err
		}
		t.Status = TerminalRevoked
		if err := w.tx.PutTerminal(t); err != nil {
			return err
		}
		w.term = &t
		return nil
	})
	if err != nil {
		return TerminalInfo{}, err
	}
	return InfoOf(t), nil
}

// Login checks a terminal's MQTT password for the broker and returns its
// store.
func (h *Hub) Login(terminal string, password []byte) (string, error) {
	t, err := h.terminal(context.Background(), terminal)
	if err != nil {
		return "", err
	}
	if !t.passwordIs(password) {
		return "", errors.New("wrong password")
	}
	if t.Status != TerminalActive {
		return "", fmt.Errorf("terminal %s is revoked", terminal)
	}
	return t.Store, nil
}

// Presence records a terminal's birth message or last will. A live
// delivery (not a retained copy) measures the terminal's clock skew; when
// the skew becomes flagged (beyond SkewLimit, either way) it raises a
// clock_skew alert, one open per terminal. A retained copy (the broker
// replays it when the hub subscribes) is taken only until the terminal's
// first live presence: after that it is older than what the hub has.
func (h *Hub) Presence(ctx context.Context, terminal string, p *protocol.Presence, live bool) error {
	if !live {
		if _, seen := h.livePresence.Load(terminal); seen {
			return nil // a retained copy replayed after the terminal spoke live: stale
		}
	}
	return h.update(ctx, func(w *writer) error {
		t, err := w.tx.Terminal(terminal)
		if errors.Is(err, ErrNotFound) {
			return notFound("unknown terminal %q", terminal)
		}
		if err != nil {
			return err
		}
		if err := protocol.CheckOrigin(p, terminal, t.Store); err != nil {
			return invalid("presence: %v", err)
		}
		cp := *p
		if prev := t.Presence; prev != nil && p.State == protocol.PresenceOffline {
			// A last will carries only the state (it is written long
			// before it is sent): the terminal's versions stay known.
			if cp.Protocol == "" {
				cp.Protocol = prev.Protocol
			}
			if cp.App == "" {
				cp.App = prev.App
			}
		}
		t.Presence = &cp
		wasFlagged := t.SkewFlagged()
		if live {
			t.LastSeen = w.now
			if !p.Clock.IsZero() && p.State == protocol.PresenceOnline {
				t.Skew, t.SkewKnown = p.Clock.Sub(w.now), true
			}
		}
		if err := w.tx.PutTerminal(t); err != nil {
			return err
		}
		w.term = &t
		if t.SkewFlagged() && !wasFlagged {
			if err := w.raise(skewAlert(t)); err != nil {
				return err
			}
		}
		if live {
			h.livePresence.Store(terminal, struct{}{})
		}
		return nil
	})
}

// TerminalInfo is a terminal as GET /api/v1/terminals shows it.
type TerminalInfo struct {
	ID       string         `json:"id"`
	Store    string         `json:"store"`
	Status   TerminalStatus `json:"status"`
	Online   bool           `json:"online"`
	LastSeen time.Time      `json:"last_seen,omitzero"`
	Protocol string         `json:"protocol,omitempty"`
	// Incompatible says why the terminal's protocol cannot work with this
	// hub's (it then refuses to redeem online); empty when it can.
	Incompatible string             `json:"incompatible,omitempty"`
	App          string             `json:"app,omitempty"`
	Mode         protocol.Mode      `json:"mode,omitempty"`
	Outbox       int                `json:"outbox"`
	OfflineAge   protocol.Duration  `json:"offline_age"`
	ClockSkew    *protocol.Duration `json:"clock_skew"` // terminal minus hub; null until measured
	SkewFlagged  bool               `json:"skew_flagged"`
	Acked        uint64             `json:"acked"` // ack watermark
	Created      time.Time          `json:"created"`
}

// InfoOf shows a terminal as GET /api/v1/terminals and the event stream
// do.
func InfoOf(t Terminal) TerminalInfo {
	i := TerminalInfo{ID: t.ID, Store: t.Store, Status: t.Status, LastSeen: t.LastSeen, Acked: t.Head, Created: t.Created}
	if p := t.Presence; p != nil {
		i.Online = p.State == protocol.PresenceOnline && t.Status == TerminalActive
		i.Protocol, i.App, i.Mode, i.Outbox, i.OfflineAge = p.Protocol, p.App, p.Mode, p.Outbox, p.OfflineAge
		if p.State == protocol.PresenceOnline && p.Protocol != "" {
			if err := protocol.CheckCompatible(protocol.Version, p.Protocol); err != nil {
				i.Incompatible = err.Error()
			}
		}
	}
	if t.SkewKnown {
		d := protocol.Duration(t.Skew)
		i.ClockSkew = &d
		i.SkewFlagged = t.SkewFlagged()
	}
	return i
}

// skewAlert is the clock_skew alert of t, whose skew is flagged.
func skewAlert(t Terminal) Alert {
	off, dir := t.Skew, "ahead of"
	if off < 0 {
		off, dir = -off, "behind"
	}
	return Alert{Kind: AlertClockSkew, Key: t.ID, Stores: []string{t.Store}, Terminals: []string{t.ID},
		Detail: fmt.Sprintf("terminal %s's clock is %s %s the hub's (limit %s); the hub reads its events' times corrected until it is set right",
			t.ID, off, dir, SkewLimit)}
}

// Terminals lists every terminal with what the hub last heard from it.
func (h *Hub) Terminals(ctx context.Context) ([]TerminalInfo, error) {
	var out []TerminalInfo
	err := h.store.View(ctx, func(r Reader) error {
		ts, err := r.Terminals()
		for _, t := range ts {
			out = append(out, InfoOf(t))
		}
		return err
	})
	return out, err
}

// EnrollmentToken is a one-time token for a new terminal of a store.
type EnrollmentToken struct {
	Token     string    `json:"token"`
	Store     string    `json:"store"`
	Terminal  string    `json:"terminal"`
	ExpiresAt time.Time `json:"expires_at"`
}

var tokenEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// CreateEnrollment makes a one-time token for terminal (a new id) to join
// store; it expires after the hub's EnrollmentTTL. The token is upper-case
// base32, so it fits a QR code's alphanumeric mode, and only its hash is
// stored.
func (h *Hub) CreateEnrollment(ctx context.Context, store, terminal string) (EnrollmentToken, error) {
	if _, ok := h.storeByID(store); !ok {
		return EnrollmentToken{}, notFound("no store %q", store)
	}
	if err := protocol.ValidID(terminal); err != nil {
		return EnrollmentToken{}, invalid("terminal: %v", err)
	}
	var raw [20]byte
	if _, err := io.ReadFull(h.rand, raw[:]); err != nil {
		return EnrollmentToken{}, err
	}
	tok := tokenEnc.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	now := h.now().UTC()
	e := Enrollment{TokenHash: sum[:], Store: store, Terminal: terminal, Created: now, Expires: now.Add(h.cfg.EnrollmentTTL)}
	err := h.update(ctx, func(w *writer) error {
		if _, err := w.tx.Terminal(terminal); err == nil {
			return conflict("terminal %s is already enrolled", terminal)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return w.tx.PutEnrollment(e)
	})
	if err != nil {
		return EnrollmentToken{}, err
	}
	return EnrollmentToken{Token: tok, Store: store, Terminal: terminal, ExpiresAt: e.Expires}, nil
}

// TerminalStatus tells a terminal that cannot log in to the broker whether
// it was revoked, so it wipes its cache only on the hub's word (a broker
// refuses a wrong password and a revoked terminal alike). The MQTT password
// is the credential: an unknown terminal and a wrong password get the same
// not-found error, so the answer reveals nothing to a stranger.
func (h *Hub) TerminalStatus(ctx context.Context, id string, password []byte) (TerminalStatus, error) {
	t, err := h.terminal(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) && AsError(err) == nil {
		return "", err
	}
	if err != nil || !t.passwordIs(password) {
		return "", notFound("no terminal %q with that password", id)
	}
	return t.Status, nil
}

// passwordIs reports, in constant time, whether password is t's MQTT
// password (the hub keeps its SHA-256).
func (t Terminal) passwordIs(password []byte) bool {
	sum := sha256.Sum256(password)
	return len(t.Secret) == len(sum) && subtle.ConstantTimeCompare(sum[:], t.Secret) == 1
}
