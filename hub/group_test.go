package hub_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/hub/internal/hubtest"
	"github.com/hexiao/hexiao/protocol"
)

// waitQueue waits until the group commit's queue is as wanted.
func waitQueue(t *testing.T, h *hub.Hub, leading bool, waiting int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, w := h.GroupQueue()
		if l == leading && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group queue: leading %v with %d waiting, want %v with %d", l, w, leading, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit has six terminals' batches arrive while the writer is
// busy: the first commits alone, the other five together in one
// transaction, and every event is in the ledger once with its ack.
func TestGroupCommit(t *testing.T) {
	f := hubtest.New(t, hub.Config{})
	f.Store("sh-001", "east")
	f.Campaign("multi", 100, nil)
	codes := f.Import("multi", 60)
	var terms []*hubtest.Term
	var batches [][]protocol.SignedEvent
	for i := range 6 {
		tm := f.Terminal(fmt.Sprintf("T-%d", i), "sh-001")
		var evs []protocol.SignedEvent
		for k := range 10 {
			evs = append(evs, tm.Redemption(codes[i*10+k], "multi", protocol.FormatSecret, 1, protocol.ModeOffline))
		}
		terms, batches = append(terms, tm), append(batches, evs)
	}
	commits0 := f.Hub.Stats().IngestCommits.Load()
	type result struct {
		ack protocol.Ack
		err error
	}
	results := make([]chan result, len(terms))
	ingest := func(i int) {
		results[i] = make(chan result, 1)
		go func() {
			ack, err := f.Hub.Ingest(ctx, terms[i].ID, terms[i].Batch(batches[i]...))
			results[i] <- result{ack, err}
		}()
	}
	release := f.Hub.HoldWriter()
	ingest(0)
	waitQueue(t, f.Hub, true, 0) // T-0 leads a group of itself, held at the writer
	for i := 1; i < len(terms); i++ {
		ingest(i)
	}
	waitQueue(t, f.Hub, true, 5)
	release()
	for i, ch := range results {
		r := <-ch
		if r.err != nil || r.ack.Seq != 10 || r.ack.Refused != nil {
			t.Errorf("%s: ack %+v, %v; want watermark 10", terms[i].ID, r.ack, r.err)
		}
	}
	if got := f.Hub.Stats().IngestCommits.Load() - commits0; got != 2 {
		t.Errorf("%d ingest commits for 6 batches, want 2 (one alone, five together)", got)
	}
	for i := range 60 {
		if got := usedOf(t, f, codes[i]); got != 1 {
			t.Errorf("code %s used %d times, want 1", codes[i], got)
		}
	}
	waitQueue(t, f.Hub, false, 0)
}

func usedOf(t *testing.T, f *hubtest.Fixture, code string) int {
	t.Helper()
	info, err := f.Hub.LookupCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	return info.Used
}

// TestGroupCommitFailureIsolated has one update of a group fail after
// writing: the group is rolled back and each update runs again alone, so
// the others commit and the failed one leaves nothing.
func TestGroupCommitFailureIsolated(t *testing.T) {
	f := hubtest.New(t, hub.Config{})
	errBoom := errors.New("boom")
	commits0 := f.Hub.Stats().IngestCommits.Load()
	release := f.Hub.HoldWriter()
	done := map[string]chan error{}
	run := func(key string, fail error) {
		done[key] = make(chan error, 1)
		go func() { done[key] <- f.Hub.GroupedMeta(ctx, key, "v-"+key, fail) }()
	}
	run("a", nil)
	waitQueue(t, f.Hub, true, 0)
	run("b", nil)
	waitQueue(t, f.Hub, true, 1)
	run("c", errBoom)
	waitQueue(t, f.Hub, true, 2)
	run("d", nil)
	waitQueue(t, f.Hub, true, 3)
	release()
	for key, want := range map[string]error{"a": nil, "b": nil, "c": errBoom, "d": nil} {
		if err := <-done[key]; !errors.Is(err, want) {
			t.Errorf("update %s: %v, want %v", key, err, want)
		}
	}
	err := f.DB.View(ctx, func(r hub.Reader) error {
		for _, key := range []string{"a", "b", "d"} {
			if v, err := r.Meta(key); err != nil || string(v) != "v-"+key {
				t.Errorf("meta %s: %q, %v; want v-%s", key, v, err, key)
			}
		}
		if v, err := r.Meta("c"); !errors.Is(err, hub.ErrNotFound) {
			t.Errorf("meta c of the failed update: %q, %v; want not found", v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// a alone; b, c, d together (rolled back); then b and d alone.
	if got := f.Hub.Stats().IngestCommits.Load() - commits0; got != 3 {
		t.Errorf("%d commits, want 3", got)
	}
}
