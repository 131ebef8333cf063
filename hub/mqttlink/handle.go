package mqttlink

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/hexiao/hexiao/hub"
	"github.com/hexiao/hexiao/protocol"
)

// handle decodes one message, asks the Ledger and publishes its answer.
func (l *Link) handle(ctx context.Context, j job) {
	switch j.kind {
	case protocol.TopicEvents:
		var b protocol.EventBatch
		var ack protocol.Ack
		var err error
		if derr := l.decodeErr(j, &b); derr != nil {
			// Refused at the watermark, with the reason: re-sending the
			// same bytes would not help, and the terminal must say so.
			ack, err = l.ledger.RefuseMalformed(ctx, j.terminal, j.kind, derr.Error())
		} else {
			ack, err = l.ledger.Ingest(ctx, j.terminal, &b)
		}
		if l.failed(ctx, j, err) {
			return
		}
		l.reply(j.terminal, protocol.TopicAck, &ack, &l.stats.acks)
	case protocol.TopicClaim:
		var req protocol.ClaimRequest
		if derr := l.decodeErr(j, &req); derr != nil {
			l.refuseClaim(j)
			return
		}
		rep, err := l.ledger.Claim(ctx, j.terminal, &req)
		if l.failed(ctx, j, err) {
			return
		}
		l.reply(j.terminal, protocol.TopicClaimReply, &rep, &l.stats.claimReplies)
	case protocol.TopicFeedRequest:
		var req protocol.FeedRequest
		if !l.decode(j, &req) {
			return
		}
		page, err := l.ledger.Feed(ctx, j.terminal, &req)
		if l.failed(ctx, j, err) {
			return
		}
		l.reply(j.terminal, protocol.TopicFeedPage, &page, &l.stats.feedPages)
	case protocol.TopicSnapRequest:
		var req protocol.SnapshotRequest
		if !l.decode(j, &req) {
			return
		}
		page, err := l.ledger.Snapshot(ctx, j.terminal, &req)
		if l.failed(ctx, j, err) {
			return
		}
		l.reply(j.terminal, protocol.TopicSnapPage, &page, &l.stats.snapshotPages)
	case protocol.TopicPresence:
		if len(j.payload) == 0 {
			return // a terminal clearing its retained presence
		}
		var p protocol.Presence
		if !l.decode(j, &p) {
			return
		}
		// A retained copy (after the hub subscribes) carries an old clock.
		l.failed(ctx, j, l.ledger.Presence(ctx, j.terminal, &p, !j.retained))
	}
}

// decode parses j's payload into m. A malformed payload is logged, counted
// and dropped: the Ledger never sees it. Feed and snapshot requests and
// presence are dropped so; the terminal asks again.
func (l *Link) decode(j job, m protocol.Message) bool {
	return l.decodeErr(j, m) == nil
}

// decodeErr is decode returning why.
func (l *Link) decodeErr(j job, m protocol.Message) error {
	if err := protocol.Decode(j.payload, m); err != nil {
		l.stats.malformed.Add(1)
		l.log.Warn("malformed message", "terminal", j.terminal, "kind", string(j.kind),
			"bytes", len(j.payload), "err", err)
		return err
	}
	return nil
}

// refuseClaim answers a claim that does not decode with reason malformed,
// so the terminal refuses the scan at once rather than waiting for its
// claim timeout and deciding offline. The reply needs the claim's seq; a
// payload too broken to say it gets no reply.
func (l *Link) refuseClaim(j job) {
	var probe struct {
		Seq uint64 `json:"seq"`
	}
	if json.Unmarshal(j.payload, &probe) != nil || probe.Seq == 0 {
		return
	}
	rep := protocol.ClaimReply{Header: protocol.Header{V: protocol.WireVersion}, Terminal: j.terminal, Seq: probe.Seq,
		Reason: protocol.Malformed, HubTime: time.Now().UTC()}
	l.reply(j.terminal, protocol.TopicClaimReply, &rep, &l.stats.claimReplies)
}

// failed logs and counts a Ledger error and reports whether there was one.
func (l *Link) failed(ctx context.Context, j job, err error) bool {
	if err == nil {
		return false
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return true // shutting down; the terminal asks again
	}
	l.stats.ledgerErrors.Add(1)
	l.log.Warn("ledger refused a message", "terminal", j.terminal, "kind", string(j.kind), "err", err)
	return true
}

// reply publishes the Ledger's answer on terminal's topic of kind k.
func (l *Link) reply(terminal string, k protocol.TopicKind, m protocol.Message, sent *atomic.Int64) {
	l.publish(protocol.TerminalTopic(terminal, k), m, false, sent)
}

// publish encodes m and publishes it at QoS 1.
func (l *Link) publish(topic string, m protocol.Message, retain bool, sent *atomic.Int64) {
	payload, err := protocol.Encode(m)
	if err != nil {
		l.stats.encodeErrors.Add(1)
		l.log.Error("ledger answer does not encode", "topic", topic, "err", err)
		return
	}
	if err := l.transport.Publish(topic, payload, retain); err != nil {
		l.stats.publishErrors.Add(1)
		l.log.Warn("publish failed", "topic", topic, "err", err)
		return
	}
	sent.Add(1)
}

// announce publishes the hub's version, retained.
func (l *Link) announce() {
	a := l.ledger.Announcement()
	l.publish(protocol.HubVersionTopic, &a, true, &l.stats.announcements)
}

// forward publishes every feed push of the hub's notices on its store's
// feed topic, in commit order, until ctx ends or the ledger closes the
// channel.
func (l *Link) forward(ctx context.Context, notices <-chan hub.Notice) {
	for {
		select {
		case n, ok := <-notices:
			if !ok {
				return
			}
			for i := range n.Pushes {
				p := &n.Pushes[i]
				l.publish(protocol.StoreFeedTopic(p.Store), p, false, &l.stats.pushes)
			}
			if t := n.Terminal; t != nil && t.Status == hub.TerminalRevoked && l.onRevoked != nil {
				l.onRevoked(t.ID)
			}
		case <-ctx.Done():
			return
		}
	}
}
