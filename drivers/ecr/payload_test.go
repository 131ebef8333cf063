package ecr

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/protocol"
)

// p builds a payload from the command and fields, FS-separated.
func p(parts ...string) []byte { return []byte(strings.Join(parts, "\x1c")) }

// requestFixtures is the shared table of request payloads ⇄ requests ⇄
// results, used by the codec tests, the server test and the fuzz seeds.
var requestFixtures = []struct {
	name    string
	payload []byte
	want    Request // when result is ""
	result  Result  // the refusal, or "" for a good request
	field   string  // the field named in the refusal
}{
	{name: "prepare", payload: p("PREPARE", "V=1", "CODE=HX1:ABC"),
		want: Request{Command: CmdPrepare, Code: "HX1:ABC"}},
	{name: "prepare uses", payload: p("PREPARE", "V=1", "CODE=X", "USES=3"),
		want: Request{Command: CmdPrepare, Code: "X", Uses: 3}},
	{name: "commit all fields", payload: p("COMMIT", "V=1", "CODE=HX1:ABC", "USES=1", "KEY=K-1", "ORDER=订单 A=1", "CASHIER=c1"),
		want: Request{Command: CmdCommit, Code: "HX1:ABC", Uses: 1, IdemKey: "K-1", OrderRef: "订单 A=1", Cashier: "c1"}},
	{name: "commit fields in any order", payload: p("COMMIT", "V=1", "CASHIER=c1", "KEY=K", "CODE=X"),
		want: Request{Command: CmdCommit, Code: "X", IdemKey: "K", Cashier: "c1"}},
	{name: "empty value is absent", payload: p("COMMIT", "V=1", "CODE=X", "KEY=K", "ORDER="),
		want: Request{Command: CmdCommit, Code: "X", IdemKey: "K"}},
	{name: "reverse by key", payload: p("REVERSE", "V=1", "KEY=K1", "CASHIER=m1", "NOTE=wrong item"),
		want: Request{Command: CmdReverse, IdemKey: "K1", Cashier: "m1", Note: "wrong item"}},
	{name: "reverse by order, one use", payload: p("REVERSE", "V=1", "ORDER=A-1", "USES=1", "CASHIER=m1"),
		want: Request{Command: CmdReverse, OrderRef: "A-1", Uses: 1, Cashier: "m1"}},
	{name: "last result", payload: p("LAST_RESULT", "V=1"), want: Request{Command: CmdLastResult}},
	{name: "last result by key", payload: p("LAST_RESULT", "V=1", "KEY=K1"), want: Request{Command: CmdLastResult, IdemKey: "K1"}},
	{name: "status", payload: p("STATUS", "V=1"), want: Request{Command: CmdStatus}},
	{name: "totals", payload: p("TOTALS", "V=1"), want: Request{Command: CmdTotals}},
	{name: "end of day", payload: p("END_OF_DAY", "V=1", "CASHIER=m1"), want: Request{Command: CmdEndOfDay, Cashier: "m1"}},
	{name: "code at the cap", payload: p("PREPARE", "V=1", "CODE="+strings.Repeat("A", MaxCode)),
		want: Request{Command: CmdPrepare, Code: strings.Repeat("A", MaxCode)}},

	{name: "empty", payload: nil, result: ResultBadRequest},
	{name: "over the cap", payload: p("PREPARE", "V=1", "CODE="+strings.Repeat("A", MaxPayload)), result: ResultBadRequest},
	{name: "lower-case command", payload: p("prepare", "V=1", "CODE=X"), result: ResultBadRequest},
	{name: "no version", payload: p("STATUS"), result: ResultBadRequest, field: "V"},
	{name: "version not first", payload: p("PREPARE", "CODE=X", "V=1"), result: ResultBadRequest, field: "V"},
	{name: "version 2", payload: p("STATUS", "V=2"), result: ResultUnsupportedVersion, field: "V"},
	{name: "version 2 beats unknown command", payload: p("REFUND", "V=2"), result: ResultUnsupportedVersion, field: "V"},
	{name: "version with a leading zero", payload: p("STATUS", "V=01"), result: ResultBadRequest, field: "V"},
	{name: "unknown command", payload: p("REFUND", "V=1"), result: ResultUnknownCommand},
	{name: "unknown field", payload: p("STATUS", "V=1", "CODE=X"), result: ResultUnknownField, field: "CODE"},
	{name: "field twice", payload: p("PREPARE", "V=1", "CODE=X", "CODE=Y"), result: ResultBadRequest, field: "CODE"},
	{name: "V twice", payload: p("STATUS", "V=1", "V=1"), result: ResultBadRequest, field: "V"},
	{name: "field without =", payload: p("PREPARE", "V=1", "CODE"), result: ResultBadRequest},
	{name: "trailing FS", payload: p("STATUS", "V=1", ""), result: ResultBadRequest},
	{name: "lower-case field name", payload: p("PREPARE", "V=1", "code=X"), result: ResultBadRequest},
	{name: "control byte in a value", payload: p("PREPARE", "V=1", "CODE=A\x01B"), result: ResultBadRequest, field: "CODE"},
	{name: "DEL in a value", payload: p("PREPARE", "V=1", "CODE=A\x7fB"), result: ResultBadRequest, field: "CODE"},
	{name: "invalid UTF-8", payload: p("PREPARE", "V=1", "CODE=\xff\xfe"), result: ResultBadRequest, field: "CODE"},
	{name: "uses zero", payload: p("PREPARE", "V=1", "CODE=X", "USES=0"), result: ResultBadField, field: "USES"},
	{name: "uses leading zero", payload: p("PREPARE", "V=1", "CODE=X", "USES=01"), result: ResultBadField, field: "USES"},
	{name: "uses negative", payload: p("PREPARE", "V=1", "CODE=X", "USES=-1"), result: ResultBadField, field: "USES"},
	{name: "uses over MaxUses", payload: p("PREPARE", "V=1", "CODE=X", "USES=10001"), result: ResultBadField, field: "USES"},
	{name: "uses huge", payload: p("PREPARE", "V=1", "CODE=X", "USES=99999999999999999999999"), result: ResultBadField, field: "USES"},
	{name: "code too long", payload: p("PREPARE", "V=1", "CODE="+strings.Repeat("A", MaxCode+1)), result: ResultBadField, field: "CODE"},
	{name: "key too long", payload: p("COMMIT", "V=1", "CODE=X", "KEY="+strings.Repeat("k", MaxRef+1)), result: ResultBadField, field: "KEY"},
	{name: "cashier not an id", payload: p("COMMIT", "V=1", "CODE=X", "KEY=K", "CASHIER=a b"), result: ResultBadField, field: "CASHIER"},
	{name: "prepare without code", payload: p("PREPARE", "V=1"), result: ResultMissingField, field: "CODE"},
	{name: "commit without key", payload: p("COMMIT", "V=1", "CODE=X"), result: ResultMissingField, field: "KEY"},
	{name: "commit with an empty key", payload: p("COMMIT", "V=1", "CODE=X", "KEY="), result: ResultMissingField, field: "KEY"},
	{name: "reverse without key or order", payload: p("REVERSE", "V=1", "CASHIER=m1"), result: ResultMissingField, field: "KEY"},
	{name: "reverse without cashier", payload: p("REVERSE", "V=1", "KEY=K"), result: ResultMissingField, field: "CASHIER"},
	{name: "end of day without cashier", payload: p("END_OF_DAY", "V=1"), result: ResultMissingField, field: "CASHIER"},
}

func TestDecodeRequestFixtures(t *testing.T) {
	for _, fx := range requestFixtures {
		t.Run(fx.name, func(t *testing.T) {
			got, err := DecodeRequest(fx.payload)
			if fx.result == "" {
				if err != nil {
					t.Fatalf("DecodeRequest: %v", err)
				}
				if !reflect.DeepEqual(got, fx.want) {
					t.Fatalf("DecodeRequest:\n got %+v\nwant %+v", got, fx.want)
				}
				// And back: the canonical encoding decodes to the same.
				enc, err := EncodeRequest(got)
				if err != nil {
					t.Fatalf("EncodeRequest: %v", err)
				}
				again, err := DecodeRequest(enc)
				if err != nil || !reflect.DeepEqual(again, got) {
					t.Fatalf("round trip of %q: got %+v, %v", enc, again, err)
				}
				return
			}
			var rerr *RequestError
			if !errors.As(err, &rerr) {
				t.Fatalf("DecodeRequest: got %+v, %v; want a *RequestError %s", got, err, fx.result)
			}
			if rerr.Result != fx.result || rerr.Field != fx.field {
				t.Fatalf("DecodeRequest: got %s field %q (%v), want %s field %q", rerr.Result, rerr.Field, err, fx.result, fx.field)
			}
			// The refusal is a reply the register can read.
			rep := rerr.Reply()
			enc, err := EncodeReply(rep)
			if err != nil {
				t.Fatalf("EncodeReply(%+v): %v", rep, err)
			}
			back, err := DecodeReply(enc)
			if err != nil || back.Result != fx.result || back.Reason != protocol.Malformed {
				t.Fatalf("refusal reply %q: got %+v, %v", enc, back, err)
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	got, err := EncodeRequest(Request{Command: CmdCommit, Code: "HX1:AB", Uses: 2, IdemKey: "K1", OrderRef: "A-1001", Cashier: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := p("COMMIT", "V=1", "CODE=HX1:AB", "USES=2", "KEY=K1", "ORDER=A-1001", "CASHIER=c1"); string(got) != string(want) {
		t.Fatalf("EncodeRequest:\n got %q\nwant %q", got, want)
	}
	for _, bad := range []Request{
		{Command: "commit"},
		{Command: CmdPrepare, Code: "A\x1cB"},
		{Command: CmdPrepare, Code: "X", Uses: -1},
		{Command: CmdStatus, Code: "X"},
		{Command: CmdPrepare, Code: strings.Repeat("A", MaxPayload)},
	} {
		if b, err := EncodeRequest(bad); err == nil {
			t.Errorf("EncodeRequest(%+v) = %q, want an error", bad, b)
		}
	}
	// A command this package does not know is sent as asked: the
	// terminal is the one to refuse it.
	if _, err := EncodeRequest(Request{Command: "REFUND", Code: "X"}); err != nil {
		t.Fatalf("EncodeRequest(REFUND): %v", err)
	}
}

var ev = protocol.EventRef{Terminal: "t-01", Seq: 42}

// replyFixtures are replies and their exact payloads.
var replyFixtures = []struct {
	name    string
	reply   Reply
	payload []byte
}{
	{"prepare accepted",
		Reply{Command: CmdPrepare, Result: ResultOK, Reason: protocol.Accepted, Campaign: "meal-10", Name: "午餐券 10 元", Face: 1000, Uses: 1, Amount: 1000, UsesLeft: 1},
		p("PREPARE", "V=1", "RESULT=ok", "REASON=accepted", "CAMPAIGN=meal-10", "NAME=午餐券 10 元", "FACE=1000", "USES=1", "AMOUNT=1000", "LEFT=1")},
	{"prepare unknown code",
		Reply{Command: CmdPrepare, Result: ResultOK, Reason: protocol.UnknownCode},
		p("PREPARE", "V=1", "RESULT=ok", "REASON=unknown_code", "FACE=0", "USES=0", "AMOUNT=0", "LEFT=0")},
	{"commit offline",
		Reply{Command: CmdCommit, Result: ResultOK, Reason: protocol.Accepted, IdemKey: "K1", OrderRef: "A-1001", Campaign: "meal-10",
			Face: 1000, Uses: 1, Amount: 1000, UsesLeft: 0, Event: ev, Mode: protocol.ModeOffline},
		p("COMMIT", "V=1", "RESULT=ok", "REASON=accepted", "KEY=K1", "ORDER=A-1001", "CAMPAIGN=meal-10", "FACE=1000", "USES=1", "AMOUNT=1000", "LEFT=0", "EVENT=t-01:42", "MODE=offline", "REPLAYED=0")},
	{"commit replayed used up",
		Reply{Command: CmdCommit, Result: ResultOK, Reason: protocol.UsedUp, IdemKey: "K2", Event: ev, Mode: protocol.ModeOnline, Replayed: true},
		p("COMMIT", "V=1", "RESULT=ok", "REASON=used_up", "KEY=K2", "FACE=0", "USES=0", "AMOUNT=0", "LEFT=0", "EVENT=t-01:42", "MODE=online", "REPLAYED=1")},
	{"commit missing key",
		Reply{Command: CmdCommit, Result: ResultMissingField, Reason: protocol.Malformed, Message: "KEY: required"},
		p("COMMIT", "V=1", "RESULT=missing_field", "REASON=malformed", "MSG=KEY: required")},
	{"reverse",
		Reply{Command: CmdReverse, Result: ResultOK, Reason: protocol.Accepted, IdemKey: "K1", Uses: 1, Amount: 1000, UsesLeft: 1, Event: protocol.EventRef{Terminal: "t-01", Seq: 43}, Mode: protocol.ModeOnline},
		p("REVERSE", "V=1", "RESULT=ok", "REASON=accepted", "KEY=K1", "USES=1", "AMOUNT=1000", "LEFT=1", "EVENT=t-01:43", "MODE=online")},
	{"reverse refused",
		Reply{Command: CmdReverse, Result: ResultRefused, Reason: protocol.CannotRecord, Message: "undo window passed"},
		p("REVERSE", "V=1", "RESULT=refused", "REASON=cannot_record", "MSG=undo window passed")},
	{"last result reversed commit",
		Reply{Command: CmdLastResult, Result: ResultOK, Reason: protocol.Accepted, Op: CmdCommit, IdemKey: "K1", Face: 1000, Uses: 1, Amount: 1000,
			Event: ev, Mode: protocol.ModeOnline, Reversed: protocol.EventRef{Terminal: "t-01", Seq: 43}},
		p("LAST_RESULT", "V=1", "RESULT=ok", "REASON=accepted", "OP=COMMIT", "KEY=K1", "FACE=1000", "USES=1", "AMOUNT=1000", "LEFT=0", "EVENT=t-01:42", "MODE=online", "REPLAYED=0", "REVERSED=t-01:43")},
	{"last result not found",
		Reply{Command: CmdLastResult, Result: ResultNotFound, Reason: protocol.UnknownCode},
		p("LAST_RESULT", "V=1", "RESULT=not_found", "REASON=unknown_code")},
	{"status",
		Reply{Command: CmdStatus, Result: ResultOK, Reason: protocol.Accepted, Mode: protocol.ModeOnline, Outbox: 0, Printer: "paper_out", Terminal: "t-01", Store: "s-9", Version: "0.4.0"},
		p("STATUS", "V=1", "RESULT=ok", "REASON=accepted", "MODE=online", "OUTBOX=0", "PRINTER=paper_out", "TERMINAL=t-01", "STORE=s-9", "VERSION=0.4.0")},
	{"totals",
		Reply{Command: CmdTotals, Result: ResultOK, Reason: protocol.Accepted, Totals: Totals{Redeemed: 3, RedeemedUses: 4, RedeemedValue: 4000, Voids: 1, VoidedUses: 1, VoidedValue: 1000, Offline: 2, Refused: 5}},
		p("TOTALS", "V=1", "RESULT=ok", "REASON=accepted", "REDEEMED=3", "REDEEMED_USES=4", "REDEEMED_VALUE=4000", "VOIDS=1", "VOIDED_USES=1", "VOIDED_VALUE=1000", "OFFLINE=2", "REFUSED=5")},
	{"end of day",
		Reply{Command: CmdEndOfDay, Result: ResultOK, Reason: protocol.Accepted, Z: 7},
		p("END_OF_DAY", "V=1", "RESULT=ok", "REASON=accepted", "Z=7", "REDEEMED=0", "REDEEMED_USES=0", "REDEEMED_VALUE=0", "VOIDS=0", "VOIDED_USES=0", "VOIDED_VALUE=0", "OFFLINE=0", "REFUSED=0")},
	{"error",
		Reply{Command: CmdError, Result: ResultBadRequest, Reason: protocol.Malformed, Message: "empty payload"},
		p("ERROR", "V=1", "RESULT=bad_request", "REASON=malformed", "MSG=empty payload")},
}

func TestReplyFixtures(t *testing.T) {
	for _, fx := range replyFixtures {
		t.Run(fx.name, func(t *testing.T) {
			got, err := EncodeReply(fx.reply)
			if err != nil {
				t.Fatalf("EncodeReply: %v", err)
			}
			if string(got) != string(fx.payload) {
				t.Fatalf("EncodeReply:\n got %q\nwant %q", got, fx.payload)
			}
			back, err := DecodeReply(got)
			if err != nil {
				t.Fatalf("DecodeReply: %v", err)
			}
			if !reflect.DeepEqual(back, fx.reply) {
				t.Fatalf("DecodeReply:\n got %+v\nwant %+v", back, fx.reply)
			}
		})
	}
}

func TestEncodeReplyRefuses(t *testing.T) {
	ok := Reply{Command: CmdCommit, Result: ResultOK, Reason: protocol.Accepted, IdemKey: "K"}
	for name, mod := range map[string]func(*Reply){
		"reason off the list": func(r *Reply) { r.Reason = "fine" },
		"no reason":           func(r *Reply) { r.Reason = "" },
		"result off the list": func(r *Reply) { r.Result = "great" },
		"message too long":    func(r *Reply) { r.Message = strings.Repeat("m", MaxText+1) },
		"control in message":  func(r *Reply) { r.Message = "a\x1cb" },
		"negative amount":     func(r *Reply) { r.Amount = -1 },
		"uses over MaxUses":   func(r *Reply) { r.Uses = protocol.MaxUses + 1 },
		"bad mode":            func(r *Reply) { r.Mode = "sideways" },
		"bad event terminal":  func(r *Reply) { r.Event = protocol.EventRef{Terminal: "a b", Seq: 1} },
		"campaign too long":   func(r *Reply) { r.Campaign = strings.Repeat("c", MaxID+1) },
		"campaign not an id":  func(r *Reply) { r.Campaign = "meal 10" },
		"not a command":       func(r *Reply) { r.Command = "REFUND" },
		"lower-case command":  func(r *Reply) { r.Command = "commit" },
	} {
		r := ok
		mod(&r)
		if b, err := EncodeReply(r); err == nil {
			t.Errorf("%s: EncodeReply = %q, want an error", name, b)
		}
	}
	if _, err := EncodeReply(ok); err != nil {
		t.Fatalf("the unmodified reply: %v", err)
	}
}

func TestDecodeReplyRefuses(t *testing.T) {
	for name, payload := range map[string][]byte{
		"no result":              p("STATUS", "V=1", "REASON=accepted"),
		"no reason":              p("STATUS", "V=1", "RESULT=ok"),
		"reason off the list":    p("STATUS", "V=1", "RESULT=ok", "REASON=fine"),
		"result off the list":    p("STATUS", "V=1", "RESULT=great", "REASON=accepted"),
		"field of another reply": p("PREPARE", "V=1", "RESULT=ok", "REASON=accepted", "KEY=K"),
		"unknown command":        p("REFUND", "V=1", "RESULT=ok", "REASON=accepted"),
		"ok error":               p("ERROR", "V=1", "RESULT=ok", "REASON=accepted"),
		"bad number":             p("TOTALS", "V=1", "RESULT=ok", "REASON=accepted", "REDEEMED=1e3"),
		"bad op":                 p("LAST_RESULT", "V=1", "RESULT=ok", "REASON=accepted", "OP=PREPARE"),
		"bad replayed":           p("COMMIT", "V=1", "RESULT=ok", "REASON=accepted", "REPLAYED=yes"),
		"bad event":              p("COMMIT", "V=1", "RESULT=ok", "REASON=accepted", "EVENT=t-01"),
		"version 2":              p("STATUS", "V=2", "RESULT=ok", "REASON=accepted"),
		"duplicate":              p("STATUS", "V=1", "RESULT=ok", "RESULT=ok", "REASON=accepted"),
		"ok status without MODE": p("STATUS", "V=1", "RESULT=ok", "REASON=accepted", "OUTBOX=0"),
		"ok commit without LEFT": p("COMMIT", "V=1", "RESULT=ok", "REASON=accepted", "KEY=K", "FACE=0", "USES=0", "AMOUNT=0", "REPLAYED=0"),
	} {
		if r, err := DecodeReply(payload); err == nil {
			t.Errorf("%s: DecodeReply = %+v, want an error", name, r)
		}
	}
}

func TestSanitizeMessage(t *testing.T) {
	long := strings.Repeat("核", MaxText) // 3 bytes each
	got := sanitizeMessage("a\x1cb\n" + long)
	if len(got) > MaxText || !strings.HasPrefix(got, "a b 核") || !strings.HasSuffix(got, "…") {
		t.Fatalf("sanitizeMessage: got %d bytes %.40q…", len(got), got)
	}
	if _, err := EncodeReply(Reply{Command: CmdStatus, Result: ResultInternal, Reason: protocol.CannotRecord, Message: got}); err != nil {
		t.Fatalf("sanitized message does not encode: %v", err)
	}
}

func TestReplyJSON(t *testing.T) {
	r := Reply{Command: CmdCommit, Result: ResultOK, Reason: protocol.Accepted, IdemKey: "K\"1", Face: 1000, Uses: 1, Amount: 1000, Event: ev, Mode: protocol.ModeOnline}
	got := string(r.AppendJSON(nil))
	want := `{"command":"COMMIT","result":"ok","reason":"accepted","key":"K\"1","face":1000,"uses":1,"amount":1000,"left":0,"event":"t-01:42","mode":"online","replayed":0}`
	if got != want {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
	}
}
