package ecr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// Reply is the terminal's answer to one request. Which fields mean
// something depends on the command; docs/ecr.md lists them.
type Reply struct {
	Command Command         // the request's command (CmdError if it could not be read)
	Result  Result          // RESULT: ok, or why the request was not carried out
	Reason  protocol.Reason // REASON: the verdict (see docs/ecr.md for non-redemption commands)
	Message string          // MSG: human-readable detail, never a card secret

	// PREPARE, COMMIT, REVERSE, LAST_RESULT.
	Op       Command           // OP: LAST_RESULT only, COMMIT or REVERSE: whose outcome this is
	IdemKey  string            // KEY
	OrderRef string            // ORDER
	Campaign string            // CAMPAIGN: campaign id
	Name     string            // NAME: campaign name
	Face     int64             // FACE: face value of one use, fen
	Uses     int               // USES: uses taken (or given back by a REVERSE)
	Amount   int64             // AMOUNT: Face × Uses, fen
	UsesLeft int               // LEFT: the code's uses left after this
	Event    protocol.EventRef // EVENT: the journaled event, terminal:seq
	Mode     protocol.Mode     // MODE: online or offline (the decision's; STATUS: the terminal's now)
	Replayed bool              // REPLAYED: COMMIT with a key used before; this is the first outcome
	Reversed protocol.EventRef // REVERSED: LAST_RESULT of a commit since reversed: the reversal's event

	// STATUS.
	Outbox   int    // OUTBOX: events not yet acknowledged by the hub
	Printer  string // PRINTER: ok, paper_out, offline, … (free text)
	Terminal string // TERMINAL: terminal id
	Store    string // STORE: store id
	Version  string // VERSION: terminal software version

	// TOTALS, END_OF_DAY.
	Z      int // Z: END_OF_DAY, the Z report's number
	Totals Totals
}

// Totals sums a terminal's events since its last Z report.
type Totals struct {
	Redeemed      int   // REDEEMED: redemptions
	RedeemedUses  int   // REDEEMED_USES: uses they took
	RedeemedValue int64 // REDEEMED_VALUE: their value, fen
	Voids         int   // VOIDS: reversals
	VoidedUses    int   // VOIDED_USES
	VoidedValue   int64 // VOIDED_VALUE, fen
	Offline       int   // OFFLINE: redemptions decided offline
	Refused       int   // REFUSED: refused attempts
}

// OK reports whether the request was carried out and the verdict is
// accepted.
func (r Reply) OK() bool { return r.Result == ResultOK && r.Reason == protocol.Accepted }

// ErrorReply is a reply saying the request was not carried out, with the
// reason DefaultReason gives for res.
func ErrorReply(cmd Command, res Result, msg string) Reply {
	return Reply{Command: cmd, Result: res, Reason: DefaultReason(res), Message: msg}
}

// DefaultReason is the reason a reply carries when its handler names none:
// accepted for a command carried out, malformed for a request refused as
// unreadable, unknown_code for not_found, and cannot_record for refused
// and internal_error (the register must not treat them as a redemption).
func DefaultReason(res Result) protocol.Reason {
	switch res {
	case ResultOK:
		return protocol.Accepted
	case ResultNotFound:
		return protocol.UnknownCode
	case ResultRefused, ResultInternal:
		return protocol.CannotRecord
	}
	return protocol.Malformed
}

type replyField struct {
	key  string
	num  bool // a decimal number on the wire, a JSON number in the simulator
	get  func(r *Reply) string
	set  func(r *Reply, v string) error
	zero func(r *Reply) bool
}

func strField(key string, max int, p func(*Reply) *string) replyField {
	return replyField{key: key,
		get:  func(r *Reply) string { return *p(r) },
		set:  func(r *Reply, v string) error { return maxLen(p(r), v, max) },
		zero: func(r *Reply) bool { return *p(r) == "" }}
}

// idField is an identifier (protocol.ValidID), absent when empty.
func idField(key string, p func(*Reply) *string) replyField {
	f := strField(key, MaxID, p)
	f.set = func(r *Reply, v string) error {
		if err := protocol.ValidID(v); err != nil {
			return err
		}
		*p(r) = v
		return nil
	}
	return f
}

func intField[T int | int64](key string, max int64, p func(*Reply) *T) replyField {
	return replyField{key: key, num: true,
		get: func(r *Reply) string { return strconv.FormatInt(int64(*p(r)), 10) },
		set: func(r *Reply, v string) error {
			n, err := parseNum(v, max)
			*p(r) = T(n)
			return err
		},
		zero: func(r *Reply) bool { return *p(r) == 0 }}
}

func refField(key string, p func(*Reply) *protocol.EventRef) replyField {
	return replyField{key: key,
		get: func(r *Reply) string {
			if *p(r) == (protocol.EventRef{}) {
				return ""
			}
			return p(r).String()
		},
		set:  func(r *Reply, v string) error { return p(r).UnmarshalText([]byte(v)) },
		zero: func(r *Reply) bool { return *p(r) == (protocol.EventRef{}) }}
}

const maxCount = 1 << 31 // counts on the wire: uses, outbox, Z, totals

// replyFields maps every reply key to its Reply field. RESULT, REASON and
// MSG are written first and apart.
var replyFields = func() map[string]replyField {
	list := []replyField{
		{key: "OP",
			get: func(r *Reply) string { return string(r.Op) },
			set: func(r *Reply, v string) error {
				if Command(v) != CmdCommit && Command(v) != CmdReverse {
					return fmt.Errorf("%.24q: want COMMIT or REVERSE", v)
				}
				r.Op = Command(v)
				return nil
			},
			zero: func(r *Reply) bool { return r.Op == "" }},
		strField("KEY", MaxRef, func(r *Reply) *string { return &r.IdemKey }),
		strField("ORDER", MaxRef, func(r *Reply) *string { return &r.OrderRef }),
		idField("CAMPAIGN", func(r *Reply) *string { return &r.Campaign }),
		strField("NAME", MaxText, func(r *Reply) *string { return &r.Name }),
		intField("FACE", protocol.MaxMoney, func(r *Reply) *int64 { return &r.Face }),
		intField("USES", protocol.MaxUses, func(r *Reply) *int { return &r.Uses }),
		intField("AMOUNT", protocol.MaxMoney, func(r *Reply) *int64 { return &r.Amount }),
		intField("LEFT", protocol.MaxUses, func(r *Reply) *int { return &r.UsesLeft }),
		refField("EVENT", func(r *Reply) *protocol.EventRef { return &r.Event }),
		{key: "MODE",
			get: func(r *Reply) string { return string(r.Mode) },
			set: func(r *Reply, v string) error {
				if m := protocol.Mode(v); m != protocol.ModeOnline && m != protocol.ModeOffline {
					return fmt.Errorf("%.24q: want online or offline", v)
				}
				r.Mode = protocol.Mode(v)
				return nil
			},
			zero: func(r *Reply) bool { return r.Mode == "" }},
		{key: "REPLAYED", num: true,
			get: func(r *Reply) string {
				if r.Replayed {
					return "1"
				}
				return "0"
			},
			set: func(r *Reply, v string) error {
				if v != "0" && v != "1" {
					return fmt.Errorf("%.24q: want 0 or 1", v)
				}
				r.Replayed = v == "1"
				return nil
			},
			zero: func(r *Reply) bool { return !r.Replayed }},
		refField("REVERSED", func(r *Reply) *protocol.EventRef { return &r.Reversed }),
		intField("OUTBOX", maxCount, func(r *Reply) *int { return &r.Outbox }),
		strField("PRINTER", MaxText, func(r *Reply) *string { return &r.Printer }),
		idField("TERMINAL", func(r *Reply) *string { return &r.Terminal }),
		idField("STORE", func(r *Reply) *string { return &r.Store }),
		strField("VERSION", MaxText, func(r *Reply) *string { return &r.Version }),
		intField("Z", maxCount, func(r *Reply) *int { return &r.Z }),
		intField("REDEEMED", maxCount, func(r *Reply) *int { return &r.Totals.Redeemed }),
		intField("REDEEMED_USES", maxCount, func(r *Reply) *int { return &r.Totals.RedeemedUses }),
		intField("REDEEMED_VALUE", protocol.MaxMoney*maxCount/1000, func(r *Reply) *int64 { return &r.Totals.RedeemedValue }),
		intField("VOIDS", maxCount, func(r *Reply) *int { return &r.Totals.Voids }),
		intField("VOIDED_USES", maxCount, func(r *Reply) *int { return &r.Totals.VoidedUses }),
		intField("VOIDED_VALUE", protocol.MaxMoney*maxCount/1000, func(r *Reply) *int64 { return &r.Totals.VoidedValue }),
		intField("OFFLINE", maxCount, func(r *Reply) *int { return &r.Totals.Offline }),
		intField("REFUSED", maxCount, func(r *Reply) *int { return &r.Totals.Refused }),
	}
	m := make(map[string]replyField, len(list))
	for _, f := range list {
		m[f.key] = f
	}
	return m
}()

// replyKey is one field a command's reply may carry; always means it is
// written even when zero (a count, LEFT=0), else only when set.
type replyKey struct {
	key    string
	always bool
}

var (
	totalsKeys = []replyKey{{"REDEEMED", true}, {"REDEEMED_USES", true}, {"REDEEMED_VALUE", true},
		{"VOIDS", true}, {"VOIDED_USES", true}, {"VOIDED_VALUE", true}, {"OFFLINE", true}, {"REFUSED", true}}
	commitKeys = []replyKey{{"KEY", true}, {"ORDER", false}, {"CAMPAIGN", false}, {"NAME", false}, {"FACE", true},
		{"USES", true}, {"AMOUNT", true}, {"LEFT", true}, {"EVENT", false}, {"MODE", false}, {"REPLAYED", true}}
)

// replyKeys lists, per command, the fields of a reply whose RESULT is ok,
// in the order they are written.
var replyKeys = map[Command][]replyKey{
	CmdPrepare: {{"CAMPAIGN", false}, {"NAME", false}, {"FACE", true}, {"USES", true}, {"AMOUNT", true}, {"LEFT", true}},
	CmdCommit:  commitKeys,
	CmdReverse: {{"KEY", false}, {"ORDER", false}, {"CAMPAIGN", false}, {"USES", true}, {"AMOUNT", true},
		{"LEFT", true}, {"EVENT", false}, {"MODE", false}},
	CmdLastResult: append(append([]replyKey{{"OP", true}}, commitKeys...), replyKey{"REVERSED", false}),
	CmdStatus: {{"MODE", true}, {"OUTBOX", true}, {"PRINTER", false}, {"TERMINAL", false},
		{"STORE", false}, {"VERSION", false}},
	CmdTotals:   totalsKeys,
	CmdEndOfDay: append([]replyKey{{"Z", true}}, totalsKeys...),
}

// pairs lists the reply's wire fields after V, in order, checking every
// value.
func (r *Reply) pairs() ([]field, error) {
	if !r.Result.valid() {
		return nil, fmt.Errorf("ecr reply: result %q is not on the list", r.Result)
	}
	if !r.Reason.Valid() {
		return nil, fmt.Errorf("ecr reply: reason %q is not on protocol's closed list", r.Reason)
	}
	out := []field{{"RESULT", string(r.Result)}, {"REASON", string(r.Reason)}}
	if r.Message != "" {
		if len(r.Message) > MaxText {
			return nil, fmt.Errorf("ecr reply: MSG of %d bytes, longer than %d", len(r.Message), MaxText)
		}
		out = append(out, field{"MSG", r.Message})
	}
	if r.Result != ResultOK {
		return out, nil
	}
	keys, ok := replyKeys[r.Command]
	if !ok {
		return nil, fmt.Errorf("ecr reply: command %.40q is not a command", r.Command)
	}
	for _, k := range keys {
		f := replyFields[k.key]
		if !k.always && f.zero(r) {
			continue
		}
		v := f.get(r)
		// Check the value reads back: ranges, lengths, closed lists.
		var probe Reply
		if err := f.set(&probe, v); err != nil {
			return nil, fmt.Errorf("ecr reply: %s: %v", k.key, err)
		}
		out = append(out, field{k.key, v})
	}
	return out, nil
}

// EncodeReply writes r's payload: the command, V=1, RESULT, REASON, MSG if
// any, then (when RESULT is ok) the command's fields.
func EncodeReply(r Reply) ([]byte, error) {
	if r.Command != CmdError && !validName(string(r.Command), maxCmdName, false) {
		return nil, fmt.Errorf("ecr reply: command name %.40q: want 1 to %d of A-Z and _", r.Command, maxCmdName)
	}
	fs, err := r.pairs()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 160)
	b = append(b, r.Command...)
	b = append(b, FS)
	b = append(b, "V="...)
	b = strconv.AppendInt(b, Version, 10)
	for _, f := range fs {
		if err := checkValue(f.value); err != nil {
			return nil, fmt.Errorf("ecr reply: %s: %v", f.key, err)
		}
		b = append(b, FS)
		b = append(b, f.key...)
		b = append(b, '=')
		b = append(b, f.value...)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("ecr reply: %d bytes, longer than %d", len(b), MaxPayload)
	}
	return b, nil
}

// DecodeReply reads and checks a reply payload.
func DecodeReply(p []byte) (Reply, error) {
	cmd, fields, rerr := splitPayload(p)
	if rerr != nil {
		return Reply{}, fmt.Errorf("ecr reply: %s", strings.TrimPrefix(rerr.Error(), "ecr request: "))
	}
	keys, known := replyKeys[cmd] // a refusal names an unknown command as the request did
	r := Reply{Command: cmd}
	var haveResult, haveReason bool
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		seen[f.key] = true
		switch f.key {
		case "RESULT":
			r.Result, haveResult = Result(f.value), true
			if !r.Result.valid() {
				return Reply{}, fmt.Errorf("ecr reply: RESULT %.40q is not on the list", f.value)
			}
		case "REASON":
			reason, err := protocol.ParseReason(f.value)
			if err != nil {
				return Reply{}, fmt.Errorf("ecr reply: REASON: %v", err)
			}
			r.Reason, haveReason = reason, true
		case "MSG":
			if err := maxLen(&r.Message, f.value, MaxText); err != nil {
				return Reply{}, fmt.Errorf("ecr reply: MSG: %v", err)
			}
		default:
			if !hasKey(keys, f.key) {
				return Reply{}, fmt.Errorf("ecr reply: %s reply has no field %s", cmd, f.key)
			}
			if err := replyFields[f.key].set(&r, f.value); err != nil {
				return Reply{}, fmt.Errorf("ecr reply: %s: %v", f.key, err)
			}
		}
	}
	if !haveResult || !haveReason {
		return Reply{}, fmt.Errorf("ecr reply: RESULT and REASON are required")
	}
	if !known && r.Result == ResultOK {
		return Reply{}, fmt.Errorf("ecr reply: %s is not a command, so its reply cannot be ok", cmd)
	}
	if r.Result == ResultOK {
		for _, k := range keys {
			if k.always && !seen[k.key] {
				return Reply{}, fmt.Errorf("ecr reply: an ok %s reply must have %s", cmd, k.key)
			}
		}
	}
	return r, nil
}

func hasKey(keys []replyKey, k string) bool {
	for _, rk := range keys {
		if rk.key == k {
			return true
		}
	}
	return false
}

// AppendJSON appends r as one JSON object whose members are the wire
// fields in wire order, keys in lower case, numbers as numbers: what the
// simulator prints. A reply that would not encode is written with its
// error.
func (r Reply) AppendJSON(b []byte) []byte {
	b = append(b, `{"command":`...)
	b = appendJSONString(b, string(r.Command))
	fs, err := r.pairs()
	if err != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, err.Error())
		return append(b, '}')
	}
	for _, f := range fs {
		b = append(b, ',')
		b = appendJSONString(b, strings.ToLower(f.key))
		b = append(b, ':')
		if rf, ok := replyFields[f.key]; ok && rf.num {
			b = append(b, f.value...)
		} else {
			b = appendJSONString(b, f.value)
		}
	}
	return append(b, '}')
}

func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
}

// sanitizeMessage makes s fit MSG: control bytes become spaces, invalid
// UTF-8 is replaced, and it is cut to MaxText bytes on a rune boundary.
func sanitizeMessage(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return ' '
		}
		return r
	}, s)
	if len(s) <= MaxText {
		return s
	}
	cut := MaxText - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
