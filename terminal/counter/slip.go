package counter

import (
	"context"
	"errors"

	"github.com/hexiao/hexiao/drivers/escpos"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

func (c *Counter) layout() escpos.Layout { return escpos.Layout{Columns: c.docs().Columns} }

func (c *Counter) slipBase() escpos.Slip {
	id := c.st.Identity()
	return escpos.Slip{Lang: string(c.docs().Lang), Store: id.Store, StoreName: c.docs().StoreName, Terminal: id.Terminal, Location: id.Location}
}

// renderDecision renders the slip of a decision just made.
func (c *Counter) renderDecision(d terminal.Decision, cashier string) ([]byte, error) {
	s := c.slipBase()
	s.Cashier, s.At = cashier, d.At
	s.Campaign, s.CampaignName, s.Code = d.Campaign.ID, d.Campaign.Name, d.Code.ID
	s.Accepted, s.Reason, s.ReasonText, s.Mode = d.Accepted(), string(d.Reason), d.Reason.Text(c.docs().Lang), string(d.Mode)
	s.Uses, s.UsesLeft, s.Amount, s.EventID = d.Uses, d.UsesLeft, d.Amount, d.Event.String()
	return escpos.RenderSlip(s, c.layout())
}

// renderEvent renders a reprint of a journaled redemption. Uses left is
// what the cache knows now.
func (c *Counter) renderEvent(ctx context.Context, ev protocol.Event) ([]byte, error) {
	s := c.slipBase()
	s.Cashier, s.At, s.Campaign, s.Code = ev.Cashier, ev.At, ev.Campaign, ev.Code
	s.Accepted, s.Reason, s.ReasonText, s.Mode = true, string(ev.Reason), ev.Reason.Text(c.docs().Lang), string(ev.Mode)
	s.Uses, s.UsesLeft, s.Amount, s.EventID, s.Reprint = ev.Uses, -1, ev.Amount, ev.Ref().String(), true
	if camp, err := c.st.Campaign(ctx, ev.Campaign); err == nil {
		s.CampaignName = camp.Name
	} else if !errors.Is(err, terminal.ErrNotFound) {
		return nil, err
	}
	if code, err := c.st.CodeByID(ctx, ev.Code); err == nil {
		s.UsesLeft = code.UsesLeft
	} else if !errors.Is(err, terminal.ErrNotFound) {
		return nil, err
	}
	return escpos.RenderSlip(s, c.layout())
}

// renderReport renders an X or Z report, naming each campaign.
func (c *Counter) renderReport(ctx context.Context, r terminal.Report) ([]byte, error) {
	id := c.st.Identity()
	doc := escpos.Report{Lang: string(c.docs().Lang), Z: r.Z, Number: r.Number, Store: id.Store, StoreName: c.docs().StoreName,
		Terminal: id.Terminal, Manager: r.Manager, From: r.Since, To: r.At, Location: id.Location, PrintedAt: c.now()}
	for _, l := range r.Lines {
		line := escpos.ReportLine{Campaign: l.Campaign, Redemptions: l.Redemptions, Uses: l.Uses, Value: l.Value,
			Voids: l.Voids, VoidedUses: l.VoidedUses, VoidedValue: l.VoidedValue, Offline: l.Offline, Refused: l.Refused}
		if l.Campaign != "" {
			if camp, err := c.st.Campaign(ctx, l.Campaign); err == nil {
				line.CampaignName = camp.Name
			} else if !errors.Is(err, terminal.ErrNotFound) {
				return nil, err
			}
		}
		doc.Lines = append(doc.Lines, line)
	}
	return escpos.RenderReport(doc, c.layout())
}
