package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden and seed corpora in testdata/fuzz")

// t0 is the fixed instant every fixture is built at.
var t0 = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

// seedKey derives a deterministic Ed25519 key from a label.
func seedKey(label string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(label))
	return ed25519.NewKeyFromSeed(s[:])
}

func testSigningKey(id string, notBefore, notAfter time.Time) SigningKey {
	priv := seedKey("issuing " + id)
	return SigningKey{
		IssuingKey: IssuingKey{ID: id, Public: priv.Public().(ed25519.PublicKey), NotBefore: notBefore, NotAfter: notAfter},
		Private:    priv,
	}
}

var (
	fixKey      = testSigningKey("k1", t0.AddDate(-1, 0, 0), t0.AddDate(2, 0, 0))
	fixTerminal = seedKey("terminal T-SH001-1")
	fixPepper   = []byte("pepper-for-tests-only-32-bytes!!")
	fixSeed     = []byte("12345678901234567890123456789012") // RFC 6238 SHA-256 seed
)

func fixSignedCode() SignedCode {
	return SignedCode{
		ID:         "C7K2M9Q4XW1Z",
		Campaign:   "iqiyi-vip-month",
		ValidFrom:  t0.Add(-24 * time.Hour),
		ValidUntil: t0.AddDate(0, 3, 0),
		Uses:       1,
		Stores:     []string{"sh-001"},
		Regions:    []string{"east"},
	}
}

func fixSignedText(t testing.TB) string {
	t.Helper()
	s, err := fixKey.Sign(fixSignedCode(), t0)
	if err != nil {
		t.Fatalf("sign fixture: %v", err)
	}
	return s
}

func fixCampaign() Campaign {
	return Campaign{
		ID: "meal-10x", Name: "午餐次卡 10 次", FaceValue: 3500, Uses: 10,
		ValidFrom: t0.AddDate(0, -1, 0), ValidUntil: t0.AddDate(1, 0, 0),
		Hours:  []string{"10:30-14:00", "17:00-21:30"},
		Stores: []string{"sh-001", "sh-002"}, Regions: []string{"east"},
		MinInterval: Duration(4 * time.Hour), UndoWindow: Duration(15 * time.Minute),
		Confirm: true,
		Offline: OfflinePolicy{Allow: true, MaxCount: 50, MaxValue: 200000, MaxAge: Duration(24 * time.Hour)},
	}
}

// fixEvents builds a valid chain of n events of terminal T-SH001-1.
func fixEvents(t testing.TB, n int) []SignedEvent {
	t.Helper()
	out := make([]SignedEvent, 0, n)
	var prev Hash
	for i := 1; i <= n; i++ {
		e := fixEvent(uint64(i), prev)
		se, err := SignEvent(fixTerminal, &e)
		if err != nil {
			t.Fatalf("sign event %d: %v", i, err)
		}
		prev = se.Hash()
		out = append(out, se)
	}
	return out
}

func fixEvent(seq uint64, prev Hash) Event {
	e := Event{
		V: WireVersion, Terminal: "T-SH001-1", Seq: seq, Prev: prev, Kind: KindRedemption,
		At: t0.Add(time.Duration(seq) * time.Second), Store: "sh-001", Cashier: "c-0042",
		Mode: ModeOffline, Entry: EntryScanned, Reason: Accepted,
		Code: "C7K2M9Q4XW1Z", Format: FormatSigned, Campaign: "iqiyi-vip-month", Uses: 1, Amount: 2500,
	}
	switch seq % 3 {
	case 2:
		e.Kind, e.Reason, e.Uses, e.Amount, e.Mode = KindAttempt, UsedUp, 0, 0, ModeOnline
	case 0:
		e.Kind, e.Voids, e.Note = KindVoid, &EventRef{Terminal: "T-SH001-1", Seq: seq - 2}, "customer changed mind"
	}
	return e
}

func fixSecretHash() SecretHash {
	h, _ := NewSecretHasher(fixPepper)
	return h.Hash("ABCD1234EFGH5678")
}

// fixMessages is the shared table of every message type: golden files,
// round-trip tests, fuzz seeds and benchmarks use it.
func fixMessages(t testing.TB) map[string]Message {
	t.Helper()
	evs := fixEvents(t, 3)
	sh := fixSecretHash()
	camp := fixCampaign()
	key := fixKey.IssuingKey
	return map[string]Message{
		"events_batch": &EventBatch{Terminal: "T-SH001-1", Sent: t0.Add(4 * time.Second), Events: evs},
		"ack":          &Ack{Terminal: "T-SH001-1", Seq: 3, Hash: evs[2].Hash(), HubTime: t0.Add(4 * time.Second)},
		"ack_refused": &Ack{Terminal: "T-SH001-1", Seq: 2, Hash: evs[1].Hash(), HubTime: t0.Add(4 * time.Second),
			Refused: &ChainRefusal{Seq: 3, Kind: BreakFork, Detail: "prev does not match event 2"}},
		"claim_request": &ClaimRequest{Terminal: "T-SH001-1", Seq: 4, Kind: KindRedemption, Store: "sh-001", Code: "C7K2M9Q4XW1Z",
			Format: FormatSigned, Campaign: "iqiyi-vip-month", Uses: 1, At: t0.Add(5 * time.Second), Cashier: "c-0042"},
		"claim_void": &ClaimRequest{Terminal: "T-SH001-1", Seq: 6, Kind: KindVoid, Store: "sh-001", Code: "D00000000042",
			Format: FormatDynamic, Campaign: "meal-10x", Uses: 2, Voids: &EventRef{Terminal: "T-SH001-1", Seq: 4}, At: t0.Add(9 * time.Second)},
		"claim_reply_used_up": &ClaimReply{Terminal: "T-SH001-1", Seq: 5, Reason: UsedUp, UsesLeft: 0, HubTime: t0.Add(7 * time.Second),
			LastUse: &Use{Store: "sh-002", Terminal: "T-SH002-1", At: t0.Add(-2 * time.Hour)}},
		"claim_reply":  &ClaimReply{Terminal: "T-SH001-1", Seq: 4, Reason: Accepted, UsesLeft: 0, HubTime: t0.Add(5 * time.Second)},
		"feed_request": &FeedRequest{Terminal: "T-SH001-1", After: 120, Limit: 500},
		"feed_page": &FeedPage{Terminal: "T-SH001-1", After: 120, Next: 131, More: false, Changes: []Change{
			{Seq: 121, Kind: ChangeCampaign, At: t0, Campaign: &camp},
			{Seq: 125, Kind: ChangeCodeImported, At: t0, Code: &CodeState{ID: "S000000000017", Campaign: "meal-10x",
				Format: FormatSecret, SecretHash: &sh, Uses: 10, UsesLeft: 10, Status: StatusActive}},
			{Seq: 131, Kind: ChangeCodeRevoked, At: t0, Code: &CodeState{ID: "C7K2M9Q4XW1Z", Campaign: "iqiyi-vip-month",
				Format: FormatSigned, Uses: 1, UsesLeft: 1, Status: StatusRevoked}},
		}},
		"feed_push": &FeedPush{Store: "sh-001", After: 131, Changes: []Change{
			{Seq: 140, Kind: ChangeCodeRedeemed, At: t0, Code: &CodeState{ID: "D00000000042", Campaign: "meal-10x",
				Format: FormatDynamic, Seed: fixSeed, Uses: 10, UsesLeft: 7, Status: StatusActive,
				LastUsed: t0.Add(-time.Minute), LastStep: TOTPStepAt(t0.Add(-time.Minute))},
				By: &ChangeOrigin{Terminal: "T-SH001-2", Store: "sh-001", Seq: 88, Kind: KindRedemption, Uses: 2,
					Amount: 7000, Mode: ModeOnline, Cashier: "c-017", At: t0.Add(-time.Minute)}},
			{Seq: 141, Kind: ChangeLock, At: t0, Lock: &SettlementLock{Store: "sh-001", Day: "2026-11-21", At: t0}},
		}},
		"snapshot_request": &SnapshotRequest{Terminal: "T-SH001-1", Resume: "p2.S000000000017", Limit: 2000},
		"snapshot_page": &SnapshotPage{Terminal: "T-SH001-1", Snapshot: "snap-1700", AsOf: 1700, Page: 0,
			Stores:    []Store{{ID: "sh-001", Name: "上海南京西路店", Region: "east", Timezone: "Asia/Shanghai"}},
			Campaigns: []Campaign{camp}, Keys: []IssuingKey{key},
			Locks: []SettlementLock{{Store: "sh-001", Day: "2026-11-20", At: t0.Add(-30 * time.Hour)}},
			Codes: []CodeState{{ID: "S000000000017", Campaign: "meal-10x", Format: FormatSecret, SecretHash: &sh,
				Uses: 10, UsesLeft: 3, Status: StatusActive, Stores: []string{"sh-001"}}},
			Resume: "p1.S000000000017", Last: false},
		"presence_birth": &Presence{Terminal: "T-SH001-1", Store: "sh-001", State: PresenceOnline, Protocol: Version,
			App: "0.1.0", Mode: ModeOnline, Outbox: 3, OfflineAge: Duration(90 * time.Second),
			LastContact: t0.Add(-90 * time.Second), Clock: t0},
		"presence_will":  &Presence{Terminal: "T-SH001-1", State: PresenceOffline},
		"version_hub":    &VersionAnnounce{Protocol: Version, App: "0.1.0", At: t0},
		"snapshot_last":  &SnapshotPage{Snapshot: "snap-1700", AsOf: 1700, Page: 3, Last: true},
		"feed_page_none": &FeedPage{Terminal: "T-SH001-1", After: 131, Next: 131},
		"feed_page_problem": &FeedPage{Terminal: "T-SH001-1", After: 3, Next: 3,
			Problem: &Problem{Code: ProblemCursorExpired, Message: "the feed starts at 90000: take a snapshot"}},
		"snapshot_problem": &SnapshotPage{Terminal: "T-SH001-1",
			Problem: &Problem{Code: ProblemResumeExpired, Message: "snapshot snap-1700 expired: start again"}},
	}
}

// newMessage returns an empty message of the same type as m.
func newMessage(m Message) Message {
	switch m.(type) {
	case *EventBatch:
		return &EventBatch{}
	case *Ack:
		return &Ack{}
	case *ClaimRequest:
		return &ClaimRequest{}
	case *ClaimReply:
		return &ClaimReply{}
	case *FeedRequest:
		return &FeedRequest{}
	case *FeedPage:
		return &FeedPage{}
	case *FeedPush:
		return &FeedPush{}
	case *SnapshotRequest:
		return &SnapshotRequest{}
	case *SnapshotPage:
		return &SnapshotPage{}
	case *Presence:
		return &Presence{}
	case *VersionAnnounce:
		return &VersionAnnounce{}
	}
	panic("newMessage: unknown type")
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s: %v (run go test ./protocol -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
