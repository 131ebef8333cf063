package ui_test

import (
	"testing"

	"fyne.io/fyne/v2/container"

	"github.com/hexiao/hexiao/protocol"
)

// Every screen fits a 1024-pixel-wide counter display in both languages:
// a text that does not wrap or clip would widen the window past the
// screen and push the status bar out of sight.
func TestScreensFit1024(t *testing.T) {
	const width = 1024
	for _, lang := range []protocol.Lang{protocol.LangEN, protocol.LangZH} {
		h := newHarness(t, lang)
		h.until("sign-in", func() bool { return h.shows("Cashier sign-in") || h.shows("收银员登录") })
		if w := h.w.Content().MinSize().Width; w > width {
			t.Errorf("%s sign-in: %v wide", lang, w)
		}
		h.signIn("M1", "2580")
		if w := h.w.Content().MinSize().Width; w > width {
			t.Errorf("%s scan screen: %v wide", lang, w)
		}
		h.unlock("M1", "2580")
		tabs := find(h, "the manager tabs", func(*container.AppTabs) bool { return true })
		for _, it := range tabs.Items {
			if w := it.Content.MinSize().Width; w > width-40 {
				t.Errorf("%s tab %q: %v wide", lang, it.Text, w)
			}
		}
	}
}
