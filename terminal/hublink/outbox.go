package hublink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

func (l *Link) onAck(ctx context.Context, s *syncState, a *protocol.Ack) {
	l.measure(a.HubTime, l.opt.Now())
	l.contact(ctx, s)
	if a.Refused != nil {
		if !s.refused {
			l.log.Error("the hub refuses an event: it stays in the outbox", "seq", a.Refused.Seq, "kind", a.Refused.Kind, "detail", a.Refused.Detail)
		}
		s.refused = true
		l.setProblem("ack", fmt.Sprintf("the hub refuses event %d (%s): %s", a.Refused.Seq, a.Refused.Kind, a.Refused.Detail))
	}
	if a.Seq < s.acked {
		// The hub has less than it acknowledged before (restored from a
		// backup?): the journal still has every event, so send them again.
		l.log.Warn("the hub's watermark went back: re-sending", "hub", a.Seq, "here", s.acked)
		s.sentTo = a.Seq
		l.push(ctx, s)
		return
	}
	if a.Seq > s.acked {
		if err := l.store.Acknowledge(ctx, a.Seq, a.Hash); err != nil {
			l.log.Error("ack not applied", "seq", a.Seq, "err", err)
			l.setProblem("ack", err.Error())
			return
		}
		if a.Refused == nil {
			l.setProblem("ack", "")
		}
		s.acked, s.ackMoved = a.Seq, l.opt.Now()
		l.setStatus(func(st *Status) { st.Acked = a.Seq })
		if s.sentTo < a.Seq {
			s.sentTo = a.Seq
		}
	}
	l.push(ctx, s)
}

// push sends the journal from sentTo on, up to Window batches ahead of the
// watermark.
func (l *Link) push(ctx context.Context, s *syncState) {
	if !s.up || !l.gateOpen() || s.refused {
		return
	}
	head := l.store.Head().Seq
	limit := uint64(l.opt.Window * l.opt.BatchEvents)
	for s.sentTo < head && s.sentTo-s.acked < limit {
		if s.sentTo == s.acked {
			s.ackMoved = l.opt.Now() // the stall clock starts with the first unacked batch
		}
		n := l.opt.BatchEvents
		var b []byte
		var evs []protocol.SignedEvent
		for {
			var err error
			evs, err = l.store.Events(ctx, s.sentTo+1, n)
			if err != nil || len(evs) == 0 {
				l.log.Error("read the journal", "from", s.sentTo+1, "err", err)
				return
			}
			b, err = protocol.Encode(&protocol.EventBatch{Terminal: l.id.Terminal, Sent: l.opt.Now(), Events: evs})
			if errors.Is(err, protocol.ErrTooLarge) && n > 1 {
				n /= 2
				continue
			}
			if err != nil {
				l.log.Error("encode events", "err", err)
				return
			}
			break
		}
		t := l.c.Publish(protocol.TerminalTopic(l.id.Terminal, protocol.TopicEvents), 1, false, b)
		if t.WaitTimeout(0) && t.Error() != nil {
			l.log.Warn("send events", "err", t.Error())
			return
		}
		s.sentTo += uint64(len(evs))
	}
}

// Flush waits until the hub has acknowledged every event in the journal,
// or ctx ends. Run must be running.
func (l *Link) Flush(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		acked, err := l.store.Acked(ctx)
		if err != nil {
			return err
		}
		head := l.store.Head().Seq
		if acked >= head {
			return nil
		}
		l.Kick()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d events still wait for the hub: %w", head-acked, ctx.Err())
		case <-l.done:
			return fmt.Errorf("%d events still wait for the hub: the link stopped", head-acked)
		case <-tick.C:
		}
	}
}
