package storetest

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func testStores(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		_, err := r.StoreByID("S-1")
		isErr(t, "missing store", err, hub.ErrNotFound)
		l, err := r.Stores()
		check(t, "stores", err)
		same(t, "stores of an empty ledger", len(l), 0)
		return nil
	})
	s1 := protocol.Store{ID: "S-1", Name: "上海一店", Region: "east", Timezone: "Asia/Shanghai"}
	s2 := protocol.Store{ID: "S-2", Name: "Beijing", Timezone: "Asia/Shanghai"}
	update(t, s, func(tx hub.Tx) error {
		check(t, "put s2", tx.PutStore(s2))
		check(t, "put s1", tx.PutStore(protocol.Store{ID: "S-1", Name: "old", Timezone: "UTC"}))
		return tx.PutStore(s1) // replaces
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.StoreByID("S-1")
		check(t, "store", err)
		same(t, "store S-1", got, s1)
		l, err := r.Stores()
		check(t, "stores", err)
		same(t, "stores", sortedBy(l, func(x protocol.Store) string { return x.ID }), []protocol.Store{s1, s2})
		return nil
	})
}

func testCampaigns(t *testing.T, s hub.Store) {
	c1 := protocol.Campaign{ID: "CAMP-1", Name: "咖啡券", FaceValue: 2500, Uses: 10,
		ValidFrom: at(-24 * time.Hour), ValidUntil: at(90 * 24 * time.Hour),
		Hours: []string{"08:00-11:00", "14:00-17:30"}, Stores: []string{"S-1", "S-2"}, Regions: []string{"east"},
		MinInterval: protocol.Duration(15 * time.Minute), UndoWindow: protocol.Duration(10 * time.Minute), Confirm: true,
		Offline: protocol.OfflinePolicy{Allow: true, MaxCount: 3, MaxValue: 10000, MaxAge: protocol.Duration(24 * time.Hour)}}
	c2 := protocol.Campaign{ID: "CAMP-2", Name: "plain", FaceValue: 100, Uses: 1}
	view(t, s, func(r hub.Reader) error {
		_, err := r.Campaign("CAMP-1")
		isErr(t, "missing campaign", err, hub.ErrNotFound)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		check(t, "put c1", tx.PutCampaign(protocol.Campaign{ID: "CAMP-1", Name: "first", Uses: 1}))
		check(t, "put c2", tx.PutCampaign(c2))
		return tx.PutCampaign(c1)
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Campaign("CAMP-1")
		check(t, "campaign", err)
		same(t, "campaign CAMP-1", got, c1)
		l, err := r.Campaigns()
		check(t, "campaigns", err)
		same(t, "campaigns", sortedBy(l, func(x protocol.Campaign) string { return x.ID }), []protocol.Campaign{c1, c2})
		return nil
	})
}

func testKeys(t *testing.T, s hub.Store) {
	k1 := hub.Key{IssuingKey: protocol.IssuingKey{ID: "k1", Public: ed25519.PublicKey(bytes.Repeat([]byte{1}, 32)),
		NotBefore: at(-time.Hour)}, SealedPrivate: []byte("sealed-1"), Created: t0}
	k2 := hub.Key{IssuingKey: protocol.IssuingKey{ID: "k2", Public: ed25519.PublicKey(bytes.Repeat([]byte{2}, 32)),
		NotBefore: at(time.Hour), NotAfter: at(48 * time.Hour)}, SealedPrivate: []byte("sealed-2"), Created: at(time.Minute)}
	view(t, s, func(r hub.Reader) error {
		l, err := r.Keys()
		check(t, "keys", err)
		same(t, "keys of an empty ledger", len(l), 0)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		check(t, "put k2", tx.PutKey(k2))
		return tx.PutKey(k1)
	})
	byID := func(k hub.Key) string { return k.ID }
	view(t, s, func(r hub.Reader) error {
		l, err := r.Keys()
		check(t, "keys", err)
		same(t, "keys", sortedBy(l, byID), []hub.Key{k1, k2})
		return nil
	})
	// Retiring a key: Put replaces it.
	k1.NotAfter = at(2 * time.Hour)
	update(t, s, func(tx hub.Tx) error { return tx.PutKey(k1) })
	view(t, s, func(r hub.Reader) error {
		l, err := r.Keys()
		check(t, "keys", err)
		same(t, "keys after retiring k1", sortedBy(l, byID), []hub.Key{k1, k2})
		return nil
	})
}

func newTerminal(id, store string) hub.Terminal {
	sum := sha256.Sum256([]byte("password of " + id))
	return hub.Terminal{ID: id, Store: store, Public: ed25519.PublicKey(bytes.Repeat([]byte{7}, 32)), Secret: sum[:],
		Status: hub.TerminalActive, Created: t0}
}

func testTerminals(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		_, err := r.Terminal("T-1")
		isErr(t, "missing terminal", err, hub.ErrNotFound)
		return nil
	})
	t1 := newTerminal("T-1", "S-1")
	t1.Head, t1.HeadHash = 42, sha256.Sum256([]byte("event 42"))
	t1.LastSeen = at(time.Hour)
	t1.Presence = &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: "T-1", Store: "S-1",
		State: protocol.PresenceOnline, Protocol: "1.2.0", App: "0.9.1", Mode: protocol.ModeOffline, Outbox: 17,
		OfflineAge: protocol.Duration(90 * time.Minute), LastContact: at(-90 * time.Minute), Clock: at(time.Hour - 3*time.Second)}
	t1.Skew, t1.SkewKnown = -3*time.Second-250*time.Millisecond, true
	t2 := newTerminal("T-2", "S-2") // no presence, skew never measured
	update(t, s, func(tx hub.Tx) error {
		check(t, "put t2", tx.PutTerminal(t2))
		return tx.PutTerminal(t1)
	})
	byID := func(x hub.Terminal) string { return x.ID }
	view(t, s, func(r hub.Reader) error {
		got, err := r.Terminal("T-1")
		check(t, "terminal", err)
		same(t, "terminal T-1", got, t1)
		got, err = r.Terminal("T-2")
		check(t, "terminal", err)
		same(t, "terminal T-2", got, t2)
		l, err := r.Terminals()
		check(t, "terminals", err)
		same(t, "terminals", sortedBy(l, byID), []hub.Terminal{t1, t2})
		return nil
	})
	// Put replaces every field: revoked, the will received, skew forgotten.
	t1.Status = hub.TerminalRevoked
	t1.Secret = nil
	t1.Presence = &protocol.Presence{Header: protocol.Header{V: protocol.WireVersion}, Terminal: "T-1", State: protocol.PresenceOffline}
	t1.Skew, t1.SkewKnown = 0, false
	t1.Head, t1.HeadHash = 43, sha256.Sum256([]byte("event 43"))
	t2.Presence = nil
	update(t, s, func(tx hub.Tx) error { return tx.PutTerminal(t1) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.Terminal("T-1")
		check(t, "terminal", err)
		same(t, "terminal T-1 replaced", got, t1)
		return nil
	})
}

func testSetHead(t *testing.T, s hub.Store) {
	t1 := newTerminal("T-1", "S-1")
	t2 := newTerminal("T-2", "S-1")
	h := sha256.Sum256([]byte("head"))
	update(t, s, func(tx hub.Tx) error {
		check(t, "put t1", tx.PutTerminal(t1))
		check(t, "put t2", tx.PutTerminal(t2))
		check(t, "set head", tx.SetHead("T-1", 9, h))
		got, err := tx.Terminal("T-1")
		check(t, "terminal", err)
		same(t, "head inside the update", got.Head, uint64(9))
		isErr(t, "set head of a missing terminal", tx.SetHead("T-404", 1, h), hub.ErrNotFound)
		return nil
	})
	want := t1
	want.Head, want.HeadHash = 9, h
	view(t, s, func(r hub.Reader) error {
		got, err := r.Terminal("T-1")
		check(t, "terminal", err)
		same(t, "terminal after SetHead", got, want)
		got, err = r.Terminal("T-2")
		check(t, "terminal", err)
		same(t, "other terminal after SetHead", got, t2)
		_, err = r.Terminal("T-404")
		isErr(t, "SetHead created a terminal", err, hub.ErrNotFound)
		return nil
	})
}

func testEnrollment(t *testing.T, s hub.Store) {
	h1 := sha256.Sum256([]byte("token one"))
	h2 := sha256.Sum256([]byte("token two"))
	e1 := hub.Enrollment{TokenHash: h1[:], Store: "S-1", Terminal: "T-9", Created: t0, Expires: at(24 * time.Hour)}
	e2 := hub.Enrollment{TokenHash: h2[:], Store: "S-2", Terminal: "T-8", Created: at(time.Minute), Expires: at(time.Hour)}
	view(t, s, func(r hub.Reader) error {
		_, err := r.Enrollment(h1[:])
		isErr(t, "missing enrollment", err, hub.ErrNotFound)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		check(t, "put e1", tx.PutEnrollment(e1))
		return tx.PutEnrollment(e2)
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Enrollment(h1[:])
		check(t, "enrollment", err)
		same(t, "enrollment e1", got, e1)
		got, err = r.Enrollment(h2[:])
		check(t, "enrollment", err)
		same(t, "enrollment e2", got, e2)
		return nil
	})
	e1.Used = at(time.Hour)
	update(t, s, func(tx hub.Tx) error { return tx.PutEnrollment(e1) })
	view(t, s, func(r hub.Reader) error {
		got, err := r.Enrollment(h1[:])
		check(t, "enrollment", err)
		same(t, "enrollment e1 used", got, e1)
		return nil
	})
}

func testLocks(t *testing.T, s hub.Store) {
	l1 := protocol.SettlementLock{Store: "S-1", Day: "2026-03-13", At: at(time.Hour)}
	l2 := protocol.SettlementLock{Store: "S-1", Day: "2026-03-12", At: at(2 * time.Hour)}
	l3 := protocol.SettlementLock{Store: "S-2", Day: "2026-03-13", At: at(3 * time.Hour)}
	view(t, s, func(r hub.Reader) error {
		ok, err := r.Locked("S-1", "2026-03-13")
		check(t, "locked", err)
		same(t, "locked in an empty ledger", ok, false)
		l, err := r.Locks("S-1")
		check(t, "locks", err)
		same(t, "locks in an empty ledger", len(l), 0)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		for _, l := range []protocol.SettlementLock{l1, l2, l3, l1} { // l1 twice: still one lock
			check(t, "put lock", tx.PutLock(l))
		}
		return nil
	})
	byDay := func(l protocol.SettlementLock) string { return l.Day }
	view(t, s, func(r hub.Reader) error {
		for _, c := range []struct {
			store, day string
			want       bool
		}{{"S-1", "2026-03-13", true}, {"S-1", "2026-03-12", true}, {"S-1", "2026-03-14", false},
			{"S-2", "2026-03-13", true}, {"S-2", "2026-03-12", false}, {"S-3", "2026-03-13", false}} {
			ok, err := r.Locked(c.store, c.day)
			check(t, "locked", err)
			same(t, "locked "+c.store+" "+c.day, ok, c.want)
		}
		l, err := r.Locks("S-1")
		check(t, "locks", err)
		same(t, "locks of S-1", sortedBy(l, byDay), []protocol.SettlementLock{l2, l1})
		l, err = r.Locks("S-2")
		check(t, "locks", err)
		same(t, "locks of S-2", l, []protocol.SettlementLock{l3})
		l, err = r.Locks("S-3")
		check(t, "locks", err)
		same(t, "locks of S-3", len(l), 0)
		return nil
	})
}
