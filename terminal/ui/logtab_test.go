package ui_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/ui"
)

// walkOverlay visits the visible objects of the window's top overlay (a
// dialog) in tree order while visit returns true; it reports whether there
// is an overlay.
func walkOverlay(h *harness, visit func(o fyne.CanvasObject) bool) bool {
	top := h.w.Canvas().Overlays().Top()
	walkFrom(top, visit)
	return top != nil
}

// overlay returns the first object of type T that match accepts in the
// open dialog, failing the test when there is none.
func overlay[T fyne.CanvasObject](h *harness, what string, match func(T) bool) T {
	h.t.Helper()
	var found T
	ok := false
	open := walkOverlay(h, func(o fyne.CanvasObject) bool {
		if x, is := o.(T); is && !ok && match(x) {
			found, ok = x, true
		}
		return !ok
	})
	if !ok {
		h.t.Fatalf("no %s in the dialog (open: %v); the window shows %q", what, open, h.texts())
	}
	return found
}

// overlayButton finds a button of the open dialog by its text.
func (h *harness) overlayButton(text string) *widget.Button {
	h.t.Helper()
	return overlay(h, "button "+text, func(b *widget.Button) bool { return b.Text == text })
}

// openLog signs cashier in, lets scans run, then opens the log as M1.
func (h *harness) openLog(wantRows string) {
	h.t.Helper()
	h.unlock("M1", "2580")
	h.alt(fyne.Key1)
	h.until("the day's journal", func() bool { return h.shows(wantRows) })
}

// confirmCode scans a code of a campaign that asks for confirmation and
// confirms it.
func (h *harness) confirmCode(code string) ui.Verdict {
	h.t.Helper()
	n := len(h.verdicts)
	h.keys(code, 8*time.Millisecond)
	h.until("the confirmation", func() bool { return h.shows("Redeem ") })
	h.key(fyne.KeyReturn)
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	return h.verdicts[len(h.verdicts)-1]
}

// dayOfThreeEvents makes the day most log tests read: cashier C7 redeems
// card 1 of C1 and is refused it again (used up); cashier C8 redeems card
// 30 of C2 (Gift card).
func dayOfThreeEvents(t *testing.T, h *harness) {
	t.Helper()
	h.signIn("C7", "3690")
	code1, _ := termtest.Secret(1)
	if v := h.scan(code1); v.Kind != ui.VerdictAccepted {
		t.Fatalf("card 1: %v %s", v.Kind, v.Reason)
	}
	h.clock.Add(2 * time.Second)
	if v := h.scan(code1); v.Reason != protocol.UsedUp {
		t.Fatalf("card 1 again: %v %s", v.Kind, v.Reason)
	}
	h.key(fyne.KeyF3)
	h.signIn("C8", "4826")
	code30, _ := termtest.Secret(30)
	if v := h.confirmCode(code30); v.Kind != ui.VerdictAccepted {
		t.Fatalf("card 30: %v %s", v.Kind, v.Reason)
	}
}

func TestLogFiltersTotalsAndCSV(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	dayOfThreeEvents(t, h)
	h.openLog("3 rows")
	all := "3 rows · 2 redemptions, 2 uses, ¥50.00 · 0 voids, ¥0.00 · 1 refused · net ¥50.00"
	if !h.shows(all) {
		t.Fatalf("totals of the day: %q", h.texts())
	}
	for _, want := range []string{"Time", "Code id", "S00000000001", "视频会员月卡", "Gift card", "C8",
		protocol.UsedUp.Text(protocol.LangEN), "Refused", "Redeemed", "offline"} {
		if !h.shows(want) {
			t.Errorf("the journal does not show %q: %q", want, h.texts())
		}
	}
	if h.shows("CARD00000001") {
		t.Errorf("the journal shows a secret: %q", h.texts())
	}

	cashier := h.selectWith("All cashiers")
	cashier.SetSelected("C8")
	h.pump()
	if !h.shows("1 rows · 1 redemptions, 1 uses, ¥25.00 · 0 voids, ¥0.00 · 0 refused · net ¥25.00") {
		t.Fatalf("cashier C8: %q", h.texts())
	}
	if h.shows("视频会员月卡") {
		t.Errorf("cashier C8's rows show C7's campaign: %q", h.texts())
	}
	cashier.SetSelectedIndex(0)
	verdict := h.selectWith("Everything")
	verdict.SetSelected("Refused")
	h.pump()
	if !h.shows("1 rows · 0 redemptions, 0 uses, ¥0.00 · 0 voids, ¥0.00 · 1 refused · net ¥0.00") {
		t.Fatalf("refused only: %q", h.texts())
	}
	verdict.SetSelectedIndex(0)
	h.selectWith("All campaigns").SetSelected("视频会员月卡")
	h.pump()
	if !h.shows("2 rows · 1 redemptions, 1 uses, ¥25.00 · 0 voids, ¥0.00 · 1 refused · net ¥25.00") {
		t.Fatalf("campaign 视频会员月卡: %q", h.texts())
	}

	// Export the filtered rows to a typed path.
	home, _ := os.UserHomeDir()
	path := find(h, "the export path", func(e *widget.Entry) bool { return strings.HasPrefix(e.Text, home) })
	if want := filepath.Join(home, "hexiao-log-2026-11-22.csv"); path.Text != want {
		t.Errorf("default export path %q, want %q", path.Text, want)
	}
	out := filepath.Join(t.TempDir(), "day.csv")
	path.SetText(out)
	test.Tap(h.button("Export CSV"))
	h.until("the export", func() bool { return h.shows("2 rows written to " + out) })
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		t.Fatalf("no UTF-8 BOM: % x", data[:min(8, len(data))])
	}
	recs, err := csv.NewReader(bytes.NewReader(data[3:])).ReadAll()
	if err != nil {
		t.Fatalf("read the export back: %v\n%s", err, data)
	}
	head := []string{"Date", "Time", "No.", "What", "Code id", "Campaign", "Cashier", "Uses", "Amount (yuan)", "Mode", "Reason / note", "Slip"}
	if len(recs) != 3 || !slices.Equal(recs[0], head) {
		t.Fatalf("export: got %q, want the header %q and 2 rows", recs, head)
	}
	red, att := recs[1], recs[2]
	if red[3] != "Redeemed" || red[4] != "S00000000001" || red[5] != "视频会员月卡" || red[6] != "C7" ||
		red[7] != "1" || red[8] != "25.00" || red[0] != "2026-11-22" {
		t.Errorf("redemption row: %q", red)
	}
	if att[3] != "Refused" || att[10] != protocol.UsedUp.Text(protocol.LangEN) || att[8] != "" {
		t.Errorf("refused row: %q", att)
	}
	if bytes.Contains(data, []byte("CARD0")) {
		t.Errorf("the export holds a card secret:\n%s", data)
	}

	// A path that cannot be written is refused in words, leaving nothing.
	bad := filepath.Join(t.TempDir(), "no-such-dir", "day.csv")
	path.SetText(bad)
	test.Tap(h.button("Export CSV"))
	h.until("the export error", func() bool { return h.shows("Could not write " + bad) })
	if _, err := os.Stat(filepath.Dir(bad)); !os.IsNotExist(err) {
		t.Errorf("a failed export left %s: %v", filepath.Dir(bad), err)
	}
}

func TestLogVoidThenWindowPassed(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("C7", "3690")
	code, _ := termtest.Secret(20) // M5, 5 uses of ¥18.00
	n := len(h.verdicts)
	h.keys(code, 8*time.Millisecond)
	h.until("the uses question", func() bool { return h.shows("Uses: 1") })
	h.key(fyne.KeyUp)
	h.key(fyne.KeyReturn)
	h.until("the verdict", func() bool { return len(h.verdicts) > n })
	if v := h.verdicts[len(h.verdicts)-1]; v.Decision.Uses != 2 {
		t.Fatalf("got %+v, want 2 uses", v.Decision)
	}
	h.openLog("1 rows")
	void := h.button("Void…")
	if !void.Disabled() || !h.button("Reprint slip").Disabled() {
		t.Errorf("void or reprint enabled with nothing selected")
	}
	// Select the redemption with the keyboard: the table has focus, Space.
	table := find(h, "the journal", func(*widget.Table) bool { return true })
	h.w.Canvas().Focus(table)
	table.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	if void.Disabled() {
		t.Fatalf("void disabled on a redemption within its undo window")
	}
	test.Tap(void)
	uses := overlay(h, "the uses entry", func(e *widget.Entry) bool { return e.Text == "2" })
	reason := overlay(h, "the reason entry", func(e *widget.Entry) bool { return strings.HasPrefix(e.PlaceHolder, "Why") })
	if h.w.Canvas().Focused() != uses {
		t.Errorf("the void dialog opens with %#v focused, want the uses", h.w.Canvas().Focused())
	}
	if h.w.Canvas().FocusNext(); h.w.Canvas().Focused() != reason {
		t.Errorf("Tab from the uses focuses %#v, want the reason", h.w.Canvas().Focused())
	}
	confirm := h.overlayButton("Void")
	if !confirm.Disabled() {
		t.Errorf("void can be confirmed without a reason")
	}
	uses.SetText("9")
	reason.SetText("customer changed their mind")
	if !confirm.Disabled() {
		t.Errorf("void can be confirmed for 9 uses of 2")
	}
	uses.SetText("1")
	if confirm.Disabled() {
		t.Fatalf("void cannot be confirmed with 1 use and a reason")
	}
	reason.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn}) // Enter submits
	h.until("the void", func() bool { return h.shows("Voided 1 use(s) of S00000000020 (¥18.00)") })
	h.until("the journal again", func() bool { return h.shows("2 rows") })
	for _, want := range []string{"Redeemed, 1 use(s) voided", "Void", "undoes no. 1 · customer changed their m",
		"2 rows · 1 redemptions, 2 uses, ¥36.00 · 1 voids, ¥18.00 · 0 refused · net ¥18.00"} {
		if !h.shows(want) {
			t.Errorf("after the void the journal does not show %q: %q", want, h.texts())
		}
	}
	if h.w.Canvas().Overlays().Top() != nil {
		t.Errorf("the void dialog is still open")
	}

	// 16 minutes later the undo window (15) has passed: the engine refuses
	// and says why.
	h.clock.Add(16 * time.Minute)
	table.Select(widget.TableCellID{Row: 0, Col: 0})
	test.Tap(h.button("Void…"))
	overlay(h, "the reason entry", func(e *widget.Entry) bool { return strings.HasPrefix(e.PlaceHolder, "Why") }).
		SetText("too late")
	test.Tap(h.overlayButton("Void"))
	h.until("the refusal", func() bool { return h.shows("the undo window of 15m0s has passed") })
	if !h.shows("Not voided: event") {
		t.Errorf("refusal: %q", h.texts())
	}
	// Reloaded: the redemption may no longer be voided.
	h.until("void disabled", func() bool { return h.button("Void…").Disabled() })
}

func TestLogReprintWithoutPrinterSaysWhy(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("C7", "3690")
	code, _ := termtest.Secret(3)
	h.scan(code)
	h.openLog("1 rows")
	if h.shows("not printed") {
		t.Errorf("without a printer a slip is not 'not printed': %q", h.texts())
	}
	find(h, "the journal", func(*widget.Table) bool { return true }).Select(widget.TableCellID{Row: 0, Col: 0})
	test.Tap(h.button("Reprint slip"))
	h.until("the reprint's outcome", func() bool { return h.shows("Reprint failed: No printer is set up: choose one in Settings") })
}

func TestLogKeyboardOnly(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("C7", "3690")
	code, _ := termtest.Secret(4)
	h.scan(code)
	h.openLog("1 rows")
	// Tab reaches every control of the tab.
	c := h.w.Canvas()
	c.Unfocus()
	var reached []string
	for range 40 {
		c.FocusNext()
		switch x := c.Focused().(type) {
		case *widget.Button:
			reached = append(reached, "button "+x.Text)
		case *widget.Select:
			reached = append(reached, "select "+x.Selected)
		case *widget.Entry:
			reached = append(reached, "entry "+x.PlaceHolder)
		case *widget.Table:
			reached = append(reached, "table")
		}
	}
	for _, want := range []string{"entry YYYY-MM-DD, then Enter", "button ◀ Previous day", "button Next day ▶", "button Show",
		"select All campaigns", "select All cashiers", "select Everything", "table", "button Export CSV"} {
		if !slices.Contains(reached, want) {
			t.Errorf("Tab never reaches %s; it reaches %q", want, reached)
		}
	}
	// Space on a focused button activates it: the previous day.
	prev := h.button("◀ Previous day")
	c.Focus(prev)
	prev.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	h.until("the previous day", func() bool { return h.shows("0 rows") })
	date := find(h, "the date", func(e *widget.Entry) bool { return e.PlaceHolder == "YYYY-MM-DD, then Enter" })
	if date.Text != "2026-11-21" {
		t.Errorf("date after previous day: %q", date.Text)
	}
	// A typed date and Enter; a bad one is refused in words.
	c.Focus(date)
	date.SetText("")
	test.Type(date, "2026-11-22")
	date.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.until("the typed day", func() bool { return h.shows("1 rows") })
	date.SetText("")
	test.Type(date, "22/11/2026")
	date.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	h.pump()
	if !h.shows("“22/11/2026” is not a date") {
		t.Errorf("bad date: %q", h.texts())
	}
}
