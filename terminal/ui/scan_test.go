package ui_test

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/ui"
)

func TestScanAcceptedThenUsedUp(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	code, _ := termtest.Secret(1)
	v := h.scan(code)
	if v.Kind != ui.VerdictAccepted || v.Reason != protocol.Accepted {
		t.Fatalf("first scan: got %v %s, want accepted", v.Kind, v.Reason)
	}
	for _, want := range []string{"ACCEPTED", "视频会员月卡", "¥25.00", "1 use(s) redeemed · 0 left"} {
		if !h.shows(want) {
			t.Errorf("accepted verdict does not show %q: %q", want, h.texts())
		}
	}
	if h.snd.last() != ui.SoundAccepted {
		t.Errorf("sound: got %v, want the accepted sound", h.snd.last())
	}
	h.clock.Add(2 * time.Second) // past the repeat window
	v = h.scan(code)
	if v.Kind != ui.VerdictRejected || v.Reason != protocol.UsedUp {
		t.Fatalf("second scan: got %v %s, want rejected used_up", v.Kind, v.Reason)
	}
	if !h.shows("NOT ACCEPTED") || !h.shows(protocol.UsedUp.Text(protocol.LangEN)) {
		t.Errorf("rejected verdict: %q", h.texts())
	}
	if h.snd.last() != ui.SoundRejected {
		t.Errorf("sound: got %v, want the rejected sound", h.snd.last())
	}
	// The verdict goes back to the scan screen by itself.
	h.clock.Add(9 * time.Second)
	h.until("the verdict to go", func() bool { return !h.shows("NOT ACCEPTED") })
	if !h.shows("Scan a code") {
		t.Errorf("after the hold: %q", h.texts())
	}
}

func TestScanChineseAndRepeat(t *testing.T) {
	h := newHarness(t, protocol.LangZH)
	h.signIn("M1", "2580")
	code, _ := termtest.Secret(2)
	v := h.scan(code)
	if v.Kind != ui.VerdictAccepted {
		t.Fatalf("got %v %s, want accepted", v.Kind, v.Reason)
	}
	if !h.shows("核销成功") || !h.shows("本次核销 1 次 · 剩余 0 次") {
		t.Errorf("zh verdict: %q", h.texts())
	}
	// The same scan again at once is a repeat: amber, nothing decided.
	v = h.scan(code)
	if v.Kind != ui.VerdictAttention || v.Decision != nil {
		t.Fatalf("repeat: got %v (decision %v), want attention without a decision", v.Kind, v.Decision)
	}
	if !h.shows("重复扫描同一券码") || h.snd.last() != ui.SoundAttention {
		t.Errorf("repeat: %q, sound %v", h.texts(), h.snd.last())
	}
}

func TestTypedCodeAndMultiUseQuestion(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	code, _ := termtest.Secret(20)
	n := len(h.verdicts)
	h.keys(code, 150*time.Millisecond) // a person types it
	h.until("the uses question", func() bool { return h.shows("Uses: 1") })
	h.key(fyne.KeyUp)
	h.key(fyne.KeyUp)
	if !h.shows("Uses: 3  (¥54.00)") {
		t.Fatalf("after Up Up: %q", h.texts())
	}
	h.w.Canvas().OnTypedRune()('2')
	h.pump()
	if !h.shows("Uses: 2  (¥36.00)") {
		t.Fatalf("after typing 2: %q", h.texts())
	}
	h.key(fyne.KeyReturn)
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	v := h.verdicts[len(h.verdicts)-1]
	if v.Kind != ui.VerdictAccepted || v.Decision.Uses != 2 || v.Decision.UsesLeft != 3 {
		t.Fatalf("got %+v, want 2 uses accepted, 3 left", v.Decision)
	}
}

func TestConfirmCancelRedeemsNothing(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	code, _ := termtest.Secret(30)
	h.keys(code, 8*time.Millisecond)
	h.until("the confirmation", func() bool { return h.shows("Redeem ¥25.00?") })
	h.key(fyne.KeyEscape)
	if !h.shows("Cancelled: nothing was redeemed") {
		t.Fatalf("after Esc: %q", h.texts())
	}
	h.clock.Add(2 * time.Second)
	h.keys(code, 8*time.Millisecond)
	h.until("the confirmation", func() bool { return h.shows("Redeem ¥25.00?") })
	n := len(h.verdicts)
	h.key(fyne.KeyReturn)
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	if v := h.verdicts[len(h.verdicts)-1]; v.Kind != ui.VerdictAccepted {
		t.Fatalf("after Enter: %v %s", v.Kind, v.Reason)
	}
}

// A decision a crash cut off before its verdict is resolved as not
// redeemed when the window starts, and the cashier is told to scan again.
func TestInterruptedDecisionIsShown(t *testing.T) {
	st, dir := termtest.Open(t, fixture())
	ev := protocol.Event{V: 1, Terminal: termtest.Terminal, Kind: protocol.KindRedemption, At: termtest.Now, Store: termtest.Store,
		Mode: protocol.ModeOnline, Reason: protocol.Accepted, Code: "S00000000007", Format: protocol.FormatSecret, Campaign: "C1", Uses: 1, Amount: 2500}
	if _, err := st.Pend(context.Background(), terminal.Pending{Claim: ev}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h := newHarnessDir(t, dir, protocol.LangEN)
	h.signIn("M1", "2580")
	h.until("the notice", func() bool {
		return h.shows("1 scan(s) were cut off by a restart") && h.shows("NOT redeemed: scan them again")
	})
	if !h.shows("S00000000007") {
		t.Errorf("the notice does not name the code: %q", h.texts())
	}
	code, _ := termtest.Secret(7)
	h.clock.Add(time.Second)
	if v := h.scan(code); v.Kind != ui.VerdictAccepted {
		t.Errorf("scanned again: %v %s", v.Kind, v.Reason)
	}
}
