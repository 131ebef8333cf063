package hub

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hexiao/hexiao/protocol"
)

// Enrolled is what a new terminal receives for its enrollment token: its
// identity and store, its MQTT password (the hub keeps only its hash), the
// card-secret pepper its cache hashes with, and the issuing public keys it
// verifies signed codes with. The rest (campaigns, codes) comes by snapshot.
type Enrolled struct {
	Terminal    string                `json:"terminal"`
	Store       protocol.Store        `json:"store"`
	Password    string                `json:"mqtt_password"`
	Pepper      []byte                `json:"pepper"`
	IssuingKeys []protocol.IssuingKey `json:"issuing_keys"`
}

// NormalizeToken reads an enrollment token as typed or scanned: case,
// spaces and hyphens do not matter.
func NormalizeToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\r', '\n':
			return -1
		}
		return r
	}, strings.ToUpper(s))
}

// Enroll exchanges a one-time enrollment token and the terminal's own
// event-signing public key for the terminal's identity and credentials. The
// token works once, before it expires; a second use is refused and leaves
// the enrolled terminal as it is.
func (h *Hub) Enroll(ctx context.Context, token string, public ed25519.PublicKey) (Enrolled, error) {
	tok := NormalizeToken(token)
	if tok == "" {
		return Enrolled{}, invalid("token: empty")
	}
	if len(public) != ed25519.PublicKeySize {
		return Enrolled{}, invalid("public_key: %d bytes, want an Ed25519 key of %d", len(public), ed25519.PublicKeySize)
	}
	var raw [24]byte
	if _, err := io.ReadFull(h.rand, raw[:]); err != nil {
		return Enrolled{}, err
	}
	password := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(tok))
	var out Enrolled
	err := h.update(ctx, func(w *writer) error {
		e, err := w.tx.Enrollment(sum[:])
		if errors.Is(err, ErrNotFound) {
			return notFound("unknown enrollment token (check it, or ask HQ for a new one)")
		}
		if err != nil {
			return err
		}
		switch {
		case !e.Used.IsZero():
			return conflict("this enrollment token was used at %s; ask HQ for a new one", e.Used.Format("2006-01-02 15:04 MST"))
		case !w.now.Before(e.Expires):
			return conflict("this enrollment token expired at %s; ask HQ for a new one", e.Expires.Format("2006-01-02 15:04 MST"))
		}
		if _, err := w.tx.Terminal(e.Terminal); err == nil {
			return conflict("terminal %s is already enrolled", e.Terminal)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		store, err := w.tx.StoreByID(e.Store)
		if err != nil {
			return fmt.Errorf("store %s of the enrollment: %w", e.Store, err)
		}
		keys, err := w.tx.Keys()
		if err != nil {
			return err
		}
		pw := sha256.Sum256([]byte(password))
		t := Terminal{ID: e.Terminal, Store: e.Store, Public: public, Secret: pw[:], Status: TerminalActive, Created: w.now}
		if err := w.tx.PutTerminal(t); err != nil {
			return err
		}
		e.Used = w.now
		if err := w.tx.PutEnrollment(e); err != nil {
			return err
		}
		w.term = &t
		out = Enrolled{Terminal: t.ID, Store: store, Password: password, Pepper: append([]byte(nil), h.sec.Pepper...)}
		for _, k := range keys {
			out.IssuingKeys = append(out.IssuingKeys, k.IssuingKey)
		}
		return nil
	})
	if err != nil {
		return Enrolled{}, err
	}
	h.log.Info("terminal enrolled", "terminal", out.Terminal, "store", out.Store.ID)
	return out, nil
}
