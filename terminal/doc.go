// Package terminal is the redemption engine of a Hexiao terminal: Prepare,
// Commit and Void, the campaign rules and the offline policy. It declares
// the interfaces it needs — Store (the cache and journal, implemented by
// terminal/sqlite), HubLink (claims at the hub, terminal/hublink) — and
// takes the clock as a func() time.Time.
//
// Prepare parses and verifies a code and applies, in order: revoked or
// blocked, validity window (the code's and its campaign's), store/region
// scope, redemption hours in the store's zone, uses left, minimum interval,
// and reuse of a dynamic code's time step. Commit does the same under the
// engine's lock, then claims at the hub when online (a pending record
// first, so a crash is resolved on restart) or applies the campaign's
// offline policy (deny, or allow within per-terminal caps on count, value
// and time since the last hub contact), journals the outcome and only then
// returns it. Refusals are journaled as attempts; repeated unknown codes at
// the counter pause it (rate_limited). Void undoes uses within the undo
// window, per use, never on a settled day. The staff rules (PINs, badges,
// the sign-in lockout) are here too, as pure functions.
//
// It must never report "accepted" before the event is durably journaled,
// never import hub, and never touch SQL, MQTT or Fyne directly: those live
// in its subpackages.
package terminal
