package hub

import (
	"context"
	"fmt"
	"sync"

	"github.com/hexiao/hexiao/protocol"
)

// totalsCache holds the roll-up of a few recent days in memory, summed
// the ways Overview reads it, so an overview of 500 stores never scans the
// table. It is a copy of committed ledger rows, never a second count: a
// day is read from the ledger while the hub's writer lock (wmu) is held,
// and every later commit adds to it, under wmu, exactly the rows it added
// to the ledger (writer.added). Lock order: wmu, then mu.
type totalsCache struct {
	mu   sync.Mutex           // guards days and tick
	days map[string]*cacheDay // by day
	tick uint64               // a use counter: the least recently used day goes first
}

// maxCacheDays bounds the days the cache holds.
const maxCacheDays = 8

type cacheDay struct {
	stores map[string]*storeDay
	used   uint64
}

// storeDay is one store's day, summed three ways.
type storeDay struct {
	all       Counts
	hours     [24]Counts
	campaigns map[string]*Counts
}

func (d *cacheDay) add(t Totals) {
	s := d.stores[t.Store]
	if s == nil {
		s = &storeDay{campaigns: map[string]*Counts{}}
		d.stores[t.Store] = s
	}
	s.all.add(t)
	if t.Hour >= 0 && t.Hour < 24 {
		s.hours[t.Hour].add(t)
	}
	c := s.campaigns[t.Campaign]
	if c == nil {
		c = &Counts{}
		s.campaigns[t.Campaign] = c
	}
	c.add(t)
}

// committed adds rows a transaction added to the ledger's roll-up to the
// days the cache holds. Callers hold wmu and the transaction committed.
func (c *totalsCache) committed(rows []Totals) {
	if len(rows) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range rows {
		if d := c.days[t.Day]; d != nil {
			d.add(t)
		}
	}
}

// reset forgets every day (after the roll-up was rebuilt).
func (c *totalsCache) reset() {
	c.mu.Lock()
	c.days = nil
	c.mu.Unlock()
}

// read calls fn with the cached days named in days (each loaded first if
// the cache lacks it), under the cache's lock: fn must be quick and keep
// nothing it is given.
func (h *Hub) readCache(ctx context.Context, days []string, fn func(map[string]*cacheDay)) error {
	c := &h.cache
	for {
		c.mu.Lock()
		var missing []string
		for _, d := range days {
			if c.days[d] == nil {
				missing = append(missing, d)
			}
		}
		if len(missing) == 0 {
			view := make(map[string]*cacheDay, len(days))
			for _, d := range days {
				c.tick++
				c.days[d].used = c.tick
				view[d] = c.days[d]
			}
			fn(view)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		if len(days) > maxCacheDays {
			return fmt.Errorf("overview of %d days at once: more than the %d the cache holds", len(days), maxCacheDays)
		}
		if err := h.loadDays(ctx, missing); err != nil {
			return err
		}
	}
}

// loadDays reads days from the ledger's roll-up into the cache. It holds
// wmu while it reads, so no commit falls between the rows read and the
// rows committed() adds later.
func (h *Hub) loadDays(ctx context.Context, days []string) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	loaded := make(map[string]*cacheDay, len(days))
	err := h.store.View(ctx, func(r Reader) error {
		for _, day := range days {
			rows, err := r.Totals(TotalsFilter{From: day, To: day})
			if err != nil {
				return err
			}
			d := &cacheDay{stores: map[string]*storeDay{}}
			for _, t := range rows {
				d.add(t)
			}
			loaded[day] = d
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read totals: %w", err)
	}
	c := &h.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.days == nil {
		c.days = map[string]*cacheDay{}
	}
	for day, d := range loaded {
		if c.days[day] == nil {
			c.tick++
			d.used = c.tick
			c.days[day] = d
		}
	}
	for len(c.days) > maxCacheDays {
		oldest := ""
		for day, d := range c.days {
			if oldest == "" || d.used < c.days[oldest].used {
				oldest = day
			}
		}
		delete(c.days, oldest)
	}
	return nil
}

// Counts are the redemptions and voids of a slice of the roll-up.
type Counts struct {
	Redemptions int64 `json:"redemptions"`
	Voids       int64 `json:"voids"`
	Uses        int64 `json:"uses"`    // net: redeemed minus voided
	Value       int64 `json:"value"`   // net, in fen
	Online      int64 `json:"online"`  // redemptions decided online (the hub's claim)
	Offline     int64 `json:"offline"` // redemptions decided offline
}

func (c *Counts) add(t Totals) {
	c.Redemptions += t.Redemptions
	c.Voids += t.Voids
	c.Uses += t.Uses
	c.Value += t.Value
	if t.Mode == protocol.ModeOnline {
		c.Online += t.Redemptions
	} else {
		c.Offline += t.Redemptions
	}
}

func (c *Counts) sum(o Counts) {
	c.Redemptions += o.Redemptions
	c.Voids += o.Voids
	c.Uses += o.Uses
	c.Value += o.Value
	c.Online += o.Online
	c.Offline += o.Offline
}
