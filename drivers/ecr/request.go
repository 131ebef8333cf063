package ecr

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/hexiao/hexiao/protocol"
)

// FS separates the command name and the fields of a payload.
const FS = 0x1C

// Version is the payload version this package speaks: field V of every
// request and reply.
const Version = 1

// Command names what a request asks for.
type Command string

// The commands. CmdError names the reply to a request whose command could
// not be read at all.
const (
	CmdPrepare    Command = "PREPARE"
	CmdCommit     Command = "COMMIT"
	CmdReverse    Command = "REVERSE"
	CmdLastResult Command = "LAST_RESULT"
	CmdStatus     Command = "STATUS"
	CmdTotals     Command = "TOTALS"
	CmdEndOfDay   Command = "END_OF_DAY"
	CmdError      Command = "ERROR"
)

// Commands lists the commands a register may send, in the spec's order.
func Commands() []Command {
	return []Command{CmdPrepare, CmdCommit, CmdReverse, CmdLastResult, CmdStatus, CmdTotals, CmdEndOfDay}
}

// Limits on field values, in bytes.
const (
	MaxCode    = protocol.MaxCodeLen // CODE
	MaxRef     = protocol.MaxNoteLen // KEY, ORDER, NOTE
	MaxID      = protocol.MaxIDLen   // CASHIER, CAMPAIGN, TERMINAL, STORE
	MaxText    = protocol.MaxNoteLen // MSG, NAME, PRINTER, VERSION
	maxCmdName = 32
	maxKeyName = 16
)

// Request is one command from the register, decoded and checked.
type Request struct {
	Command  Command
	Code     string // CODE: PREPARE, COMMIT (required), the code as scanned
	Uses     int    // USES: uses to take (PREPARE, COMMIT; 0 means 1) or give back (REVERSE; 0 means all)
	IdemKey  string // KEY: COMMIT (required), REVERSE, LAST_RESULT
	OrderRef string // ORDER: COMMIT, REVERSE
	Cashier  string // CASHIER: COMMIT; REVERSE and END_OF_DAY (required)
	Note     string // NOTE: REVERSE, why
}

// Result is the application-level status of a reply: ok, or why the
// request was not carried out. The list is closed.
type Result string

// The results.
const (
	ResultOK                 Result = "ok"                  // carried out; Reason is the verdict
	ResultBadRequest         Result = "bad_request"         // the payload is not COMMAND(FS KEY=value)*, or has bad bytes or a repeated field
	ResultUnsupportedVersion Result = "unsupported_version" // V is not 1
	ResultUnknownCommand     Result = "unknown_command"     // well-formed name, not a command
	ResultUnknownField       Result = "unknown_field"       // a field the command does not take
	ResultMissingField       Result = "missing_field"       // a required field is absent or empty
	ResultBadField           Result = "bad_field"           // a field's value is out of range or too long
	ResultNotFound           Result = "not_found"           // LAST_RESULT, REVERSE: no transaction with that key or order
	ResultRefused            Result = "refused"             // REVERSE, END_OF_DAY: not allowed now; Message says why
	ResultInternal           Result = "internal_error"      // the terminal failed; for COMMIT and REVERSE the outcome is unknown: ask LAST_RESULT
)

// Results lists every result in the spec's order.
func Results() []Result {
	return []Result{ResultOK, ResultBadRequest, ResultUnsupportedVersion, ResultUnknownCommand, ResultUnknownField,
		ResultMissingField, ResultBadField, ResultNotFound, ResultRefused, ResultInternal}
}

func (r Result) valid() bool {
	for _, v := range Results() {
		if r == v {
			return true
		}
	}
	return false
}

// RequestError says why a request payload was refused, as the reply the
// terminal sends for it.
type RequestError struct {
	Result  Result
	Command Command // the command named, when it could be read
	Field   string  // the field at fault, if one
	Msg     string
}

func (e *RequestError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("ecr request: %s: %s: %s", e.Result, e.Field, e.Msg)
	}
	return fmt.Sprintf("ecr request: %s: %s", e.Result, e.Msg)
}

// Reply is the reply a terminal sends for e.
func (e *RequestError) Reply() Reply {
	cmd := e.Command
	if cmd == "" {
		cmd = CmdError
	}
	msg := e.Msg
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return ErrorReply(cmd, e.Result, sanitizeMessage(msg))
}

type reqField struct {
	key      string
	required bool
}

// requestFields lists, per command, the fields it takes, in the order
// EncodeRequest writes them.
var requestFields = map[Command][]reqField{
	CmdPrepare:    {{"CODE", true}, {"USES", false}},
	CmdCommit:     {{"CODE", true}, {"USES", false}, {"KEY", true}, {"ORDER", false}, {"CASHIER", false}},
	CmdReverse:    {{"KEY", false}, {"ORDER", false}, {"USES", false}, {"CASHIER", true}, {"NOTE", false}},
	CmdLastResult: {{"KEY", false}},
	CmdStatus:     {},
	CmdTotals:     {},
	CmdEndOfDay:   {{"CASHIER", true}},
}

// reqSetters reads one request field's value (never empty) into r.
var reqSetters = map[string]func(r *Request, v string) error{
	"CODE": func(r *Request, v string) error { return maxLen(&r.Code, v, MaxCode) },
	"USES": func(r *Request, v string) error {
		n, err := parseNum(v, protocol.MaxUses)
		if err == nil && n == 0 {
			err = fmt.Errorf("want 1 to %d", protocol.MaxUses)
		}
		r.Uses = int(n)
		return err
	},
	"KEY":   func(r *Request, v string) error { return maxLen(&r.IdemKey, v, MaxRef) },
	"ORDER": func(r *Request, v string) error { return maxLen(&r.OrderRef, v, MaxRef) },
	"NOTE":  func(r *Request, v string) error { return maxLen(&r.Note, v, MaxRef) },
	"CASHIER": func(r *Request, v string) error {
		if err := protocol.ValidID(v); err != nil {
			return err
		}
		r.Cashier = v
		return nil
	},
}

func maxLen(dst *string, v string, n int) error {
	if len(v) > n {
		return fmt.Errorf("%d bytes, longer than %d", len(v), n)
	}
	*dst = v
	return nil
}

// parseNum reads a decimal integer from 0 to max: digits only, no sign, no
// leading zero.
func parseNum(v string, max int64) (int64, error) {
	if v == "" || len(v) > 19 || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%.24q is not a decimal number from 0 to %d", v, max)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("%.24q is not a decimal number from 0 to %d", v, max)
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > max {
		return 0, fmt.Errorf("%.24q is not a decimal number from 0 to %d", v, max)
	}
	return n, nil
}

// checkValue reports why v cannot be a field value: not UTF-8, or holding
// a C0 control byte (which includes FS) or DEL.
func checkValue(v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("not valid UTF-8")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7F {
			return fmt.Errorf("control byte 0x%02X at offset %d", v[i], i)
		}
	}
	return nil
}

func validName(s string, max int, digits bool) bool {
	if s == "" || len(s) > max || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || digits && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// field is one KEY=value of a payload.
type field struct{ key, value string }

// splitPayload reads COMMAND FS V=1 (FS KEY=value)* into the command name
// and the fields after V, checking only syntax, the version and
// duplicates.
func splitPayload(p []byte) (Command, []field, *RequestError) {
	bad := func(cmd Command, f, format string, args ...any) (Command, []field, *RequestError) {
		return cmd, nil, &RequestError{Result: ResultBadRequest, Command: cmd, Field: f, Msg: fmt.Sprintf(format, args...)}
	}
	if len(p) == 0 {
		return bad("", "", "empty payload")
	}
	if len(p) > MaxPayload {
		return bad("", "", "payload of %d bytes, longer than %d", len(p), MaxPayload)
	}
	parts := bytes.Split(p, []byte{FS})
	name := string(parts[0])
	if !validName(name, maxCmdName, false) {
		return bad("", "", "command name %.40q: want 1 to %d of A-Z and _", name, maxCmdName)
	}
	cmd := Command(name)
	if len(parts) < 2 || !bytes.HasPrefix(parts[1], []byte("V=")) {
		return bad(cmd, "V", "the first field must be V=%d (the payload version)", Version)
	}
	if v := string(parts[1][2:]); v != strconv.Itoa(Version) {
		if _, err := parseNum(v, 999); err != nil {
			return bad(cmd, "V", "%v", err)
		}
		return cmd, nil, &RequestError{Result: ResultUnsupportedVersion, Command: cmd, Field: "V",
			Msg: fmt.Sprintf("payload version %s; this terminal speaks %d", v, Version)}
	}
	fields := make([]field, 0, len(parts)-2)
	seen := make(map[string]bool, len(parts))
	for i, raw := range parts[2:] {
		eq := bytes.IndexByte(raw, '=')
		if eq < 0 {
			return bad(cmd, "", "field %d (%.40q) has no '='", i+2, raw)
		}
		key, value := string(raw[:eq]), string(raw[eq+1:])
		if !validName(key, maxKeyName, true) {
			return bad(cmd, "", "field name %.40q: want 1 to %d of A-Z, 0-9 and _, starting with a letter", key, maxKeyName)
		}
		if key == "V" || seen[key] {
			return bad(cmd, key, "field given twice")
		}
		seen[key] = true
		if err := checkValue(value); err != nil {
			return bad(cmd, key, "%v", err)
		}
		fields = append(fields, field{key, value})
	}
	return cmd, fields, nil
}

// DecodeRequest reads and checks a request payload. The error is always a
// *RequestError, whose Reply is what the terminal answers.
func DecodeRequest(p []byte) (Request, error) {
	cmd, fields, rerr := splitPayload(p)
	if rerr != nil {
		return Request{}, rerr
	}
	spec, ok := requestFields[cmd]
	if !ok {
		return Request{}, &RequestError{Result: ResultUnknownCommand, Command: cmd, Msg: fmt.Sprintf("unknown command %s", cmd)}
	}
	r := Request{Command: cmd}
	present := map[string]bool{}
	for _, f := range fields {
		if !takes(spec, f.key) {
			return Request{}, &RequestError{Result: ResultUnknownField, Command: cmd, Field: f.key, Msg: fmt.Sprintf("%s takes no field %s", cmd, f.key)}
		}
		if f.value == "" {
			continue // an empty value is the same as no field
		}
		if err := reqSetters[f.key](&r, f.value); err != nil {
			return Request{}, &RequestError{Result: ResultBadField, Command: cmd, Field: f.key, Msg: err.Error()}
		}
		present[f.key] = true
	}
	for _, f := range spec {
		if f.required && !present[f.key] {
			msg := "required"
			if f.key == "KEY" {
				msg = "required: the register's idempotency key for this transaction"
			}
			return Request{}, &RequestError{Result: ResultMissingField, Command: cmd, Field: f.key, Msg: msg}
		}
	}
	if cmd == CmdReverse && !present["KEY"] && !present["ORDER"] {
		return Request{}, &RequestError{Result: ResultMissingField, Command: cmd, Field: "KEY",
			Msg: "REVERSE needs KEY (the commit's idempotency key) or ORDER"}
	}
	return r, nil
}

func takes(spec []reqField, key string) bool {
	for _, f := range spec {
		if f.key == key {
			return true
		}
	}
	return false
}

// EncodeRequest writes r's payload: the command name, V=1, then the
// command's non-empty fields. It checks only what the wire cannot carry
// (names, control bytes, lengths, the payload cap); the terminal checks the
// rest, so a register can be made to send a request the terminal refuses.
func EncodeRequest(r Request) ([]byte, error) {
	name := string(r.Command)
	if !validName(name, maxCmdName, false) {
		return nil, fmt.Errorf("ecr request: command name %.40q: want 1 to %d of A-Z and _", name, maxCmdName)
	}
	b := make([]byte, 0, 128)
	b = append(b, name...)
	b = append(b, FS)
	b = append(b, "V="...)
	b = strconv.AppendInt(b, Version, 10)
	if r.Uses < 0 {
		return nil, fmt.Errorf("ecr request: USES %d is negative", r.Uses)
	}
	vals := []field{{"CODE", r.Code}, {"USES", ""}, {"KEY", r.IdemKey}, {"ORDER", r.OrderRef}, {"CASHIER", r.Cashier}, {"NOTE", r.Note}}
	if r.Uses > 0 {
		vals[1].value = strconv.Itoa(r.Uses)
	}
	spec, known := requestFields[r.Command]
	for _, f := range vals {
		if f.value == "" {
			continue
		}
		if known && !takes(spec, f.key) {
			return nil, fmt.Errorf("ecr request: %s takes no field %s", r.Command, f.key)
		}
		if err := checkValue(f.value); err != nil {
			return nil, fmt.Errorf("ecr request: %s: %v", f.key, err)
		}
		b = append(b, FS)
		b = append(b, f.key...)
		b = append(b, '=')
		b = append(b, f.value...)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("ecr request: %d bytes, longer than %d", len(b), MaxPayload)
	}
	return b, nil
}
