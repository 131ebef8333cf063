package ecr

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCRC16CheckValue(t *testing.T) {
	// The catalogue check value of CRC-16/CCITT-FALSE.
	if got := crc16(0xFFFF, []byte("123456789")); got != 0x29B1 {
		t.Fatalf("crc16(123456789) = %04X, want 29B1", got)
	}
	if got := lrc(0, []byte{0x01, 0x02, 0x04, 0x80}); got != 0x87 {
		t.Fatalf("lrc = %02X, want 87", got)
	}
}

func TestDecodeFrameFixtures(t *testing.T) {
	for _, fx := range frameFixtures {
		t.Run(fx.name, func(t *testing.T) {
			got, err := DecodeFrame(fx.wire, fx.check)
			if fx.err != nil {
				if !errors.Is(err, fx.err) {
					t.Fatalf("DecodeFrame: got %v, want %v", err, fx.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeFrame: %v", err)
			}
			if got.Seq != fx.frame.Seq || !bytes.Equal(got.Payload, fx.frame.Payload) {
				t.Fatalf("DecodeFrame: got seq %02X payload %q, want seq %02X payload %q", got.Seq, got.Payload, fx.frame.Seq, fx.frame.Payload)
			}
		})
	}
}

func TestAppendFrameFixtures(t *testing.T) {
	for _, fx := range frameFixtures {
		if !fx.canonical {
			continue
		}
		t.Run(fx.name, func(t *testing.T) {
			got, err := AppendFrame([]byte("prefix"), fx.frame, fx.check)
			if err != nil {
				t.Fatal(err)
			}
			if want := cat([]byte("prefix"), fx.wire); !bytes.Equal(got, want) {
				t.Fatalf("AppendFrame:\n got % X\nwant % X", got, want)
			}
		})
	}
	if _, err := AppendFrame(nil, Frame{Payload: make([]byte, MaxPayload+1)}, CRC16); !errors.Is(err, ErrOversized) {
		t.Fatalf("AppendFrame of %d bytes: got %v, want ErrOversized", MaxPayload+1, err)
	}
}

// describe writes tokens compactly for comparison.
func describe(toks []Token) string {
	var b bytes.Buffer
	for _, t := range toks {
		switch t.Kind {
		case TokenFrame:
			fmt.Fprintf(&b, "F%02X:%q ", t.Frame.Seq, t.Frame.Payload)
		case TokenACK:
			b.WriteString("ACK ")
		case TokenNAK:
			b.WriteString("NAK ")
		case TokenBad:
			kind := "?"
			for _, e := range []error{ErrChecksum, ErrStuffing, ErrOversized, ErrEmpty, ErrTruncated} {
				if errors.Is(t.Err, e) {
					kind = e.Error()[len("ecr frame: "):]
				}
			}
			fmt.Fprintf(&b, "BAD(%s,nak=%v) ", kind, t.Complete())
		}
	}
	return b.String()
}

// TestDecoderStream feeds every fixture back to back into one decoder,
// whole and then a byte at a time, and checks the token stream: the
// decoder recovers after every kind of bad frame.
func TestDecoderStream(t *testing.T) {
	for _, c := range []Checksum{CRC16, LRC} {
		var stream []byte
		var want []Token
		for _, fx := range frameFixtures {
			if fx.check != c || fx.err == ErrNoFrame || fx.err == ErrTruncated {
				continue
			}
			stream = append(stream, fx.wire...)
			stream = append(stream, ACK, 'g', NAK)
			if fx.err != nil {
				want = append(want, Token{Kind: TokenBad, Err: fx.err})
			} else {
				// Garbage, ETX, ACK and NAK before the frame are skipped
				// except ACK and NAK, which are tokens.
				for _, b := range fx.wire[:bytes.IndexByte(fx.wire, STX)] {
					switch b {
					case ACK:
						want = append(want, Token{Kind: TokenACK})
					case NAK:
						want = append(want, Token{Kind: TokenNAK})
					}
				}
				want = append(want, Token{Kind: TokenFrame, Frame: fx.frame})
			}
			want = append(want, Token{Kind: TokenACK}, Token{Kind: TokenNAK})
		}
		t0 := time.Unix(0, 0)
		d := NewDecoder(c, 100*time.Millisecond)
		whole := d.Feed(nil, stream, t0)
		if got, w := describe(whole), describe(want); got != w {
			t.Fatalf("%v whole stream:\n got %s\nwant %s", c, got, w)
		}
		d = NewDecoder(c, 100*time.Millisecond)
		var single []Token
		for i := range stream {
			single = d.Feed(single, stream[i:i+1], t0.Add(time.Duration(i)*time.Millisecond))
		}
		if got, w := describe(single), describe(want); got != w {
			t.Fatalf("%v byte by byte:\n got %s\nwant %s", c, got, w)
		}
	}
}

// TestDecoderInterByte stalls a frame mid-way for longer than the
// inter-byte timeout: it is abandoned (no NAK), the rest of it is skipped
// as garbage, and the next whole frame is read.
func TestDecoderInterByte(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const gap = 100 * time.Millisecond
	half := len(goodStatus) / 2
	d := NewDecoder(CRC16, gap)
	toks := d.Feed(nil, goodStatus[:half], t0)
	toks = d.Feed(toks, goodStatus[half:], t0.Add(gap+time.Millisecond))
	toks = d.Feed(toks, goodStatus, t0.Add(2*gap))
	want := fmt.Sprintf("BAD(truncated,nak=false) F01:%q ", payStatus)
	if got := describe(toks); got != want {
		t.Fatalf("stalled frame:\n got %s\nwant %s", got, want)
	}

	// A stall of exactly the timeout is not a stall.
	d = NewDecoder(CRC16, gap)
	toks = d.Feed(nil, goodStatus[:half], t0)
	toks = d.Feed(toks, goodStatus[half:], t0.Add(gap))
	if got, want := describe(toks), fmt.Sprintf("F01:%q ", payStatus); got != want {
		t.Fatalf("gap of exactly the timeout:\n got %s\nwant %s", got, want)
	}

	// Expire drops a part-read frame without waiting for a byte.
	d = NewDecoder(CRC16, gap)
	toks = d.Feed(nil, goodStatus[:half], t0)
	if toks = d.Expire(toks, t0.Add(gap)); len(toks) != 0 || !d.InFrame() {
		t.Fatalf("Expire at the timeout: got %s, in frame %v; want nothing, still in frame", describe(toks), d.InFrame())
	}
	if toks = d.Expire(toks, t0.Add(gap+1)); describe(toks) != "BAD(truncated,nak=false) " || d.InFrame() {
		t.Fatalf("Expire past the timeout: got %s, in frame %v", describe(toks), d.InFrame())
	}
}

func TestChecksumNames(t *testing.T) {
	for _, c := range []Checksum{CRC16, LRC} {
		got, err := ParseChecksum(c.String())
		if err != nil || got != c {
			t.Fatalf("ParseChecksum(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
	}
	if _, err := ParseChecksum("crc32"); err == nil {
		t.Fatal("ParseChecksum(crc32): no error")
	}
}
