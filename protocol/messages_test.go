package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func sortedNames(m map[string]Message) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestGoldenMessages encodes every fixture message and compares it with its
// golden file (indented for reading; the wire form is the compact JSON), then
// decodes the golden file and checks it encodes to the same bytes.
func TestGoldenMessages(t *testing.T) {
	msgs := fixMessages(t)
	for _, name := range sortedNames(msgs) {
		t.Run(name, func(t *testing.T) {
			m := msgs[name]
			wire, err := Encode(m)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, wire, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden(t, name+".json", pretty.Bytes())

			raw, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			back := newMessage(m)
			if err := Decode(compact.Bytes(), back); err != nil {
				t.Fatalf("Decode golden: %v", err)
			}
			again, err := Encode(back)
			if err != nil {
				t.Fatalf("re-Encode: %v", err)
			}
			if !bytes.Equal(again, wire) {
				t.Errorf("golden does not round-trip\ngot:  %s\nwant: %s", again, wire)
			}
			if *update {
				writeSeed(t, "FuzzDecodeMessage", name, kindIndex(m), wire)
			}
		})
	}
}

func TestDecodeRoundTripKeepsValues(t *testing.T) {
	msgs := fixMessages(t)
	for _, name := range sortedNames(msgs) {
		m := msgs[name]
		wire, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		back := newMessage(m)
		if err := Decode(wire, back); err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if !reflect.DeepEqual(normalizeTimes(back), normalizeTimes(m)) {
			t.Errorf("%s: round trip changed the value\ngot:  %+v\nwant: %+v", name, back, m)
		}
	}
}

// normalizeTimes re-encodes and decodes through a generic map so that time
// zones (UTC vs Local with the same instant) do not make DeepEqual differ.
func normalizeTimes(m Message) any {
	b, _ := json.Marshal(m)
	var v any
	_ = json.Unmarshal(b, &v)
	return v
}

func TestDecodeErrors(t *testing.T) {
	okBirth := `{"v":1,"terminal":"T1","store":"s1","state":"online","protocol":"1.0.0","mode":"online","outbox":0,"clock":"2026-11-22T10:30:00Z"}`
	tests := []struct {
		name string
		msg  Message
		data string
		want string // substring of the error
	}{
		{"not json", &Ack{}, `{"v":1,`, "unexpected end"},
		{"no version", &FeedRequest{}, `{"terminal":"T1","after":3}`, "wire version 0"},
		{"future version", &FeedRequest{}, `{"v":2,"terminal":"T1","after":3}`, "wire version 2"},
		{"bad terminal", &FeedRequest{}, `{"v":1,"terminal":"T/1","after":3}`, "has '/'"},
		{"limit too big", &FeedRequest{}, `{"v":1,"terminal":"T1","limit":5000}`, "limit 5000"},
		{"empty batch", &EventBatch{}, `{"v":1,"terminal":"T1","events":[]}`, "batch of 0 events"},
		{"event without sig", &EventBatch{}, `{"v":1,"terminal":"T1","sent":"2026-11-22T10:30:00Z","events":[{"body":{"v":1}}]}`, "missing body or sig"},
		{"batch without sent", &EventBatch{}, `{"v":1,"terminal":"T1","events":[{"body":{"v":1},"sig":"AA=="}]}`, "missing sent"},
		{"claim without kind", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":1,"store":"s1","code":"C1","format":"signed","campaign":"c","uses":1,"at":"2026-11-22T10:30:00Z"}`, `kind ""`},
		{"dynamic claim without step", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":1,"kind":"redemption","store":"s1","code":"C1","format":"dynamic","campaign":"c","uses":1,"at":"2026-11-22T10:30:00Z"}`, "TOTP step"},
		{"void claim of a later event", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":3,"kind":"void","voids":"T1:3","store":"s1","code":"C1","format":"signed","campaign":"c","uses":1,"at":"2026-11-22T10:30:00Z"}`, "earlier redemption"},
		{"feed page without progress", &FeedPage{}, `{"v":1,"terminal":"T1","after":5,"next":5,"more":true,"changes":[]}`, "does not move"},
		{"problem page with changes", &FeedPage{}, `{"v":1,"terminal":"T1","after":5,"next":6,"changes":[{"seq":6,"kind":"lock","at":"2026-11-22T10:30:00Z","lock":{"store":"s1","day":"2026-11-21"}}],"problem":{"code":"cursor_expired","message":"x"}}`, "carries no changes"},
		{"unknown problem", &SnapshotPage{}, `{"v":1,"terminal":"T1","problem":{"code":"tired","message":"x"}}`, `problem code "tired"`},
		{"sig not base64", &EventBatch{}, `{"v":1,"terminal":"T1","events":[{"body":{},"sig":"!!"}]}`, "illegal base64"},
		{"ack hash without seq", &Ack{}, `{"v":1,"terminal":"T1","seq":0,"hash":"` + strings.Repeat("ab", 32) + `","hub_time":"2026-11-22T10:30:00Z"}`, "hash must be zero"},
		{"ack short hash", &Ack{}, `{"v":1,"terminal":"T1","seq":1,"hash":"abcd","hub_time":"2026-11-22T10:30:00Z"}`, "4 hex digits"},
		{"claim unknown reason", &ClaimReply{}, `{"v":1,"terminal":"T1","seq":1,"reason":"maybe","hub_time":"2026-11-22T10:30:00Z"}`, `unknown reason "maybe"`},
		{"claim zero uses", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":1,"store":"s1","code":"C1","format":"signed","campaign":"c","uses":0,"at":"2026-11-22T10:30:00Z"}`, "uses 0"},
		{"claim lower-case code", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":1,"store":"s1","code":"c1","format":"signed","campaign":"c","uses":1,"at":"2026-11-22T10:30:00Z"}`, "code id"},
		{"feed out of order", &FeedPage{}, `{"v":1,"terminal":"T1","after":5,"next":9,"changes":[{"seq":5,"kind":"lock","at":"2026-11-22T10:30:00Z","lock":{"store":"s1","day":"2026-11-21","at":"2026-11-22T10:30:00Z"}}]}`, "does not follow 5"},
		{"change two payloads", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"lock","at":"2026-11-22T10:30:00Z","lock":{"store":"s1","day":"2026-11-21"},"store":{"id":"s1","name":"x","timezone":"UTC"}}]}`, "2 payloads"},
		{"change unknown kind", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"teleport","at":"2026-11-22T10:30:00Z","lock":{"store":"s1","day":"2026-11-21"}}]}`, `unknown kind "teleport"`},
		{"secret code without hash", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_imported","at":"2026-11-22T10:30:00Z","code":{"id":"S1","campaign":"c","format":"secret","uses":1,"uses_left":1,"status":"active"}}]}`, "secret_hash"},
		{"bad lock day", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"lock","at":"2026-11-22T10:30:00Z","lock":{"store":"s1","day":"21/11/2026"}}]}`, "YYYY-MM-DD"},
		{"by on an issue", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_issued","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "only on code_redeemed and code_voided"},
		{"by redemption on a void", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_voided","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "kind \"redemption\", want void"},
		{"by undone redemption on a redeem", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z","undone":true}}]}`, "want void undone on code_redeemed"},
		{"claim bad cashier", &ClaimRequest{}, `{"v":1,"terminal":"T1","seq":1,"kind":"redemption","store":"s1","code":"C1","format":"signed","campaign":"c","uses":1,"at":"2026-11-22T10:30:00Z","cashier":"a/b"}`, "claim cashier"},
		{"by bad terminal", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T/2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by terminal"},
		{"by bad store", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by store"},
		{"by zero seq", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":0,"kind":"redemption","uses":2,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by: seq"},
		{"by zero uses", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":0,"amount":700,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by: uses 0"},
		{"by negative amount", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":-1,"mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by: amount -1"},
		{"by bad mode", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"psychic","at":"2026-11-22T10:30:00Z"}}]}`, "by: mode \"psychic\""},
		{"by bad cashier", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"cashier":"a b","mode":"online","at":"2026-11-22T10:30:00Z"}}]}`, "by cashier"},
		{"by without time", &FeedPush{}, `{"v":1,"store":"s1","after":5,"changes":[{"seq":6,"kind":"code_redeemed","at":"2026-11-22T10:30:00Z","code":{"id":"C1","campaign":"c","format":"signed","uses":3,"uses_left":1,"status":"active"},"by":{"terminal":"T2","store":"s1","seq":9,"kind":"redemption","uses":2,"amount":700,"mode":"online"}}]}`, "by: missing time"},
		{"snapshot last with resume", &SnapshotPage{}, `{"v":1,"snapshot":"s","as_of":1,"page":0,"resume":"x","last":true}`, "resume is set exactly"},
		{"campaign negative value", &SnapshotPage{}, `{"v":1,"snapshot":"s","as_of":1,"page":0,"last":true,"campaigns":[{"id":"c","name":"n","face_value":-1,"uses":1,"offline":{"allow":false}}]}`, "face_value -1"},
		{"campaign bad hours", &SnapshotPage{}, `{"v":1,"snapshot":"s","as_of":1,"page":0,"last":true,"campaigns":[{"id":"c","name":"n","face_value":1,"uses":1,"hours":["9-17"],"offline":{"allow":false}}]}`, "HH:MM-HH:MM"},
		{"campaign bad duration", &SnapshotPage{}, `{"v":1,"snapshot":"s","as_of":1,"page":0,"last":true,"campaigns":[{"id":"c","name":"n","face_value":1,"uses":1,"undo_window":"soon","offline":{"allow":false}}]}`, `duration "soon"`},
		{"short key", &SnapshotPage{}, `{"v":1,"snapshot":"s","as_of":1,"page":0,"last":true,"keys":[{"id":"k","public":"AAAA","not_before":"2026-01-01T00:00:00Z"}]}`, "public key is 3 bytes"},
		{"birth without clock", &Presence{}, strings.Replace(okBirth, `,"clock":"2026-11-22T10:30:00Z"`, "", 1), "clock"},
		{"birth bad protocol", &Presence{}, strings.Replace(okBirth, `"1.0.0"`, `"one"`, 1), "not a semantic version"},
		{"presence bad state", &Presence{}, `{"v":1,"terminal":"T1","state":"asleep"}`, `state "asleep"`},
		{"version missing", &VersionAnnounce{}, `{"v":1,"at":"2026-11-22T10:30:00Z"}`, "missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Decode([]byte(tt.data), tt.msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	var p Presence
	if err := Decode([]byte(okBirth), &p); err != nil {
		t.Errorf("valid birth: %v", err)
	}
}

func TestDecodeTooLarge(t *testing.T) {
	big := make([]byte, MaxMessageBytes+1)
	err := Decode(big, &Ack{})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode of %d bytes = %v, want ErrTooLarge", len(big), err)
	}
	evs := fixEvents(t, 1)
	b := &EventBatch{Terminal: "T-SH001-1"}
	for range MaxBatchEvents + 1 {
		b.Events = append(b.Events, evs[0])
	}
	if _, err := Encode(b); err == nil || !strings.Contains(err.Error(), "want 1 to 500") {
		t.Errorf("Encode of %d events = %v, want a batch-size error", len(b.Events), err)
	}
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	var f FeedRequest
	if err := Decode([]byte(`{"v":1,"terminal":"T1","after":7,"priority":"high"}`), &f); err != nil {
		t.Fatalf("Decode with an added field: %v", err)
	}
	if f.After != 7 {
		t.Errorf("After = %d, want 7", f.After)
	}
}

// TestChangeByOldTerminal checks the 1.2.0 addition against the version
// rule: a 1.1 terminal is still served by this hub, and its decoder (a
// Change without By) takes a feed carrying by and drops it.
func TestChangeByOldTerminal(t *testing.T) {
	if err := CheckCompatible(Version, "1.1.0"); err != nil {
		t.Errorf("hub %s refuses a 1.1.0 terminal: %v", Version, err)
	}
	if err := CheckCompatible("1.1.0", Version); err == nil {
		t.Errorf("a 1.1.0 hub serves a %s terminal, want refused (hubs upgrade first)", Version)
	}
	b, err := Encode(fixMessages(t)["feed_push"])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"by":{`)) {
		t.Fatalf("feed_push fixture carries no by: %s", b)
	}
	type oldChange struct {
		Seq  uint64          `json:"seq"`
		Kind ChangeKind      `json:"kind"`
		Code *CodeState      `json:"code,omitempty"`
		Lock *SettlementLock `json:"lock,omitempty"`
	}
	var old struct {
		V       int         `json:"v"`
		Changes []oldChange `json:"changes"`
	}
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatalf("a 1.1 decoder: %v", err)
	}
	if len(old.Changes) != 2 || old.Changes[0].Code == nil || old.Changes[0].Code.UsesLeft != 7 {
		t.Errorf("a 1.1 decoder got %+v, want the code_redeemed change with uses_left 7", old.Changes)
	}
	var p FeedPush
	if err := Decode(b, &p); err != nil {
		t.Fatal(err)
	}
	by := p.Changes[0].By
	if by == nil || by.Event().String() != "T-SH001-2:88" || by.Uses != 2 || by.Amount != 7000 || by.Cashier != "c-017" {
		t.Errorf("by = %+v, want T-SH001-2:88, 2 uses, 7000 fen, cashier c-017", by)
	}
	if p.Changes[1].By != nil {
		t.Errorf("the lock change carries by %+v", p.Changes[1].By)
	}
}

func TestChangeByUndone(t *testing.T) {
	o := ChangeOrigin{Terminal: "T2", Store: "s1", Seq: 9, Kind: KindRedemption, Uses: 1, Mode: ModeOnline, At: t0, Undone: true}
	if err := o.Validate(ChangeCodeVoided); err != nil {
		t.Errorf("an undone redemption on code_voided: %v", err)
	}
	o.Kind = KindVoid
	if err := o.Validate(ChangeCodeRedeemed); err != nil {
		t.Errorf("an undone void on code_redeemed: %v", err)
	}
	if err := o.Validate(ChangeCodeVoided); err == nil {
		t.Errorf("an undone void on code_voided passed, want refused")
	}
}

func TestOriginOf(t *testing.T) {
	var prev Hash
	for seq := uint64(1); seq <= 6; seq++ {
		e := fixEvent(seq, prev)
		prev[0]++
		if e.Kind != KindRedemption && e.Kind != KindVoid {
			continue
		}
		kind := ChangeCodeRedeemed
		if e.Kind == KindVoid {
			kind = ChangeCodeVoided
		}
		o := OriginOf(&e)
		if err := o.Validate(kind); err != nil {
			t.Errorf("origin of %s: %v", e.Ref(), err)
		}
		if o.Event() != e.Ref() || o.At != e.At || o.Uses != e.Uses || o.Store != e.Store || o.Mode != e.Mode {
			t.Errorf("origin of %s = %+v, want the event's identity, time, uses, store and mode", e.Ref(), o)
		}
	}
}

func TestEncodeStampsVersion(t *testing.T) {
	m := &FeedRequest{Terminal: "T1", After: 1}
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte(`{"v":1,`)) {
		t.Errorf("Encode = %s, want it to start with the wire version", b)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`"15m"`, 15 * time.Minute, false},
		{`"24h"`, 24 * time.Hour, false},
		{`90`, 90 * time.Second, false},
		{`1.5`, 1500 * time.Millisecond, false},
		{`"soon"`, 0, true},
		{`true`, 0, true},
		{`1e300`, 0, true},
	}
	for _, tt := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.err || !tt.err && d.D() != tt.want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v, error %v", tt.in, d.D(), err, tt.want, tt.err)
		}
	}
	b, _ := json.Marshal(Duration(15 * time.Minute))
	if string(b) != `"15m0s"` {
		t.Errorf("Marshal(15m) = %s, want \"15m0s\"", b)
	}
}

func TestCheckOrigin(t *testing.T) {
	msgs := fixMessages(t)
	tests := []struct {
		msg             string
		terminal, store string
		want            string // "" for no error
	}{
		{"events_batch", "T-SH001-1", "sh-001", ""},
		{"events_batch", "T-SH002-1", "sh-001", `names terminal "T-SH001-1"`},
		{"claim_request", "T-SH001-1", "sh-001", ""},
		{"claim_request", "T-SH001-1", "sh-002", `names store "sh-001"`},
		{"feed_request", "T-SH001-1", "sh-001", ""},
		{"snapshot_request", "T-SH009-1", "sh-009", "names terminal"},
		{"presence_birth", "T-SH001-1", "sh-002", "names store"},
		{"presence_will", "T-SH001-1", "sh-002", ""}, // a will names no store
		{"ack", "T-SH001-1", "sh-001", "not sent by terminals"},
	}
	for _, tt := range tests {
		err := CheckOrigin(msgs[tt.msg], tt.terminal, tt.store)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("CheckOrigin(%s, %s, %s) = %v, want %q", tt.msg, tt.terminal, tt.store, err, tt.want)
		}
	}
}
