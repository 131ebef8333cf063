package mqttlink

import (
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hexiao/hexiao/protocol"
)

// Stats counts what the link has done since New.
type Stats struct {
	// Messages received from terminals, by kind (before decoding).
	InEvents, InClaims, InFeedRequests, InSnapshotRequests, InPresence int64
	// Malformed counts messages dropped before the Ledger: bad JSON, wrong
	// wire version, invalid fields, over protocol.MaxMessageBytes, or a
	// topic outside the tree.
	Malformed int64
	// LedgerErrors counts messages the Ledger returned an error for (no
	// answer was published).
	LedgerErrors int64
	// Answers and pushes published.
	Acks, ClaimReplies, FeedPages, SnapshotPages, Pushes, Announcements int64
	// EncodeErrors counts Ledger answers that did not encode (a hub bug);
	// PublishErrors counts publishes the transport refused.
	EncodeErrors, PublishErrors int64
	// Queued is how many received messages wait for a worker now.
	Queued int64
}

// counters are the Stats, updated atomically.
type counters struct {
	inEvents, inClaims, inFeedRequests, inSnapshotRequests, inPresence atomic.Int64

	malformed, ledgerErrors atomic.Int64

	acks, claimReplies, feedPages, snapshotPages, pushes, announcements atomic.Int64

	encodeErrors, publishErrors atomic.Int64
}

// in returns the counter of received messages of kind k.
func (c *counters) in(k protocol.TopicKind) *atomic.Int64 {
	switch k {
	case protocol.TopicEvents:
		return &c.inEvents
	case protocol.TopicClaim:
		return &c.inClaims
	case protocol.TopicFeedRequest:
		return &c.inFeedRequests
	case protocol.TopicSnapRequest:
		return &c.inSnapshotRequests
	default:
		return &c.inPresence
	}
}

// Stats returns the counters now.
func (l *Link) Stats() Stats {
	c := &l.stats
	return Stats{
		InEvents:           c.inEvents.Load(),
		InClaims:           c.inClaims.Load(),
		InFeedRequests:     c.inFeedRequests.Load(),
		InSnapshotRequests: c.inSnapshotRequests.Load(),
		InPresence:         c.inPresence.Load(),
		Malformed:          c.malformed.Load(),
		LedgerErrors:       c.ledgerErrors.Load(),
		Acks:               c.acks.Load(),
		ClaimReplies:       c.claimReplies.Load(),
		FeedPages:          c.feedPages.Load(),
		SnapshotPages:      c.snapshotPages.Load(),
		Pushes:             c.pushes.Load(),
		Announcements:      c.announcements.Load(),
		EncodeErrors:       c.encodeErrors.Load(),
		PublishErrors:      c.publishErrors.Load(),
		Queued:             int64(l.ingest.queued() + l.claims.queued() + l.reads.queued()),
	}
}

// WriteMetrics writes the Stats in Prometheus text format 0.0.4, for the
// hub's /metrics.
func (l *Link) WriteMetrics(w io.Writer) {
	s := l.Stats()
	family(w, "hexiao_mqtt_messages_in_total", "Messages received from terminals, by kind.", "counter",
		sample{"events", s.InEvents}, sample{"claim", s.InClaims}, sample{"feed_request", s.InFeedRequests},
		sample{"snapshot_request", s.InSnapshotRequests}, sample{"presence", s.InPresence})
	family(w, "hexiao_mqtt_messages_out_total", "Messages published to terminals, by kind.", "counter",
		sample{"ack", s.Acks}, sample{"claim_reply", s.ClaimReplies}, sample{"feed_page", s.FeedPages},
		sample{"snapshot_page", s.SnapshotPages}, sample{"feed_push", s.Pushes}, sample{"version", s.Announcements})
	family(w, "hexiao_mqtt_malformed_total", "Messages dropped as malformed before the ledger.", "counter", sample{"", s.Malformed})
	family(w, "hexiao_mqtt_ledger_errors_total", "Messages the ledger failed to handle (no answer sent).", "counter", sample{"", s.LedgerErrors})
	family(w, "hexiao_mqtt_encode_errors_total", "Ledger answers that did not encode.", "counter", sample{"", s.EncodeErrors})
	family(w, "hexiao_mqtt_publish_errors_total", "Publishes the MQTT transport refused.", "counter", sample{"", s.PublishErrors})
	family(w, "hexiao_mqtt_queued", "Received messages waiting for a worker.", "gauge", sample{"", s.Queued})
}

// sample is one value of a family; kind is its "kind" label, if any.
type sample struct {
	kind string
	v    int64
}

func family(w io.Writer, name, help, typ string, samples ...sample) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	for _, s := range samples {
		if s.kind == "" {
			fmt.Fprintf(w, "%s %d\n", name, s.v)
		} else {
			fmt.Fprintf(w, "%s{kind=%q} %d\n", name, s.kind, s.v)
		}
	}
}
