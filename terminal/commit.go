package terminal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Commit decides a code and records the decision durably before it
// returns: Prepare's rules, then a claim at the hub when online, or the
// campaign's offline policy when not (or when the hub does not answer in
// time). A refusal is journaled as an attempt. If the decision cannot be
// recorded the reason is cannot_record and the customer must not be served.
// The first Commit after a restart resolves decisions a crash interrupted.
func (e *Engine) Commit(ctx context.Context, in Input) Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.resolveLocked(ctx); err != nil {
		return Decision{Preview: refuse(protocol.CannotRecord, "resolve interrupted decisions: %v", err), Err: err, At: e.now()}
	}
	now := e.now()
	if why := e.store.Revoked(); why != "" {
		return Decision{Preview: refuse(protocol.CannotRecord, "this terminal was revoked by HQ (%s): it redeems nothing; enroll it again", why), At: now}
	}
	if err := checkInput(in); err != nil {
		in.Cashier, in.OrderRef, in.IdemKey = "", "", "" // journal the refusal without them
		return e.refuseLocked(ctx, in, refuse(protocol.Malformed, "%v", err), now, e.modeLocked())
	}
	if in.IdemKey != "" {
		if d, ok, err := e.replay(ctx, in.IdemKey); err != nil {
			return Decision{Preview: refuse(protocol.CannotRecord, "%v", err), Err: err, At: now}
		} else if ok {
			return d
		}
	}
	if now.Before(e.pausedUntil) {
		p := refuse(protocol.RateLimited, "too many failed scans: paused until %s", e.pausedUntil.Format(time.TimeOnly))
		return e.refuseLocked(ctx, in, p, now, e.modeLocked())
	}
	p, err := e.prepare(ctx, in, now)
	if err != nil {
		return Decision{Preview: refuse(protocol.CannotRecord, "%v", err), Err: err, At: now}
	}
	if p.Reason != protocol.Accepted {
		e.countFailure(p.Reason, now)
		return e.refuseLocked(ctx, in, p, now, e.modeLocked())
	}
	if e.modeLocked() == protocol.ModeOnline {
		if d, decided := e.claimLocked(ctx, in, p, now); decided {
			return d
		}
	}
	return e.offlineLocked(ctx, in, p, now)
}

func (e *Engine) modeLocked() protocol.Mode {
	if e.link != nil && e.online && !e.forceOffline {
		return protocol.ModeOnline
	}
	return protocol.ModeOffline
}

// countFailure feeds the rate limit: unknown codes, bad signatures and
// unreadable input are what guessing card secrets produces.
func (e *Engine) countFailure(r protocol.Reason, now time.Time) {
	switch r {
	case protocol.UnknownCode, protocol.BadSignature, protocol.Malformed:
	default:
		return
	}
	keep := e.failures[:0]
	for _, t := range e.failures {
		if now.Sub(t) < e.cfg.FailureWindow {
			keep = append(keep, t)
		}
	}
	e.failures = append(keep, now)
	if len(e.failures) >= e.cfg.FailureLimit {
		e.pausedUntil = now.Add(e.cfg.RateLimitPause)
		e.failures = e.failures[:0]
		e.log.Warn("rate limit: counter paused", "failures", e.cfg.FailureLimit, "until", e.pausedUntil)
	}
}

// replay returns the decision already recorded under a register's
// idempotency key: a retried COMMIT is answered, never decided again.
func (e *Engine) replay(ctx context.Context, key string) (Decision, bool, error) {
	ev, err := e.store.ByIdemKey(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return Decision{}, false, nil
	} else if err != nil {
		return Decision{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	p := Preview{Reason: ev.Reason, Detail: "replayed: decided before under this idempotency key", Uses: ev.Uses, Amount: ev.Amount, Step: ev.Step}
	if ev.Code != "" {
		if c, err := e.store.CodeByID(ctx, ev.Code); err == nil {
			p.Code = c
		} else {
			p.Code.ID = ev.Code
		}
	}
	if ev.Campaign != "" {
		p.Campaign, _ = e.store.Campaign(ctx, ev.Campaign)
	}
	return Decision{Preview: p, Mode: ev.Mode, Event: ev.Ref(), UsesLeft: p.Code.UsesLeft, At: ev.At, Replayed: true}, true, nil
}

// event returns the event a decision records, without seq and prev.
func (e *Engine) event(in Input, p Preview, now time.Time, mode protocol.Mode) protocol.Event {
	id := e.ident()
	ev := protocol.Event{
		V: protocol.WireVersion, Terminal: id.Terminal, Kind: protocol.KindRedemption, At: now,
		Store: id.Store, Cashier: in.Cashier, Mode: mode, Entry: in.Entry, Reason: p.Reason,
		Code: p.Code.ID, Format: p.Code.Format, Campaign: p.Campaign.ID,
		OrderRef: in.OrderRef, IdemKey: in.IdemKey,
	}
	if p.Code.ID == "" {
		ev.Format, ev.Campaign = "", ""
	}
	if p.Reason == protocol.Accepted {
		ev.Uses, ev.Amount, ev.Step = p.Uses, p.Amount, p.Step
	} else {
		ev.Kind = protocol.KindAttempt
		ev.Note = truncate(p.Detail, protocol.MaxNoteLen)
	}
	return ev
}

// refuseLocked journals a refusal as an attempt at seq (0: the next).
func (e *Engine) refuseLocked(ctx context.Context, in Input, p Preview, now time.Time, mode protocol.Mode) Decision {
	return e.refuseAt(ctx, in, p, now, mode, 0, nil)
}

func (e *Engine) refuseAt(ctx context.Context, in Input, p Preview, now time.Time, mode protocol.Mode, seq uint64, up *CodeUpdate) Decision {
	ev := e.event(in, p, now, mode)
	ev.Seq = seq
	d := Decision{Preview: p, Mode: mode, UsesLeft: p.Code.UsesLeft, At: now}
	ref, err := e.store.Append(ctx, ev, up)
	if err != nil {
		// The refusal stands; only its record is lost.
		d.Err = errRecord(err)
		e.log.Error("journal attempt", "reason", p.Reason, "err", err)
		if seq != 0 {
			e.resolved = false
		}
		return d
	}
	d.Event = ref
	return d
}

// acceptAt journals the redemption and what it does to the code: hubLeft
// is the hub's count after an online claim, nil offline.
func (e *Engine) acceptAt(ctx context.Context, in Input, p Preview, now time.Time, mode protocol.Mode, seq uint64, hubLeft *int) Decision {
	ev := e.event(in, p, now, mode)
	ev.Seq = seq
	up := &CodeUpdate{Code: p.Code, Delta: -p.Uses, SetLeft: hubLeft, Used: now}
	if p.Code.Format == protocol.FormatDynamic {
		up.Step = p.Step
	}
	usesLeft := max(0, p.Code.UsesLeft-p.Uses)
	if hubLeft != nil {
		usesLeft = *hubLeft
	}
	ref, err := e.store.Append(ctx, ev, up)
	if err != nil {
		e.log.Error("journal redemption", "code", p.Code.ID, "err", err)
		if seq != 0 {
			e.resolved = false
		}
		p.Reason, p.Detail = protocol.CannotRecord, err.Error()
		return Decision{Preview: p, Mode: mode, UsesLeft: p.Code.UsesLeft, At: now, Err: errRecord(err)}
	}
	return Decision{Preview: p, Mode: mode, Event: ref, UsesLeft: usesLeft, At: now}
}

// claimLocked asks the hub. decided is false when the hub did not answer
// and the caller decides offline; the pending seq is then reused.
func (e *Engine) claimLocked(ctx context.Context, in Input, p Preview, now time.Time) (d Decision, decided bool) {
	ev := e.event(in, p, now, protocol.ModeOnline)
	seq, err := e.store.Pend(ctx, Pending{Claim: ev})
	if err != nil {
		p.Reason, p.Detail = protocol.CannotRecord, err.Error()
		return Decision{Preview: p, Mode: protocol.ModeOnline, UsesLeft: p.Code.UsesLeft, At: now, Err: errRecord(err)}, true
	}
	id := e.ident()
	req := protocol.ClaimRequest{Terminal: id.Terminal, Seq: seq, Kind: protocol.KindRedemption, Store: id.Store,
		Code: p.Code.ID, Format: p.Code.Format, Campaign: p.Campaign.ID, Uses: p.Uses, Step: p.Step, At: now, Cashier: in.Cashier}
	cctx, cancel := context.WithTimeout(ctx, e.cfg.ClaimTimeout)
	reply, err := e.link.Claim(cctx, req)
	cancel()
	if err == nil && (reply.Seq != seq || reply.Terminal != id.Terminal) {
		err = fmt.Errorf("reply for %s:%d to the claim for %s:%d", reply.Terminal, reply.Seq, id.Terminal, seq)
	}
	if err != nil {
		e.online = false
		e.log.Warn("claim unanswered: deciding offline", "code", p.Code.ID, "seq", seq, "err", err)
		e.pendingSeq = seq
		return Decision{}, false
	}
	if reply.Reason == protocol.Accepted {
		left := reply.UsesLeft
		return e.acceptAt(ctx, in, p, now, protocol.ModeOnline, seq, &left), true
	}
	// The hub refuses: show its reason and learn from it.
	code := p.Code
	left := min(code.UsesLeft, reply.UsesLeft)
	up := &CodeUpdate{Code: code, SetLeft: &left}
	code.UsesLeft = left
	switch reply.Reason {
	case protocol.Revoked:
		up.Status, code.Status = protocol.StatusRevoked, protocol.StatusRevoked
	case protocol.Blocked:
		up.Status, code.Status = protocol.StatusBlocked, protocol.StatusBlocked
	}
	if reply.LastUse != nil {
		up.Used = reply.LastUse.At
	}
	p.Reason, p.Detail = reply.Reason, "refused by the hub"
	if u := reply.LastUse; u != nil {
		p.Detail = fmt.Sprintf("refused by the hub: last used at store %s, terminal %s, %s", u.Store, u.Terminal, u.At.Format(time.RFC3339))
	}
	p.Code = code
	return e.refuseAt(ctx, in, p, now, protocol.ModeOnline, seq, up), true
}

// offlineLocked decides from the cache under the campaign's offline policy.
func (e *Engine) offlineLocked(ctx context.Context, in Input, p Preview, now time.Time) Decision {
	seq := e.pendingSeq
	e.pendingSeq = 0
	pol := p.Campaign.Offline
	if !pol.Allow {
		p.Reason, p.Detail = protocol.OfflineNotAllowed, "campaign "+p.Campaign.ID+" is online only"
		return e.refuseAt(ctx, in, p, now, protocol.ModeOffline, seq, nil)
	}
	count, value := e.store.OfflineExposure(p.Campaign.ID)
	last := e.store.LastContact()
	switch {
	case pol.MaxCount > 0 && count+1 > pol.MaxCount:
		p.Reason, p.Detail = protocol.OfflineLimit, fmt.Sprintf("%d offline redemptions of %s wait for the hub; cap %d", count, p.Campaign.ID, pol.MaxCount)
	case pol.MaxValue > 0 && value+p.Amount > pol.MaxValue:
		p.Reason, p.Detail = protocol.OfflineLimit, fmt.Sprintf("offline value %d+%d over cap %d", value, p.Amount, pol.MaxValue)
	case pol.MaxAge > 0 && (last.IsZero() || now.Sub(last) > pol.MaxAge.D()):
		p.Reason, p.Detail = protocol.OfflineLimit, fmt.Sprintf("last hub contact %s, cap %s", fmtContact(last), pol.MaxAge.D())
	}
	if p.Reason != protocol.Accepted {
		return e.refuseAt(ctx, in, p, now, protocol.ModeOffline, seq, nil)
	}
	return e.acceptAt(ctx, in, p, now, protocol.ModeOffline, seq, nil)
}

func fmtContact(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}
