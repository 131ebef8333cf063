package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// newEvent is an ingested event with its body bytes, a signature-sized
// blob and its hash. The store keeps the bytes and never reads them.
func newEvent(term string, seq uint64, kind protocol.EventKind, store, code string, when time.Time) hub.Event {
	e := protocol.Event{V: protocol.WireVersion, Terminal: term, Seq: seq, Kind: kind, At: when, Store: store,
		Mode: protocol.ModeOffline, Entry: protocol.EntryScanned, Reason: protocol.Accepted, Code: code,
		Format: protocol.FormatSigned, Campaign: "CAMP-1", Uses: 1, Amount: 2500}
	if seq > 1 {
		e.Prev = sha256.Sum256([]byte(fmt.Sprintf("%s:%d", term, seq-1)))
	}
	switch kind {
	case protocol.KindAttempt:
		e.Reason, e.Uses, e.Amount = protocol.UsedUp, 0, 0
	case protocol.KindVoid:
		e.Voids, e.Note = &protocol.EventRef{Terminal: term, Seq: max(seq, 2) - 1}, "customer changed mind"
	}
	body, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return hub.Event{Event: e, Body: body, Sig: bytes.Repeat([]byte{byte(seq)}, 64), Hash: sha256.Sum256(body),
		Received: when.Add(90 * time.Second)}
}

func insertEvents(t *testing.T, s hub.Store, evs ...hub.Event) {
	t.Helper()
	update(t, s, func(tx hub.Tx) error {
		return tx.InsertEvents(evs...)
	})
}

func refs(evs []hub.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Ref().String())
	}
	return out
}

func testEventRoundTrip(t *testing.T, s hub.Store) {
	full := newEvent("T-1", 7, protocol.KindVoid, "S-1", "CODE-1", t0)
	full.Cashier, full.Mode, full.Entry = "cashier-3", protocol.ModeOnline, protocol.EntryECR
	full.Format, full.Uses, full.Amount, full.Step = protocol.FormatDynamic, 2, 5000, 59_000_001
	full.OrderRef, full.IdemKey, full.Note = "POS-8841", "idem-1", "说明 note"
	full.Voids = &protocol.EventRef{Terminal: "T-2", Seq: 3}
	full.Body, _ = json.Marshal(full.Event)
	full.Hash = sha256.Sum256(full.Body)
	full.Flags = []hub.Flag{hub.FlagOverRedemption, hub.FlagScope}
	full.HubAt = t0.Add(-3 * time.Hour) // its terminal's clock was 3 h ahead

	plain := newEvent("T-1", 1, protocol.KindAttempt, "S-1", "", at(-time.Hour)) // no code, no flags
	plain.Entry = ""
	view(t, s, func(r hub.Reader) error {
		_, err := r.Event(full.Ref())
		isErr(t, "missing event", err, hub.ErrNotFound)
		return nil
	})
	insertEvents(t, s, full, plain)
	view(t, s, func(r hub.Reader) error {
		got, err := r.Event(full.Ref())
		check(t, "event", err)
		sameEvent(t, "event "+full.Ref().String(), got, full)
		got, err = r.Event(plain.Ref())
		check(t, "event", err)
		sameEvent(t, "event "+plain.Ref().String(), got, plain)
		_, err = r.Event(protocol.EventRef{Terminal: "T-1", Seq: 2})
		isErr(t, "missing seq", err, hub.ErrNotFound)
		_, err = r.Event(protocol.EventRef{Terminal: "T-2", Seq: 7})
		isErr(t, "seq of another terminal", err, hub.ErrNotFound)
		return nil
	})
}

func testEventDuplicate(t *testing.T, s hub.Store) {
	orig := newEvent("T-1", 1, protocol.KindRedemption, "S-1", "CODE-1", t0)
	insertEvents(t, s, orig)
	dup := newEvent("T-1", 1, protocol.KindAttempt, "S-1", "CODE-2", at(time.Hour))
	update(t, s, func(tx hub.Tx) error {
		isErr(t, "event (terminal, seq) already present", tx.InsertEvents(dup), hub.ErrExists)
		got, err := tx.Event(orig.Ref())
		check(t, "event after the duplicate", err)
		sameEvent(t, "event after the duplicate", got, orig)
		// The same seq of another terminal is another event.
		return tx.InsertEvents(newEvent("T-2", 1, protocol.KindRedemption, "S-1", "CODE-1", t0))
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Event(orig.Ref())
		check(t, "event", err)
		sameEvent(t, "event after the duplicate", got, orig)
		_, err = r.Event(protocol.EventRef{Terminal: "T-2", Seq: 1})
		check(t, "the other terminal's event", err)
		return nil
	})
}

func testCodeEvents(t *testing.T, s hub.Store) {
	// Ingest order differs from terminal, seq and time order.
	insertEvents(t, s,
		newEvent("T-2", 5, protocol.KindRedemption, "S-2", "X", at(time.Hour)),
		newEvent("T-1", 1, protocol.KindRedemption, "S-1", "X", at(3*time.Hour)),
		newEvent("T-1", 2, protocol.KindAttempt, "S-1", "X", at(4*time.Hour)), // an attempt: not listed
		newEvent("T-1", 3, protocol.KindRedemption, "S-1", "Y", at(2*time.Hour)),
	)
	insertEvents(t, s,
		newEvent("T-1", 4, protocol.KindVoid, "S-1", "X", t0),
		newEvent("T-0", 1, protocol.KindRedemption, "S-1", "X", at(-time.Hour)),
	)
	view(t, s, func(r hub.Reader) error {
		got, err := r.CodeEvents("X")
		check(t, "code events", err)
		same(t, "events of X in ingest order", refs(got), []string{"T-2:5", "T-1:1", "T-1:4", "T-0:1"})
		if len(got) == 4 {
			sameEvent(t, "first event of X", got[0], newEvent("T-2", 5, protocol.KindRedemption, "S-2", "X", at(time.Hour)))
		}
		got, err = r.CodeEvents("Y")
		check(t, "code events", err)
		same(t, "events of Y", refs(got), []string{"T-1:3"})
		got, err = r.CodeEvents("Z")
		check(t, "code events", err)
		same(t, "events of an unknown code", len(got), 0)
		return nil
	})
}

// filterFixture is eight events across stores, terminals, codes, kinds and
// times, in ingest order.
func filterFixture() []hub.Event {
	return []hub.Event{
		newEvent("T-1", 1, protocol.KindRedemption, "S-1", "A", at(5*time.Hour)),
		newEvent("T-2", 1, protocol.KindRedemption, "S-2", "B", at(1*time.Hour)),
		newEvent("T-1", 2, protocol.KindAttempt, "S-1", "", at(3*time.Hour)),
		newEvent("T-1", 3, protocol.KindVoid, "S-1", "A", at(6*time.Hour)),
		newEvent("T-3", 1, protocol.KindRedemption, "S-10", "A", at(2*time.Hour)),
		newEvent("T-2", 2, protocol.KindAttempt, "S-2", "B", at(4*time.Hour)),
		newEvent("T-2", 3, protocol.KindRedemption, "S-2", "C", at(7*time.Hour)),
		newEvent("T-1", 4, protocol.KindRedemption, "S-1", "B", at(3*time.Hour)), // same time as T-1:2
	}
}

// match is the filter's meaning, for the expected results.
func match(f hub.EventFilter, e hub.Event) bool {
	return (f.Store == "" || e.Store == f.Store) && (f.Terminal == "" || e.Terminal == f.Terminal) &&
		(f.Code == "" || e.Code == f.Code) && (len(f.Kinds) == 0 || slices.Contains(f.Kinds, e.Kind)) &&
		(f.From.IsZero() || !e.At.Before(f.From)) && (f.To.IsZero() || e.At.Before(f.To))
}

func events(t *testing.T, s hub.Store, f hub.EventFilter) []hub.Event {
	t.Helper()
	var out []hub.Event
	view(t, s, func(r hub.Reader) error {
		return r.Events(f, func(e hub.Event) error {
			out = append(out, e)
			return nil
		})
	})
	return out
}

func testEventsFilters(t *testing.T, s hub.Store) {
	all := filterFixture()
	insertEvents(t, s, all[:3]...)
	insertEvents(t, s, all[3:]...)
	red, void, attempt := protocol.KindRedemption, protocol.KindVoid, protocol.KindAttempt
	for _, c := range []struct {
		name string
		f    hub.EventFilter
		want []string // by hand; the match function must agree
	}{
		{"all", hub.EventFilter{}, []string{"T-1:1", "T-2:1", "T-1:2", "T-1:3", "T-3:1", "T-2:2", "T-2:3", "T-1:4"}},
		{"store", hub.EventFilter{Store: "S-1"}, []string{"T-1:1", "T-1:2", "T-1:3", "T-1:4"}},
		{"store S-10", hub.EventFilter{Store: "S-10"}, []string{"T-3:1"}},
		{"terminal", hub.EventFilter{Terminal: "T-2"}, []string{"T-2:1", "T-2:2", "T-2:3"}},
		{"code", hub.EventFilter{Code: "B"}, []string{"T-2:1", "T-2:2", "T-1:4"}},
		{"one kind", hub.EventFilter{Kinds: []protocol.EventKind{attempt}}, []string{"T-1:2", "T-2:2"}},
		{"two kinds", hub.EventFilter{Kinds: []protocol.EventKind{void, attempt}}, []string{"T-1:2", "T-1:3", "T-2:2"}},
		{"from (inclusive)", hub.EventFilter{From: at(5 * time.Hour)}, []string{"T-1:1", "T-1:3", "T-2:3"}},
		{"to (exclusive)", hub.EventFilter{To: at(3 * time.Hour)}, []string{"T-2:1", "T-3:1"}},
		{"from and to", hub.EventFilter{From: at(3 * time.Hour), To: at(5 * time.Hour)}, []string{"T-1:2", "T-2:2", "T-1:4"}},
		{"limit", hub.EventFilter{Limit: 3}, []string{"T-1:1", "T-2:1", "T-1:2"}},
		{"limit above the count", hub.EventFilter{Limit: 100}, []string{"T-1:1", "T-2:1", "T-1:2", "T-1:3", "T-3:1", "T-2:2", "T-2:3", "T-1:4"}},
		{"store, kind and limit", hub.EventFilter{Store: "S-1", Kinds: []protocol.EventKind{red}, Limit: 1}, []string{"T-1:1"}},
		{"terminal and code", hub.EventFilter{Terminal: "T-1", Code: "A"}, []string{"T-1:1", "T-1:3"}},
		{"store and time", hub.EventFilter{Store: "S-2", From: at(2 * time.Hour), To: at(8 * time.Hour)}, []string{"T-2:2", "T-2:3"}},
		{"nothing", hub.EventFilter{Store: "S-1", Code: "C"}, []string{}},
	} {
		var ref []string
		for _, e := range all {
			if match(c.f, e) {
				ref = append(ref, e.Ref().String())
			}
		}
		if c.f.Limit > 0 && len(ref) > c.f.Limit {
			ref = ref[:c.f.Limit]
		}
		if !slices.Equal(ref, c.want) {
			t.Fatalf("suite bug: filter %s: hand-written %v, computed %v", c.name, c.want, ref)
		}
		got := events(t, s, c.f)
		same(t, "Events("+c.name+")", refs(got), c.want)
		for _, e := range got {
			for _, w := range all {
				if w.Ref() == e.Ref() {
					sameEvent(t, "Events("+c.name+") event "+e.Ref().String(), e, w)
				}
			}
		}
	}
}

// cursors returns the ID (the ingest order cursor) of each of evs as the
// store reads them back, failing unless every one is set.
func cursors(t *testing.T, s hub.Store, evs []hub.Event) []int64 {
	t.Helper()
	ids := map[protocol.EventRef]int64{}
	for _, e := range events(t, s, hub.EventFilter{}) {
		ids[e.Ref()] = e.ID
	}
	out := make([]int64, len(evs))
	for i, e := range evs {
		if out[i] = ids[e.Ref()]; out[i] <= 0 {
			t.Fatalf("event %s read back with ID %d, want its cursor (> 0)", e.Ref(), out[i])
		}
	}
	return out
}

// sameEvent compares an event read back with the one inserted, whose ID
// the store gave: it must have one.
func sameEvent(t *testing.T, what string, got, want hub.Event) {
	t.Helper()
	if got.ID <= 0 {
		t.Errorf("%s: ID %d, want the ingest order cursor (> 0)", what, got.ID)
	}
	got.ID = want.ID
	same(t, what, got, want)
}

func testEventsAfterID(t *testing.T, s hub.Store) {
	all := filterFixture()
	insertEvents(t, s, all[:5]...)
	insertEvents(t, s, all[5:]...)
	cur := cursors(t, s, all)
	for i := 1; i < len(cur); i++ {
		if cur[i] <= cur[i-1] {
			t.Fatalf("cursors %v are not increasing in ingest order", cur)
		}
	}
	for i := range all {
		same(t, fmt.Sprintf("Events after the cursor of %s", all[i].Ref()),
			refs(events(t, s, hub.EventFilter{AfterID: cur[i]})), refs(all[i+1:]))
		same(t, fmt.Sprintf("Events after the cursor of %s minus one", all[i].Ref()),
			refs(events(t, s, hub.EventFilter{AfterID: cur[i] - 1})), refs(all[i:]))
	}
	// Paging a store's events by cursor, two at a time.
	var got []hub.Event
	var after int64
	for page := 0; page < 10; page++ {
		l := events(t, s, hub.EventFilter{Store: "S-1", AfterID: after, Limit: 2})
		if len(l) == 0 {
			break
		}
		got = append(got, l...)
		after = cur[slices.IndexFunc(all, func(e hub.Event) bool { return e.Ref() == l[len(l)-1].Ref() })]
	}
	same(t, "S-1 paged by cursor", refs(got), []string{"T-1:1", "T-1:2", "T-1:3", "T-1:4"})

	// Newest first, paged backwards with BeforeID.
	rev := slices.Clone(all)
	slices.Reverse(rev)
	same(t, "Events newest first", refs(events(t, s, hub.EventFilter{Newest: true})), refs(rev))
	got = nil
	var before int64
	for page := 0; page < 10; page++ {
		l := events(t, s, hub.EventFilter{Store: "S-1", BeforeID: before, Newest: true, Limit: 3})
		if len(l) == 0 {
			break
		}
		got = append(got, l...)
		before = cur[slices.IndexFunc(all, func(e hub.Event) bool { return e.Ref() == l[len(l)-1].Ref() })]
	}
	same(t, "S-1 paged newest first", refs(got), []string{"T-1:4", "T-1:3", "T-1:2", "T-1:1"})
	for i := range all {
		same(t, fmt.Sprintf("Events before the cursor of %s", all[i].Ref()),
			refs(events(t, s, hub.EventFilter{BeforeID: cur[i]})), refs(all[:i]))
	}
}

func testEventsStop(t *testing.T, s hub.Store) {
	insertEvents(t, s, filterFixture()...)
	calls := 0
	err := s.View(context.Background(), func(r hub.Reader) error {
		return r.Events(hub.EventFilter{}, func(hub.Event) error {
			calls++
			if calls == 2 {
				return errStop
			}
			return nil
		})
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Events returned %v, want the error fn returned", err)
	}
	same(t, "fn calls after it failed on the second", calls, 2)
}

func testClaims(t *testing.T, s hub.Store) {
	ref := protocol.EventRef{Terminal: "T-1", Seq: 12}
	full := hub.Claim{EventRef: ref, Kind: protocol.KindVoid, Code: "CODE-1", Uses: 2, Step: 0,
		Voids: &protocol.EventRef{Terminal: "T-1", Seq: 9}, Taken: true,
		Reply: protocol.ClaimReply{Header: protocol.Header{V: protocol.WireVersion}, Terminal: "T-1", Seq: 12,
			Reason: protocol.Accepted, UsesLeft: 3, HubTime: at(time.Second)},
		At: t0}
	refused := hub.Claim{EventRef: protocol.EventRef{Terminal: "T-2", Seq: 12}, Kind: protocol.KindRedemption,
		Code: "CODE-2", Uses: 1, Step: 59_000_000,
		Reply: protocol.ClaimReply{Header: protocol.Header{V: protocol.WireVersion}, Terminal: "T-2", Seq: 12,
			Reason: protocol.UsedUp, LastUse: &protocol.Use{Store: "S-1", Terminal: "T-1", At: at(-time.Hour)},
			HubTime: t0},
		At: at(time.Millisecond)}
	view(t, s, func(r hub.Reader) error {
		_, err := r.Claim(ref)
		isErr(t, "missing claim", err, hub.ErrNotFound)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		check(t, "put claim", tx.PutClaim(full))
		check(t, "put claim", tx.PutClaim(refused))
		other := full
		other.Code, other.Taken = "CODE-9", false
		isErr(t, "claim already recorded", tx.PutClaim(other), hub.ErrExists)
		got, err := tx.Claim(ref)
		check(t, "claim after the duplicate", err)
		same(t, "claim after the duplicate", got, full)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		got, err := r.Claim(ref)
		check(t, "claim", err)
		same(t, "claim "+ref.String(), got, full)
		got, err = r.Claim(refused.EventRef)
		check(t, "claim", err)
		same(t, "claim "+refused.EventRef.String(), got, refused)
		_, err = r.Claim(protocol.EventRef{Terminal: "T-1", Seq: 13})
		isErr(t, "claim of another seq", err, hub.ErrNotFound)
		return nil
	})
}

// testClaimsRange checks the claims of a range of one terminal's seqs.
func testClaimsRange(t *testing.T, s hub.Store) {
	claim := func(term string, seq uint64) hub.Claim {
		return hub.Claim{EventRef: protocol.EventRef{Terminal: term, Seq: seq}, Kind: protocol.KindRedemption,
			Code: fmt.Sprintf("C-%d", seq), Uses: 1, Taken: seq%2 == 0,
			Reply: protocol.ClaimReply{Terminal: term, Seq: seq, Reason: protocol.Accepted, HubTime: t0}, At: at(time.Duration(seq) * time.Millisecond)}
	}
	var all []hub.Claim
	update(t, s, func(tx hub.Tx) error {
		for _, seq := range []uint64{9, 3, 12, 5, 20} { // put out of order
			c := claim("T-1", seq)
			check(t, "put claim", tx.PutClaim(c))
			check(t, "put claim", tx.PutClaim(claim("T-2", seq)))
		}
		for _, seq := range []uint64{3, 5, 9, 12, 20} {
			all = append(all, claim("T-1", seq))
		}
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		for _, c := range []struct {
			from, to uint64
			want     []hub.Claim
		}{
			{1, 100, all},
			{3, 12, all[:4]},
			{4, 11, all[1:3]},
			{12, 12, all[3:4]},
			{13, 19, nil},
			{21, 30, nil},
		} {
			got, err := r.Claims("T-1", c.from, c.to)
			check(t, "claims", err)
			what := fmt.Sprintf("Claims(T-1, %d, %d)", c.from, c.to)
			if len(c.want) == 0 {
				same(t, what, len(got), 0)
				continue
			}
			same(t, what, got, c.want)
		}
		got, err := r.Claims("T-3", 1, 100)
		check(t, "claims", err)
		same(t, "claims of a terminal with none", len(got), 0)
		return nil
	})
}

// testInsertEventsMany inserts more events in one call than one statement
// of a SQL store would hold, then a batch whose last event is already
// present: ErrExists, nothing of it inserted, and the transaction goes on.
func testInsertEventsMany(t *testing.T, s hub.Store) {
	var first []hub.Event
	for seq := uint64(1); seq <= 150; seq++ {
		first = append(first, newEvent("T-1", seq, protocol.KindRedemption, "S-1", fmt.Sprintf("C-%d", seq), at(time.Duration(seq)*time.Second)))
	}
	insertEvents(t, s, first...)
	var second []hub.Event
	for seq := uint64(151); seq <= 220; seq++ {
		second = append(second, newEvent("T-1", seq, protocol.KindRedemption, "S-1", "C-X", at(time.Duration(seq)*time.Second)))
	}
	update(t, s, func(tx hub.Tx) error {
		bad := append(slices.Clone(second), first[149])
		isErr(t, "a batch ending with a duplicate", tx.InsertEvents(bad...), hub.ErrExists)
		_, err := tx.Event(second[0].Ref())
		isErr(t, "first event of the refused batch", err, hub.ErrNotFound)
		return tx.InsertEvents(second[:3]...)
	})
	view(t, s, func(r hub.Reader) error {
		var got []hub.Event
		check(t, "events", r.Events(hub.EventFilter{Terminal: "T-1"}, func(e hub.Event) error {
			got = append(got, e)
			return nil
		}))
		same(t, "events in ingest order", refs(got), refs(append(slices.Clone(first), second[:3]...)))
		for _, e := range []hub.Event{first[0], first[63], first[64], first[149], second[2]} {
			g, err := r.Event(e.Ref())
			check(t, "event", err)
			sameEvent(t, "event "+e.Ref().String(), g, e)
		}
		return nil
	})
}

func testSettleClaim(t *testing.T, s hub.Store) {
	a := hub.Claim{EventRef: protocol.EventRef{Terminal: "T-1", Seq: 1}, Kind: protocol.KindRedemption, Code: "A",
		Uses: 1, Taken: true, Reply: protocol.ClaimReply{Terminal: "T-1", Seq: 1, Reason: protocol.Accepted, HubTime: t0}, At: t0}
	b := a
	b.EventRef, b.Reply.Seq = protocol.EventRef{Terminal: "T-1", Seq: 2}, 2
	c := a
	c.EventRef, c.Reply.Seq = protocol.EventRef{Terminal: "T-1", Seq: 3}, 3
	update(t, s, func(tx hub.Tx) error {
		for _, x := range []hub.Claim{a, b, c} {
			check(t, "put claim", tx.PutClaim(x))
		}
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		check(t, "settle a", tx.SettleClaim(a.EventRef, true))
		check(t, "settle b", tx.SettleClaim(b.EventRef, false))
		isErr(t, "settle a missing claim", tx.SettleClaim(protocol.EventRef{Terminal: "T-1", Seq: 4}, false), hub.ErrNotFound)
		return nil
	})
	a.Settled, a.Undone = true, true
	b.Settled = true
	view(t, s, func(r hub.Reader) error {
		for _, want := range []hub.Claim{a, b, c} {
			got, err := r.Claim(want.EventRef)
			check(t, "claim", err)
			same(t, "claim "+want.EventRef.String()+" after settling", got, want)
		}
		_, err := r.Claim(protocol.EventRef{Terminal: "T-1", Seq: 4})
		isErr(t, "SettleClaim created a claim", err, hub.ErrNotFound)
		return nil
	})
}
