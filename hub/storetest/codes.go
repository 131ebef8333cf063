package storetest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// newCode is an active signed code of five uses, none taken.
func newCode(id string) hub.Code {
	return hub.Code{ID: id, Campaign: "CAMP-1", Format: protocol.FormatSigned, Uses: 5, Status: protocol.StatusActive,
		Issued: t0}
}

func secretHash(s string) *protocol.SecretHash {
	h := protocol.SecretHash(sha256.Sum256([]byte(s)))
	return &h
}

// fullCodes is one code of each format with every field set.
func fullCodes() []hub.Code {
	signed := hub.Code{ID: "SIGNED-1", Campaign: "CAMP-1", Format: protocol.FormatSigned, Uses: 10, Used: 3,
		Status: protocol.StatusActive, ValidFrom: at(-time.Hour), ValidUntil: at(30 * 24 * time.Hour),
		Stores: []string{"S-1", "S-2"}, Regions: []string{"east", "north"},
		LastUse:  protocol.Use{Store: "S-2", Terminal: "T-2", At: at(-time.Minute)},
		OrderRef: "order-77", Issued: at(-2 * time.Hour)}
	secret := hub.Code{ID: "SECRET-1", Campaign: "CAMP-2", Format: protocol.FormatSecret, SecretHash: secretHash("8888-1234"),
		Uses: 1, Status: protocol.StatusBlocked, ValidUntil: at(time.Hour), Issued: t0}
	dynamic := hub.Code{ID: "DYN-1", Campaign: "CAMP-3", Format: protocol.FormatDynamic,
		SealedSeed: []byte{0, 1, 2, 3, 250, 251, 252}, Uses: 3, Used: 1, Status: protocol.StatusRevoked,
		Regions: []string{"west"}, LastUse: protocol.Use{Store: "S-9", Terminal: "T-9", At: t0}, LastStep: 59_000_123,
		Issued: t0}
	return []hub.Code{signed, secret, dynamic}
}

func getCode(t *testing.T, s hub.Store, id string) hub.Code {
	t.Helper()
	var c hub.Code
	view(t, s, func(r hub.Reader) error {
		var err error
		c, err = r.Code(id)
		check(t, "code "+id, err)
		return nil
	})
	return c
}

func testCodeRoundTrip(t *testing.T, s hub.Store) {
	codes := fullCodes()
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(codes) })
	view(t, s, func(r hub.Reader) error {
		for _, want := range codes {
			got, err := r.Code(want.ID)
			check(t, "code", err)
			same(t, "code "+want.ID, got, want)
		}
		got, err := r.CodeBySecret(*codes[1].SecretHash)
		check(t, "code by secret", err)
		same(t, "code by secret", got, codes[1])
		return nil
	})
}

// testCodes reads many codes at once: more than one statement of a SQL
// store would hold, with duplicates and unknown ids, inside and outside an
// Update, and after a write in the same Update.
func testCodes(t *testing.T, s hub.Store) {
	var all []hub.Code
	var ids []string
	for i := range 150 {
		c := newCode(fmt.Sprintf("MANY-%03d", i))
		all = append(all, c)
		ids = append(ids, c.ID, c.ID) // each twice
	}
	ids = append(ids, "NOPE-1", "NOPE-2")
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(all) })
	byID := func(cs []hub.Code) []hub.Code {
		out := slices.Clone(cs)
		slices.SortFunc(out, func(a, b hub.Code) int { return strings.Compare(a.ID, b.ID) })
		return out
	}
	view(t, s, func(r hub.Reader) error {
		got, err := r.Codes(ids)
		check(t, "codes", err)
		same(t, "150 codes read at once", byID(got), all)
		none, err := r.Codes(nil)
		check(t, "no codes", err)
		same(t, "codes of no ids", len(none), 0)
		return nil
	})
	update(t, s, func(tx hub.Tx) error {
		_, err := tx.Codes(ids[:10])
		check(t, "codes", err)
		u := protocol.Use{Store: "S-1", Terminal: "T-1", At: t0}
		after, err := tx.AddUses(all[0].ID, 1, &u, 0)
		check(t, "add uses", err)
		got, err := tx.Codes(ids[:2])
		check(t, "codes after a write", err)
		same(t, "code read again after AddUses in the same Update", got, []hub.Code{after})
		one, err := tx.Code(all[0].ID)
		check(t, "code after a write", err)
		same(t, "Code after AddUses in the same Update", one, after)
		return nil
	})
}

func testCodeNotFound(t *testing.T, s hub.Store) {
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(fullCodes()) })
	update(t, s, func(tx hub.Tx) error {
		_, err := tx.Code("NOPE")
		isErr(t, "missing code", err, hub.ErrNotFound)
		_, err = tx.CodeBySecret(*secretHash("no such secret"))
		isErr(t, "missing secret", err, hub.ErrNotFound)
		_, _, err = tx.TakeUses("NOPE", 1, protocol.Use{Store: "S-1", Terminal: "T-1", At: t0}, 0)
		isErr(t, "take uses of a missing code", err, hub.ErrNotFound)
		_, err = tx.AddUses("NOPE", 1, nil, 0)
		isErr(t, "add uses to a missing code", err, hub.ErrNotFound)
		_, err = tx.SetStatus("NOPE", protocol.StatusRevoked)
		isErr(t, "set status of a missing code", err, hub.ErrNotFound)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		n, err := r.CountCodes("")
		check(t, "count", err)
		same(t, "codes after the lookups of missing ones", n, 3)
		return nil
	})
}

// insertRefused runs InsertCodes(batch) inside an Update that then commits,
// expects ErrExists, and checks that no code of the batch was inserted.
func insertRefused(t *testing.T, s hub.Store, what string, batch []hub.Code, before int) {
	t.Helper()
	update(t, s, func(tx hub.Tx) error {
		isErr(t, what, tx.InsertCodes(batch), hub.ErrExists)
		return nil // commit whatever is left: it must be nothing
	})
	view(t, s, func(r hub.Reader) error {
		n, err := r.CountCodes("")
		check(t, "count", err)
		same(t, what+": codes after the refused batch", n, before)
		for _, c := range batch {
			if c.ID == "DUP" || c.ID == "HAS-SECRET" {
				continue
			}
			_, err := r.Code(c.ID)
			isErr(t, what+": code "+c.ID+" of the refused batch", err, hub.ErrNotFound)
		}
		return nil
	})
}

func testInsertCodesDuplicateID(t *testing.T, s hub.Store) {
	orig := newCode("DUP")
	orig.OrderRef = "original"
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{orig}) })
	dup := newCode("DUP")
	dup.OrderRef = "impostor"
	insertRefused(t, s, "id already present", []hub.Code{newCode("NEW-1"), newCode("NEW-2"), dup}, 1)
	insertRefused(t, s, "id twice in one batch", []hub.Code{newCode("NEW-3"), newCode("NEW-3")}, 1)
	same(t, "the code whose id was reused", getCode(t, s, "DUP"), orig)
	// A clean batch still goes in.
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{newCode("NEW-1"), newCode("NEW-2")}) })
	view(t, s, func(r hub.Reader) error {
		n, err := r.CountCodes("")
		check(t, "count", err)
		same(t, "codes after a clean batch", n, 3)
		return nil
	})
}

func testInsertCodesDuplicateSecret(t *testing.T, s hub.Store) {
	orig := newCode("HAS-SECRET")
	orig.Format, orig.SecretHash = protocol.FormatSecret, secretHash("1111-2222")
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{orig}) })
	other := newCode("OTHER-ID")
	other.Format, other.SecretHash = protocol.FormatSecret, secretHash("1111-2222")
	insertRefused(t, s, "secret hash already present", []hub.Code{newCode("FRESH-1"), other}, 1)
	a, b := newCode("SAME-A"), newCode("SAME-B")
	a.Format, a.SecretHash = protocol.FormatSecret, secretHash("3333")
	b.Format, b.SecretHash = protocol.FormatSecret, secretHash("3333")
	insertRefused(t, s, "secret hash twice in one batch", []hub.Code{a, b}, 1)
	view(t, s, func(r hub.Reader) error {
		got, err := r.CodeBySecret(*secretHash("1111-2222"))
		check(t, "code by secret", err)
		same(t, "the code whose secret was reused", got, orig)
		return nil
	})
	// Codes without a secret hash never collide with each other.
	update(t, s, func(tx hub.Tx) error {
		return tx.InsertCodes([]hub.Code{newCode("NO-SECRET-1"), newCode("NO-SECRET-2")})
	})
}

func testCodesAfter(t *testing.T, s hub.Store) {
	ids := []string{"C-05", "C-01", "C-07", "C-03", "C-02", "C-06", "C-04"}
	var codes []hub.Code
	for _, id := range ids {
		codes = append(codes, newCode(id))
	}
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(codes) })
	view(t, s, func(r hub.Reader) error {
		var got []string
		after := ""
		for page := 0; ; page++ {
			l, err := r.CodesAfter(after, 3)
			check(t, "codes after", err)
			if len(l) > 3 {
				t.Fatalf("CodesAfter(%q, 3) returned %d codes", after, len(l))
			}
			if len(l) == 0 {
				break
			}
			if page > 5 {
				t.Fatal("CodesAfter does not advance")
			}
			for _, c := range l {
				got = append(got, c.ID)
			}
			after = l[len(l)-1].ID
		}
		same(t, "ids paged with CodesAfter", got, []string{"C-01", "C-02", "C-03", "C-04", "C-05", "C-06", "C-07"})
		l, err := r.CodesAfter("C-03", 2)
		check(t, "codes after", err)
		same(t, "CodesAfter(C-03, 2)", l, []hub.Code{newCode("C-04"), newCode("C-05")})
		l, err = r.CodesAfter("C-065", 10) // between ids
		check(t, "codes after", err)
		same(t, "CodesAfter(C-065, 10)", l, []hub.Code{newCode("C-07")})
		l, err = r.CodesAfter("C-07", 10)
		check(t, "codes after", err)
		same(t, "codes after the last", len(l), 0)
		return nil
	})
}

func testCountCodes(t *testing.T, s hub.Store) {
	var codes []hub.Code
	for i, camp := range []string{"A", "B", "A", "A", "B", "AA"} {
		c := newCode(fmt.Sprintf("N-%d", i))
		c.Campaign = camp
		codes = append(codes, c)
	}
	view(t, s, func(r hub.Reader) error {
		n, err := r.CountCodes("")
		check(t, "count", err)
		same(t, "codes in an empty ledger", n, 0)
		return nil
	})
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(codes) })
	view(t, s, func(r hub.Reader) error {
		for camp, want := range map[string]int{"": 6, "A": 3, "B": 2, "AA": 1, "C": 0} {
			n, err := r.CountCodes(camp)
			check(t, "count", err)
			same(t, fmt.Sprintf("CountCodes(%q)", camp), n, want)
		}
		return nil
	})
}

func testSetStatus(t *testing.T, s hub.Store) {
	c := fullCodes()[0]
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{c, newCode("OTHER")}) })
	want := c
	want.Status = protocol.StatusRevoked
	update(t, s, func(tx hub.Tx) error {
		got, err := tx.SetStatus(c.ID, protocol.StatusRevoked)
		check(t, "set status", err)
		same(t, "code SetStatus returned", got, want)
		return nil
	})
	same(t, "code after SetStatus", getCode(t, s, c.ID), want)
	same(t, "other code after SetStatus", getCode(t, s, "OTHER"), newCode("OTHER"))
}

var use1 = protocol.Use{Store: "S-1", Terminal: "T-1", At: at(time.Hour)}

func testTakeUsesAccepted(t *testing.T, s hub.Store) {
	c := newCode("TAKE")
	c.Uses, c.Used = 3, 0
	c.LastUse = protocol.Use{Store: "S-0", Terminal: "T-0", At: at(2 * time.Hour)} // later than use1: still replaced
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{c, newCode("OTHER")}) })
	want := c
	want.Used, want.LastUse = 2, use1
	update(t, s, func(tx hub.Tx) error {
		got, ok, err := tx.TakeUses("TAKE", 2, use1, 0)
		check(t, "take uses", err)
		same(t, "TakeUses accepted", ok, true)
		same(t, "code TakeUses returned", got, want)
		return nil
	})
	same(t, "code after TakeUses", getCode(t, s, "TAKE"), want)
	same(t, "other code after TakeUses", getCode(t, s, "OTHER"), newCode("OTHER"))
	// The last use exactly: used = uses is allowed.
	want.Used, want.LastUse = 3, protocol.Use{Store: "S-2", Terminal: "T-2", At: at(3 * time.Hour)}
	update(t, s, func(tx hub.Tx) error {
		got, ok, err := tx.TakeUses("TAKE", 1, want.LastUse, 0)
		check(t, "take uses", err)
		same(t, "TakeUses of the last use accepted", ok, true)
		same(t, "code after the last use", got, want)
		return nil
	})
	// A rolled-back claim leaves the code as it was.
	err := s.Update(context.Background(), func(tx hub.Tx) error {
		if _, err := tx.AddUses("TAKE", -3, nil, 0); err != nil {
			return err
		}
		if _, ok, err := tx.TakeUses("TAKE", 3, use1, 0); err != nil || !ok {
			t.Errorf("take uses after giving them back: ok %v, err %v", ok, err)
		}
		return errBoom
	})
	isErr(t, "rolled-back claim", err, errBoom)
	same(t, "code after a rolled-back claim", getCode(t, s, "TAKE"), want)
}

func testTakeUsesRefused(t *testing.T, s hub.Store) {
	revoked, blocked, full, some := newCode("REVOKED"), newCode("BLOCKED"), newCode("FULL"), newCode("SOME")
	revoked.Status, blocked.Status = protocol.StatusRevoked, protocol.StatusBlocked
	full.Uses, full.Used = 2, 2
	some.Uses, some.Used = 5, 3
	some.LastUse = protocol.Use{Store: "S-7", Terminal: "T-7", At: t0}
	over := newCode("OVER") // over-redeemed offline: used above uses
	over.Uses, over.Used = 1, 3
	codes := []hub.Code{revoked, blocked, full, some, over}
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes(codes) })
	for _, c := range []struct {
		what string
		code hub.Code
		uses int
	}{
		{"revoked", revoked, 1}, {"blocked", blocked, 1}, {"used up", full, 1},
		{"more uses than left", some, 3}, {"over-redeemed", over, 1},
	} {
		update(t, s, func(tx hub.Tx) error {
			got, ok, err := tx.TakeUses(c.code.ID, c.uses, use1, 0)
			check(t, "take uses", err)
			same(t, "TakeUses of a "+c.what+" code accepted", ok, false)
			same(t, "code a refused TakeUses ("+c.what+") returned", got, c.code)
			return nil
		})
		same(t, "code after a refused TakeUses ("+c.what+")", getCode(t, s, c.code.ID), c.code)
	}
}

func testTakeUsesStep(t *testing.T, s hub.Store) {
	c := newCode("DYN")
	c.Format, c.SealedSeed, c.LastStep = protocol.FormatDynamic, []byte("sealed seed"), 100
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{c}) })
	for _, step := range []int64{100, 99, 1} {
		update(t, s, func(tx hub.Tx) error {
			got, ok, err := tx.TakeUses("DYN", 1, use1, step)
			check(t, "take uses", err)
			same(t, fmt.Sprintf("TakeUses at step %d after step 100 accepted", step), ok, false)
			same(t, fmt.Sprintf("code after TakeUses at step %d", step), got, c)
			return nil
		})
	}
	want := c
	want.Used, want.LastUse, want.LastStep = 1, use1, 101
	update(t, s, func(tx hub.Tx) error {
		got, ok, err := tx.TakeUses("DYN", 1, use1, 101)
		check(t, "take uses", err)
		same(t, "TakeUses at step 101 after 100 accepted", ok, true)
		same(t, "code after TakeUses at step 101", got, want)
		return nil
	})
	// Step 0: no step condition, LastStep stays.
	use2 := protocol.Use{Store: "S-2", Terminal: "T-2", At: at(2 * time.Hour)}
	want.Used, want.LastUse = 2, use2
	update(t, s, func(tx hub.Tx) error {
		got, ok, err := tx.TakeUses("DYN", 1, use2, 0)
		check(t, "take uses", err)
		same(t, "TakeUses without a step accepted", ok, true)
		same(t, "code after TakeUses without a step", got, want)
		return nil
	})
	same(t, "code after the steps", getCode(t, s, "DYN"), want)
}

// testTakeUsesRace has goroutines claim one use each of a five-use code at
// once: exactly five may win, every round.
func testTakeUsesRace(t *testing.T, s hub.Store) {
	const rounds, workers, uses = 20, 16, 5
	for round := range rounds {
		id := fmt.Sprintf("RACE-%02d", round)
		c := newCode(id)
		c.Uses = uses
		update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{c}) })
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			won   int
			errs  []error
			start = make(chan struct{})
		)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u := protocol.Use{Store: "S-1", Terminal: fmt.Sprintf("T-%02d", w), At: at(time.Duration(w) * time.Second)}
				var ok bool
				err := s.Update(context.Background(), func(tx hub.Tx) error {
					var err error
					_, ok, err = tx.TakeUses(id, 1, u, 0)
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					won++
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("round %d: %d Updates failed, first: %v", round, len(errs), errs[0])
		}
		if won != uses {
			t.Fatalf("round %d: %d of %d concurrent claims of a %d-use code won, want %d", round, won, workers, uses, uses)
		}
		if got := getCode(t, s, id); got.Used != uses {
			t.Fatalf("round %d: code used %d after the race, want %d", round, got.Used, uses)
		}
	}
}

func testAddUses(t *testing.T, s hub.Store) {
	c := newCode("ADD")
	c.Format, c.SealedSeed, c.Uses, c.LastStep = protocol.FormatDynamic, []byte("seed"), 3, 50
	c.LastUse = protocol.Use{Store: "S-1", Terminal: "T-1", At: at(time.Hour)}
	update(t, s, func(tx hub.Tx) error { return tx.InsertCodes([]hub.Code{c, newCode("OTHER")}) })
	earlier := protocol.Use{Store: "S-2", Terminal: "T-2", At: at(30 * time.Minute)}
	later := protocol.Use{Store: "S-3", Terminal: "T-3", At: at(2 * time.Hour)}
	want := c
	steps := []struct {
		what  string
		delta int
		use   *protocol.Use
		step  int64
		apply func(*hub.Code)
	}{
		{"+2 with no use", 2, nil, 0, func(c *hub.Code) { c.Used = 2 }},
		{"+4 beyond the uses (offline over-redemption)", 4, nil, 0, func(c *hub.Code) { c.Used = 6 }},
		{"+1 with an earlier use", 1, &earlier, 0, func(c *hub.Code) { c.Used = 7 }},
		{"+1 with a later use", 1, &later, 0, func(c *hub.Code) { c.Used, c.LastUse = 8, later }},
		{"+1 with the same use again", 1, &later, 0, func(c *hub.Code) { c.Used = 9 }},
		{"-3, a step below", -3, nil, 40, func(c *hub.Code) { c.Used = 6 }},
		{"+0, a step above", 0, nil, 77, func(c *hub.Code) { c.LastStep = 77 }},
		{"-10: clamped at zero", -10, &earlier, 0, func(c *hub.Code) { c.Used = 0 }},
		{"-1 at zero", -1, nil, 0, func(c *hub.Code) { c.Used = 0 }},
	}
	for _, st := range steps {
		st.apply(&want)
		update(t, s, func(tx hub.Tx) error {
			got, err := tx.AddUses("ADD", st.delta, st.use, st.step)
			check(t, "add uses", err)
			same(t, "code AddUses returned ("+st.what+")", got, want)
			return nil
		})
		same(t, "code after AddUses ("+st.what+")", getCode(t, s, "ADD"), want)
	}
	// AddUses has no condition: it counts uses of a revoked code too.
	update(t, s, func(tx hub.Tx) error {
		_, err := tx.SetStatus("ADD", protocol.StatusRevoked)
		check(t, "set status", err)
		got, err := tx.AddUses("ADD", 1, nil, 0)
		check(t, "add uses", err)
		same(t, "used after AddUses on a revoked code", got.Used, 1)
		return nil
	})
	same(t, "other code after AddUses", getCode(t, s, "OTHER"), newCode("OTHER"))
}
