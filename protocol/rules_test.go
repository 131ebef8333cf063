package protocol

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestReasonsClosedList pins the closed list of DESIGN.md: a reason added or
// removed here is a protocol change.
func TestReasonsClosedList(t *testing.T) {
	want := "accepted unknown_code bad_signature revoked blocked expired not_yet_valid outside_hours " +
		"wrong_store used_up too_soon offline_not_allowed offline_limit rate_limited malformed cannot_record"
	var got []string
	for _, r := range Reasons() {
		got = append(got, string(r))
	}
	if strings.Join(got, " ") != want {
		t.Errorf("Reasons() = %v\nwant %s", got, want)
	}
	zh, en := map[string]Reason{}, map[string]Reason{}
	for _, r := range Reasons() {
		for _, lang := range []struct {
			l    Lang
			seen map[string]Reason
		}{{LangZH, zh}, {LangEN, en}} {
			txt := r.Text(lang.l)
			if txt == "" || txt == string(r) {
				t.Errorf("%s has no %s text", r, lang.l)
			}
			if other, dup := lang.seen[txt]; dup {
				t.Errorf("%s and %s share the %s text %q", r, other, lang.l, txt)
			}
			lang.seen[txt] = r
		}
		if p, err := ParseReason(string(r)); err != nil || p != r {
			t.Errorf("ParseReason(%s) = %s, %v", r, p, err)
		}
	}
	if Reason("fine").Text(LangZH) != "fine" || Reason("fine").Valid() {
		t.Error("an unlisted reason is treated as listed")
	}
	if UsedUp.Text("fr") != UsedUp.Text(LangEN) {
		t.Error("unknown language does not fall back to English")
	}
	var r Reason
	if err := json.Unmarshal([]byte(`"maybe"`), &r); err == nil {
		t.Error("unmarshalled an unlisted reason")
	}
	if !Accepted.OK() || UsedUp.OK() {
		t.Error("OK() is wrong")
	}
}

func TestCheckCompatible(t *testing.T) {
	tests := []struct {
		hub, terminal string
		want          string // "" means compatible, else a substring of the error
	}{
		{"1.0.0", "1.0.0", ""},
		{"1.3.0", "1.0.5", ""},
		{"1.0.9", "1.0.0", ""},
		{"1.0.0", "1.0.9", ""},
		{"1.0.0", "1.1.0", "upgrade the hub first"},
		{"2.0.0", "1.4.0", "upgrade the terminal"},
		{"1.4.0", "2.0.0", "upgrade the hub first"},
		{"1.1.0-rc.1", "1.1.0-rc.1", ""},
		{"1.1.0-rc.1", "1.1.0", "pre-release"},
		{"1.1.0", "1.1.0-rc.2", "pre-release"},
		{"one", "1.0.0", "hub protocol version"},
		{"1.0.0", "", "terminal protocol version: missing"},
		{"1.0", "1.0.0", "dotted-tri"},
		{"1.0.0", "1.-1.0", "terminal protocol version"},
	}
	for _, tt := range tests {
		err := CheckCompatible(tt.hub, tt.terminal)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckCompatible(%s, %s) = %v, want %q", tt.hub, tt.terminal, err, tt.want)
		}
	}
	if err := CheckCompatible(Version, Version); err != nil {
		t.Errorf("this build is incompatible with itself: %v", err)
	}
}

func TestTopics(t *testing.T) {
	tests := []struct {
		name string
		want Topic
		err  bool
	}{
		{"hx/v1/t/T1/events", Topic{Kind: TopicEvents, Terminal: "T1"}, false},
		{"hx/v1/t/T1/claim/reply", Topic{Kind: TopicClaimReply, Terminal: "T1"}, false},
		{"hx/v1/t/T1/snapshot/req", Topic{Kind: TopicSnapRequest, Terminal: "T1"}, false},
		{"hx/v1/s/sh-001/feed", Topic{Kind: TopicStoreFeed, Store: "sh-001"}, false},
		{"hx/v1/hub/version", Topic{Kind: TopicHubVersion}, false},
		{"hx/v1/t/+/events", Topic{}, true},
		{"hx/v1/t/T1/events/x", Topic{}, true},
		{"hx/v2/t/T1/events", Topic{}, true},
		{"hx/v1/s/sh-001/ack", Topic{}, true},
		{"hx/v1/t//events", Topic{}, true},
		{"hx/v1/x/T1/events", Topic{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTopic(tt.name)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTopic(%q) = %+v, %v; want %+v, error %v", tt.name, got, err, tt.want, tt.err)
		}
		if !tt.err && got.String() != tt.name {
			t.Errorf("String() = %q, want %q", got.String(), tt.name)
		}
	}
	for _, s := range Topics {
		name := strings.NewReplacer("{terminal}", "T1", "{store}", "s1").Replace(s.Pattern)
		p, err := ParseTopic(name)
		if err != nil || p.Kind != s.Kind {
			t.Errorf("pattern %s parses as %+v, %v", s.Pattern, p, err)
		}
		if s.QoS != 1 {
			t.Errorf("%s has QoS %d; the package doc promises 1", s.Pattern, s.QoS)
		}
	}
	if TerminalTopic("T1", TopicAck) != "hx/v1/t/T1/ack" || StoreFeedTopic("s1") != "hx/v1/s/s1/feed" {
		t.Error("topic constructors disagree with the tree")
	}
}

func TestTerminalACL(t *testing.T) {
	pub := []struct {
		topic string
		want  bool
	}{
		{"hx/v1/t/T1/events", true},
		{"hx/v1/t/T1/claim", true},
		{"hx/v1/t/T1/presence", true},
		{"hx/v1/t/T1/feed/req", true},
		{"hx/v1/t/T1/snapshot/req", true},
		{"hx/v1/t/T1/ack", false},         // only the hub acks
		{"hx/v1/t/T1/claim/reply", false}, // only the hub answers claims
		{"hx/v1/t/T2/events", false},      // another terminal
		{"hx/v1/s/s1/feed", false},
		{"hx/v1/hub/version", false},
		{"hx/v1/t/+/events", false},
		{"other/topic", false},
	}
	for _, tt := range pub {
		if got := TerminalMayPublish("T1", tt.topic); got != tt.want {
			t.Errorf("TerminalMayPublish(T1, %s) = %v, want %v", tt.topic, got, tt.want)
		}
	}
	sub := []struct {
		filter string
		want   bool
	}{
		{"hx/v1/t/T1/ack", true},
		{"hx/v1/t/T1/claim/reply", true},
		{"hx/v1/t/T1/feed", true},
		{"hx/v1/t/T1/snapshot", true},
		{"hx/v1/t/T1/#", true},
		{"hx/v1/s/s1/feed", true},
		{"hx/v1/hub/version", true},
		{"hx/v1/s/s2/feed", false},         // another store
		{"hx/v1/t/T2/ack", false},          // another terminal
		{"hx/v1/t/T2/#", false},            // another terminal's tree
		{"hx/v1/t/+/presence", false},      // everyone's presence
		{"hx/v1/#", false},                 // everything
		{"#", false},                       // everything
		{"hx/v1/t/T1/events", false},       // its own uplink is not for reading
		{"hx/v1/s/+/feed", false},          // every store
		{"hx/v1/t/T1/claim/+", false},      // wildcards beyond its own tree
		{"hx/v1/t/T1/../T2/ack", false},    // not a topic
		{"hx/v1/t/T1/presence", false},     // presence is read by the hub
		{"hx/v1/t/T1/feed/req", false},     // terminal-published
		{"hx/v1/t/T1/snapshot/x", false},   // not in the tree
		{"hx/v1/t/T1/#/x", false},          // invalid filter
		{"hx/v1/t/T1/ack/extra", false},    // not in the tree
		{"hx/v1/t/T1/+", false},            // only # is allowed on its own tree
		{"hx/v1/hub/version/x", false},     // not in the tree
		{"hx/v1/s/s1/feed/extra", false},   // not in the tree
		{"$SYS/broker/clients", false},     // broker internals
		{"hx/v1/t/T1/ack\x00x", false},     // control bytes
		{"", false},                        // empty
		{"hx/v1/t/T1", false},              // not a topic
		{"hx/v1/t/T1/", false},             // not a topic
		{"hx/v1/t/T1/claim", false},        // terminal-published
		{"hx/v1/t/T1/snapshot/req", false}, // terminal-published
	}
	for _, tt := range sub {
		if got := TerminalMaySubscribe("T1", "s1", tt.filter); got != tt.want {
			t.Errorf("TerminalMaySubscribe(T1, s1, %q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestHours(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2026, 11, 22, h, m, 0, 0, time.UTC) }
	tests := []struct {
		window string
		at     time.Time
		want   bool
	}{
		{"10:30-14:00", day(10, 30), true},
		{"10:30-14:00", day(13, 59), true},
		{"10:30-14:00", day(14, 0), false},
		{"10:30-14:00", day(10, 29), false},
		{"22:00-02:00", day(23, 15), true},
		{"22:00-02:00", day(1, 59), true},
		{"22:00-02:00", day(2, 0), false},
		{"22:00-02:00", day(12, 0), false},
		{"00:00-24:00", day(23, 59), true},
		{"00:00-24:00", day(0, 0), true},
	}
	for _, tt := range tests {
		h, err := ParseHours(tt.window)
		if err != nil {
			t.Fatalf("ParseHours(%q): %v", tt.window, err)
		}
		if got := h.Contains(tt.at); got != tt.want {
			t.Errorf("%s contains %s = %v, want %v", tt.window, tt.at.Format("15:04"), got, tt.want)
		}
		if h.String() != tt.window {
			t.Errorf("String() = %s, want %s", h, tt.window)
		}
	}
	for _, bad := range []string{"9-17", "09:00", "09:00-09:00", "24:00-01:00", "09:60-10:00", "25:00-26:00", "9:00-17:00", "+9:00-17:00", "09:00-24:01"} {
		if _, err := ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted", bad)
		}
	}
	c := fixCampaign()
	if !c.InHours(day(12, 0)) || c.InHours(day(15, 0)) || !c.InHours(day(21, 0)) {
		t.Error("campaign InHours disagrees with its two windows")
	}
	c.Hours = nil
	if !c.InHours(day(3, 0)) {
		t.Error("a campaign with no hours is not redeemable all day")
	}
}

func TestCampaignValidate(t *testing.T) {
	c := fixCampaign()
	if err := c.Validate(); err != nil {
		t.Fatalf("fixture campaign: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Campaign)
		want string
	}{
		{"no name", func(c *Campaign) { c.Name = " " }, "name is empty"},
		{"control in name", func(c *Campaign) { c.Name = "a\nb" }, "control character"},
		{"uses", func(c *Campaign) { c.Uses = MaxUses + 1 }, "uses 10001"},
		{"window", func(c *Campaign) { c.ValidUntil = c.ValidFrom }, "valid_until"},
		{"caps without allow", func(c *Campaign) { c.Offline.Allow = false }, "offline.allow is false"},
		{"negative cap", func(c *Campaign) { c.Offline.MaxCount = -1 }, "negative"},
		{"negative undo", func(c *Campaign) { c.UndoWindow = -1 }, "negative"},
		{"bad store", func(c *Campaign) { c.Stores = []string{"sh 001"} }, "stores"},
	}
	for _, tt := range tests {
		cc := fixCampaign()
		tt.mod(&cc)
		if err := cc.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate = %v, want %q", tt.name, err, tt.want)
		}
	}
	if !c.InScope("sh-002", "") || !c.InScope("gz-001", "east") || c.InScope("gz-001", "south") {
		t.Error("campaign InScope disagrees with its stores and regions")
	}
}

func TestValidIDs(t *testing.T) {
	for _, ok := range []string{"a", "T-SH001-1", "sh.001_x", strings.Repeat("x", MaxIDLen)} {
		if err := ValidID(ok); err != nil {
			t.Errorf("ValidID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a+b", "a#b", "a b", "中", strings.Repeat("x", MaxIDLen+1)} {
		if err := ValidID(bad); err == nil {
			t.Errorf("ValidID(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "c1", "C_1", strings.Repeat("C", MaxCodeIDLen+1)} {
		if err := ValidCodeID(bad); err == nil {
			t.Errorf("ValidCodeID(%q) accepted", bad)
		}
	}
}
