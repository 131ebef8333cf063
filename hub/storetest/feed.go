package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func storeChange(id string) hub.Change {
	return hub.Change{Change: protocol.Change{Kind: protocol.ChangeStore, At: t0,
		Store: &protocol.Store{ID: id, Name: "store " + id, Region: "east", Timezone: "Asia/Shanghai"}},
		Audience: hub.Audience{All: true}}
}

// feedFixture is one change of each payload, with each kind of audience.
func feedFixture() []hub.Change {
	camp := &protocol.Campaign{ID: "CAMP-1", Name: "券", FaceValue: 990, Uses: 2, Stores: []string{"S-1"},
		Offline: protocol.OfflinePolicy{Allow: true, MaxCount: 5}}
	key := &protocol.IssuingKey{ID: "k1", Public: ed25519.PublicKey(bytes.Repeat([]byte{9}, 32)), NotBefore: t0,
		NotAfter: at(time.Hour)}
	lock := &protocol.SettlementLock{Store: "S-2", Day: "2026-03-13", At: at(time.Minute)}
	code := &protocol.CodeState{ID: "CODE-1", Campaign: "CAMP-1", Format: protocol.FormatSecret,
		SecretHash: secretHash("9999"), Uses: 2, UsesLeft: 1, Status: protocol.StatusActive, ValidUntil: at(time.Hour),
		Stores: []string{"S-1"}, LastUsed: at(-time.Minute)}
	dyn := &protocol.CodeState{ID: "DYN-1", Campaign: "CAMP-1", Format: protocol.FormatDynamic, Seed: []byte("sealed seed bytes"),
		Uses: 1, UsesLeft: 0, Status: protocol.StatusActive, LastStep: 123}
	return []hub.Change{
		storeChange("S-1"),
		{Change: protocol.Change{Kind: protocol.ChangeCampaign, At: at(time.Second), Campaign: camp},
			Audience: hub.Audience{Stores: []string{"S-1"}, Regions: []string{"east", "west"}}},
		{Change: protocol.Change{Kind: protocol.ChangeKey, At: at(2 * time.Second), Key: key}, Audience: hub.Audience{All: true}},
		{Change: protocol.Change{Kind: protocol.ChangeLock, At: at(3 * time.Second), Lock: lock},
			Audience: hub.Audience{Stores: []string{"S-2"}}},
		{Change: protocol.Change{Kind: protocol.ChangeCodeImported, At: at(4 * time.Second), Code: code},
			Audience: hub.Audience{Regions: []string{"north"}}},
		{Change: protocol.Change{Kind: protocol.ChangeCodeRedeemed, At: at(5 * time.Second), Code: dyn,
			By: &protocol.ChangeOrigin{Terminal: "T-1", Store: "S-1", Seq: 7, Kind: protocol.KindRedemption, Uses: 1,
				Amount: 990, Mode: protocol.ModeOffline, Cashier: "c-9", At: at(4 * time.Second)}},
			Audience: hub.Audience{}},
	}
}

func testFeedEmpty(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		head, err := r.FeedHead()
		check(t, "feed head", err)
		same(t, "head of an empty feed", head, uint64(0))
		l, err := r.Changes(0, 10)
		check(t, "changes", err)
		same(t, "changes of an empty feed", len(l), 0)
		return nil
	})
}

func testChanges(t *testing.T, s hub.Store) {
	want := feedFixture()
	var seqs []uint64
	update(t, s, func(tx hub.Tx) error {
		batch := slices.Clone(want[:4])
		for i := range batch {
			batch[i].Seq = 999_999 // ignored: the store assigns seqs
		}
		got, err := tx.AddChanges(batch...)
		check(t, "add changes", err)
		same(t, "seqs AddChanges returned for 4 changes", len(got), 4)
		seqs = append(seqs, got...)
		for i := range got {
			want[i].Seq = got[i]
		}
		head, err := tx.FeedHead()
		check(t, "feed head", err)
		same(t, "feed head inside the update", head, seqs[3])
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		for i, c := range want[4:] {
			seq, err := addChange(tx, c)
			check(t, "add change", err)
			seqs = append(seqs, seq)
			want[4+i].Seq = seq
		}
		return nil
	})
	for i := range seqs {
		if seqs[i] == 0 || i > 0 && seqs[i] <= seqs[i-1] {
			t.Fatalf("AddChanges returned seqs %v: want positive and strictly increasing", seqs)
		}
	}
	view(t, s, func(r hub.Reader) error {
		head, err := r.FeedHead()
		check(t, "feed head", err)
		same(t, "feed head", head, seqs[5])
		all, err := r.Changes(0, 100)
		check(t, "changes", err)
		same(t, "all changes", all, want)
		for _, c := range []struct {
			name  string
			after uint64
			limit int
			want  []hub.Change
		}{
			{"first two", 0, 2, want[:2]},
			{"after the second, two", seqs[1], 2, want[2:4]},
			{"after the second minus one", seqs[1] - 1, 1, want[1:2]},
			{"after the fifth, ten", seqs[4], 10, want[5:]},
			{"after the head", seqs[5], 10, nil},
		} {
			got, err := r.Changes(c.after, c.limit)
			check(t, "changes", err)
			if len(c.want) == 0 {
				same(t, "Changes("+c.name+")", len(got), 0)
				continue
			}
			same(t, "Changes("+c.name+")", got, c.want)
		}
		return nil
	})
}

// testChangeSeqNotReused checks that a seq handed out in an Update that
// rolled back is never handed out again: terminals may have been told of it.
func testChangeSeqNotReused(t *testing.T, s hub.Store) {
	var first, lost, next uint64
	update(t, s, func(tx hub.Tx) error {
		var err error
		first, err = addChange(tx, storeChange("S-1"))
		return err
	})
	err := s.Update(context.Background(), func(tx hub.Tx) error {
		var err error
		lost, err = addChange(tx, storeChange("S-2"))
		check(t, "add change", err)
		return errBoom
	})
	isErr(t, "rolled-back AddChange", err, errBoom)
	update(t, s, func(tx hub.Tx) error {
		var err error
		next, err = addChange(tx, storeChange("S-3"))
		return err
	})
	if lost <= first {
		t.Errorf("seq %d after %d: not increasing", lost, first)
	}
	if next <= lost {
		t.Errorf("seq %d handed out after the rolled-back %d: a seq was reused", next, lost)
	}
	view(t, s, func(r hub.Reader) error {
		head, err := r.FeedHead()
		check(t, "feed head", err)
		same(t, "feed head", head, next)
		l, err := r.Changes(0, 10)
		check(t, "changes", err)
		var got []uint64
		var stores []string
		for _, c := range l {
			got = append(got, c.Seq)
			stores = append(stores, c.Store.ID)
		}
		same(t, "seqs in the feed", got, []uint64{first, next})
		same(t, "stores in the feed", stores, []string{"S-1", "S-3"})
		return nil
	})
}

// addChange appends one change and returns its seq.
func addChange(tx hub.Tx, c hub.Change) (uint64, error) {
	seqs, err := tx.AddChanges(c)
	if err != nil {
		return 0, err
	}
	if len(seqs) != 1 {
		return 0, fmt.Errorf("AddChanges of one change returned %d seqs", len(seqs))
	}
	return seqs[0], nil
}

// testAddChangesMany appends more changes in one call than one statement
// of a SQL store would hold, and checks the seqs and the order.
func testAddChangesMany(t *testing.T, s hub.Store) {
	var want []hub.Change
	for i := range 150 {
		want = append(want, storeChange(fmt.Sprintf("S-%03d", i)))
	}
	update(t, s, func(tx hub.Tx) error {
		seqs, err := tx.AddChanges(want...)
		check(t, "add 150 changes", err)
		same(t, "seqs for 150 changes", len(seqs), len(want))
		for i := range seqs {
			if seqs[i] == 0 || i > 0 && seqs[i] <= seqs[i-1] {
				t.Fatalf("AddChanges returned seqs %v: want positive and strictly increasing", seqs)
			}
			want[i].Seq = seqs[i]
		}
		none, err := tx.AddChanges()
		check(t, "add no changes", err)
		same(t, "seqs for no changes", len(none), 0)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Changes(0, 1000)
		check(t, "changes", err)
		same(t, "150 changes added in one call", got, want)
		return nil
	})
}
