package hub

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// keyBackdate is how far before its creation a new issuing key is valid, so
// a terminal whose clock runs slow does not call a fresh code not yet valid.
// No code can be signed with it before it exists, so this admits nothing
// false.
const keyBackdate = 24 * 60 * 60 // seconds

// RotateKey makes a new issuing key, the one new codes are signed with from
// now on. Older keys stay valid for the codes they signed (retire a leaked
// one with RetireKey). Terminals learn the key through the feed.
func (h *Hub) RotateKey(ctx context.Context) (protocol.IssuingKey, error) {
	var idb [4]byte
	if _, err := io.ReadFull(h.rand, idb[:]); err != nil {
		return protocol.IssuingKey{}, fmt.Errorf("key id: %w", err)
	}
	now := h.now().UTC()
	id := "k" + now.Format("060102") + hex.EncodeToString(idb[:]) // at most 16 characters
	sk, err := protocol.GenerateSigningKey(id, h.rand, now.Add(-keyBackdate*1e9).Truncate(1e9), time.Time{})
	if err != nil {
		return protocol.IssuingKey{}, err
	}
	k := Key{IssuingKey: sk.IssuingKey, SealedPrivate: h.sec.Seal("key/"+id, sk.Private.Seed()), Created: now}
	var keys []Key
	err = h.update(ctx, func(w *writer) error {
		if err := w.tx.PutKey(k); err != nil {
			return err
		}
		if err := w.tx.SetMeta(metaSigner, []byte(id)); err != nil {
			return err
		}
		if err := w.change(protocol.Change{Kind: protocol.ChangeKey, Key: &k.IssuingKey}, Audience{All: true}); err != nil {
			return err
		}
		keys, err = w.tx.Keys()
		return err
	})
	if err != nil {
		return protocol.IssuingKey{}, fmt.Errorf("rotate key: %w", err)
	}
	if err := h.setKeys(keys, id); err != nil {
		return protocol.IssuingKey{}, err
	}
	h.log.Info("issuing key created", "key", id)
	return k.IssuingKey, nil
}

// RetireKey ends a key's validity now (a leak): every code it signed is
// refused from then on, at every terminal that has heard.
func (h *Hub) RetireKey(ctx context.Context, id string) (protocol.IssuingKey, error) {
	var out protocol.IssuingKey
	var keys []Key
	err := h.update(ctx, func(w *writer) error {
		all, err := w.tx.Keys()
		if err != nil {
			return err
		}
		for _, k := range all {
			if k.ID != id {
				continue
			}
			now := h.now().UTC().Truncate(1e9)
			if !k.NotAfter.IsZero() && !k.NotAfter.After(now) {
				out = k.IssuingKey
				keys = all
				return nil
			}
			if !now.After(k.NotBefore) {
				now = k.NotBefore.Add(1e9)
			}
			k.NotAfter = now
			if err := w.tx.PutKey(k); err != nil {
				return err
			}
			if err := w.change(protocol.Change{Kind: protocol.ChangeKey, Key: &k.IssuingKey}, Audience{All: true}); err != nil {
				return err
			}
			out = k.IssuingKey
			keys, err = w.tx.Keys()
			return err
		}
		return notFound("no issuing key %q", id)
	})
	if err != nil {
		return out, err
	}
	return out, h.setKeys(keys, h.signerID())
}

// Keys returns the issuing keys' public halves, oldest first.
func (h *Hub) Keys() []protocol.IssuingKey {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ring.Keys()
}

// metaSigner is the ledger meta key naming the key new codes are signed with.
const metaSigner = "signing_key"

func (h *Hub) signerID() string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.signer == nil {
		return ""
	}
	return h.signer.ID
}

// setKeys rebuilds the ring and picks the signer: the key named current
// when it is still valid without an end, else the newest such key.
func (h *Hub) setKeys(keys []Key, current string) error {
	pub := make([]protocol.IssuingKey, len(keys))
	for i, k := range keys {
		pub[i] = k.IssuingKey
	}
	ring, err := protocol.NewKeyRing(pub...)
	if err != nil {
		return err
	}
	sorted := append([]Key(nil), keys...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if (sorted[i].ID == current) != (sorted[j].ID == current) {
			return sorted[i].ID == current
		}
		return sorted[i].Created.After(sorted[j].Created)
	})
	var signer *protocol.SigningKey
	for _, k := range sorted {
		if !k.NotAfter.IsZero() {
			continue
		}
		seed, err := h.sec.Open("key/"+k.ID, k.SealedPrivate)
		if err != nil {
			return err
		}
		if len(seed) != ed25519.SeedSize {
			return fmt.Errorf("issuing key %s: private seed of %d bytes", k.ID, len(seed))
		}
		signer = &protocol.SigningKey{IssuingKey: k.IssuingKey, Private: ed25519.NewKeyFromSeed(seed)}
		break
	}
	h.mu.Lock()
	h.ring, h.signer = ring, signer
	h.mu.Unlock()
	return nil
}

func (h *Hub) signingKey() (*protocol.SigningKey, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.signer == nil {
		return nil, errors.New("no issuing key is valid: rotate to make one")
	}
	return h.signer, nil
}
