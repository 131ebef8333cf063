package protocol

import (
	"crypto/ed25519"
	"fmt"
)

// ChainHead is the last verified event of one terminal's chain, with the
// store the terminal is enrolled in (every event must name it). The zero Seq
// means nothing verified yet; the next event must then be seq 1 with a zero
// Prev.
type ChainHead struct {
	Terminal string `json:"terminal"`
	Store    string `json:"store"`
	Seq      uint64 `json:"seq"`
	Hash     Hash   `json:"hash"`
}

// BreakKind says how a chain segment failed to continue the head.
type BreakKind string

// The ways a chain breaks.
const (
	BreakMalformed     BreakKind = "malformed"      // body does not decode or validate
	BreakBadSignature  BreakKind = "bad_signature"  // not signed by the terminal's key
	BreakWrongTerminal BreakKind = "wrong_terminal" // body names another terminal
	BreakWrongStore    BreakKind = "wrong_store"    // body names a store the terminal is not enrolled in
	BreakGap           BreakKind = "gap"            // seq skips ahead: events are missing
	BreakStale         BreakKind = "stale"          // seq at or below the head: a re-send or a replay
	BreakFork          BreakKind = "fork"           // next seq, but prev is not the head's hash
)

// ChainError says exactly where and how a segment breaks: the index in the
// segment, the seq the event claims (0 if unreadable), and what was expected.
type ChainError struct {
	Index  int
	Seq    uint64
	Kind   BreakKind
	Detail string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("chain breaks at index %d (seq %d): %s: %s", e.Index, e.Seq, e.Kind, e.Detail)
}

// VerifyChain checks that events continue head in order: each one signed by
// pub, naming head's terminal, with seq one more than the one before and
// prev equal to its hash. It returns the new head after the longest verified
// prefix, that prefix decoded, and a *ChainError for the first event that
// breaks the chain (nil if none). Callers drop events at or below their head
// they already hold (same hash) before calling; a differing hash at a known
// seq is a fork they detect by comparing hashes.
//
// VerifyChain checks every signature: one Ed25519 verification per event.
// Terminal and store come from head, which the hub fills from enrollment and
// the broker login, never from a payload.
func VerifyChain(head ChainHead, pub ed25519.PublicKey, events []SignedEvent) (ChainHead, []Event, error) {
	return walkChain(head, pub, events, false)
}

// VerifyChainLinked checks the hash links of every event and the signature
// of the last only: one signature verification per segment instead of one
// per event. That proves every body is the terminal's, because
// the last body's prev commits to the one before it, and so on back to head.
// When anything fails it falls back to VerifyChain, so a break is reported
// exactly where it is. A bad signature on an event before the last, with
// every body intact, goes unnoticed; store the signatures and use
// VerifyChain where each event must prove itself alone.
func VerifyChainLinked(head ChainHead, pub ed25519.PublicKey, events []SignedEvent) (ChainHead, []Event, error) {
	if h, out, err := walkChain(head, pub, events, true); err == nil {
		return h, out, nil
	}
	return walkChain(head, pub, events, false)
}

func walkChain(head ChainHead, pub ed25519.PublicKey, events []SignedEvent, lastSigOnly bool) (ChainHead, []Event, error) {
	out := make([]Event, 0, len(events))
	for i, se := range events {
		fail := func(seq uint64, kind BreakKind, format string, args ...any) (ChainHead, []Event, error) {
			return head, out, &ChainError{Index: i, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)}
		}
		if !lastSigOnly || i == len(events)-1 {
			if len(pub) != ed25519.PublicKeySize || len(se.Sig) != ed25519.SignatureSize ||
				!ed25519.Verify(pub, eventMessage(se.Body), se.Sig) {
				return fail(0, BreakBadSignature, "signature does not verify with terminal %s's key", head.Terminal)
			}
		}
		e, err := se.Decode()
		if err != nil {
			return fail(0, BreakMalformed, "%v", err)
		}
		switch {
		case e.Terminal != head.Terminal:
			return fail(e.Seq, BreakWrongTerminal, "event names terminal %q, chain is %q", e.Terminal, head.Terminal)
		case e.Store != head.Store:
			return fail(e.Seq, BreakWrongStore, "event names store %q, terminal %s is enrolled in %q", e.Store, head.Terminal, head.Store)
		case e.Seq <= head.Seq:
			return fail(e.Seq, BreakStale, "seq %d at or below head %d", e.Seq, head.Seq)
		case e.Seq > head.Seq+1:
			return fail(e.Seq, BreakGap, "seq %d follows %d: %d missing", e.Seq, head.Seq, e.Seq-head.Seq-1)
		case e.Prev != head.Hash:
			return fail(e.Seq, BreakFork, "prev %s, head %d has %s", short(e.Prev), head.Seq, short(head.Hash))
		}
		head = ChainHead{Terminal: head.Terminal, Store: head.Store, Seq: e.Seq, Hash: se.Hash()}
		out = append(out, e)
	}
	return head, out, nil
}

func short(h Hash) string { return h.String()[:12] }
