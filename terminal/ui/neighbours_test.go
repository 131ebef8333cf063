package ui_test

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

// The other terminals' tab lists what the feed delivered about the
// store's other terminals today, with a net total.
func TestOtherTerminalsTab(t *testing.T) {
	st, dir := termtest.Open(t, fixture())
	code := termtest.SecretCode(20, "M5", 5)
	code.UsesLeft = 3
	at := termtest.Now.Add(-time.Hour)
	redeemed := protocol.Change{Seq: 1, Kind: protocol.ChangeCodeRedeemed, At: at, Code: &code,
		By: &protocol.ChangeOrigin{Terminal: "T-SH001-2", Store: termtest.Store, Seq: 7, Kind: protocol.KindRedemption,
			Uses: 2, Amount: 3600, Mode: protocol.ModeOnline, Cashier: "C5", At: at}}
	elsewhere := redeemed
	elsewhere.Seq, elsewhere.By = 2, &protocol.ChangeOrigin{Terminal: "T-BJ001-1", Store: "bj-001", Seq: 3,
		Kind: protocol.KindRedemption, Uses: 1, Amount: 1800, Mode: protocol.ModeOffline, At: at}
	if _, err := st.ApplyFeed(context.Background(), 0, 0, []protocol.Change{redeemed, elsewhere}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h := newHarnessDir(t, dir, protocol.LangEN)
	h.signIn("M1", "2580")
	h.unlock("M1", "2580")
	h.alt(fyne.Key4)
	h.until("the list", func() bool { return h.shows("2026-11-22: 1 redemptions, net ¥36.00") })
	if !h.shows("T-SH001-2 · C5") || !h.shows("咖啡次卡") || h.shows("T-BJ001-1") {
		t.Errorf("other terminals: %q", h.texts())
	}
}
