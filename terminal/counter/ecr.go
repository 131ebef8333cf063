package counter

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// Handle answers one command from the cash register. A COMMIT is decided
// once per idempotency key, whatever the register resends; REVERSE voids
// the redemption a key committed; LAST_RESULT answers from the journal when
// given a key, else with the last COMMIT or REVERSE since this process
// started.
func (c *Counter) Handle(ctx context.Context, req ecr.Request) ecr.Reply {
	switch req.Command {
	case ecr.CmdPrepare:
		return c.ecrPrepare(ctx, req)
	case ecr.CmdCommit:
		return c.remember(c.ecrCommit(ctx, req))
	case ecr.CmdReverse:
		return c.remember(c.ecrReverse(ctx, req))
	case ecr.CmdLastResult:
		return c.ecrLastResult(ctx, req)
	case ecr.CmdStatus:
		return c.ecrStatus(ctx)
	case ecr.CmdTotals:
		r, err := c.eng.XReport(ctx)
		if err != nil {
			return internal(req.Command, err)
		}
		return totals(req.Command, r)
	case ecr.CmdEndOfDay:
		r, err := c.CloseDay(ctx, c.manager(req))
		if err != nil {
			return ecr.ErrorReply(req.Command, ecr.ResultRefused, err.Error())
		}
		rep := totals(req.Command, r.Report)
		rep.Event = r.Event
		if r.PrintErr != nil {
			rep.Printer = r.PrintErr.Error()
		}
		return rep
	}
	return ecr.ErrorReply(req.Command, ecr.ResultUnknownCommand, fmt.Sprintf("unknown command %q", req.Command))
}

func (c *Counter) remember(r ecr.Reply) ecr.Reply {
	c.lmu.Lock()
	c.last = &r
	c.lmu.Unlock()
	return r
}

func (c *Counter) manager(req ecr.Request) string {
	if req.Cashier != "" {
		return req.Cashier
	}
	return c.cfg.Manager
}

func internal(cmd ecr.Command, err error) ecr.Reply {
	return ecr.ErrorReply(cmd, ecr.ResultInternal, err.Error())
}

// input turns the register's fields into the engine's input; a code that
// does not normalise is passed on as is, so the engine refuses and
// journals it as malformed.
func (c *Counter) input(req ecr.Request) terminal.Input {
	text := req.Code
	if n, err := scanner.Normalize(req.Code); err == nil {
		text = n
	}
	return terminal.Input{Text: text, Uses: req.Uses, Entry: protocol.EntryECR, Cashier: req.Cashier,
		OrderRef: req.OrderRef, IdemKey: req.IdemKey}
}

func (c *Counter) ecrPrepare(ctx context.Context, req ecr.Request) ecr.Reply {
	p, err := c.eng.Prepare(ctx, c.input(req))
	if err != nil {
		return internal(req.Command, err)
	}
	r := ecr.Reply{Command: req.Command, Result: ecr.ResultOK, Reason: p.Reason, Message: p.Reason.Text(c.docs().Lang),
		Campaign: p.Campaign.ID, Name: p.Campaign.Name, Face: p.Campaign.FaceValue, UsesLeft: p.Code.UsesLeft}
	if p.Reason == protocol.Accepted {
		r.Uses, r.Amount = p.Uses, p.Amount
	}
	return r
}

func (c *Counter) ecrCommit(ctx context.Context, req ecr.Request) ecr.Reply {
	if req.IdemKey == "" {
		return ecr.ErrorReply(req.Command, ecr.ResultMissingField, "COMMIT needs an idempotency key (KEY)")
	}
	d := c.Commit(ctx, c.input(req))
	if d.Err != nil && d.Event.Seq == 0 {
		// Nothing journaled: the register asks LAST_RESULT, which says
		// not_found, and may then commit again.
		return internal(req.Command, d.Err)
	}
	r := c.decisionReply(req.Command, d)
	r.IdemKey, r.OrderRef, r.Replayed = req.IdemKey, req.OrderRef, d.Replayed
	return r
}

func (c *Counter) decisionReply(cmd ecr.Command, d terminal.Decision) ecr.Reply {
	r := ecr.Reply{Command: cmd, Result: ecr.ResultOK, Reason: d.Reason, Message: d.Reason.Text(c.docs().Lang),
		Mode: d.Mode, Campaign: d.Campaign.ID, Name: d.Campaign.Name, Face: d.Campaign.FaceValue,
		UsesLeft: d.UsesLeft, Event: d.Event}
	if d.Accepted() {
		r.Amount, r.Uses = d.Amount, d.Uses
	}
	return r
}

func (c *Counter) ecrReverse(ctx context.Context, req ecr.Request) ecr.Reply {
	if req.IdemKey == "" {
		return ecr.ErrorReply(req.Command, ecr.ResultMissingField, "REVERSE needs the idempotency key (KEY) of the COMMIT to reverse")
	}
	ev, err := c.st.ByIdemKey(ctx, req.IdemKey)
	if errors.Is(err, terminal.ErrNotFound) {
		r := ecr.ErrorReply(req.Command, ecr.ResultNotFound, fmt.Sprintf("no COMMIT with key %q on this terminal", req.IdemKey))
		r.IdemKey = req.IdemKey
		return r
	} else if err != nil {
		return internal(req.Command, err)
	}
	refused := func(msg string) ecr.Reply {
		r := ecr.ErrorReply(req.Command, ecr.ResultRefused, msg)
		r.IdemKey, r.OrderRef, r.Event = req.IdemKey, ev.OrderRef, ev.Ref()
		return r
	}
	if ev.Kind != protocol.KindRedemption {
		return refused("nothing to reverse: that COMMIT was refused (" + ev.Reason.Text(c.docs().Lang) + ")")
	}
	note := req.Note
	if note == "" {
		note = "reversed by the cash register"
	}
	d, err := c.eng.Void(ctx, terminal.VoidRequest{Seq: ev.Seq, Uses: req.Uses, Manager: c.manager(req), Note: note})
	var ve *terminal.VoidError
	switch {
	case err == nil:
		r := c.decisionReply(req.Command, d)
		r.IdemKey, r.OrderRef = req.IdemKey, ev.OrderRef
		return r
	case errors.As(err, &ve) && ve.Code == "already_voided":
		// Never reversed twice; LAST_RESULT says by which event.
		return refused("already reversed: ask LAST_RESULT with the key for the reversal")
	case errors.As(err, &ve):
		return refused(ve.Message)
	default:
		return internal(req.Command, err)
	}
}

// ecrLastResult answers what became of a key (from the journal, so it
// survives a restart) or, with no key, the last COMMIT or REVERSE since
// start.
func (c *Counter) ecrLastResult(ctx context.Context, req ecr.Request) ecr.Reply {
	if req.IdemKey == "" {
		c.lmu.Lock()
		last := c.last
		c.lmu.Unlock()
		if last == nil {
			return ecr.ErrorReply(req.Command, ecr.ResultNotFound,
				"no COMMIT or REVERSE since the terminal started: ask with the key (KEY)")
		}
		r := *last
		r.Op, r.Command = r.Command, req.Command
		return r
	}
	ev, err := c.st.ByIdemKey(ctx, req.IdemKey)
	if errors.Is(err, terminal.ErrNotFound) {
		r := ecr.ErrorReply(req.Command, ecr.ResultNotFound, fmt.Sprintf("no COMMIT with key %q on this terminal: it never happened", req.IdemKey))
		r.IdemKey = req.IdemKey
		return r
	} else if err != nil {
		return internal(req.Command, err)
	}
	r := ecr.Reply{Command: req.Command, Op: ecr.CmdCommit, Result: ecr.ResultOK, Reason: ev.Reason, Message: ev.Reason.Text(c.docs().Lang),
		Event: ev.Ref(), Mode: ev.Mode, Campaign: ev.Campaign, Amount: ev.Amount, Uses: ev.Uses,
		IdemKey: req.IdemKey, OrderRef: ev.OrderRef}
	if ev.Code != "" {
		if code, err := c.st.CodeByID(ctx, ev.Code); err == nil {
			r.UsesLeft = code.UsesLeft
		}
	}
	if ev.Kind == protocol.KindRedemption {
		if _, voided, err := c.st.Redemption(ctx, ev.Seq); err == nil && voided > 0 {
			r.Message = fmt.Sprintf("reversed: %d of %d uses voided", voided, ev.Uses)
			if v, err := c.st.LastVoidOf(ctx, ev.Seq); err == nil {
				r.Reversed = v.Ref()
			}
		}
	}
	return r
}

// PrinterStatus is a printer that can say how it is (ok, paper_out, …).
type PrinterStatus interface {
	StatusText(ctx context.Context) string
}

func (c *Counter) ecrStatus(ctx context.Context) ecr.Reply {
	id := c.st.Identity()
	r := ecr.Reply{Command: ecr.CmdStatus, Result: ecr.ResultOK, Reason: protocol.Accepted, Mode: protocol.ModeOffline,
		Terminal: id.Terminal, Store: id.Store, Version: c.cfg.Version, Printer: "none"}
	if c.eng.Online() {
		r.Mode = protocol.ModeOnline
	}
	if n, err := c.st.OutboxDepth(ctx); err == nil {
		r.Outbox = n
	}
	if c.HasPrinter() {
		r.Printer = "configured"
		if s, ok := c.pr.(PrinterStatus); ok {
			r.Printer = s.StatusText(ctx)
		}
	}
	return r
}

func totals(cmd ecr.Command, r terminal.Report) ecr.Reply {
	z := r.Sum()
	return ecr.Reply{Command: cmd, Result: ecr.ResultOK, Reason: protocol.Accepted, Z: r.Number, Totals: ecr.Totals{
		Redeemed: z.Redemptions, RedeemedUses: z.Uses, RedeemedValue: z.Value, Voids: z.Voids, VoidedUses: z.VoidedUses,
		VoidedValue: z.VoidedValue, Offline: z.Offline, Refused: z.Refused}}
}
