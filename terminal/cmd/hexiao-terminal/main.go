// Command hexiao-terminal runs a Hexiao redemption terminal at a store
// counter: the counter window by default, or enrollment, a headless
// line-per-code mode and the day's log.
//
// For now it only answers version and help; the window and the other
// commands are listed as coming and refuse to run until the terminal lands.
// main only wires the process to run, which holds everything testable; it
// must never hold redemption rules, which belong in package terminal.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hexiao/hexiao/protocol"
)

// version is the build version, set at link time with
// -ldflags "-X main.version=...".
var version = "dev"

const name = "hexiao-terminal"

const usage = `hexiao-terminal runs a Hexiao redemption terminal at a store counter.

Usage:
  hexiao-terminal <command> [flags]

Commands:
  version    print the build version and the protocol version
  help       print this help (also -h, --help)

Coming (not built yet; see README 'Status'):
  hexiao-terminal [--data DIR]
             the counter window (no command)
  enroll --data DIR --hub URL --token TOKEN
             exchange a one-time token for this terminal's identity
  headless --data DIR [--scanner PATH] [--ecr PATH] [--printer PATH]
             read codes from stdin, one a line; one JSON decision a line
  log --data DIR [--day YYYY-MM-DD] [--csv]
             print the day's redemptions
  import --data DIR FILE
             load a snapshot file (protocol.SnapshotPage lines) without a hub
`

// coming lists the commands this build does not have yet.
var coming = map[string]bool{
	"enroll":   true,
	"headless": true,
	"log":      true,
	"import":   true,
}

// usageError is a mistake in the command line; main exits 2 on it.
type usageError struct{ msg string }

func (e *usageError) Error() string {
	return name + ": " + e.msg + "\nrun '" + name + " help' for usage"
}

// run is the whole program behind main: it reads args (without the program
// name) and writes its output to stdout and diagnostics to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	var rest []string
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch {
	case cmd == "version":
		if len(rest) > 0 {
			return &usageError{msg: "version takes no arguments"}
		}
		_, err := fmt.Fprintf(stdout, "%s %s (protocol %s)\n", name, version, protocol.Version)
		return err
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	case cmd == "" || strings.HasPrefix(cmd, "-"):
		// No command, or only flags: the counter window.
		return fmt.Errorf("the %s window is not built yet: see README 'Status'", name)
	case coming[cmd]:
		return fmt.Errorf("%s %s is not built yet: see README 'Status'", name, cmd)
	default:
		return &usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
	}
}

// exitCode maps the error from run to the process exit status.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Every error run returns names the program already.
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(exitCode(err))
}
