// Package terminal is the redemption engine of a Hexiao terminal: Prepare,
// Commit and Void, the campaign rules and the offline policy. It declares
// the interfaces it needs (Store, HubLink, Clock), which terminal/sqlite and
// terminal/hublink implement.
//
// It must never show "accepted" before the event is committed to the local
// journal, never import hub, and never touch SQL, MQTT or Fyne directly:
// those live in its subpackages.
package terminal
