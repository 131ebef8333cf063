// Package e2e holds the end-to-end tests of Hexiao: the real hexiao-hub
// and hexiao-terminal binaries, built once by TestMain, started as
// processes on free loopback ports in temporary directories, and driven
// the way an operator and a counter do — the REST API, `enroll`,
// `headless` on a pipe, `log` — with an external Mosquitto, a
// connection-cutting TCP proxy, SIGKILL and hub restarts in between.
//
// It provides no code to other packages and must never reach into the
// programs' internals to make a test pass: what a test asserts is what a
// person could see from outside (API answers, headless lines, the
// terminal's log). The one exception is a read-only look at a terminal's
// cache table to time how soon the change feed reaches it.
//
// A failing test prints the tail of each process's stderr; with
// HEXIAO_E2E_LOGS=DIR every process's whole stderr is kept in DIR too.
// The figures (feed latency, drain time, scans/s) are t.Logf lines, seen
// with go test -v; nothing asserts on them.
package e2e
