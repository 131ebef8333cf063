package ui_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/ui"
)

// BenchmarkScanToVerdict measures the cashier's wait: from the Enter that
// ends a scanner burst to the verdict on screen (the widgets set, the
// sound started), through the real station: Prepare and Commit on SQLite
// (WAL, synchronous=FULL) on the worker, then the UI. The terminal has no
// hub, so this is the offline path; an online claim adds the hub's round
// trip. Reported as enter-to-verdict-ms (the mean).
func BenchmarkScanToVerdict(b *testing.B) {
	c := termtest.Campaign("B1")
	snap := termtest.Snapshot{Campaigns: []protocol.Campaign{c}}
	for n := range b.N {
		snap.Codes = append(snap.Codes, termtest.SecretCode(1000+n, "B1", 1))
	}
	h := newHarnessDir(b, termtest.Dir(b, snap), protocol.LangEN)
	h.signIn("M1", "2580")
	var total time.Duration
	b.ResetTimer()
	for n := range b.N {
		code, _ := termtest.Secret(1000 + n)
		for _, r := range code {
			h.w.Canvas().OnTypedRune()(r)
			h.clock.Add(8 * time.Millisecond)
		}
		k := len(h.verdicts)
		start := time.Now()
		h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyReturn})
		h.until("the verdict", func() bool { return len(h.verdicts) > k })
		total += h.shownAt.Sub(start)
		if v := h.verdicts[len(h.verdicts)-1]; v.Kind != ui.VerdictAccepted {
			b.Fatalf("scan %d: %v %s", n, v.Kind, v.Reason)
		}
		h.clock.Add(2 * time.Second)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "enter-to-verdict-ms")
}
