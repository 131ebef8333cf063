package ecr

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeFrame: arbitrary bytes never panic the decoder (one-shot or
// streaming, whole or split), a frame it decodes re-encodes canonically and
// decodes the same, and any seq and payload round-trip through
// AppendFrame and DecodeFrame.
func FuzzDecodeFrame(f *testing.F) {
	for _, fx := range frameFixtures {
		f.Add(fx.wire, fx.check == LRC, uint8(len(fx.wire)/2))
	}
	f.Fuzz(func(t *testing.T, data []byte, useLRC bool, split uint8) {
		c := CRC16
		if useLRC {
			c = LRC
		}
		fr, err := DecodeFrame(data, c)
		if err == nil {
			enc, err := AppendFrame(nil, fr, c)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", fr, err)
			}
			again, err := DecodeFrame(enc, c)
			if err != nil || again.Seq != fr.Seq || !bytes.Equal(again.Payload, fr.Payload) {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", fr, again, err)
			}
			if len(fr.Payload) > MaxPayload {
				t.Fatalf("decoded payload of %d bytes, over the cap", len(fr.Payload))
			}
		} else if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrStuffing) && !errors.Is(err, ErrOversized) &&
			!errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNoFrame) {
			t.Fatalf("DecodeFrame: error %v is none of the package's", err)
		}

		// Streaming, split in two with a stall between: same tokens as
		// whole when the stall is short, never a panic either way.
		at := int(split) % (len(data) + 1)
		d := NewDecoder(c, 50*time.Millisecond)
		t0 := time.Unix(0, 0)
		toks := d.Feed(nil, data[:at], t0)
		toks = d.Feed(toks, data[at:], t0.Add(10*time.Millisecond))
		whole := NewDecoder(c, 50*time.Millisecond).Feed(nil, data, t0)
		if describe(toks) != describe(whole) {
			t.Fatalf("split at %d: %s, whole: %s", at, describe(toks), describe(whole))
		}
		d = NewDecoder(c, 50*time.Millisecond)
		_ = d.Feed(d.Feed(nil, data[:at], t0), data[at:], t0.Add(time.Second))

		// Encode then decode any seq and payload.
		if len(data) > 0 {
			in := Frame{Seq: data[0], Payload: data[1:]}
			enc, err := AppendFrame(nil, in, c)
			if len(in.Payload) > MaxPayload {
				if !errors.Is(err, ErrOversized) {
					t.Fatalf("AppendFrame of %d bytes: %v, want ErrOversized", len(in.Payload), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range enc[1 : len(enc)-1] {
				if b == STX || b == ACK || b == NAK {
					t.Fatalf("raw control byte 0x%02X inside the encoded frame % X", b, enc)
				}
			}
			out, err := DecodeFrame(enc, c)
			if err != nil || out.Seq != in.Seq || !bytes.Equal(out.Payload, in.Payload) {
				t.Fatalf("decode(encode(%+v)) = %+v, %v", in, out, err)
			}
		}
	})
}

// FuzzDecodeRequest: arbitrary payloads never panic the request parser; a
// refusal is a *RequestError whose reply always encodes (the server can
// always answer); a good request re-encodes and decodes the same.
func FuzzDecodeRequest(f *testing.F) {
	for _, fx := range requestFixtures {
		f.Add(fx.payload)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, err := DecodeRequest(payload)
		if err != nil {
			var rerr *RequestError
			if !errors.As(err, &rerr) {
				t.Fatalf("error %v is not a *RequestError", err)
			}
			enc, err := EncodeReply(rerr.Reply())
			if err != nil {
				t.Fatalf("the refusal %+v cannot be encoded: %v", rerr.Reply(), err)
			}
			if _, err := DecodeReply(enc); err != nil {
				t.Fatalf("the refusal %q cannot be decoded: %v", enc, err)
			}
			return
		}
		enc, err := EncodeRequest(req)
		if err != nil {
			t.Fatalf("EncodeRequest(%+v): %v", req, err)
		}
		again, err := DecodeRequest(enc)
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("round trip of %+v via %q: %+v, %v", req, enc, again, err)
		}
	})
}

// FuzzDecodeReply: the register's reply parser never panics, and a reply
// it accepts encodes back to a payload that decodes the same.
func FuzzDecodeReply(f *testing.F) {
	for _, fx := range replyFixtures {
		f.Add(fx.payload)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := DecodeReply(payload)
		if err != nil {
			return
		}
		enc, err := EncodeReply(r)
		if err != nil {
			t.Fatalf("EncodeReply(%+v) of an accepted reply: %v", r, err)
		}
		again, err := DecodeReply(enc)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip of %+v via %q: %+v, %v", r, enc, again, err)
		}
	})
}
