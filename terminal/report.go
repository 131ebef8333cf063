package terminal

import (
	"sort"

	"github.com/hexiao/hexiao/protocol"
)

// CampaignTotal sums one campaign's events of a day.
type CampaignTotal struct {
	Campaign    string
	Redemptions int   // redemption events
	Uses        int   // uses they took
	Value       int64 // their face value, fen
	Offline     int   // redemptions decided offline
	Voids       int   // void events
	VoidedUses  int
	VoidedValue int64
	Refused     int // attempts (refused scans) naming the campaign
}

// Net is the value redeemed less the value voided.
func (c CampaignTotal) Net() int64 { return c.Value - c.VoidedValue }

// Totals sums events by campaign, ordered by campaign id; refused scans
// that named no campaign (unreadable or unknown codes) are under "".
func Totals(events []protocol.Event) []CampaignTotal {
	by := map[string]*CampaignTotal{}
	for _, e := range events {
		t := by[e.Campaign]
		if t == nil {
			t = &CampaignTotal{Campaign: e.Campaign}
			by[e.Campaign] = t
		}
		switch e.Kind {
		case protocol.KindRedemption:
			t.Redemptions++
			t.Uses += e.Uses
			t.Value += e.Amount
			if e.Mode == protocol.ModeOffline {
				t.Offline++
			}
		case protocol.KindVoid:
			t.Voids++
			t.VoidedUses += e.Uses
			t.VoidedValue += e.Amount
		case protocol.KindAttempt:
			t.Refused++
		}
	}
	out := make([]CampaignTotal, 0, len(by))
	for _, t := range by {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Campaign < out[j].Campaign })
	return out
}
