package hublink

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// Status is what the link knows, for the window and logs.
type Status struct {
	Connected   bool
	Reachable   bool
	LastContact time.Time
	Acked       uint64 // the hub's watermark
	Head        uint64 // the journal's last seq
	FeedCursor  uint64
	Snapshot    bool   // a snapshot pull is under way
	SnapshotAt  int    // pages staged
	HubVersion  string // the protocol the hub announced
	Problem     string // why sync is stuck (incompatible, refused event, revoked), or ""
	Offset      time.Duration
}

// Status returns a copy of the link's state.
func (l *Link) Status() Status {
	l.statusMu.Lock()
	defer l.statusMu.Unlock()
	s := l.status
	var ps []string
	for _, area := range []string{"revoked", "version", "ack", "hub"} {
		if p := l.problems[area]; p != "" {
			ps = append(ps, p)
		}
	}
	s.Problem = strings.Join(ps, "; ")
	s.Connected, s.Reachable = l.connected.Load(), l.reachable.Load()
	s.LastContact, s.Head = l.store.LastContact(), l.store.Head().Seq
	return s
}

// setProblem says why sync is stuck in one area ("" clears it).
func (l *Link) setProblem(area, msg string) {
	l.statusMu.Lock()
	if l.problems == nil {
		l.problems = map[string]string{}
	}
	l.problems[area] = msg
	l.statusMu.Unlock()
}

func (l *Link) setStatus(f func(*Status)) {
	l.statusMu.Lock()
	f(&l.status)
	l.statusMu.Unlock()
}

// measure notes the clock offset, the hub's time against the middle of
// the round trip that brought it (for an ack, its arrival).
func (l *Link) measure(hubTime, sent time.Time) {
	now := l.opt.Now()
	mid := sent.Add(now.Sub(sent) / 2)
	off := hubTime.Sub(mid)
	l.setStatus(func(s *Status) { s.Offset = off })
}

// contact records that the hub answered: in memory at once, on disk at
// most every 5 s (the offline age survives a restart to within that).
func (l *Link) contact(ctx context.Context, s *syncState) {
	now := l.opt.Now()
	if l.gateOpen() && s.up {
		l.setReachable(true)
	}
	if now.Sub(s.contactRec) >= 5*time.Second {
		if err := l.store.SetLastContact(ctx, l.opt.Clock()); err != nil {
			l.log.Error("record hub contact", "err", err)
		} else {
			s.contactRec = now
		}
	}
	l.statusMu.Lock()
	off := l.status.Offset
	l.statusMu.Unlock()
	if d := off - s.offsetRec; d > time.Second || d < -time.Second {
		if err := l.store.SetClockOffset(ctx, off); err == nil {
			s.offsetRec = off
		}
	}
}

// presence publishes the retained birth message.
func (l *Link) presence(ctx context.Context, s *syncState) {
	now := l.opt.Now()
	online := l.reachable.Load()
	if l.opt.Online != nil {
		online = l.opt.Online()
	}
	p := protocol.Presence{Terminal: l.id.Terminal, Store: l.id.Store, State: protocol.PresenceOnline,
		Protocol: protocol.Version, App: l.opt.App, Mode: protocol.ModeOffline, Clock: now}
	if online {
		p.Mode = protocol.ModeOnline
	}
	if n, err := l.store.OutboxDepth(ctx); err == nil {
		p.Outbox = n
	}
	if last := l.store.LastContact(); !last.IsZero() {
		p.LastContact = last
		if !online {
			p.OfflineAge = protocol.Duration(max(0, l.opt.Clock().Sub(last)))
		}
	}
	if err := l.publish(protocol.TopicPresence, &p, true); err != nil {
		l.log.Warn("publish presence", "err", err)
		return
	}
	s.mode, s.presenced = p.Mode, now
}

// goodbye replaces the retained birth with "offline" on a clean stop, as
// the last will would on a crash.
func (l *Link) goodbye() {
	if !l.connected.Load() {
		return
	}
	b, _ := protocol.Encode(&protocol.Presence{Terminal: l.id.Terminal, State: protocol.PresenceOffline})
	l.c.Publish(protocol.TerminalTopic(l.id.Terminal, protocol.TopicPresence), 1, true, b).WaitTimeout(2 * time.Second)
}

// Describe says the link's state in words, for logs and the window.
func (s Status) Describe() string {
	var b strings.Builder
	switch {
	case s.Reachable:
		b.WriteString("online")
	case s.Connected:
		b.WriteString("connected, hub not answering")
	default:
		b.WriteString("offline")
	}
	fmt.Fprintf(&b, "; %d events wait for the hub", s.Head-min(s.Head, s.Acked))
	if !s.LastContact.IsZero() {
		fmt.Fprintf(&b, "; last contact %s", s.LastContact.Format(time.RFC3339))
	}
	if s.Snapshot {
		fmt.Fprintf(&b, "; pulling the snapshot (%d pages in)", s.SnapshotAt)
	}
	if s.Problem != "" {
		b.WriteString("; " + s.Problem)
	}
	return b.String()
}
