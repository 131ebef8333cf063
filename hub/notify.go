package hub

import (
	"sync/atomic"

	"github.com/hexiao/hexiao/protocol"
)

// Notice is what one committed write changed, for the parts that tell
// others live: feed pushes for the terminals (mqttlink), redemptions, alerts
// and presence for the dashboard's stream (web).
type Notice struct {
	Pushes   []protocol.FeedPush // one per store whose scope the new changes reach
	Events   []Event             // redemptions and voids just ingested
	Alerts   []Alert             // alerts raised or extended
	Terminal *Terminal           // a terminal's presence or standing changed
}

func (n *Notice) empty() bool {
	return len(n.Pushes) == 0 && len(n.Events) == 0 && len(n.Alerts) == 0 && n.Terminal == nil
}

type subscriber struct {
	ch     chan Notice
	missed atomic.Int64 // notices dropped for it since Subscription.Missed last took the count
}

// Subscription is a live feed of notices; Watch makes one.
type Subscription struct {
	h *Hub
	s *subscriber
}

// Watch subscribes to notices, in commit order. A subscriber that falls
// more than buf notices behind misses notices rather than holding the hub
// back; Missed says how many, so it can tell its own readers to catch up
// (the dashboard stream sends event: reset).
func (h *Hub) Watch(buf int) *Subscription {
	s := &subscriber{ch: make(chan Notice, max(buf, 1))}
	h.subMu.Lock()
	h.subs[s] = struct{}{}
	h.subMu.Unlock()
	return &Subscription{h: h, s: s}
}

// C is the channel of notices. Stop closes it.
func (s *Subscription) C() <-chan Notice { return s.s.ch }

// Missed returns how many notices were dropped for this subscriber since
// the last call, and starts counting again from zero. A notice is dropped
// when it is published while the channel is full, so it is newer than
// every notice still waiting in C.
func (s *Subscription) Missed() int64 { return s.s.missed.Swap(0) }

// Stop ends the subscription and closes C; calling it again does nothing.
func (s *Subscription) Stop() {
	h := s.h
	h.subMu.Lock()
	if _, ok := h.subs[s.s]; ok {
		delete(h.subs, s.s)
		close(s.s.ch)
	}
	h.subMu.Unlock()
}

// Subscribe is Watch for subscribers that need no count of what they
// missed: it returns the channel of notices and a function that ends the
// subscription and closes the channel. A subscriber that falls more than
// buf notices behind misses notices (counted in Stats.Dropped); a terminal
// that misses a feed push notices the gap by FeedPush.After and asks for a
// feed page.
func (h *Hub) Subscribe(buf int) (<-chan Notice, func()) {
	s := h.Watch(buf)
	return s.C(), s.Stop
}

// publish hands n to every subscriber without waiting. Callers hold wmu, so
// notices leave in commit order.
func (h *Hub) publish(n Notice) {
	if n.empty() {
		return
	}
	h.subMu.Lock()
	defer h.subMu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- n:
		default:
			s.missed.Add(1)
			h.stats.Dropped.Add(1)
		}
	}
}

// pushes groups new changes (in seq order) into one FeedPush per store they
// reach. After is the last seq pushed to that store, or the feed head when
// the hub started (a terminal below it asks for a page). Callers hold wmu.
func (h *Hub) pushes(changes []Change) []protocol.FeedPush {
	if len(changes) == 0 {
		return nil
	}
	h.mu.RLock()
	stores := make([]protocol.Store, 0, len(h.stores))
	for _, s := range h.stores {
		stores = append(stores, s)
	}
	h.mu.RUnlock()
	var out []protocol.FeedPush
	for _, s := range stores {
		var p *protocol.FeedPush
		for _, c := range changes {
			if !c.Audience.Admits(s.ID, s.Region) {
				continue
			}
			if p == nil || len(p.Changes) == protocol.MaxPageChanges {
				after, ok := h.lastPush[s.ID]
				if !ok {
					after = h.pushBase
				}
				out = append(out, protocol.FeedPush{Store: s.ID, After: after})
				p = &out[len(out)-1]
			}
			p.Changes = append(p.Changes, c.Change)
			h.lastPush[s.ID] = c.Seq
		}
	}
	return out
}
