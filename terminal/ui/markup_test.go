package ui_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

// The verdict screens, as Fyne markup: what is drawn, where, in which
// colour and size. A failed run writes the new markup to testdata/failed/;
// copy it over the golden after checking it.
func TestVerdictMarkup(t *testing.T) {
	for _, lang := range []protocol.Lang{protocol.LangEN, protocol.LangZH} {
		t.Run(string(lang), func(t *testing.T) {
			h := newHarness(t, lang)
			h.signIn("M1", "2580")
			test.AssertRendersToMarkup(t, "scan_"+string(lang)+".xml", h.w.Canvas())
			code, _ := termtest.Secret(1)
			h.scan(code)
			test.AssertRendersToMarkup(t, "accepted_"+string(lang)+".xml", h.w.Canvas())
			h.clock.Add(2 * time.Second)
			h.scan(code)
			test.AssertRendersToMarkup(t, "rejected_"+string(lang)+".xml", h.w.Canvas())
		})
	}
}
