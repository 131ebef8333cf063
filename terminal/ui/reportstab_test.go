package ui_test

import (
	"regexp"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

func TestReportsXThenZ(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	dayOfThreeEvents(t, h)
	h.unlock("M1", "2580")
	h.alt(fyne.Key2)
	test.Tap(h.button("Print X report"))
	h.until("the X report", func() bool { return h.shows("X report (running totals)") })
	for _, want := range []string{"No printer is set: shown here only.", "Since this terminal's first event",
		"Events no. 1 to 3", "视频会员月卡", "Gift card",
		"1 redemptions, 1 uses, ¥25.00 (1 offline) · 0 voids, 0 uses, ¥0.00 · 1 refused · net ¥25.00",
		"Total", "2 redemptions, 2 uses, ¥50.00 (2 offline) · 0 voids, 0 uses, ¥0.00 · 1 refused · net ¥50.00"} {
		if !h.shows(want) {
			t.Errorf("the X report does not show %q: %q", want, h.texts())
		}
	}

	// Closing the day asks first; Cancel closes nothing.
	test.Tap(h.button("Close the day: Z report"))
	test.Tap(h.overlayButton("Cancel"))
	h.pump()
	if h.shows("Z report no.") {
		t.Fatalf("Cancel closed the day: %q", h.texts())
	}
	test.Tap(h.button("Close the day: Z report"))
	test.Tap(h.overlayButton("Close the day"))
	h.until("Z report no. 1", func() bool { return h.shows("Z report no. 1, closed by M1") })
	if !h.shows("Total") || !h.shows("Events no. 1 to 3") {
		t.Errorf("Z report: %q", h.texts())
	}

	// After the Z, the X report starts again from nothing.
	test.Tap(h.button("Print X report"))
	h.until("the empty X report", func() bool { return h.shows("No events since the last Z report.") })
	// By keyboard: the question opens with Cancel focused; Tab, Space.
	z := h.button("Close the day: Z report")
	h.w.Canvas().Focus(z)
	z.TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	c := h.w.Canvas()
	if b, ok := c.Focused().(*widget.Button); !ok || b.Text != "Cancel" {
		t.Fatalf("the Z question opens with %#v focused, want Cancel", c.Focused())
	}
	c.FocusNext()
	if b, ok := c.Focused().(*widget.Button); !ok || b.Text != "Close the day" {
		t.Fatalf("Tab from Cancel focuses %#v, want Close the day", c.Focused())
	}
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeySpace})
	h.until("Z report no. 2", func() bool { return h.shows("Z report no. 2, closed by M1") })

	// The log lists both Z reports.
	h.alt(fyne.Key1)
	test.Tap(h.button("Show"))
	h.until("the journal with the Z reports", func() bool { return h.shows("Z no. 2") })
	if !h.shows("Z no. 1") {
		t.Errorf("the log does not list Z no. 1: %q", h.texts())
	}
}

// rawKey is a text key shown as itself: a text missing from the catalogue.
var rawKey = regexp.MustCompile(`^(log|report|void|csv)\.[a-z_.]+$`)

func TestManagerTabsInBothLanguages(t *testing.T) {
	for _, c := range []struct {
		lang               protocol.Lang
		log, x, void, done string
	}{
		{protocol.LangEN, "Reason / note", "X report (running totals)", "Why (required), e.g. customer changed their mind",
			"Not voided: event"},
		{protocol.LangZH, "原因 / 备注", "X 报表（当前汇总）", "原因（必填），例如顾客取消", "未撤销：已超过可撤销时限。"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			h := newHarness(t, c.lang)
			h.signIn("C7", "3690")
			code, _ := termtest.Secret(5)
			h.scan(code)
			h.unlock("M1", "2580")
			h.alt(fyne.Key1)
			h.until("the log", func() bool { return h.shows(c.log) })
			h.until("the journal", func() bool { return h.shows("S00000000005") })
			noRawKeys(t, h)
			// A void outside the undo window is refused in the window's language.
			find(h, "the journal", func(*widget.Table) bool { return true }).Select(widget.TableCellID{})
			h.clock.Add(20 * time.Minute) // the tap below restarts the auto-lock
			test.Tap(find(h, "the void button", func(b *widget.Button) bool { return b.Text == "Void…" || b.Text == "撤销…" }))
			overlay(h, "the reason entry", func(e *widget.Entry) bool { return e.PlaceHolder == c.void }).SetText("x")
			noRawKeysIn(t, overlayTexts(h))
			test.Tap(overlay(h, "confirm", func(b *widget.Button) bool { return b.Text == "Void" || b.Text == "确认撤销" }))
			h.until("the refusal", func() bool { return h.shows(c.done) })

			h.alt(fyne.Key2)
			test.Tap(find(h, "the X button", func(b *widget.Button) bool { return b.Text == "Print X report" || b.Text == "打印 X 报表" }))
			h.until("the X report", func() bool { return h.shows(c.x) })
			noRawKeys(t, h)
		})
	}
}

func noRawKeys(t *testing.T, h *harness) {
	t.Helper()
	noRawKeysIn(t, h.texts())
}

func noRawKeysIn(t *testing.T, texts []string) {
	t.Helper()
	for _, s := range texts {
		if rawKey.MatchString(s) {
			t.Errorf("a text key is shown raw: %q in %q", s, texts)
		}
	}
}

// overlayTexts lists the labels and buttons of the open dialog.
func overlayTexts(h *harness) []string {
	var out []string
	walkOverlay(h, func(o fyne.CanvasObject) bool {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Button:
			out = append(out, x.Text)
		}
		return true
	})
	return out
}
