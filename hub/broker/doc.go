// Package broker is the hub's embedded MQTT broker: mochi-mqtt with the
// terminal login and topic ACL of DESIGN.md invariant 5, and an in-process
// client through which the hub itself publishes and subscribes.
//
// A terminal logs in with username and client id both equal to its terminal
// id and its current MQTT password, checked by a Directory; it may then
// publish only on its own terminal-side topics (protocol.TerminalMayPublish),
// set a last will only where it may publish, and subscribe only to its own
// hub-side topics, its store's feed and the hub version
// (protocol.TerminalMaySubscribe). Only presence stays retained; the retain
// flag of any other terminal publish is cleared. The in-process client is
// the hub and bypasses the ACL.
//
// The package must never import the hub package (the Directory interface is
// how the hub answers logins), never decode payloads (that is hub/mqttlink's
// work) and never log a password.
package broker
