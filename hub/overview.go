package hub

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Overview is a day of the chain (or of one store) at a glance: what the
// HQ dashboard's first page shows.
type Overview struct {
	// Day is the day asked for; "" when each store's own today was shown
	// (StoreOverview.Day says which).
	Day string `json:"day,omitempty"`
	// Store is the one store asked for; "" for every store.
	Store            string    `json:"store,omitempty"`
	At               time.Time `json:"at"` // hub time of the answer
	Totals           Counts    `json:"totals"`
	Terminals        int       `json:"terminals"` // active (not revoked) terminals
	TerminalsOffline int       `json:"terminals_offline"`
	// Hours are 24 buckets by each store's local hour.
	Hours     []Counts         `json:"hours"`
	Stores    []StoreOverview  `json:"stores"`    // by id
	Campaigns []CampaignTotals `json:"campaigns"` // the top 10 by value, then by id
	Offline   []OfflineStore   `json:"offline"`   // stores with terminals offline, by id
}

// StoreOverview is one store's line of an Overview.
type StoreOverview struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Region   string `json:"region,omitempty"`
	Timezone string `json:"timezone"`
	Day      string `json:"day"` // the store's business day shown
	Counts
	Terminals        int `json:"terminals"`
	TerminalsOffline int `json:"terminals_offline"`
}

// CampaignTotals is one campaign's line of an Overview.
type CampaignTotals struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"` // "" for a campaign the hub does not know
	Counts
}

// OfflineStore is a store with terminals offline, and those terminals.
type OfflineStore struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Terminals []OfflineTerminal `json:"terminals"` // by id
}

// OfflineTerminal is an active terminal that is not online.
type OfflineTerminal struct {
	ID       string    `json:"id"`
	LastSeen time.Time `json:"last_seen,omitzero"` // omitted when never seen
	// OfflineFor is how long since it was last seen (since it was
	// enrolled when never seen).
	OfflineFor protocol.Duration `json:"offline_for"`
}

// overviewTop is how many campaigns an Overview lists.
const overviewTop = 10

// Overview sums day (YYYY-MM-DD; "" for each store's today in its own time
// zone) for the store scope names, or the whole chain when scope is "",
// from the roll-up, with every active terminal's state.
func (h *Hub) Overview(ctx context.Context, scope, day string) (Overview, error) {
	now := h.now().UTC()
	o := Overview{Day: day, Store: scope, At: now, Hours: make([]Counts, 24)}
	if day != "" {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return o, invalid("day=%q is not a day; use YYYY-MM-DD", day)
		}
	}
	var stores []protocol.Store
	if scope != "" {
		s, ok := h.storeByID(scope)
		if !ok {
			return o, notFound("no store %q", scope)
		}
		stores = []protocol.Store{s}
	} else {
		stores = h.Stores()
	}
	o.Stores = make([]StoreOverview, len(stores))
	var days []string
	for i, s := range stores {
		d := day
		if d == "" {
			d = now.In(h.location(s.ID)).Format(time.DateOnly)
		}
		o.Stores[i] = StoreOverview{ID: s.ID, Name: s.Name, Region: s.Region, Timezone: s.Timezone, Day: d}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	camps := map[string]*Counts{}
	err := h.readCache(ctx, days, func(cache map[string]*cacheDay) {
		for i := range o.Stores {
			so := &o.Stores[i]
			sd := cache[so.Day].stores[so.ID]
			if sd == nil {
				continue
			}
			so.Counts = sd.all
			o.Totals.sum(sd.all)
			for hr := range sd.hours {
				o.Hours[hr].sum(sd.hours[hr])
			}
			for id, c := range sd.campaigns {
				if camps[id] == nil {
					camps[id] = &Counts{}
				}
				camps[id].sum(*c)
			}
		}
	})
	if err != nil {
		return o, err
	}
	o.Campaigns = make([]CampaignTotals, 0, len(camps))
	for id, c := range camps {
		ct := CampaignTotals{ID: id, Counts: *c}
		if camp, ok := h.campaign(id); ok {
			ct.Name = camp.Name
		}
		o.Campaigns = append(o.Campaigns, ct)
	}
	slices.SortFunc(o.Campaigns, func(a, b CampaignTotals) int {
		return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.ID, b.ID))
	})
	o.Campaigns = o.Campaigns[:min(len(o.Campaigns), overviewTop)]

	if err := h.overviewTerminals(ctx, &o, now); err != nil {
		return o, err
	}
	return o, nil
}

// overviewTerminals counts the active terminals of o's stores and lists
// those offline.
func (h *Hub) overviewTerminals(ctx context.Context, o *Overview, now time.Time) error {
	index := make(map[string]int, len(o.Stores))
	for i, s := range o.Stores {
		index[s.ID] = i
	}
	var terms []Terminal
	err := h.store.View(ctx, func(r Reader) error {
		var err error
		terms, err = r.Terminals()
		return err
	})
	if err != nil {
		return err
	}
	o.Offline = []OfflineStore{}
	offline := map[string]*OfflineStore{}
	for _, t := range terms {
		i, ok := index[t.Store]
		if !ok || t.Status != TerminalActive {
			continue
		}
		so := &o.Stores[i]
		so.Terminals++
		o.Terminals++
		if online := t.Presence != nil && t.Presence.State == protocol.PresenceOnline; online {
			continue
		}
		so.TerminalsOffline++
		o.TerminalsOffline++
		since := t.LastSeen
		if since.IsZero() {
			since = t.Created
		}
		os := offline[t.Store]
		if os == nil {
			os = &OfflineStore{ID: so.ID, Name: so.Name}
			offline[t.Store] = os
		}
		os.Terminals = append(os.Terminals, OfflineTerminal{ID: t.ID, LastSeen: t.LastSeen.UTC(),
			OfflineFor: protocol.Duration(max(0, now.Sub(since)).Round(time.Second))})
	}
	for _, os := range offline {
		slices.SortFunc(os.Terminals, func(a, b OfflineTerminal) int { return cmp.Compare(a.ID, b.ID) })
		o.Offline = append(o.Offline, *os)
	}
	slices.SortFunc(o.Offline, func(a, b OfflineStore) int { return cmp.Compare(a.ID, b.ID) })
	return nil
}
