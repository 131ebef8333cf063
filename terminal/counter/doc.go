// Package counter runs one store counter's devices around the redemption
// engine. Every input — a line typed or piped in, a serial or wedge
// scanner, the cash register's link — reaches the engine through the same
// Commit; an accepted redemption prints its slip on the receipt printer
// without the verdict ever waiting for it; X and Z reports print; the cash
// register's commands are answered from the engine and the journal.
//
// A printer failure never blocks or undoes a redemption: the slip is
// recorded as unprinted, with why, and can be reprinted. The journal is the
// only record of decisions; this package never writes one itself.
//
// It must never hold redemption rules (package terminal), touch SQL
// (terminal/sqlite) or talk to the hub (terminal/hublink): it takes the
// engine and a small Store interface.
package counter
