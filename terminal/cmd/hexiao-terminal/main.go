// Command hexiao-terminal runs a Hexiao redemption terminal at a store
// counter: the counter window by default, or enrollment, a headless
// line-per-code mode and the day's log.
//
// enroll, init, import, headless and log work on a local data directory;
// with no command it opens the counter window (package terminal/ui).
// main only wires the process to run, which holds everything testable; it
// must never hold redemption rules, which belong in package terminal.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hexiao/hexiao/internal/cli"
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
  enroll --data DIR (--link hexiao://enroll?... | --hub URL --token TOKEN [--ca SHA256:...])
             exchange a one-time enrollment token (typed, or the link scanned
             from the hub's QR code) for this terminal's identity, store and
             hub credentials; makes the terminal's own signing key
  init --data DIR --terminal ID --store ID --pepper-file FILE [--region R] [--timezone TZ]
             set up a terminal without a hub (tests, disaster recovery):
             identity, a new signing key, the hub's card-secret pepper (hex)
  import --data DIR FILE
             load a snapshot file (protocol.SnapshotPage objects, one a line;
             - for stdin) into the cache, all or nothing
  headless --data DIR [--cashier ID] [--lang en|zh-CN] [--claim-timeout 800ms]
           [--sync-wait 30s] [--flush-timeout 30s] [--no-hub]
           [--scanner PORT] [--ecr PORT [--ecr-checksum crc16|lrc]]
           [--printer PORT|PATH [--printer-columns 48|32] [--store-name NAME]]
           [--display PORT]
             read codes from stdin, one a line (or {"code","uses","cashier",
             "order_ref","idem_key"} JSON), and write one JSON decision a line;
             an enrolled terminal syncs with its hub meanwhile and flushes
             its outbox at the end of stdin. Control lines:
             {"cmd":"offline"|"online","manager":ID,"note":...} switch
             force-offline; {"cmd":"status"} prints the sync status;
             {"cmd":"x"} and {"cmd":"z","manager":ID} make (and print) the X
             and the numbered Z report; {"cmd":"reprint","seq":N} reprints
             a slip. --scanner reads a serial scanner, --ecr serves the cash
             register (docs/ecr.md), --printer prints each accepted slip,
             --display shows each verdict on a CD5220 customer display;
             with a scanner or register it keeps serving them after the end
             of stdin, until SIGINT or SIGTERM. PORT is PATH[:BAUD[:FRAME]],
             e.g. /dev/ttyUSB0:115200
  ports      list the serial ports the system reports (USB ids, serial
             numbers), for --scanner, --ecr and --printer
  ecr-sim [--checksum crc16|lrc] PORT
             play the cash register on PORT: command lines on stdin
             (COMMIT code=... uses=1 order=A-1 key=K1, LAST_RESULT key=K1, ...),
             one JSON reply a line on stdout (docs/ecr.md)
  log --data DIR [--day YYYY-MM-DD] [--csv]
             print a business day's journal with totals by campaign
  staff add --data DIR --id ID [--name NAME] [--role cashier|manager] [--pin-stdin] [--badge-stdin] [--disabled]
             add or update a cashier or store manager of the window: the
             PIN (4 to 8 digits) is the first line of stdin, the badge the
             next line (as scanned); a name, role, PIN or badge left out is
             kept (docs/staff.md)
  staff list --data DIR
             list the staff: role, PIN and/or badge, disabled or locked
  staff remove --data DIR --id ID
             remove a staff member (the journal keeps their number)
  version    print the build version and the protocol version
  help       print this help (also -h, --help)

With no command it opens the counter window:
  hexiao-terminal [--data DIR] [--lang en|zh-CN] [--fullscreen] [--size WxH]
                  [--claim-timeout 800ms] [--no-hub] [-v]
             a new terminal first shows enrollment (scan HQ's QR code); then
             cashier sign-in, the scan screen and, behind F2 and a manager's
             PIN or badge, the log, voids, reprints, X/Z reports, sync,
             other terminals and settings (devices, language, sound).
             DIR defaults to hexiao-terminal under the user's config
             directory (~/.config/hexiao-terminal on Linux)
`

// usageErr returns a usage error of this program; main exits 2 on it.
func usageErr(msg string) error { return &cli.UsageError{Program: name, Msg: msg} }

// run is the whole program behind main: it reads args (without the program
// name) and writes its output to stdout and diagnostics to stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := ""
	var rest []string
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
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
	case cmd == "init":
		return runInit(ctx, rest, stdout, stderr)
	case cmd == "import":
		return runImport(ctx, rest, stdin, stdout, stderr)
	case cmd == "headless":
		return runHeadless(ctx, rest, stdin, stdout, stderr)
	case cmd == "log":
		return runLog(ctx, rest, stdout, stderr)
	case cmd == "enroll":
		return runEnroll(ctx, rest, stdout, stderr)
	case cmd == "ecr-sim":
		return runECRSim(ctx, rest, stdin, stdout, stderr)
	case cmd == "ports":
		return runPorts(ctx, rest, stdout, stderr)
	case cmd == "staff":
		return runStaff(ctx, rest, stdin, stdout, stderr)
	case cmd == "" || strings.HasPrefix(cmd, "-"):
		// No command, or only flags: the counter window.
		return runWindow(ctx, args, stdout, stderr)
	default:
		return usageErr(fmt.Sprintf("unknown command %q", cmd))
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		// Every error run returns names the program already.
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(cli.ExitCode(err))
}
