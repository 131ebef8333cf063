package protocol

import (
	"fmt"
	"strings"
)

// TopicRoot is the first two levels of every Hexiao topic.
const TopicRoot = "hx/v1"

// TopicKind names one topic of the tree.
type TopicKind string

// The topics. Terminal topics live under hx/v1/t/{terminal}/, store topics
// under hx/v1/s/{store}/.
const (
	TopicEvents      TopicKind = "events"       // hx/v1/t/{terminal}/events
	TopicAck         TopicKind = "ack"          // hx/v1/t/{terminal}/ack
	TopicClaim       TopicKind = "claim"        // hx/v1/t/{terminal}/claim
	TopicClaimReply  TopicKind = "claim/reply"  // hx/v1/t/{terminal}/claim/reply
	TopicFeedRequest TopicKind = "feed/req"     // hx/v1/t/{terminal}/feed/req
	TopicFeedPage    TopicKind = "feed"         // hx/v1/t/{terminal}/feed
	TopicSnapRequest TopicKind = "snapshot/req" // hx/v1/t/{terminal}/snapshot/req
	TopicSnapPage    TopicKind = "snapshot"     // hx/v1/t/{terminal}/snapshot
	TopicPresence    TopicKind = "presence"     // hx/v1/t/{terminal}/presence
	TopicStoreFeed   TopicKind = "store/feed"   // hx/v1/s/{store}/feed
	TopicHubVersion  TopicKind = "hub/version"  // hx/v1/hub/version
)

// Who publishes on a topic.
const (
	FromTerminal = "terminal"
	FromHub      = "hub"
)

// TopicSpec documents one topic: who publishes, with which QoS, whether the
// broker retains it, and the payload type.
type TopicSpec struct {
	Kind     TopicKind
	Pattern  string
	From     string
	QoS      byte
	Retained bool
	Payload  string
}

// Topics is the whole tree. Every message is QoS 1: at-least-once delivery
// with idempotent receivers (events by terminal:seq, claims by event id,
// feed changes by seq), because QoS 2 costs a round trip more and still
// loses messages when a broker drops a session (DESIGN.md invariant 2).
var Topics = []TopicSpec{
	{TopicEvents, "hx/v1/t/{terminal}/events", FromTerminal, 1, false, "EventBatch"},
	{TopicAck, "hx/v1/t/{terminal}/ack", FromHub, 1, false, "Ack"},
	{TopicClaim, "hx/v1/t/{terminal}/claim", FromTerminal, 1, false, "ClaimRequest"},
	{TopicClaimReply, "hx/v1/t/{terminal}/claim/reply", FromHub, 1, false, "ClaimReply"},
	{TopicFeedRequest, "hx/v1/t/{terminal}/feed/req", FromTerminal, 1, false, "FeedRequest"},
	{TopicFeedPage, "hx/v1/t/{terminal}/feed", FromHub, 1, false, "FeedPage"},
	{TopicSnapRequest, "hx/v1/t/{terminal}/snapshot/req", FromTerminal, 1, false, "SnapshotRequest"},
	{TopicSnapPage, "hx/v1/t/{terminal}/snapshot", FromHub, 1, false, "SnapshotPage"},
	{TopicPresence, "hx/v1/t/{terminal}/presence", FromTerminal, 1, true, "Presence (birth and last will)"},
	{TopicStoreFeed, "hx/v1/s/{store}/feed", FromHub, 1, false, "FeedPush"},
	{TopicHubVersion, "hx/v1/hub/version", FromHub, 1, true, "VersionAnnounce"},
}

// Spec returns the TopicSpec of k.
func (k TopicKind) Spec() (TopicSpec, bool) {
	for _, s := range Topics {
		if s.Kind == k {
			return s, true
		}
	}
	return TopicSpec{}, false
}

// Topic is a parsed topic name.
type Topic struct {
	Kind     TopicKind
	Terminal string // for terminal topics
	Store    string // for store topics
}

// String returns the topic name.
func (t Topic) String() string {
	switch t.Kind {
	case TopicStoreFeed:
		return TopicRoot + "/s/" + t.Store + "/feed"
	case TopicHubVersion:
		return TopicRoot + "/hub/version"
	default:
		return TopicRoot + "/t/" + t.Terminal + "/" + string(t.Kind)
	}
}

// TerminalTopic returns the name of terminal's topic of kind k.
func TerminalTopic(terminal string, k TopicKind) string {
	return Topic{Kind: k, Terminal: terminal}.String()
}

// StoreFeedTopic returns the name of store's feed topic.
func StoreFeedTopic(store string) string {
	return Topic{Kind: TopicStoreFeed, Store: store}.String()
}

// HubVersionTopic is the hub's retained version announcement.
const HubVersionTopic = TopicRoot + "/hub/version"

// ParseTopic reads a topic name (no wildcards) of the tree.
func ParseTopic(name string) (Topic, error) {
	rest, ok := strings.CutPrefix(name, TopicRoot+"/")
	if !ok {
		return Topic{}, fmt.Errorf("topic %q is not under %s/", name, TopicRoot)
	}
	if rest == "hub/version" {
		return Topic{Kind: TopicHubVersion}, nil
	}
	scope, rest, _ := strings.Cut(rest, "/")
	id, tail, _ := strings.Cut(rest, "/")
	if err := ValidID(id); err != nil {
		return Topic{}, fmt.Errorf("topic %q: %w", name, err)
	}
	switch scope {
	case "t":
		switch k := TopicKind(tail); k {
		case TopicEvents, TopicAck, TopicClaim, TopicClaimReply, TopicFeedRequest, TopicFeedPage,
			TopicSnapRequest, TopicSnapPage, TopicPresence:
			return Topic{Kind: k, Terminal: id}, nil
		}
	case "s":
		if tail == "feed" {
			return Topic{Kind: TopicStoreFeed, Store: id}, nil
		}
	}
	return Topic{}, fmt.Errorf("topic %q is not in the %s tree", name, TopicRoot)
}

// TerminalMayPublish is the broker ACL for a terminal's publishes: only on
// its own topics whose publisher is the terminal.
func TerminalMayPublish(terminal, topic string) bool {
	t, err := ParseTopic(topic)
	if err != nil || t.Terminal != terminal {
		return false
	}
	s, _ := t.Kind.Spec()
	return s.From == FromTerminal
}

// TerminalMaySubscribe is the broker ACL for a terminal's subscriptions: its
// own hub-published topics, its store's feed, the hub version, or the filter
// hx/v1/t/{terminal}/# covering its own topics. No other wildcard is allowed.
func TerminalMaySubscribe(terminal, store, filter string) bool {
	if filter == TopicRoot+"/t/"+terminal+"/#" {
		return ValidID(terminal) == nil
	}
	if strings.ContainsAny(filter, "+#") {
		return false
	}
	t, err := ParseTopic(filter)
	if err != nil {
		return false
	}
	switch t.Kind {
	case TopicHubVersion:
		return true
	case TopicStoreFeed:
		return t.Store == store
	}
	s, _ := t.Kind.Spec()
	return t.Terminal == terminal && s.From == FromHub
}
