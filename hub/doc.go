// Package hub holds the ledger rules of the Hexiao hub: ingesting terminal
// events idempotently, answering online claims with one atomic conditional
// update, detecting conflicts and over-redemptions, raising alerts and
// building each store's change feed (a code's redeemed or voided change
// names the claim or event behind it, protocol.ChangeOrigin, stored with the
// change and served again from the feed). It declares the Store interface its
// ledger implementations (hub/sqlite, hub/postgres) satisfy.
//
// It must never import terminal, drivers or Fyne: the hub speaks to terminals
// only through protocol messages.
package hub
