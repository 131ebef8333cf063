// Package hublink keeps a terminal in sync with its hub over MQTT. It is the
// only importer of paho (STYLE.md).
//
// Enroll exchanges a one-time token for the terminal's identity and
// credentials over HTTPS pinned to the hub's CA (plain HTTP only to a
// loopback hub) and writes DIR/hub.json. A Link then, on one loop
// goroutine:
//
//   - pushes the journal in batches (up to Options.Window ahead of the
//     hub's application ack) and lets events leave the outbox only when an
//     ack covers them and its hash is this journal's (DESIGN.md invariant
//     2); it sends again from the watermark after every reconnect and when
//     the watermark stalls for Options.AckStall;
//   - answers the engine's claims (terminal.HubLink) and fails them at once
//     when the link is down, revoked or incompatible;
//   - follows the change feed from the store's cursor and applies pages and
//     live pushes transactionally, asking for a page when a push skips a
//     change; a terminal that never synced pulls a snapshot page by page,
//     resumable across restarts;
//   - publishes a retained birth message with a last will, and checks the
//     hub's retained version announcement (protocol.CheckCompatible) before
//     it syncs anything;
//   - wipes the cache when the hub says the terminal is revoked (a feed
//     problem, or the hub's answer to POST /api/v1/terminal/status after
//     the broker refused the login);
//   - measures the hub's clock offset on each ack and claim reply.
//
// docs/terminal.md ("Sync with the hub") describes the behaviour in full.
package hublink
