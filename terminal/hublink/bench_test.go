package hublink_test

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/hublink"
)

// The benchmarks run the fixture's real hub, broker and terminal with the
// link's production timings (zero Options) and no logging.

// benchOptions are the production defaults, logging nowhere.
func benchOptions(o *hublink.Options, _ *terminal.Config) {
	*o = hublink.Options{App: "bench", Log: slog.New(slog.DiscardHandler)}
}

// BenchmarkFeedPush measures how long a change made at the hub takes to
// reach a terminal's cache: from the hub's Block (or Unblock) call until
// the terminal's store returns the code with its new status (polled every
// 50 µs). One op is one change.
func BenchmarkFeedPush(b *testing.B) {
	h := newHub(b, hubOptions{Quiet: true})
	id := h.importCodes(campID, 1)[0]
	tm := h.newTerm(termID, storeID, benchOptions)
	tm.start()
	tm.waitSynced()
	lat := make([]time.Duration, 0, b.N)
	blocked := false
	for b.Loop() {
		want := protocol.StatusBlocked
		start := time.Now()
		var err error
		if blocked {
			want = protocol.StatusActive
			_, err = h.Hub.Unblock(ctx, id, "bench")
		} else {
			_, err = h.Hub.Block(ctx, id, "bench")
		}
		if err != nil {
			b.Fatal(err)
		}
		blocked = !blocked
		for {
			c, err := tm.codeState(id)
			if err != nil {
				b.Fatal(err)
			}
			if c.Status == want {
				break
			}
			if time.Since(start) > wait {
				b.Fatalf("code %s not %s in the cache after %s", id, want, wait)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)-1)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkFirstSync1M measures a new terminal's first sync: from Run until
// the snapshot (pulled page by page, staged, imported) is in and the feed
// cursor set, for a store whose scope holds 1,000,000 card secrets (signed
// codes that are active and unused are left out of snapshots, so the
// codes are imported secrets). Each op enrolls a new terminal outside the
// timer. -short skips the 1M set-up; codes=20k runs always.
func BenchmarkFirstSync1M(b *testing.B) {
	for _, n := range []int{20_000, 1_000_000} {
		name := fmt.Sprintf("codes=%dk", n/1000)
		if n == 1_000_000 {
			name = "codes=1M"
		}
		b.Run(name, func(b *testing.B) {
			if n > 100_000 && testing.Short() {
				b.Skip("-short: no 1,000,000-code set-up")
			}
			benchFirstSync(b, n)
		})
	}
}

func benchFirstSync(b *testing.B, n int) {
	h := newHub(b, hubOptions{Quiet: true})
	ids := h.importCodes(campID, n)
	// A page of 2000 codes takes the hub, the broker and the terminal tens
	// of milliseconds: allow 200 ms a page on top of the usual wait.
	limit := wait + time.Duration(n/protocol.MaxSnapshotCodes)*200*time.Millisecond
	var took time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		tm := h.newTerm(fmt.Sprintf("T-%d", i), storeID, benchOptions)
		b.StartTimer()
		start := time.Now()
		tm.start()
		within(b, limit, time.Millisecond, "first sync", func() (bool, string) {
			c, err := tm.st.FeedCursor(ctx)
			return err == nil && c > 0, fmt.Sprintf("cursor %d (%v), %s", c, err, tm.link.Status().Describe())
		})
		took += time.Since(start)
		b.StopTimer()
		if _, err := tm.codeState(ids[len(ids)-1]); err != nil {
			b.Fatalf("the last code imported at the hub is not in the cache: %v", err)
		}
		if err := tm.stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(took.Seconds()/float64(b.N), "s/sync")
	b.ReportMetric(float64(n)*float64(b.N)/took.Seconds(), "codes/s")
}

// BenchmarkDrain10k measures an outbox drain: 10,000 events decided offline
// wait in the journal (1,000 under -short), then the link starts; one op
// is the time until the hub has acknowledged them all. The events are
// committed outside the timer through the engine, one durable write each.
func BenchmarkDrain10k(b *testing.B) {
	events := 10_000
	if testing.Short() {
		events = 1000
	}
	h := newHub(b, hubOptions{Quiet: true})
	h.campaign("multi", protocol.MaxUses, nil)
	ids := h.importCodes("multi", 100)
	texts := make([]string, len(ids))
	for i, id := range ids {
		texts[i] = h.secret(id)
	}
	tm := h.newTerm(termID, storeID, benchOptions)
	tm.start()
	tm.waitSynced()
	if err := tm.stop(); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	next := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := tm.eng.ForceOffline(ctx, "m1", true, "bench"); err != nil {
			b.Fatal(err)
		}
		for range events {
			if d := tm.redeem(texts[next%len(texts)]); !d.Accepted() {
				b.Fatalf("offline redemption: %s (%s)", d.Reason, d.Detail)
			}
			next++
		}
		if err := tm.eng.ForceOffline(ctx, "m1", false, "bench"); err != nil {
			b.Fatal(err)
		}
		head := tm.st.Head().Seq
		b.StartTimer()
		start := time.Now()
		tm.start()
		within(b, wait+time.Duration(events)*time.Millisecond, time.Millisecond, "drain", func() (bool, string) {
			s := tm.link.Status()
			return s.Acked == head, s.Describe()
		})
		took += time.Since(start)
		b.StopTimer()
		if err := tm.stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(events)*float64(b.N)/took.Seconds(), "events/s")
}
