// Package mqttlink connects the hub's ledger to the terminals' MQTT topics:
// it takes event batches, claims, feed and snapshot requests and presence
// from hx/v1/t/+/…, hands each to the Ledger as the terminal named by the
// topic, and publishes the answer (ack, claim reply, feed page, snapshot
// page) to that terminal's answer topic; it forwards the hub's feed pushes to
// the store feed topics and keeps the hub's version announcement retained.
//
// It runs over a Transport: the embedded broker in the same process
// (Embedded), or an external broker such as Mosquitto or EMQX over TCP
// (Dial), optionally through shared subscriptions so that several hub
// instances split the load.
//
// It must never trust a payload's own terminal field (the Ledger checks it
// against the topic with protocol.CheckOrigin), never let a malformed payload
// reach the Ledger, and never take a broker's PUBACK for delivery: terminals
// keep re-sending until the Ledger's own Ack covers their events (DESIGN.md
// invariant 2). It holds no ledger state of its own.
//
// A batch that does not decode (bad JSON, an unknown wire version, over the
// size limit) is refused in an ack at the terminal's watermark, through
// Ledger.RefuseMalformed, which raises a malformed_message alert; a claim
// that does not decode but names its seq is answered with reason
// malformed, so the terminal refuses the scan instead of timing out. Feed
// and snapshot requests and presence that do not decode are counted,
// logged and dropped: the terminal asks again. Config.OnRevoked (the
// embedded broker's Disconnect, in hexiao-hub serve) ends a revoked
// terminal's session as soon as the ledger's notice says so.
package mqttlink
