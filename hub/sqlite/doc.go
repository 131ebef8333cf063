// Package sqlite is the hub's ledger on SQLite: an implementation of
// hub.Store in one file, in WAL mode with synchronous=FULL, with ordered
// embedded migrations recorded in the schema_migrations table.
//
// Every Update runs on the one writer connection, held open for the Store's
// life, in a BEGIN IMMEDIATE transaction, so Updates are serialised (which
// is what makes a claim's conditional update atomic); every View runs on a
// pool of read-only connections and sees one snapshot. Statements are
// prepared once per connection. Times are stored as Unix microseconds UTC
// (PostgreSQL's precision) and come back in UTC; lists are JSON text;
// signed event bodies and signatures are BLOBs. A change-feed seq is never
// handed out twice: AUTOINCREMENT keeps committed ones, and the Store
// remembers the ones Updates that rolled back were given (for its life; no
// one outside the process saw those).
//
// The package reads and writes rows and nothing more: it must never hold a
// rule about what an event, a claim or an alert means. Every such rule lives
// in package hub, and hub/storetest is the conformance suite this package
// passes.
package sqlite
