package terminal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Prepare parses and verifies a code and applies every rule against the
// cache, without changing anything: the preview a cashier or a register
// sees before committing. A refusal is a Preview with its reason; the error
// is only for a store that cannot be read.
//
// Prepare counts toward the counter's rate limit like Commit, so previews
// cannot be used to guess card secrets.
func (e *Engine) Prepare(ctx context.Context, in Input) (Preview, error) {
	now := e.now()
	e.mu.Lock()
	paused := now.Before(e.pausedUntil)
	until := e.pausedUntil
	e.mu.Unlock()
	if paused {
		return refuse(protocol.RateLimited, "too many failed scans: paused until %s", until.Format(time.TimeOnly)), nil
	}
	p, err := e.prepare(ctx, in, now)
	if err == nil {
		e.mu.Lock()
		e.countFailure(p.Reason, now)
		e.mu.Unlock()
	}
	return p, err
}

func refuse(r protocol.Reason, format string, args ...any) Preview {
	return Preview{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// refuse returns p, with its code and campaign, refused for r.
func (p Preview) refuse(r protocol.Reason, format string, args ...any) Preview {
	p.Reason, p.Detail = r, fmt.Sprintf(format, args...)
	return p
}

func (e *Engine) prepare(ctx context.Context, in Input, now time.Time) (Preview, error) {
	uses := in.Uses
	if uses == 0 {
		uses = 1
	}
	if uses < 0 || uses > protocol.MaxUses {
		return refuse(protocol.Malformed, "uses %d out of range", uses), nil
	}
	if err := checkInput(in); err != nil {
		return refuse(protocol.Malformed, "%v", err), nil
	}
	c, err := protocol.ParseCode(in.Text)
	if err != nil {
		return refuse(protocol.ReasonOf(err), "%v", err), nil
	}
	p, err := e.resolve(ctx, c, now)
	if err != nil || p.Reason != "" {
		return p, err
	}
	p.Uses = uses
	p.Amount = p.Campaign.FaceValue * int64(uses)
	id := e.ident()
	code, camp := &p.Code, &p.Campaign

	switch code.Status {
	case protocol.StatusRevoked:
		return p.refuse(protocol.Revoked, "code %s revoked", code.ID), nil
	case protocol.StatusBlocked:
		return p.refuse(protocol.Blocked, "code %s blocked", code.ID), nil
	}
	from, until := window(code, camp)
	if !from.IsZero() && now.Before(from) {
		return p.refuse(protocol.NotYetValid, "code %s valid from %s", code.ID, from.Format(time.RFC3339)), nil
	}
	if !until.IsZero() && !now.Before(until) {
		return p.refuse(protocol.Expired, "code %s expired at %s", code.ID, until.Format(time.RFC3339)), nil
	}
	inScope := camp.InScope(id.Store, id.Region)
	if len(code.Stores)+len(code.Regions) > 0 {
		inScope = protocol.InScope(code.Stores, code.Regions, id.Store, id.Region)
	}
	if !inScope {
		return p.refuse(protocol.WrongStore, "code %s not valid at store %s", code.ID, id.Store), nil
	}
	if !camp.InHours(now.In(loc(id))) {
		return p.refuse(protocol.OutsideHours, "campaign %s hours %v, now %s", camp.ID, camp.Hours, now.In(loc(id)).Format("15:04")), nil
	}
	if code.UsesLeft < uses {
		return p.refuse(protocol.UsedUp, "code %s has %d uses left, %d asked", code.ID, code.UsesLeft, uses), nil
	}
	if camp.MinInterval > 0 && !code.LastUsed.IsZero() && now.Before(code.LastUsed.Add(camp.MinInterval.D())) {
		return p.refuse(protocol.TooSoon, "code %s last used %s, min interval %s", code.ID, code.LastUsed.Format(time.RFC3339), camp.MinInterval.D()), nil
	}
	if code.Format == protocol.FormatDynamic && p.Step <= code.LastStep {
		return p.refuse(protocol.TooSoon, "code %s: step %d already used; wait for the code to refresh", code.ID, p.Step), nil
	}
	p.Reason = protocol.Accepted
	return p, nil
}

// resolve verifies the parsed code and finds its cached state and campaign.
// A Preview with a reason is a refusal.
func (e *Engine) resolve(ctx context.Context, c protocol.Code, now time.Time) (Preview, error) {
	var p Preview
	switch c.Format {
	case protocol.FormatSigned:
		sc := c.Signed
		if err := e.store.KeyRing().Verify(sc, now); err != nil {
			return refuse(protocol.ReasonOf(err), "%v", err), nil
		}
		state, err := e.store.CodeByID(ctx, sc.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			// Never seen: the code carries everything but the campaign.
			state = protocol.CodeState{ID: sc.ID, Campaign: sc.Campaign, Format: protocol.FormatSigned,
				Uses: sc.Uses, UsesLeft: sc.Uses, Status: protocol.StatusActive}
		case err != nil:
			return p, fmt.Errorf("look up code %s: %w", sc.ID, err)
		}
		if state.Campaign != sc.Campaign {
			return refuse(protocol.BadSignature, "code %s: cache says campaign %s, code says %s", sc.ID, state.Campaign, sc.Campaign), nil
		}
		// The signed window and scope bind; the cache may only narrow them.
		state.ValidFrom = later(state.ValidFrom, sc.ValidFrom)
		state.ValidUntil = earlier(state.ValidUntil, sc.ValidUntil)
		if len(state.Stores)+len(state.Regions) == 0 {
			state.Stores, state.Regions = sc.Stores, sc.Regions
		}
		p.Code = state
	case protocol.FormatSecret:
		state, err := e.store.CodeBySecret(ctx, e.store.Hasher().Hash(c.Secret))
		if errors.Is(err, ErrNotFound) {
			return refuse(protocol.UnknownCode, "no card secret with that hash"), nil
		} else if err != nil {
			return p, fmt.Errorf("look up card secret: %w", err)
		}
		p.Code = state
	case protocol.FormatDynamic:
		d := c.Dynamic
		state, err := e.store.CodeByID(ctx, d.ID)
		if errors.Is(err, ErrNotFound) || err == nil && state.Format != protocol.FormatDynamic {
			return refuse(protocol.UnknownCode, "no dynamic code %s", d.ID), nil
		} else if err != nil {
			return p, fmt.Errorf("look up code %s: %w", d.ID, err)
		}
		step, err := protocol.VerifyTOTP(state.Seed, d.Value, now)
		if err != nil {
			return refuse(protocol.ReasonOf(err), "code %s: %v", d.ID, err), nil
		}
		p.Code, p.Step = state, step
	}
	camp, err := e.store.Campaign(ctx, p.Code.Campaign)
	if errors.Is(err, ErrNotFound) {
		return refuse(protocol.UnknownCode, "campaign %s not in the cache", p.Code.Campaign), nil
	} else if err != nil {
		return p, fmt.Errorf("look up campaign %s: %w", p.Code.Campaign, err)
	}
	p.Campaign = camp
	return p, nil
}

// window is the code's validity: the narrower of its own and its campaign's.
func window(c *protocol.CodeState, camp *protocol.Campaign) (from, until time.Time) {
	return later(c.ValidFrom, camp.ValidFrom), earlier(c.ValidUntil, camp.ValidUntil)
}

// later returns the later of two instants, a zero one counting as absent.
func later(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}

// earlier returns the earlier of two instants, a zero one counting as absent.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func loc(id Identity) *time.Location {
	if id.Location == nil {
		return time.UTC
	}
	return id.Location
}
