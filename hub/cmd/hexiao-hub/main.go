// Command hexiao-hub runs the Hexiao hub: the ledger of every redemption,
// the MQTT broker terminals connect to, and the REST API and dashboard for
// headquarters and upstream platforms.
//
// For now it only answers version and help; serve and demo are listed as
// coming and refuse to run until the hub lands. main only wires the process
// to run, which holds everything testable; it must never hold ledger rules,
// which belong in package hub.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hexiao/hexiao/internal/cli"
	"github.com/hexiao/hexiao/protocol"
)

// version is the build version, set at link time with
// -ldflags "-X main.version=...".
var version = "dev"

const name = "hexiao-hub"

const usage = `hexiao-hub runs the Hexiao hub: the redemption ledger, the MQTT broker
terminals connect to, and the REST API and dashboard.

Usage:
  hexiao-hub <command> [flags]

Commands:
  version    print the build version and the protocol version
  help       print this help (also -h, --help)

Coming (not built yet; see README 'Status'):
  serve --data DIR [--http 127.0.0.1:8480] [--mqtt 127.0.0.1:1884]
        [--broker mqtt://host:port] [--db postgres://...]
             run the hub: embedded broker, SQLite ledger, dashboard and API
  demo --data DIR
             seed a demo chain and print what to scan
`

// coming lists the commands API.md promises that this build does not have yet.
var coming = map[string]bool{
	"serve": true,
	"demo":  true,
}

// usageErr returns a usage error of this program; main exits 2 on it.
func usageErr(msg string) error { return &cli.UsageError{Program: name, Msg: msg} }

// run is the whole program behind main: it reads args (without the program
// name) and writes its output to stdout and diagnostics to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch {
	case cmd == "version":
		if len(rest) > 0 {
			return usageErr("version takes no arguments")
		}
		_, err := fmt.Fprintf(stdout, "%s %s (protocol %s)\n", name, version, protocol.Version)
		return err
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	case coming[cmd]:
		return fmt.Errorf("%s %s is not built yet: see README 'Status'", name, cmd)
	default:
		return usageErr(fmt.Sprintf("unknown command %q", cmd))
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
	os.Exit(cli.ExitCode(err))
}
