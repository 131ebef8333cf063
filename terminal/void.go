package terminal

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexiao/hexiao/protocol"
)

// Resolve finishes the decisions a crash interrupted between journaling a
// pending claim and recording its outcome. The cashier never saw a verdict
// for them, so the customer was not served: each becomes an attempt with
// reason cannot_record (the hub gives back any uses it claimed when the
// attempt reaches it), and Resolve returns them so the cashier can be told
// to scan those codes again. Commit and Void call it first; calling it at
// start-up shows the list before the first scan.
func (e *Engine) Resolve(ctx context.Context) ([]protocol.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resolveLocked(ctx)
}

func (e *Engine) resolveLocked(ctx context.Context) ([]protocol.Event, error) {
	if e.resolved {
		return nil, nil
	}
	pend, err := e.store.Pending(ctx)
	if err != nil {
		return nil, fmt.Errorf("read pending decisions: %w", err)
	}
	var out []protocol.Event
	for _, p := range pend {
		ev := p.Claim
		ev.Seq, ev.Prev, ev.At = p.Seq, protocol.Hash{}, e.now()
		ev.Kind, ev.Reason = protocol.KindAttempt, protocol.CannotRecord
		ev.Uses, ev.Amount, ev.Step, ev.Voids = 0, 0, 0, nil
		ev.Note = "interrupted before the verdict: not served"
		// A pending record must always resolve: drop anything the journal
		// would refuse.
		if checkInput(Input{Cashier: ev.Cashier}) != nil {
			ev.Cashier = ""
		}
		if checkInput(Input{OrderRef: ev.OrderRef, IdemKey: ev.IdemKey}) != nil {
			ev.OrderRef, ev.IdemKey = "", ""
		}
		if _, err := e.store.Append(ctx, ev, nil); err != nil {
			return out, fmt.Errorf("resolve pending seq %d: %w", p.Seq, err)
		}
		e.log.Warn("interrupted decision resolved as not served", "seq", p.Seq, "code", ev.Code)
		out = append(out, ev)
	}
	e.resolved = true
	return out, nil
}

// VoidRequest asks to undo uses of one of this terminal's redemptions.
type VoidRequest struct {
	Seq     uint64 // the redemption's seq in this terminal's journal
	Uses    int    // uses to give back; 0 means all not yet voided
	Manager string // who authorised it
	Note    string // why
}

// VoidError says why a void was refused.
type VoidError struct {
	Code    string // not_found, not_redemption, already_voided, bad_uses, bad_manager, no_undo, window_passed, settled, refused
	Message string
}

func (e *VoidError) Error() string { return e.Message }

func voidErr(code, format string, args ...any) error {
	return &VoidError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Void undoes uses of a redemption made at this terminal: within the
// campaign's undo window, per use for a multi-use code, never once the
// store's day is settled. Online, the hub must agree first. The void is a
// new event; the code gets its uses back.
func (e *Engine) Void(ctx context.Context, r VoidRequest) (Decision, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.resolveLocked(ctx); err != nil {
		return Decision{}, err
	}
	now := e.now()
	if why := e.store.Revoked(); why != "" {
		return Decision{}, voidErr("revoked", "this terminal was revoked by HQ (%s)", why)
	}
	if err := checkInput(Input{Cashier: r.Manager}); err != nil {
		return Decision{}, voidErr("bad_manager", "manager: %v", err)
	}
	red, voided, err := e.store.Redemption(ctx, r.Seq)
	if errors.Is(err, ErrNotFound) {
		return Decision{}, voidErr("not_found", "no event %d in this terminal's journal", r.Seq)
	} else if err != nil {
		return Decision{}, fmt.Errorf("read event %d: %w", r.Seq, err)
	}
	if red.Kind != protocol.KindRedemption {
		return Decision{}, voidErr("not_redemption", "event %d is a %s, not a redemption", r.Seq, red.Kind)
	}
	left := red.Uses - voided
	if left <= 0 {
		return Decision{}, voidErr("already_voided", "event %d is already voided", r.Seq)
	}
	uses := r.Uses
	if uses == 0 {
		uses = left
	}
	if uses < 0 || uses > left {
		return Decision{}, voidErr("bad_uses", "event %d has %d uses that can be voided, not %d", r.Seq, left, uses)
	}
	camp, err := e.store.Campaign(ctx, red.Campaign)
	if err != nil {
		return Decision{}, fmt.Errorf("campaign %s: %w", red.Campaign, err)
	}
	if camp.UndoWindow <= 0 {
		return Decision{}, voidErr("no_undo", "campaign %s allows no voids", camp.ID)
	}
	if now.Sub(red.At) > camp.UndoWindow.D() {
		return Decision{}, voidErr("window_passed", "event %d was at %s; the undo window of %s has passed",
			r.Seq, red.At.In(loc(e.ident())).Format("15:04:05"), camp.UndoWindow.D())
	}
	day := businessDay(red.At, e.ident().Location)
	if settled, err := e.store.Settled(ctx, red.Store, day); err != nil {
		return Decision{}, fmt.Errorf("settlement of %s: %w", day, err)
	} else if settled {
		return Decision{}, voidErr("settled", "store %s's day %s is settled: no more voids", red.Store, day)
	}
	code, err := e.store.CodeByID(ctx, red.Code)
	if err != nil {
		return Decision{}, fmt.Errorf("code %s: %w", red.Code, err)
	}
	ev := protocol.Event{
		V: protocol.WireVersion, Terminal: red.Terminal, Kind: protocol.KindVoid, At: now, Store: red.Store,
		Cashier: r.Manager, Mode: e.modeLocked(), Entry: red.Entry, Reason: protocol.Accepted,
		Code: red.Code, Format: red.Format, Campaign: red.Campaign, Uses: uses,
		Amount: red.Amount * int64(uses) / int64(red.Uses), Voids: &protocol.EventRef{Terminal: red.Terminal, Seq: red.Seq},
		OrderRef: red.OrderRef, Note: truncate(r.Note, protocol.MaxNoteLen),
	}
	up := &CodeUpdate{Code: code, Delta: uses}
	code.UsesLeft = min(code.Uses, code.UsesLeft+uses)
	p := Preview{Reason: protocol.Accepted, Code: code, Campaign: camp, Uses: uses, Amount: ev.Amount}
	if ev.Mode == protocol.ModeOnline {
		seq, err := e.store.Pend(ctx, Pending{Claim: ev})
		if err != nil {
			return Decision{}, errRecord(err)
		}
		ev.Seq = seq
		req := protocol.ClaimRequest{Terminal: ev.Terminal, Seq: seq, Kind: protocol.KindVoid, Store: ev.Store,
			Code: ev.Code, Format: ev.Format, Campaign: ev.Campaign, Uses: uses, Voids: ev.Voids, At: now, Cashier: ev.Cashier}
		cctx, cancel := context.WithTimeout(ctx, e.cfg.ClaimTimeout)
		reply, err := e.link.Claim(cctx, req)
		cancel()
		if err == nil && (reply.Seq != seq || reply.Terminal != ev.Terminal) {
			err = fmt.Errorf("reply for %s:%d to the claim for %s:%d", reply.Terminal, reply.Seq, ev.Terminal, seq)
		}
		switch {
		case err != nil:
			e.online = false
			ev.Mode = protocol.ModeOffline
		case reply.Reason != protocol.Accepted:
			att := ev
			att.Kind, att.Reason, att.Uses, att.Amount, att.Voids = protocol.KindAttempt, reply.Reason, 0, 0, nil
			att.Note = fmt.Sprintf("void of %d refused by the hub", r.Seq)
			if _, err := e.store.Append(ctx, att, nil); err != nil {
				e.resolved = false
				return Decision{}, errRecord(err)
			}
			return Decision{}, voidErr("refused", "the hub refused the void: %s", reply.Reason.Text(protocol.LangEN))
		default:
			left := reply.UsesLeft
			up.SetLeft, code.UsesLeft = &left, left
		}
	}
	ref, err := e.store.Append(ctx, ev, up)
	if err != nil {
		if ev.Seq != 0 {
			e.resolved = false
		}
		return Decision{}, errRecord(err)
	}
	return Decision{Preview: p, Mode: ev.Mode, Event: ref, UsesLeft: code.UsesLeft, At: now}, nil
}
