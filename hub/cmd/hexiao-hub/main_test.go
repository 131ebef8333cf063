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
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestVersion(t *testing.T) {
	out, _, err := runArgs(t, "version")
	if err != nil {
		t.Fatalf("run version: got error %v, want nil", err)
	}
	want := "hexiao-hub " + version + " (protocol " + protocol.Version + ")\n"
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
			for _, cmd := range []string{"serve", "demo", "version", "help"} {
				if !strings.Contains(out, "\n  "+cmd+" ") {
					t.Errorf("run %s: got %q, want it to list %q", arg, out, cmd)
				}
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
		{nil, "no command given", 2},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, 2},
		{[]string{"--data", "x"}, `unknown command "--data"`, 2},
		{[]string{"version", "extra"}, "version takes no arguments", 2},
		{[]string{"serve"}, "serve needs --data DIR", 2},
		{[]string{"serve", "--data", "x", "extra"}, "serve needs --data DIR", 2},
		{[]string{"serve", "--nope"}, "flag provided but not defined: -nope", 2},
		{[]string{"demo"}, "demo needs --data DIR", 2},
		{[]string{"serve", "--data", "x", "--terminal-broker", "mqtt://127.0.0.1:1883"}, "--terminal-broker goes with --broker", 2},
		{[]string{"serve", "--data", "x", "--broker", "mqtt://127.0.0.1:1", "--terminal-broker", "http://h:1"}, "want mqtt://host:port or mqtts://host:port", 2},
		{[]string{"serve", "--data", "x", "--broker", "mqtt://127.0.0.1:1", "--terminal-broker", "mqtts://h"}, "want host and port", 2},
		{[]string{"serve", "--data", "x", "--broker", "mqtt://127.0.0.1:1", "--terminal-broker", "mqtt://u:p@h:1"}, "no user or password", 2},
		{[]string{"serve", "--data", "x", "--broker", "mqtt://127.0.0.1:1", "--terminal-broker", "mqtt://h:1/x?y=1"}, "want only mqtt(s)://host:port", 2},
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
