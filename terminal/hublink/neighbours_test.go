package hublink_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// findNeighbour waits until tm's Neighbours of day lists event ref and
// returns that row.
func (t *term) findNeighbour(day string, ref protocol.EventRef) sqlite.Neighbour {
	t.tb.Helper()
	var found sqlite.Neighbour
	eventually(t.tb, fmt.Sprintf("%s listed by %s", ref, t.cfg.Terminal), func() (bool, string) {
		ns, err := t.st.Neighbours(ctx, day)
		for _, n := range ns {
			if n.Terminal == ref.Terminal && n.Seq == ref.Seq {
				found = n
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d rows, err %v", len(ns), err)
	})
	return found
}

func storeDay(tm *term, at time.Time) string {
	return at.In(tm.st.Identity().Location).Format(time.DateOnly)
}

// Two terminals of one store on the real hub: what A redeems, online or
// offline, B lists as the feed delivers it — A's terminal, the code id,
// the campaign's name, uses, amount and mode — and A never lists itself.
func TestNeighboursThroughTheHub(t *testing.T) {
	h := newHub(t, hubOptions{})
	codes := h.importCodes(campID, 4)
	a := h.newTerm("T-A", storeID, nil)
	b := h.newTerm("T-B", storeID, nil)
	a.start()
	b.start()
	a.waitSynced()
	b.waitSynced()
	camp, err := b.st.Campaign(ctx, campID)
	if err != nil {
		t.Fatal(err)
	}

	d := a.redeem(h.secret(codes[0]))
	if !d.Accepted() || d.Mode != protocol.ModeOnline {
		t.Fatalf("A's redemption: %s (%s) mode %s, want accepted online", d.Reason, d.Detail, d.Mode)
	}
	day := storeDay(b, d.At)
	n := b.findNeighbour(day, d.Event)
	want := sqlite.Neighbour{Terminal: "T-A", Seq: d.Event.Seq, Kind: protocol.KindRedemption, Code: codes[0], Campaign: campID,
		CampaignName: camp.Name, Cashier: n.Cashier, Uses: 1, Amount: camp.FaceValue, Mode: protocol.ModeOnline, At: n.At}
	if n != want {
		t.Errorf("B's row of A's online redemption\n got %+v\nwant %+v", n, want)
	}
	if n.At.Sub(d.At).Abs() > time.Second {
		t.Errorf("listed at %s, A decided at %s", n.At, d.At)
	}

	a.redeemOffline([]string{h.secret(codes[1])})
	a.waitAcked()
	off := protocol.EventRef{Terminal: "T-A", Seq: a.st.Head().Seq}
	n = b.findNeighbour(day, off)
	if n.Mode != protocol.ModeOffline || n.Code != codes[1] || n.Cashier != "c1" || n.Uses != 1 {
		t.Errorf("B's row of A's offline redemption %+v, want code %s offline by cashier c1", n, codes[1])
	}
	if ns, err := b.st.Neighbours(ctx, day); err != nil || len(ns) != 2 || ns[0].Seq != off.Seq {
		t.Errorf("B's neighbours %+v (%v), want the offline redemption first, then the online one", ns, err)
	}

	// B's own redemption reaches A, never B's own list.
	db := b.redeem(h.secret(codes[2]))
	if !db.Accepted() {
		t.Fatalf("B's redemption: %s", db.Reason)
	}
	a.findNeighbour(day, db.Event)
	b.waitAcked()
	if ns, _ := b.st.Neighbours(ctx, day); len(ns) != 2 {
		t.Errorf("B lists %d rows after its own redemption, want still 2", len(ns))
	}
}
