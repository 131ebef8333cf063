package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/internal/cli"
	"github.com/hexiao/hexiao/protocol"
)

func runArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runArgs(t, "version")
	if err != nil {
		t.Fatalf("run version: got error %v, want nil", err)
	}
	want := "hexiao-terminal " + version + " (protocol " + protocol.Version + ")\n"
	if out != want {
		t.Errorf("run version: got %q, want %q", out, want)
	}
	if !strings.Contains(out, protocol.Version) {
		t.Errorf("run version: got %q, want it to contain protocol version %q", out, protocol.Version)
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			out, _, err := runArgs(t, arg)
			if err != nil {
				t.Fatalf("run %s: got error %v, want nil", arg, err)
			}
			for _, cmd := range []string{"version", "help", "init", "import", "headless", "log", "enroll", "ecr-sim", "ports", "staff"} {
				if !strings.Contains(out, "  "+cmd+" ") {
					t.Errorf("run %s: got %q, want it to list %q", arg, out, cmd)
				}
			}
			if !strings.Contains(out, "With no command it opens the counter window") || strings.Contains(out, "Coming") {
				t.Errorf("run %s: got %q, want the counter window described and nothing coming", arg, out)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		args     []string
		wantMsg  string
		wantCode int
	}{
		{[]string{"--lang", "fr"}, `--lang "fr": want en or zh-CN`, 2},
		{[]string{"--size", "100x50"}, `--size "100x50": want WxH, at least 320x240`, 2},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus", 2},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, 2},
		{[]string{"version", "extra"}, "version takes no arguments", 2},
		{[]string{"enroll", "--data", "x"}, "enroll: give --token TOKEN (with --hub) or --link", 2},
		{[]string{"enroll", "--data", "x", "--token", "ABCD"}, "enroll: no hub: give --hub URL", 2},
		{[]string{"enroll", "--data", "x", "--hub", "https://hq.example:8480", "--token", "ABCD"}, "an https hub needs its CA fingerprint", 2},
		{[]string{"enroll", "--data", "x", "--token", "hexiao://enroll?hub=ftp://h"}, "want http://HOST:PORT", 2},
		{[]string{"enroll", "--data", "x", "--hub", "http://192.0.2.1:8480", "--token", "ABCD"}, "plain http is allowed only on loopback", 1},
		{[]string{"headless"}, "headless: --data DIR is required", 2},
		{[]string{"log"}, "log: --data DIR is required", 2},
		{[]string{"import", "--data", "x"}, "import: name one snapshot FILE", 2},
		{[]string{"init", "--data", "x"}, "init: --terminal, --store and --pepper-file are required", 2},
		{[]string{"log", "--data", "x", "--day", "22/11/2026"}, "log: --day \"22/11/2026\": want YYYY-MM-DD", 2},
		{[]string{"headless", "--bogus"}, "flag provided but not defined: -bogus", 2},
		{[]string{"headless", "--data", "/nonexistent"}, "run hexiao-terminal init or enroll first", 1},
		{[]string{"headless", "--data", "x", "--scanner", "/dev/ttyACM0:12"}, "--scanner: serial baud rate", 2},
		{[]string{"headless", "--data", "x", "--ecr", ":9600"}, "--ecr: serial port", 2},
		{[]string{"headless", "--data", "x", "--ecr-checksum", "md5"}, "want crc16 or lrc", 2},
		{[]string{"headless", "--data", "x", "--printer-columns", "40"}, "want 32 or 48", 2},
		{[]string{"ecr-sim"}, "want one serial port", 2},
		{[]string{"ports", "x"}, "ports takes no arguments", 2},
		{[]string{"headless", "--data", "x", "--display", ":1"}, "--display: serial", 2},
		{[]string{"ecr-sim", "/nonexistent/tty"}, "ecr-sim: open serial port", 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, _, err := runArgs(t, tt.args...)
			if err == nil {
				t.Fatalf("run %q: got nil error and output %q, want error %q", tt.args, out, tt.wantMsg)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("run %q: got error %q, want it to contain %q", tt.args, err, tt.wantMsg)
			}
			if got := cli.ExitCode(err); got != tt.wantCode {
				t.Errorf("cli.ExitCode(%v): got %d, want %d", err, got, tt.wantCode)
			}
		})
	}
	if got := cli.ExitCode(nil); got != 0 {
		t.Errorf("cli.ExitCode(nil): got %d, want 0", got)
	}
}
