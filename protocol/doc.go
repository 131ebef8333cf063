// Package protocol is the contract between Hexiao terminals and the hub: the
// three code formats and their verification, issuing keys, journal events
// and their hash chain, every MQTT message and topic, the closed list of
// reasons, and the protocol version rule.
//
// It is pure: no I/O, no goroutines, no clocks — callers pass the time (now)
// and the entropy (an io.Reader). It imports only the standard library and
// github.com/coreos/go-semver, so both programs and any integrator can
// depend on it. It must never grow a dependency on terminal, hub, drivers or
// a transport.
//
// # Codes
//
// A signed code is "HX1:" followed by RFC 4648 base32 (no padding) of
//
//	version(1) ‖ key id ‖ code id ‖ campaign id ‖ valid from ‖ valid until ‖
//	uses ‖ stores ‖ regions ‖ Ed25519 signature(64)
//
// where strings are uvarint-length-prefixed bytes, times are uvarint Unix
// seconds, lists are a uvarint count then the strings, and the signature
// covers "hexiao/signed-code/v1\x00" followed by every byte before it. Every
// character is in the QR alphanumeric set. KeyRing.Verify checks it against
// the issuing keys a terminal holds, each with a validity window for
// rotation.
//
// A card secret is 8 to 32 digits and letters; NormalizeSecret folds
// full-width characters, case, spaces and hyphens, and SecretHasher makes the
// HMAC-SHA256 keyed hash (with the hub's pepper) it is stored and looked up
// under.
//
// A dynamic code is "HXD:" + code id + an 8-digit RFC 6238 TOTP value
// (HMAC-SHA256, 30 s steps). VerifyTOTP accepts the current step ±1 and
// returns the step, so a caller can refuse a step used before.
//
// ParseCode tells the three apart. Failures are *CodeError: a Reason from
// the closed list for the cashier, a sentinel error (ErrMalformed,
// ErrUnknownKey, ErrBadSignature, …) for errors.Is, and a detail.
//
// # Events and the chain
//
// A terminal's journal is a sequence of Events (redemption, void, attempt,
// z_report) numbered by Seq from 1, identified everywhere by terminal:seq.
// Each event's Prev is the SHA-256 of the previous event's body bytes; each
// body is signed with the terminal's Ed25519 key. A SignedEvent keeps the
// exact body bytes, which must be canonical (what encoding/json makes of the event), so hashes
// and signatures never depend on re-encoding and every JSON reader sees the
// same event. VerifyChain checks a segment against the last verified head
// and reports exactly where and how it breaks (gap, fork, stale, bad
// signature, wrong terminal or store, malformed); VerifyChainLinked gives the
// same verdict on every body with one signature check per segment.
//
// # Topics and QoS
//
// Every topic is under hx/v1/. Payloads are JSON with a "v" wire-version
// field (see Encode and Decode); golden examples are in testdata/golden.
//
//	topic                              from      QoS retained payload
//	hx/v1/t/{terminal}/events          terminal  1   no       EventBatch
//	hx/v1/t/{terminal}/ack             hub       1   no       Ack (app watermark)
//	hx/v1/t/{terminal}/claim           terminal  1   no       ClaimRequest
//	hx/v1/t/{terminal}/claim/reply     hub       1   no       ClaimReply
//	hx/v1/t/{terminal}/feed/req        terminal  1   no       FeedRequest
//	hx/v1/t/{terminal}/feed            hub       1   no       FeedPage
//	hx/v1/t/{terminal}/snapshot/req    terminal  1   no       SnapshotRequest
//	hx/v1/t/{terminal}/snapshot        hub       1   no       SnapshotPage
//	hx/v1/t/{terminal}/presence        terminal  1   yes      Presence (birth; last will)
//	hx/v1/s/{store}/feed               hub       1   no       FeedPush
//	hx/v1/hub/version                  hub       1   yes      VersionAnnounce
//
// A FeedPage or FeedPush carries Changes. Since 1.2.0 a code_redeemed or
// code_voided change may carry By, a ChangeOrigin naming the event behind it
// (terminal, store, seq, uses, amount, mode, cashier, terminal time), so a
// terminal can show its store's other terminals' redemptions; no other
// change kind carries it.
//
// Everything is QoS 1 with idempotent receivers: a broker's PUBACK is never
// taken as delivery. The terminal deletes events from its outbox only when an
// Ack watermark covers them, and re-sends from the watermark after every
// reconnect. TerminalMayPublish and TerminalMaySubscribe are the broker ACL:
// a terminal publishes only its own terminal-side topics and reads only its
// own, its store's feed and the hub version.
//
// # Versions
//
// Version is the protocol version (semantic versioning); CheckCompatible is
// the rule: equal majors, and the hub's minor at least the terminal's.
package protocol
