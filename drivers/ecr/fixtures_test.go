package ecr

import (
	"bytes"
	"slices"
)

// frameFixture is one row of the shared table of wire bytes ⇄ frames ⇄
// errors, used by the codec tests, the pty test and the fuzz seeds. The
// checksums were computed apart from this package (a bitwise CRC-16/
// CCITT-FALSE in Python), so the table checks the codec, not itself.
type frameFixture struct {
	name  string
	check Checksum
	wire  []byte
	frame Frame // want, when err is nil
	err   error // want (errors.Is), or nil
	// canonical says AppendFrame(frame) gives exactly wire.
	canonical bool
}

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

var (
	payStatus = []byte("STATUS\x1cV=1")
	payTotals = []byte("TOTALS\x1cV=1")
	payCtrl   = []byte("A\x02\x03\x06\x10\x15Z") // every control byte
	// CRC-16 of seq 0x31 ‖ this ‖ ETX is 10 02: both checksum bytes escaped.
	pay766 = []byte("PREPARE\x1cV=1\x1cCODE=766")
	// LRC of seq 0x31 ‖ this ‖ ETX is 10: the checksum byte escaped.
	pay18 = []byte("PREPARE\x1cV=1\x1cCODE=18")
)

// oversized is a well-checksummed frame one byte over MaxPayload.
var (
	bigOK, _   = AppendFrame(nil, Frame{Seq: 0x41, Payload: bytes.Repeat([]byte{'x'}, MaxPayload)}, CRC16)
	bigOver    = bigFrame(MaxPayload + 1)
	goodStatus = cat([]byte{STX, 0x01}, payStatus, []byte{ETX, 0xA4, 0x70})
)

// bigFrame builds a frame of n payload bytes by hand, bypassing
// AppendFrame's cap.
func bigFrame(n int) []byte {
	body := append([]byte{0x41}, bytes.Repeat([]byte{'x'}, n)...)
	v := crc16(crc16(0xFFFF, body), []byte{ETX})
	return cat([]byte{STX}, body, []byte{ETX}, appendEscaped(appendEscaped(nil, byte(v>>8)), byte(v)))
}

var frameFixtures = []frameFixture{
	{name: "crc16 plain", check: CRC16, canonical: true,
		wire:  goodStatus,
		frame: Frame{Seq: 0x01, Payload: payStatus}},
	{name: "crc16 every control byte escaped, seq too", check: CRC16, canonical: true,
		wire:  []byte{STX, DLE, 0x50, 'A', DLE, 0x42, DLE, 0x43, DLE, 0x46, DLE, 0x50, DLE, 0x55, 'Z', ETX, 0xFB, 0x2A},
		frame: Frame{Seq: DLE, Payload: payCtrl}},
	{name: "crc16 both checksum bytes escaped", check: CRC16, canonical: true,
		wire:  cat([]byte{STX, 0x31}, pay766, []byte{ETX, DLE, 0x50, DLE, 0x42}),
		frame: Frame{Seq: 0x31, Payload: pay766}},
	{name: "crc16 empty payload", check: CRC16, canonical: true,
		wire:  []byte{STX, 0x2A, ETX, 0xC4, 0x41},
		frame: Frame{Seq: 0x2A}},
	{name: "crc16 payload at the cap", check: CRC16, canonical: true,
		wire:  bigOK,
		frame: Frame{Seq: 0x41, Payload: bytes.Repeat([]byte{'x'}, MaxPayload)}},
	{name: "lrc plain", check: LRC, canonical: true,
		wire:  cat([]byte{STX, 0x07}, payTotals, []byte{ETX, 0x53}),
		frame: Frame{Seq: 0x07, Payload: payTotals}},
	{name: "lrc every control byte escaped", check: LRC, canonical: true,
		wire:  []byte{STX, DLE, 0x50, 'A', DLE, 0x42, DLE, 0x43, DLE, 0x46, DLE, 0x50, DLE, 0x55, 'Z', ETX, 0x0A},
		frame: Frame{Seq: DLE, Payload: payCtrl}},
	{name: "lrc checksum escaped", check: LRC, canonical: true,
		wire:  cat([]byte{STX, 0x31}, pay18, []byte{ETX, DLE, 0x50}),
		frame: Frame{Seq: 0x31, Payload: pay18}},
	{name: "garbage, ETX, ACK and NAK before STX skipped", check: CRC16,
		wire:  cat([]byte("noise\x00\xff"), []byte{ETX, ACK, NAK, 0x7F}, goodStatus),
		frame: Frame{Seq: 0x01, Payload: payStatus}},

	{name: "crc16 bad checksum", check: CRC16, err: ErrChecksum,
		wire: cat([]byte{STX, 0x01}, payStatus, []byte{ETX, 0xA4, 0x71})},
	{name: "crc16 payload byte flipped", check: CRC16, err: ErrChecksum,
		wire: cat([]byte{STX, 0x01}, []byte("STATUS\x1cV=2"), []byte{ETX, 0xA4, 0x70})},
	{name: "lrc bad checksum", check: LRC, err: ErrChecksum,
		wire: cat([]byte{STX, 0x07}, payTotals, []byte{ETX, 0x52})},
	{name: "crc16 frame read as lrc", check: LRC, err: ErrChecksum,
		wire: []byte{STX, 0x2A, ETX, 0xC4}},
	{name: "DLE escaping nothing", check: CRC16, err: ErrStuffing,
		wire: []byte{STX, 0x01, DLE, 'A', ETX, 0x00, 0x00}},
	{name: "DLE then raw ETX", check: CRC16, err: ErrStuffing,
		wire: []byte{STX, 0x01, DLE, ETX, 0x00, 0x00}},
	{name: "raw ETX in the checksum", check: CRC16, err: ErrStuffing,
		wire: []byte{STX, 0x01, ETX, ETX, 0x00}},
	{name: "no sequence byte", check: CRC16, err: ErrEmpty,
		wire: []byte{STX, ETX, 0xD1, 0x93}},
	{name: "oversized", check: CRC16, err: ErrOversized,
		wire: bigOver},
	{name: "truncated before ETX", check: CRC16, err: ErrTruncated,
		wire: cat([]byte{STX, 0x01}, payStatus)},
	{name: "truncated in the checksum", check: CRC16, err: ErrTruncated,
		wire: cat([]byte{STX, 0x01}, payStatus, []byte{ETX, 0xA4})},
	{name: "cut short by a new STX", check: CRC16, err: ErrTruncated,
		wire: cat([]byte{STX, 0x01, 'S', 'T'}, goodStatus)},
	{name: "raw ACK inside a frame", check: CRC16, err: ErrTruncated,
		wire: cat([]byte{STX, 0x01, 'S', ACK}, goodStatus)},
	{name: "no frame at all", check: CRC16, err: ErrNoFrame,
		wire: []byte("just noise\x03\x06")},
}
