package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// voidSlack is how much later than the undo window the hub still accepts a
// void claim: the terminal checked the window on its own clock.
const voidSlack = time.Minute

// Claim arbitrates an online decision: a redemption takes uses of the code
// in one atomic conditional update, a void gives them back. It is idempotent
// by the claim's event id (terminal:seq): asking again returns the first
// reply. terminal comes from the topic and the broker login; a request that
// names another terminal or store is an error, and no reply is sent.
func (h *Hub) Claim(ctx context.Context, terminal string, req *protocol.ClaimRequest) (protocol.ClaimReply, error) {
	t, err := h.terminal(ctx, terminal)
	if err != nil {
		return protocol.ClaimReply{}, err
	}
	if t.Status != TerminalActive {
		return protocol.ClaimReply{}, conflict("terminal %s is revoked", terminal)
	}
	if err := protocol.CheckOrigin(req, terminal, t.Store); err != nil {
		return protocol.ClaimReply{}, invalid("claim: %v", err)
	}
	ref := protocol.EventRef{Terminal: terminal, Seq: req.Seq}
	var reply protocol.ClaimReply
	err = h.update(ctx, func(w *writer) error {
		if c, err := w.tx.Claim(ref); err == nil {
			reply = c.Reply
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if e, err := w.event(ref); err == nil {
			// The terminal decided without the hub and the event is here
			// already: the late claim changes nothing.
			reply = w.reply(req, e.Reason, -1, nil)
			if e.Kind != protocol.KindAttempt {
				reply.Reason = protocol.Accepted
			}
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		c := Claim{EventRef: ref, Kind: req.Kind, Code: req.Code, Uses: req.Uses, Step: req.Step, Voids: req.Voids, At: w.now}
		var err error
		if req.Kind == protocol.KindVoid {
			err = w.claimVoid(&c, t, req)
		} else {
			err = w.claimRedemption(&c, t, req)
		}
		if err != nil {
			return err
		}
		reply = c.Reply
		return w.tx.PutClaim(c)
	})
	if err != nil {
		return protocol.ClaimReply{}, fmt.Errorf("claim %s: %w", ref, err)
	}
	if reply.Reason == protocol.Accepted {
		h.stats.ClaimsAccepted.Add(1)
	} else {
		h.stats.ClaimsRefused.Add(1)
	}
	return reply, nil
}

// reply builds the answer; left < 0 means "unknown", sent as 0.
func (w *writer) reply(req *protocol.ClaimRequest, r protocol.Reason, left int, last *protocol.Use) protocol.ClaimReply {
	return protocol.ClaimReply{Terminal: req.Terminal, Seq: req.Seq, Reason: r, UsesLeft: max(left, 0), LastUse: last, HubTime: w.now}
}

func (w *writer) claimRedemption(c *Claim, t Terminal, req *protocol.ClaimRequest) error {
	code, err := w.tx.Code(req.Code)
	if errors.Is(err, ErrNotFound) {
		c.Reply = w.reply(req, protocol.UnknownCode, 0, nil)
		return nil
	}
	if err != nil {
		return err
	}
	camp, _ := w.h.campaign(code.Campaign)
	store, _ := w.h.storeByID(t.Store)
	now := w.now
	lastUse := func() *protocol.Use {
		if code.LastUse.Terminal == "" {
			return nil
		}
		u := code.LastUse
		return &u
	}
	from, until := code.ValidFrom, code.ValidUntil
	if from.IsZero() {
		from = camp.ValidFrom
	}
	if until.IsZero() {
		until = camp.ValidUntil
	}
	var r protocol.Reason
	switch {
	case code.Campaign != req.Campaign || code.Format != req.Format:
		r = protocol.UnknownCode
	case code.Status == protocol.StatusRevoked:
		r = protocol.Revoked
	case code.Status == protocol.StatusBlocked:
		r = protocol.Blocked
	case !from.IsZero() && now.Before(from):
		r = protocol.NotYetValid
	case !until.IsZero() && !now.Before(until):
		r = protocol.Expired
	case !w.h.inScope(code, t.Store):
		r = protocol.WrongStore
	case !camp.InHours(now.In(w.h.location(store.ID))):
		r = protocol.OutsideHours
	case camp.MinInterval > 0 && !code.LastUse.At.IsZero() && now.Sub(code.LastUse.At) < camp.MinInterval.D():
		r = protocol.TooSoon
	case code.Format == protocol.FormatDynamic && req.Step <= code.LastStep:
		r = protocol.TooSoon
	}
	if r != "" {
		c.Reply = w.reply(req, r, code.UsesLeft(), lastUse())
		return nil
	}
	use := protocol.Use{Store: t.Store, Terminal: t.ID, At: now}
	after, ok, err := w.tx.TakeUses(code.ID, req.Uses, use, req.Step)
	if err != nil {
		return err
	}
	if !ok {
		// The conditional update lost: say why from the row as it stands.
		code = after
		r = protocol.UsedUp
		switch {
		case after.Status == protocol.StatusRevoked:
			r = protocol.Revoked
		case after.Status == protocol.StatusBlocked:
			r = protocol.Blocked
		case req.Step > 0 && req.Step <= after.LastStep:
			r = protocol.TooSoon
		}
		c.Reply = w.reply(req, r, after.UsesLeft(), lastUse())
		return nil
	}
	c.Taken = true
	c.Reply = w.reply(req, protocol.Accepted, after.UsesLeft(), nil)
	return w.codeChangeBy(protocol.ChangeCodeRedeemed, after, w.claimOrigin(t, req, after))
}

func (w *writer) claimVoid(c *Claim, t Terminal, req *protocol.ClaimRequest) error {
	if req.Voids == nil || req.Voids.Terminal != t.ID {
		c.Reply = w.reply(req, protocol.Malformed, 0, nil)
		return nil
	}
	// The redemption is in the ledger, or was claimed online and is still
	// in the terminal's outbox.
	var at time.Time
	var store string
	var uses int
	if e, err := w.event(*req.Voids); err == nil && e.Kind == protocol.KindRedemption && e.Code == req.Code {
		at, store, uses = e.RuleTime(), e.Store, e.Uses
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	} else if cl, err := w.tx.Claim(*req.Voids); err == nil && cl.Taken && cl.Kind == protocol.KindRedemption && cl.Code == req.Code {
		at, store, uses = cl.At, t.Store, cl.Uses
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	code, err := w.tx.Code(req.Code)
	switch {
	case errors.Is(err, ErrNotFound) || at.IsZero():
		c.Reply = w.reply(req, protocol.UnknownCode, 0, nil)
		return nil
	case err != nil:
		return err
	}
	camp, _ := w.h.campaign(code.Campaign)
	locked, err := w.tx.Locked(store, w.h.businessDay(store, at))
	if err != nil {
		return err
	}
	if req.Uses > uses || locked || camp.UndoWindow <= 0 || w.now.Sub(at) > camp.UndoWindow.D()+voidSlack {
		c.Reply = w.reply(req, protocol.Expired, code.UsesLeft(), nil)
		return nil
	}
	after, err := w.tx.AddUses(code.ID, -req.Uses, nil, 0)
	if err != nil {
		return err
	}
	c.Taken = true
	c.Reply = w.reply(req, protocol.Accepted, after.UsesLeft(), nil)
	return w.codeChangeBy(protocol.ChangeCodeVoided, after, w.claimOrigin(t, req, after))
}
