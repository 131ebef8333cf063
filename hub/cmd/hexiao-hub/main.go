// Command hexiao-hub runs the Hexiao hub: the ledger of every redemption,
// the MQTT broker terminals connect to, and the REST API for headquarters
// and upstream platforms.
//
// main only wires the process to run, which holds everything testable and
// which end-to-end tests start on port 0 in a temporary directory; it must
// never hold ledger rules, which belong in package hub.
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
terminals connect to, and the REST API.

Usage:
  hexiao-hub <command> [flags]

Commands:
  serve --data DIR [--http 127.0.0.1:8480] [--mqtt 127.0.0.1:1884]
        [--broker mqtt://user:pass@host:port [--terminal-broker mqtt(s)://host:port]]
        [--db postgres://...] [-v]
             run the hub: the SQLite ledger under DIR, the embedded MQTT
             broker on --mqtt (or an external one with --broker), the REST
             API on --http. Port 0 picks a free port. Prints one line per
             listener: "http listening on ADDR", "mqtt listening on ADDR"
             (printed once terminals may log in; with --broker, "mqtt
             connected to URL" instead, the password hidden), and "ca
             fingerprint SHA256:..." of the hub's own CA (DIR/ca.pem, made
             on first start). Off loopback, MQTT and HTTP speak TLS only,
             with a certificate from that CA; on loopback, plain TCP.
             With --broker, --terminal-broker is the MQTT address enrolled
             terminals are told to use (mqtt_url in their hub.json; plain
             mqtt:// only on loopback, mqtts:// with a broker certificate the
             hub's CA signed); without it enrollment names no broker and the
             operator writes it into each terminal's hub.json.
             First start creates DIR/admin.token (0600), the bearer token of
             the first HQ admin, and the hub's keys (DIR/pepper,
             DIR/master.key, an issuing key in the ledger).
  demo --data DIR
             seed a demo chain (stores, campaigns, codes of every format, an
             enrollment token) into DIR, print what to scan and save it to
             DIR/demo.txt; run it before serve (one process per DIR)
  user add --data DIR --name NAME [--display-name TEXT] --role admin|viewer|store_manager [--store ID]
  user list|passwd|disable --data DIR [--name NAME] [--enable]
             manage the HQ dashboard's users on a stopped hub (a running
             one: POST /api/v1/users); add and passwd read the password from
             the first line of stdin, never from a flag
  version    print the build version and the protocol version
  help       print this help (also -h, --help)

Not built yet: --db postgres:// (a later issue adds the PostgreSQL ledger).

Example:
  hexiao-hub demo --data ./data && hexiao-hub serve --data ./data
  curl -H "Authorization: Bearer $(cat ./data/admin.token)" http://127.0.0.1:8480/api/v1/stores
`

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
	case cmd == "serve":
		return serveCmd(ctx, rest, stdout, stderr)
	case cmd == "demo":
		return demoCmd(ctx, rest, stdout, stderr)
	case cmd == "user":
		return userCmd(ctx, rest, stdout, stderr)
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
