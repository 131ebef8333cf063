// Package guard holds repository-wide guard tests; no code used by the
// programs. Its tests check that imports point the way the package map in
// STYLE.md and the README says (protocol imports only the standard library
// and go-semver; hub never reaches terminal, drivers or Fyne; terminal/ui
// never reaches SQL or MQTT; drivers reach neither terminal nor hub; only
// drivers/serialport imports go.bug.st/serial and only terminal/hublink
// imports paho) and that every package has exactly one package doc comment.
//
// It must never hold code that a program imports: everything but this
// comment lives in _test.go files.
package guard
