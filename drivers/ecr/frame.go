package ecr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Control bytes of the link layer. Inside a frame none of them is ever sent
// as itself: each is escaped as DLE followed by the byte XOR 0x40, so a raw
// STX on the wire always starts a frame, a raw ETX always ends one and a
// raw ACK or NAK is always an acknowledgement.
const (
	STX = 0x02 // start of a frame
	ETX = 0x03 // end of a frame's body; the checksum follows
	ACK = 0x06 // the frame just received was good
	DLE = 0x10 // escape: the next byte is a control byte XOR 0x40
	NAK = 0x15 // the frame just received was bad
)

// escXOR is what an escaped control byte is XORed with.
const escXOR = 0x40

// MaxPayload bounds a frame's payload (unstuffed, without the sequence
// byte). A frame on the wire is therefore at most 1 + 2×(1+MaxPayload) + 1
// + 2×2 bytes long (MaxWireFrame).
const MaxPayload = 2048

// MaxWireFrame is the longest frame on the wire, every body and checksum
// byte escaped.
const MaxWireFrame = 1 + 2*(1+MaxPayload) + 1 + 2*2

// isControl reports whether b must be escaped inside a frame.
func isControl(b byte) bool {
	switch b {
	case STX, ETX, ACK, DLE, NAK:
		return true
	}
	return false
}

// Checksum is the frame check a link uses; both ends must agree.
type Checksum uint8

const (
	// CRC16 is CRC-16/CCITT-FALSE (polynomial 0x1021, initial value
	// 0xFFFF, no reflection, no final XOR), sent high byte first.
	CRC16 Checksum = iota
	// LRC is the XOR of the checked bytes, one byte, as many registers
	// use.
	LRC
)

// String is the checksum's name as ParseChecksum reads it.
func (c Checksum) String() string {
	switch c {
	case CRC16:
		return "crc16"
	case LRC:
		return "lrc"
	}
	return fmt.Sprintf("checksum(%d)", uint8(c))
}

// ParseChecksum reads "crc16" or "lrc".
func ParseChecksum(s string) (Checksum, error) {
	switch strings.ToLower(s) {
	case "crc16", "crc", "":
		return CRC16, nil
	case "lrc":
		return LRC, nil
	}
	return 0, fmt.Errorf("ecr checksum %q: want crc16 or lrc", s)
}

// Size is the checksum's length in bytes before escaping.
func (c Checksum) Size() int {
	if c == LRC {
		return 1
	}
	return 2
}

// sum computes the checksum of body‖ETX into dst.
func (c Checksum) sum(dst *[2]byte, body []byte) {
	if c == LRC {
		dst[0] = lrc(lrc(0, body), []byte{ETX})
		return
	}
	v := crc16(crc16(0xFFFF, body), []byte{ETX})
	dst[0], dst[1] = byte(v>>8), byte(v)
}

var crcTable = func() (t [256]uint16) {
	for i := range t {
		v := uint16(i) << 8
		for range 8 {
			if v&0x8000 != 0 {
				v = v<<1 ^ 0x1021
			} else {
				v <<= 1
			}
		}
		t[i] = v
	}
	return t
}()

// crc16 continues CRC-16/CCITT-FALSE over p; start with 0xFFFF.
func crc16(crc uint16, p []byte) uint16 {
	for _, b := range p {
		crc = crc<<8 ^ crcTable[byte(crc>>8)^b]
	}
	return crc
}

func lrc(x byte, p []byte) byte {
	for _, b := range p {
		x ^= b
	}
	return x
}

// Frame is one unit of the link layer: a sequence byte and a payload. A
// reply carries the sequence byte of the request it answers.
type Frame struct {
	Seq     byte
	Payload []byte
}

// Errors the frame decoder reports, wrapped with detail.
var (
	ErrChecksum  = errors.New("ecr frame: checksum mismatch")
	ErrStuffing  = errors.New("ecr frame: bad DLE escape or stray control byte")
	ErrOversized = errors.New("ecr frame: payload longer than the cap")
	ErrEmpty     = errors.New("ecr frame: no sequence byte")
	ErrTruncated = errors.New("ecr frame: truncated")
	ErrNoFrame   = errors.New("ecr frame: no frame in the input")
)

// AppendFrame appends f as it goes on the wire: STX, the escaped sequence
// byte and payload, ETX, the escaped checksum of seq‖payload‖ETX.
func AppendFrame(dst []byte, f Frame, c Checksum) ([]byte, error) {
	if len(f.Payload) > MaxPayload {
		return dst, fmt.Errorf("%w: %d bytes, cap %d", ErrOversized, len(f.Payload), MaxPayload)
	}
	dst = append(dst, STX)
	dst = appendEscaped(dst, f.Seq)
	for _, b := range f.Payload {
		dst = appendEscaped(dst, b)
	}
	dst = append(dst, ETX)
	var s [2]byte
	if c == LRC {
		s[0] = lrc(lrc(f.Seq, f.Payload), []byte{ETX})
	} else {
		v := crc16(crc16(crc16(0xFFFF, []byte{f.Seq}), f.Payload), []byte{ETX})
		s[0], s[1] = byte(v>>8), byte(v)
	}
	for _, b := range s[:c.Size()] {
		dst = appendEscaped(dst, b)
	}
	return dst, nil
}

func appendEscaped(dst []byte, b byte) []byte {
	if isControl(b) {
		return append(dst, DLE, b^escXOR)
	}
	return append(dst, b)
}

// TokenKind says what a Token is.
type TokenKind uint8

// The kinds of token the decoder yields.
const (
	TokenFrame TokenKind = iota + 1 // a good frame
	TokenACK                        // a raw ACK byte
	TokenNAK                        // a raw NAK byte
	TokenBad                        // a bad or abandoned frame; Err says why
)

// Token is one thing the decoder found on the wire.
type Token struct {
	Kind  TokenKind
	Frame Frame // TokenFrame
	Err   error // TokenBad
}

// Complete reports whether a bad token was a whole frame (ended by ETX and
// its checksum, or over the size cap), which the receiver answers with NAK.
// A truncated frame (interrupted, stalled) is dropped without a NAK: the
// sender's ACK timeout recovers it.
func (t Token) Complete() bool { return t.Kind == TokenBad && !errors.Is(t.Err, ErrTruncated) }

type decState uint8

const (
	stIdle    decState = iota // between frames: skip anything but STX, ACK, NAK
	stBody                    // after STX, before ETX
	stBodyEsc                 // after DLE in the body
	stSum                     // after ETX, reading checksum bytes
	stSumEsc                  // after DLE in the checksum
)

// Decoder splits a byte stream into tokens. It is a pure state machine:
// bytes and the time they arrived in, tokens out. It is not safe for
// concurrent use.
type Decoder struct {
	check     Checksum
	interByte time.Duration // 0: no inter-byte timeout

	state decState
	body  []byte // seq‖payload, unescaped, at most 1+MaxPayload
	bad   error  // the first fault of the frame being read
	sum   [2]byte
	nsum  int
	last  time.Time // when the previous byte of the current frame came
}

// NewDecoder returns a decoder for frames checked with c. A frame whose
// next byte comes more than interByte after the previous one is abandoned
// (ErrTruncated); zero disables that check.
func NewDecoder(c Checksum, interByte time.Duration) *Decoder {
	return &Decoder{check: c, interByte: interByte, body: make([]byte, 0, 64)}
}

// InFrame reports whether the decoder is part-way through a frame.
func (d *Decoder) InFrame() bool { return d.state != stIdle }

// Reset drops any part-read frame.
func (d *Decoder) Reset() { d.state, d.body, d.bad, d.nsum = stIdle, d.body[:0], nil, 0 }

// Feed decodes p, which arrived at at, appending the tokens it completes
// to dst.
func (d *Decoder) Feed(dst []Token, p []byte, at time.Time) []Token {
	if len(p) == 0 {
		return dst
	}
	// Every byte of p came at the same time, so only the first can come
	// too late after the previous one.
	dst = d.Expire(dst, at)
	d.last = at
	for _, b := range p {
		dst = d.feedByte(dst, b)
	}
	return dst
}

// Expire abandons a part-read frame whose last byte came more than the
// inter-byte timeout before now, so a reader that saw no byte for a while
// need not wait for the next one to drop it.
func (d *Decoder) Expire(dst []Token, now time.Time) []Token {
	if d.state != stIdle && d.interByte > 0 && now.Sub(d.last) > d.interByte {
		dst = append(dst, d.abandon(fmt.Errorf("%w: no byte for %v (inter-byte timeout %v)", ErrTruncated, now.Sub(d.last).Round(time.Millisecond), d.interByte)))
	}
	return dst
}

func (d *Decoder) abandon(err error) Token {
	d.Reset()
	return Token{Kind: TokenBad, Err: err}
}

func (d *Decoder) fault(err error) {
	if d.bad == nil {
		d.bad = err
	}
}

func (d *Decoder) feedByte(dst []Token, b byte) []Token {
	// Raw STX, ACK and NAK mean the same in every state: anything
	// part-read before them is cut short.
	switch b {
	case STX:
		if d.state != stIdle {
			dst = append(dst, d.abandon(fmt.Errorf("%w: STX inside a frame", ErrTruncated)))
		}
		d.state = stBody
		return dst
	case ACK, NAK:
		if d.state != stIdle {
			dst = append(dst, d.abandon(fmt.Errorf("%w: raw 0x%02X inside a frame", ErrTruncated, b)))
		}
		if b == ACK {
			return append(dst, Token{Kind: TokenACK})
		}
		return append(dst, Token{Kind: TokenNAK})
	}
	switch d.state {
	case stIdle:
		// Garbage between frames is skipped.
	case stBodyEsc:
		d.state = stBody
		if isControl(b) { // DLE then raw ETX or DLE
			d.fault(fmt.Errorf("%w: DLE followed by raw 0x%02X", ErrStuffing, b))
			return d.feedByte(dst, b)
		}
		if !isControl(b ^ escXOR) {
			d.fault(fmt.Errorf("%w: DLE 0x%02X escapes no control byte", ErrStuffing, b))
			return dst
		}
		d.add(b ^ escXOR)
	case stBody:
		switch b {
		case DLE:
			d.state = stBodyEsc
		case ETX:
			d.state, d.nsum = stSum, 0
		default:
			d.add(b)
		}
	case stSumEsc:
		d.state = stSum
		if isControl(b) {
			d.fault(fmt.Errorf("%w: DLE followed by raw 0x%02X in the checksum", ErrStuffing, b))
			return d.feedByte(dst, b)
		}
		if !isControl(b ^ escXOR) {
			d.fault(fmt.Errorf("%w: DLE 0x%02X escapes no control byte", ErrStuffing, b))
			return d.sumByte(dst, b) // count it, so the frame still ends where it should
		}
		return d.sumByte(dst, b^escXOR)
	case stSum:
		switch b {
		case DLE:
			d.state = stSumEsc
		case ETX:
			d.fault(fmt.Errorf("%w: raw ETX in the checksum", ErrStuffing))
			return d.sumByte(dst, b)
		default:
			return d.sumByte(dst, b)
		}
	}
	return dst
}

func (d *Decoder) add(b byte) {
	if len(d.body) > MaxPayload { // seq + MaxPayload already
		d.fault(fmt.Errorf("%w: more than %d bytes", ErrOversized, MaxPayload))
		return
	}
	d.body = append(d.body, b)
}

func (d *Decoder) sumByte(dst []Token, b byte) []Token {
	d.sum[d.nsum] = b
	d.nsum++
	if d.nsum < d.check.Size() {
		return dst
	}
	tok := d.finish()
	d.Reset()
	return append(dst, tok)
}

func (d *Decoder) finish() Token {
	if d.bad != nil {
		return Token{Kind: TokenBad, Err: d.bad}
	}
	if len(d.body) == 0 {
		return Token{Kind: TokenBad, Err: ErrEmpty}
	}
	var want [2]byte
	d.check.sum(&want, d.body)
	n := d.check.Size()
	if string(want[:n]) != string(d.sum[:n]) {
		return Token{Kind: TokenBad, Err: fmt.Errorf("%w: got % X, computed % X (%v)", ErrChecksum, d.sum[:n], want[:n], d.check)}
	}
	f := Frame{Seq: d.body[0], Payload: append([]byte(nil), d.body[1:]...)}
	return Token{Kind: TokenFrame, Frame: f}
}

// DecodeFrame decodes the first frame in p, skipping garbage, ACK and NAK
// bytes before it, with no inter-byte timeout. It returns the frame or why
// the first frame in p is bad: ErrTruncated if p ends inside it, ErrNoFrame
// if p holds none.
func DecodeFrame(p []byte, c Checksum) (Frame, error) {
	d := Decoder{check: c}
	var toks [4]Token
	for i := range p {
		for _, t := range d.feedByte(toks[:0], p[i]) {
			switch t.Kind {
			case TokenFrame:
				return t.Frame, nil
			case TokenBad:
				return Frame{}, t.Err
			}
		}
	}
	if d.InFrame() {
		return Frame{}, fmt.Errorf("%w: input ends inside a frame", ErrTruncated)
	}
	return Frame{}, ErrNoFrame
}
