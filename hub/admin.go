package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// PutStore creates a store or updates its name, region or time zone.
// Terminals of the store learn it through the feed.
func (h *Hub) PutStore(ctx context.Context, s protocol.Store) (protocol.Store, error) {
	if err := s.Validate(); err != nil {
		return s, invalid("store: %v", err)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return s, invalid("store %s: unknown time zone %q (use an IANA name such as Asia/Shanghai)", s.ID, s.Timezone)
	}
	err := h.update(ctx, func(w *writer) error {
		if err := w.tx.PutStore(s); err != nil {
			return err
		}
		err := w.change(protocol.Change{Kind: protocol.ChangeStore, Store: &s}, Audience{Stores: []string{s.ID}})
		return err
	})
	if err != nil {
		return s, fmt.Errorf("put store %s: %w", s.ID, err)
	}
	h.mu.Lock()
	h.stores[s.ID] = s
	h.mu.Unlock()
	return s, nil
}

// Stores returns every store, by id.
func (h *Hub) Stores() []protocol.Store {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]protocol.Store, 0, len(h.stores))
	for _, s := range h.stores {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b protocol.Store) int { return cmpString(a.ID, b.ID) })
	return out
}

// StoreByID returns one store.
func (h *Hub) StoreByID(id string) (protocol.Store, error) {
	s, ok := h.storeByID(id)
	if !ok {
		return s, notFound("no store %q", id)
	}
	return s, nil
}

// location is a store's time zone (UTC for an unknown store).
func (h *Hub) location(store string) *time.Location {
	s, ok := h.storeByID(store)
	if !ok {
		return time.UTC
	}
	if l, ok := zones.Load(s.Timezone); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC
	}
	zones.Store(s.Timezone, l)
	return l
}

// zones caches time zones by name: loading one reads the zone database.
var zones sync.Map

// PutCampaign creates a campaign or replaces its rules. The stores it names
// must exist. Terminals in its scope learn it through the feed.
func (h *Hub) PutCampaign(ctx context.Context, c protocol.Campaign) (protocol.Campaign, error) {
	if err := c.Validate(); err != nil {
		return c, invalid("campaign: %v", err)
	}
	for _, s := range c.Stores {
		if _, ok := h.storeByID(s); !ok {
			return c, invalid("campaign %s: unknown store %q (create it first)", c.ID, s)
		}
	}
	aud := Audience{All: len(c.Stores) == 0 && len(c.Regions) == 0, Stores: c.Stores, Regions: c.Regions}
	err := h.update(ctx, func(w *writer) error {
		old, err := w.tx.Campaign(c.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("campaign %s: %w", c.ID, err)
		}
		if err == nil && old.Uses != c.Uses {
			n, err := w.tx.CountCodes(c.ID)
			if err != nil {
				return err
			}
			if n > 0 {
				return conflict("campaign %s: uses cannot change from %d to %d once codes are issued", c.ID, old.Uses, c.Uses)
			}
		}
		if err := w.tx.PutCampaign(c); err != nil {
			return err
		}
		return w.change(protocol.Change{Kind: protocol.ChangeCampaign, Campaign: &c}, aud)
	})
	if err != nil {
		return c, fmt.Errorf("put campaign %s: %w", c.ID, err)
	}
	h.mu.Lock()
	h.campaigns[c.ID] = c
	h.mu.Unlock()
	return c, nil
}

// Campaigns returns every campaign, by id.
func (h *Hub) Campaigns() []protocol.Campaign {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]protocol.Campaign, 0, len(h.campaigns))
	for _, c := range h.campaigns {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b protocol.Campaign) int { return cmpString(a.ID, b.ID) })
	return out
}

// CampaignByID returns one campaign.
func (h *Hub) CampaignByID(id string) (protocol.Campaign, error) {
	c, ok := h.campaign(id)
	if !ok {
		return c, notFound("no campaign %q", id)
	}
	return c, nil
}

// Lock settles a store's business day: no void of that day's redemptions
// is accepted after it. Locking a day already locked changes nothing and
// returns the lock as it was first made.
func (h *Hub) Lock(ctx context.Context, store, day string) (protocol.SettlementLock, error) {
	l, _, err := h.LockDay(ctx, store, day)
	return l, err
}

// LockDay is Lock that also reports whether this call made the lock: false
// when the day was locked before, and l is then the stored lock.
func (h *Hub) LockDay(ctx context.Context, store, day string) (l protocol.SettlementLock, made bool, err error) {
	// Microseconds: what the ledger keeps, so the first answer and every
	// later one show the same time.
	l = protocol.SettlementLock{Store: store, Day: day, At: h.now().UTC().Truncate(time.Microsecond)}
	if _, ok := h.storeByID(store); !ok {
		return l, false, notFound("no store %q", store)
	}
	if err := l.Validate(); err != nil {
		return l, false, invalid("lock: %v", err)
	}
	err = h.update(ctx, func(w *writer) error {
		locked, err := w.tx.Locked(store, day)
		if err != nil {
			return err
		}
		if locked {
			made = false
			locks, err := w.tx.Locks(store)
			if err != nil {
				return err
			}
			for _, old := range locks {
				if old.Day == day {
					l = old
					return nil
				}
			}
			return fmt.Errorf("day %s is locked but not among the store's locks", day)
		}
		made = true
		if err := w.tx.PutLock(l); err != nil {
			return err
		}
		return w.change(protocol.Change{Kind: protocol.ChangeLock, Lock: &l}, Audience{Stores: []string{store}})
	})
	if err != nil {
		return l, false, fmt.Errorf("lock %s %s: %w", store, day, err)
	}
	return l, made, nil
}

// Alerts returns the alerts f selects, newest first.
func (h *Hub) Alerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	if f.Kind != "" && !slices.Contains(AlertKinds(), f.Kind) {
		return nil, invalid("unknown alert kind %q (one of %v)", f.Kind, AlertKinds())
	}
	var out []Alert
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		out, err = r.Alerts(f)
		return err
	})
	return out, err
}

// AckAlert marks an alert seen, by whom and with a note.
func (h *Hub) AckAlert(ctx context.Context, id int64, by, note string) (Alert, error) {
	if len(note) > protocol.MaxNoteLen*5 {
		return Alert{}, invalid("note: %d bytes, at most %d", len(note), protocol.MaxNoteLen*5)
	}
	var a Alert
	err := h.update(ctx, func(w *writer) error {
		var err error
		a, err = w.tx.Alert(id)
		if errors.Is(err, ErrNotFound) {
			return notFound("no alert %d", id)
		}
		if err != nil {
			return err
		}
		if !a.Acked.IsZero() {
			return conflict("alert %d was acknowledged at %s by %s", id, a.Acked.Format(time.RFC3339), a.AckedBy)
		}
		a.Acked, a.AckedBy, a.Note = w.now, by, note
		if err := w.tx.UpdateAlert(a); err != nil {
			return err
		}
		w.alerts = append(w.alerts, a)
		return nil
	})
	return a, err
}

// Redemption is one ledger event as the API and reports show it.
type Redemption struct {
	Terminal string             `json:"terminal"`
	Seq      uint64             `json:"seq"`
	Kind     protocol.EventKind `json:"kind"`
	Reason   protocol.Reason    `json:"reason"`
	At       time.Time          `json:"at"`
	Received time.Time          `json:"received"`
	HubAt    time.Time          `json:"hub_at,omitzero"` // at on the hub's clock, when the hub corrected a flagged terminal clock
	Store    string             `json:"store"`
	Cashier  string             `json:"cashier,omitempty"`
	Mode     protocol.Mode      `json:"mode"`
	Entry    protocol.Entry     `json:"entry,omitempty"`
	Code     string             `json:"code,omitempty"`
	Campaign string             `json:"campaign,omitempty"`
	Uses     int                `json:"uses,omitempty"`
	Amount   int64              `json:"amount,omitempty"`
	OrderRef string             `json:"order_ref,omitempty"`
	Voids    *protocol.EventRef `json:"voids,omitempty"`
	Note     string             `json:"note,omitempty"`
	Flags    []Flag             `json:"flags,omitempty"`
	Z        *protocol.ZReport  `json:"z,omitempty"` // a z_report's totals
	Hash     protocol.Hash      `json:"hash"`
}

// RedemptionOf shows an event. A z_report's totals are read from its signed
// body, which the ledger keeps whole.
func RedemptionOf(e Event) Redemption {
	z := e.Z
	if e.Kind == protocol.KindZReport && z == nil && len(e.Body) > 0 {
		var b struct {
			Z *protocol.ZReport `json:"z"`
		}
		if json.Unmarshal(e.Body, &b) == nil {
			z = b.Z
		}
	}
	return Redemption{Terminal: e.Terminal, Seq: e.Seq, Kind: e.Kind, Reason: e.Reason, At: e.At, Received: e.Received, HubAt: e.HubAt,
		Store: e.Store, Cashier: e.Cashier, Mode: e.Mode, Entry: e.Entry, Code: e.Code, Campaign: e.Campaign,
		Uses: e.Uses, Amount: e.Amount, OrderRef: e.OrderRef, Voids: e.Voids, Note: e.Note, Flags: e.Flags, Z: z, Hash: e.Hash}
}

// RedemptionPage is how many rows Redemptions reads in one read
// transaction.
const RedemptionPage = 1000

// Redemptions calls fn for each redemption and void f selects (attempts
// too when f.Kinds names them), in ingest order; RedemptionPages says how.
func (h *Hub) Redemptions(ctx context.Context, f EventFilter, fn func(Redemption) error) error {
	return h.RedemptionPages(ctx, f, 0, func(page []Redemption) error {
		for _, x := range page {
			if err := fn(x); err != nil {
				return err
			}
		}
		return nil
	})
}

// RedemptionPages calls fn with the redemptions and voids f selects
// (attempts too when f.Kinds names them), in ingest order, up to size rows
// at a time (size ≤ 0: RedemptionPage) and f.Limit rows in all (0: every
// one). Each page is read in a read transaction of its own, and fn runs
// between them: however long fn takes (a client reading an export
// slowly), it never holds the ledger open. The pages follow the ingest
// order cursor, so every row comes once; rows ingested while the pages are
// read come at the end when f selects them.
func (h *Hub) RedemptionPages(ctx context.Context, f EventFilter, size int, fn func([]Redemption) error) error {
	if size <= 0 {
		size = RedemptionPage
	}
	if len(f.Kinds) == 0 {
		f.Kinds = []protocol.EventKind{protocol.KindRedemption, protocol.KindVoid}
	}
	if f.Store != "" {
		if _, ok := h.storeByID(f.Store); !ok {
			return notFound("no store %q", f.Store)
		}
	}
	left := f.Limit // rows still to send when f.Limit > 0
	for first := true; ; first = false {
		want := size
		if f.Limit > 0 {
			want = min(want, left)
		}
		var page []Event
		err := h.store.View(ctx, func(r Reader) error {
			if first && f.Terminal != "" {
				if _, err := r.Terminal(f.Terminal); errors.Is(err, ErrNotFound) {
					return notFound("no terminal %q", f.Terminal)
				}
			}
			pf := f
			pf.Limit = want
			return r.Events(pf, func(e Event) error {
				page = append(page, e)
				return nil
			})
		})
		if err != nil {
			return err
		}
		if len(page) > 0 {
			out := make([]Redemption, len(page))
			for i, e := range page {
				out[i] = RedemptionOf(e)
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		left -= len(page)
		if len(page) < want || (f.Limit > 0 && left <= 0) {
			return nil
		}
		if f.Newest {
			f.BeforeID = page[len(page)-1].ID
		} else {
			f.AfterID = page[len(page)-1].ID
		}
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
