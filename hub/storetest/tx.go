package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

func testUpdateCommits(t *testing.T, s hub.Store) {
	update(t, s, func(tx hub.Tx) error {
		if err := tx.SetMeta("k", []byte("v1")); err != nil {
			return err
		}
		// An Update reads its own writes.
		v, err := tx.Meta("k")
		if err != nil {
			return err
		}
		same(t, "meta inside the update", string(v), "v1")
		return tx.InsertCodes([]hub.Code{newCode("C-COMMIT")})
	})
	view(t, s, func(r hub.Reader) error {
		v, err := r.Meta("k")
		check(t, "meta", err)
		same(t, "meta after commit", string(v), "v1")
		_, err = r.Code("C-COMMIT")
		check(t, "code after commit", err)
		return nil
	})
}

// rolledBack checks that nothing of writeAll remains.
func rolledBack(t *testing.T, s hub.Store) {
	t.Helper()
	view(t, s, func(r hub.Reader) error {
		_, err := r.Meta("k")
		isErr(t, "meta after rollback", err, hub.ErrNotFound)
		_, err = r.Code("C-ROLLBACK")
		isErr(t, "code after rollback", err, hub.ErrNotFound)
		_, err = r.Event(protocol.EventRef{Terminal: "T-1", Seq: 1})
		isErr(t, "event after rollback", err, hub.ErrNotFound)
		got, err := r.FeedHead()
		check(t, "feed head", err)
		same(t, "feed head after rollback", got, uint64(0))
		return nil
	})
}

// writeAll writes one row of several kinds.
func writeAll(tx hub.Tx) error {
	if err := tx.SetMeta("k", []byte("v")); err != nil {
		return err
	}
	if err := tx.InsertCodes([]hub.Code{newCode("C-ROLLBACK")}); err != nil {
		return err
	}
	if err := tx.InsertEvents(newEvent("T-1", 1, protocol.KindRedemption, "S-1", "C-ROLLBACK", t0)); err != nil {
		return err
	}
	_, err := addChange(tx, storeChange("S-1"))
	return err
}

func testUpdateRollsBackOnError(t *testing.T, s hub.Store) {
	err := s.Update(context.Background(), func(tx hub.Tx) error {
		if err := writeAll(tx); err != nil {
			t.Errorf("write: %v", err)
		}
		return errBoom
	})
	isErr(t, "update returning an error", err, errBoom)
	rolledBack(t, s)
}

func testUpdateRollsBackOnPanic(t *testing.T, s hub.Store) {
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		s.Update(context.Background(), func(tx hub.Tx) error {
			if err := writeAll(tx); err != nil {
				t.Errorf("write: %v", err)
			}
			panic(errBoom)
		})
	}()
	if recovered != errBoom {
		t.Fatalf("Update swallowed or changed the panic: recovered %v, want %v", recovered, errBoom)
	}
	rolledBack(t, s)
	// The store still works after the panic.
	update(t, s, func(tx hub.Tx) error { return tx.SetMeta("after", []byte("panic")) })
}

func testUpdateCancelled(t *testing.T, s hub.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Update(ctx, writeAll)
	isErr(t, "update with a cancelled context", err, context.Canceled)
	rolledBack(t, s)

	// Cancelled while fn runs: nothing is committed.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	err = s.Update(ctx, func(tx hub.Tx) error {
		if err := writeAll(tx); err != nil {
			return err
		}
		cancel()
		return nil
	})
	isErr(t, "update cancelled before commit", err, context.Canceled)
	rolledBack(t, s)
}

// testViewSnapshot checks that a View sees one snapshot: an Update that
// commits while the View is open does not show in it.
func testViewSnapshot(t *testing.T, s hub.Store) {
	update(t, s, func(tx hub.Tx) error { return tx.SetMeta("k", []byte("old")) })
	view(t, s, func(r hub.Reader) error {
		v, err := r.Meta("k")
		check(t, "meta", err)
		same(t, "meta before the update", string(v), "old")
		done := make(chan error, 1)
		go func() {
			done <- s.Update(context.Background(), func(tx hub.Tx) error {
				if err := tx.SetMeta("k", []byte("new")); err != nil {
					return err
				}
				return tx.InsertCodes([]hub.Code{newCode("C-NEW")})
			})
		}()
		select {
		case err := <-done:
			check(t, "concurrent update", err)
		case <-time.After(20 * time.Second):
			t.Fatal("an Update could not commit while a View was open")
		}
		v, err = r.Meta("k")
		check(t, "meta", err)
		same(t, "meta in the view after a concurrent commit", string(v), "old")
		_, err = r.Code("C-NEW")
		isErr(t, "code committed after the view began", err, hub.ErrNotFound)
		return nil
	})
	view(t, s, func(r hub.Reader) error {
		v, err := r.Meta("k")
		check(t, "meta", err)
		same(t, "meta in a new view", string(v), "new")
		return nil
	})
}

func testPing(t *testing.T, s hub.Store) {
	check(t, "ping", s.Ping(context.Background()))
}

func testMeta(t *testing.T, s hub.Store) {
	view(t, s, func(r hub.Reader) error {
		_, err := r.Meta("missing")
		isErr(t, "missing meta", err, hub.ErrNotFound)
		return nil
	})
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	update(t, s, func(tx hub.Tx) error {
		check(t, "set a", tx.SetMeta("a", []byte("one")))
		check(t, "set bin", tx.SetMeta("bin", bin))
		return tx.SetMeta("a", []byte("two"))
	})
	view(t, s, func(r hub.Reader) error {
		v, err := r.Meta("a")
		check(t, "meta a", err)
		same(t, "meta a (overwritten)", v, []byte("two"))
		v, err = r.Meta("bin")
		check(t, "meta bin", err)
		same(t, "meta bin", v, bin)
		return nil
	})
}

// errStop ends a stream early.
var errStop = errors.New("stop")
