// Package storetest is the conformance suite every hub.Store passes: Run
// opens fresh stores and checks each Reader and Tx method against real
// values — round trips field by field, ErrNotFound and ErrExists, rollback
// on error, panic and cancellation, snapshots, the claim's conditions and
// its atomicity under concurrent Updates, the change feed's seqs, and every
// filter of Events and Alerts.
//
// What the suite takes as the contract, beyond the doc comments of
// hub.Store:
//
//   - Times keep microsecond precision and come back in UTC; the zero time
//     comes back zero. (Fixtures use microsecond times, which both SQLite
//     and PostgreSQL keep exactly.)
//   - Empty lists and absent optional values come back nil.
//   - A Put method inserts or replaces the whole record (PutTerminal
//     included, Head and all). PutLock of a day already locked leaves one
//     lock.
//   - A Tx method that returns ErrExists or ErrNotFound leaves the
//     transaction usable, and InsertCodes inserts nothing even if the caller
//     goes on to commit.
//   - Change seqs are strictly increasing and a seq AddChanges returned is
//     never returned again, even when its Update rolled back (an
//     implementation may leave a gap there; it may not reuse the seq).
//   - Events' ingest order is a cursor (EventFilter.AfterID): the suite
//     finds each event's cursor by searching, so it needs no accessor.
//   - Alerts and OpenAlert order newest first by At, then by id.
//   - Lists whose order hub.Store does not state (Stores, Campaigns, Keys,
//     Terminals, Locks) are compared as sets.
//
// The package must never know an implementation: it sees only hub.Store.
package storetest
