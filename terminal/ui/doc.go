// Package ui is the counter window: the cashier's scan screen with its
// verdicts and status bar, sign-in and the store manager's tools
// (log, voids, reprints, X/Z reports, sync, other terminals, settings),
// enrollment, in zh-CN and en, switchable at run time.
//
// Views take a Backend (the command wires it to the engine, the counter,
// the store, the hub link and the devices) and call it only from the
// App's worker goroutine; Fyne widgets are touched only on the UI
// goroutine, through Options.Do. Keyboard input goes through the
// drivers/scanner wedge detector, so a scanner gun's bursts and a person's
// typing are told apart. This package must never import SQL or MQTT code,
// nor hold redemption rules: those belong in package terminal.
package ui
