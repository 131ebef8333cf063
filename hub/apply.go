package hub

import (
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// apply records one verified event of terminal t in the ledger with its
// effect. The effect of an online decision was applied by its claim; the
// event settles the claim, undoing it if the terminal decided otherwise.
// An offline decision takes effect now, whatever the count: the customer
// was served, so the event is stored and, if it breaks a rule, flagged and
// alerted. When t's clock is flagged, a redemption or void keeps its
// signed At and gets HubAt, its time on the hub's clock, which the rules
// read (Event.RuleTime) from then on.
func (w *writer) apply(t *Terminal, se protocol.SignedEvent, e protocol.Event, claim *Claim) error {
	rec := Event{Event: e, Body: se.Body, Sig: se.Sig, Hash: se.Hash(), Received: w.now}
	if e.Kind != protocol.KindAttempt {
		if at, ok := t.HubTime(e.At); ok {
			rec.HubAt = at
		}
	}
	ref := e.Ref()
	hasClaim := claim != nil
	matched := hasClaim && claim.Taken && claim.Kind == e.Kind && claim.Code == e.Code && claim.Uses == e.Uses
	undone := false
	if hasClaim && claim.Taken && !matched {
		if err := w.undoClaim(*claim, t.Store); err != nil {
			return err
		}
		undone = true
	}
	if !matched {
		var err error
		switch e.Kind {
		case protocol.KindRedemption:
			err = w.redeemOffline(&rec)
		case protocol.KindVoid:
			err = w.voidOffline(&rec)
		}
		if err != nil {
			return err
		}
	}
	if hasClaim {
		if err := w.tx.SettleClaim(ref, undone); err != nil {
			return fmt.Errorf("settle claim: %w", err)
		}
	}
	w.insert(rec)
	if e.Kind == protocol.KindAttempt && e.Reason == protocol.OfflineLimit {
		if err := w.offlineCap(t, e); err != nil {
			return err
		}
	}
	if e.Kind == protocol.KindRedemption || e.Kind == protocol.KindVoid {
		w.events = append(w.events, rec)
		w.count(&rec)
	}
	return nil
}

// undoClaim gives back what a claim took (or takes back what a void claim
// gave) when the terminal's event says it did not happen. The change names
// the claim, undone, so a terminal that listed it drops it.
func (w *writer) undoClaim(c Claim, store string) error {
	delta, kind := -c.Uses, protocol.ChangeCodeVoided
	if c.Kind == protocol.KindVoid {
		delta, kind = c.Uses, protocol.ChangeCodeRedeemed
	}
	code, err := w.tx.AddUses(c.Code, delta, nil, 0)
	if err != nil {
		return fmt.Errorf("undo claim %s: %w", c.EventRef, err)
	}
	by := &protocol.ChangeOrigin{Terminal: c.Terminal, Store: store, Seq: c.Seq, Kind: c.Kind, Uses: c.Uses,
		Amount: w.h.amount(code.Campaign, c.Uses), Mode: protocol.ModeOnline, At: c.At, Undone: true}
	return w.codeChangeBy(kind, code, by)
}

func (w *writer) redeemOffline(rec *Event) error {
	e := &rec.Event
	party := Alert{Code: e.Code, Key: e.Code, Stores: []string{e.Store}, Terminals: []string{e.Terminal},
		Events: []protocol.EventRef{e.Ref()}}
	before, err := w.tx.Code(e.Code)
	if errors.Is(err, ErrNotFound) {
		rec.Flags = append(rec.Flags, FlagUnknownCode)
		a := party
		a.Kind, a.Detail = AlertUnknownCode, fmt.Sprintf("%s redeemed code %s, which the hub does not know", e.Ref(), e.Code)
		return w.raise(a)
	}
	if err != nil {
		return err
	}
	use := protocol.Use{Store: e.Store, Terminal: e.Terminal, At: rec.RuleTime()}
	code, err := w.tx.AddUses(e.Code, e.Uses, &use, e.Step)
	if err != nil {
		return err
	}
	if e.Uses > before.UsesLeft() {
		rec.Flags = append(rec.Flags, FlagOverRedemption)
		a, err := w.overParties(party, before)
		if err != nil {
			return err
		}
		a.Kind = AlertOverRedemption
		a.Detail = fmt.Sprintf("code %s: %d of %d uses redeemed; %s took %d offline with %d left",
			e.Code, code.Used, code.Uses, e.Ref(), e.Uses, before.UsesLeft())
		if err := w.raise(a); err != nil {
			return err
		}
	}
	if before.Status != protocol.StatusActive {
		rec.Flags = append(rec.Flags, FlagRevoked)
		a := party
		a.Kind, a.Detail = AlertRevoked, fmt.Sprintf("%s redeemed code %s offline while it was %s", e.Ref(), e.Code, before.Status)
		if err := w.raise(a); err != nil {
			return err
		}
	}
	if !w.h.inScope(before, e.Store) {
		if err := w.scopeViolation(rec, party); err != nil {
			return err
		}
	}
	return w.codeChangeBy(protocol.ChangeCodeRedeemed, code, protocol.OriginOf(e))
}

// scopeViolation flags rec, redeemed outside its code's scope, and raises
// the alert.
func (w *writer) scopeViolation(rec *Event, party Alert) error {
	e := &rec.Event
	rec.Flags = append(rec.Flags, FlagScope)
	party.Kind, party.Detail = AlertScope, fmt.Sprintf("%s redeemed code %s at store %s, outside its scope", e.Ref(), e.Code, e.Store)
	return w.raise(party)
}

// overParties adds to a the other redemptions of the code: those in the
// ledger and the last use (which may be an online claim whose event has not
// arrived yet).
func (w *writer) overParties(a Alert, before Code) (Alert, error) {
	evs, err := w.codeEvents(before.ID)
	if err != nil {
		return a, err
	}
	for _, o := range evs {
		if o.Kind == protocol.KindRedemption {
			a.Stores = append(a.Stores, o.Store)
			a.Terminals = append(a.Terminals, o.Terminal)
			a.Events = append(a.Events, o.Ref())
		}
	}
	if u := before.LastUse; u.Terminal != "" {
		a.Stores = append(a.Stores, u.Store)
		a.Terminals = append(a.Terminals, u.Terminal)
	}
	return a, nil
}

func (w *writer) voidOffline(rec *Event) error {
	e := &rec.Event
	target, err := w.event(*e.Voids)
	if errors.Is(err, ErrNotFound) || (err == nil && (target.Kind != protocol.KindRedemption || target.Code != e.Code)) {
		rec.Flags = append(rec.Flags, FlagUnknownCode)
		return w.raise(Alert{Kind: AlertUnknownCode, Key: e.Code, Code: e.Code, Stores: []string{e.Store},
			Terminals: []string{e.Terminal}, Events: []protocol.EventRef{e.Ref()},
			Detail: fmt.Sprintf("%s voids %s, which is not a redemption of code %s in the ledger", e.Ref(), e.Voids, e.Code)})
	}
	if err != nil {
		return err
	}
	code, err := w.tx.AddUses(e.Code, -e.Uses, nil, 0)
	if err != nil {
		return err
	}
	// The day of the redemption as the hub's rules read it: on the hub's
	// clock when its terminal's clock was flagged at its ingest.
	day := w.h.businessDay(target.Store, target.RuleTime())
	locked, err := w.tx.Locked(target.Store, day)
	if err != nil {
		return err
	}
	if locked {
		rec.Flags = append(rec.Flags, FlagAfterLock)
		detail := fmt.Sprintf("%s voids %s of store %s's settled day %s", e.Ref(), target.Ref(), target.Store, day)
		if !target.HubAt.IsZero() {
			detail += fmt.Sprintf(" (by hub time; the terminal's clock said %s)", w.h.businessDay(target.Store, target.At))
		}
		if err := w.raise(Alert{Kind: AlertAfterLock, Key: e.Code, Code: e.Code, Stores: []string{e.Store},
			Terminals: []string{e.Terminal}, Events: []protocol.EventRef{e.Ref(), target.Ref()},
			Detail: detail}); err != nil {
			return err
		}
	}
	return w.codeChangeBy(protocol.ChangeCodeVoided, code, protocol.OriginOf(e))
}

// businessDay is the date of t in store's time zone.
func (h *Hub) businessDay(store string, t time.Time) string {
	return t.In(h.location(store)).Format(time.DateOnly)
}
