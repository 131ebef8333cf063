// Package ecr is the cash-register (ECR) link: the register is the master
// and sends requests (PREPARE, COMMIT, REVERSE, LAST_RESULT, STATUS,
// TOTALS, END_OF_DAY) over a serial line; the terminal answers each one.
// docs/ecr.md is the protocol as an integrator implements it.
//
// It provides the frame codec (STX‖payload‖ETX‖checksum with DLE
// escaping, CRC-16/CCITT-FALSE or an LRC profile), the link state machine
// (ACK/NAK, inter-byte timeout, at most MaxRetransmits retransmissions, a
// repeated request answered from cache and never handled twice), the
// payload codec (COMMAND FS V=1 FS KEY=value…), the terminal's end
// (Server, calling a Handler the terminal implements), the register's end
// (Register) and a register simulator (RunSim).
//
// It must never decide a redemption, keep a journal or retry a request
// whose outcome is unknown: the Handler decides, and a register that saw
// no reply asks LAST_RESULT. Like every driver it imports neither
// terminal nor hub; it only reads bytes from an io.ReadWriter it is given.
package ecr
