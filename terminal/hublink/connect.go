package hublink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/hexiao/hexiao/protocol"
)

func (l *Link) clientOptions(tc *tls.Config) *paho.ClientOptions {
	will, _ := protocol.Encode(&protocol.Presence{Terminal: l.id.Terminal, State: protocol.PresenceOffline})
	o := paho.NewClientOptions().AddBroker(l.cfg.Broker).
		SetClientID(l.id.Terminal).SetUsername(l.id.Terminal).SetPassword(l.cfg.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetKeepAlive(30*time.Second).SetPingTimeout(10*time.Second).
		SetConnectTimeout(10*time.Second).SetWriteTimeout(10*time.Second).
		SetOrderMatters(true).
		SetBinaryWill(protocol.TerminalTopic(l.id.Terminal, protocol.TopicPresence), will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.log.Warn("hub connection lost", "err", err)
			select {
			case l.lost <- struct{}{}:
			default:
			}
		})
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	return o
}

// connect dials until it succeeds, tells the loop ("up"), then waits for
// paho to say the connection was lost, tells the loop ("lost"), and dials
// again. Both messages come from this goroutine on the one channel l.in, so
// the loop sees them in order: a loss is never taken for the connection
// made after it.
func (l *Link) connect(ctx context.Context) {
	delay := l.opt.Retry
	for ctx.Err() == nil {
		select { // a loss reported for an earlier connection
		case <-l.lost:
		default:
		}
		t := l.c.Connect()
		t.Wait()
		err := t.Error()
		if err == nil {
			if err = l.subscribe(); err != nil {
				l.c.Disconnect(0)
			}
		}
		if err == nil {
			delay = l.opt.Retry
			select {
			case l.in <- inbound{event: "up"}:
			case <-ctx.Done():
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-l.lost:
			}
			select {
			case l.in <- inbound{event: "lost"}:
			case <-ctx.Done():
				return
			}
			continue
		}
		if errors.Is(err, packets.ErrorRefusedNotAuthorised) || errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			// The broker says the same to a wrong password and a revoked
			// terminal: only the hub's own word wipes the cache.
			revoked, aerr := l.cfg.askRevoked(ctx)
			if revoked {
				l.log.Error("the hub says this terminal is revoked", "login", err)
				select {
				case l.in <- inbound{event: "revoked"}:
				case <-ctx.Done():
				}
				return
			}
			// Not revoked (or the hub could not say, e.g. while it starts):
			// try again with the usual back-off.
			l.log.Error("the broker refuses this terminal's login", "err", err, "hub_status", aerr)
		}
		l.log.Warn("cannot reach the hub", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (l *Link) subscribe() error {
	filters := map[string]byte{
		protocol.TopicRoot + "/t/" + l.id.Terminal + "/#": 1,
		protocol.StoreFeedTopic(l.id.Store):               1,
		protocol.HubVersionTopic:                          1,
	}
	t := l.c.SubscribeMultiple(filters, l.handle)
	if !t.WaitTimeout(10 * time.Second) {
		return errors.New("subscribe: no answer in 10 s")
	}
	if err := t.Error(); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	st, ok := t.(*paho.SubscribeToken)
	if ok {
		for f, code := range st.Result() {
			if code >= 0x80 {
				return fmt.Errorf("subscribe %s: refused by the broker", f)
			}
		}
	}
	return nil
}

func (l *Link) onConnected(ctx context.Context, s *syncState) {
	l.connected.Store(true)
	s.up = true
	acked, err := l.store.Acked(ctx)
	if err != nil {
		l.log.Error("read the ack watermark", "err", err)
	}
	s.acked, s.sentTo, s.ackMoved, s.refused = acked, acked, l.opt.Now(), false
	l.setStatus(func(st *Status) { st.Acked = acked })
	s.feedAsked, s.snapAsked, s.probed = time.Time{}, time.Time{}, time.Time{}
	l.log.Info("connected to the hub", "acked", acked, "head", l.store.Head().Seq)
	l.presence(ctx, s)
	cursor, _ := l.store.FeedCursor(ctx)
	pr, _ := l.store.SnapshotProgress(ctx)
	switch {
	case cursor == 0:
		s.snapshot = true
	case pr.Pages > 0:
		l.store.DropSnapshot(ctx) // a stale pull: the cache is already synced
	}
	// Sync starts once the hub's version is known to be compatible; the
	// retained announcement arrives right after the subscription.
	if g := l.gate.Load(); g != nil && g.err == nil {
		l.startSync(ctx, s)
	}
}

func (l *Link) startSync(ctx context.Context, s *syncState) {
	if s.snapshot {
		l.askSnapshot(ctx, s)
	} else {
		l.askFeed(ctx, s)
	}
	l.push(ctx, s)
}

func (l *Link) onLost(s *syncState) {
	l.connected.Store(false)
	s.up = false
	l.setReachable(false) // claims under way time out on their own deadline
}

func (l *Link) setReachable(ok bool) {
	if l.reachable.Swap(ok) != ok {
		l.log.Info("hub reachability", "reachable", ok)
		if l.opt.OnReachable != nil {
			l.opt.OnReachable(ok)
		}
	}
}
