package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUserCommand: add (password on stdin), list, passwd, disable, and
// the refusals: no password, a store manager without a store, an unknown
// subcommand.
func TestUserCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	runWith := func(in string, args ...string) (string, error) {
		t.Helper()
		stdin = strings.NewReader(in)
		defer func() { stdin = nil }()
		var out, errb bytes.Buffer
		err := run(ctx, args, &out, &errb)
		return out.String(), err
	}
	if out, err := runWith("a long password\n", "user", "add", "--data", dir, "--name", "al", "--role", "admin"); err != nil ||
		!strings.Contains(out, "user al added (admin)") {
		t.Fatalf("add: %q, %v", out, err)
	}
	for _, c := range []struct {
		in   string
		args []string
		msg  string
	}{
		{"", []string{"user", "add", "--data", dir, "--name", "bo", "--role", "viewer"}, "first line of stdin"},
		{"a long password\n", []string{"user", "add", "--data", dir, "--name", "bo", "--role", "store_manager"}, "needs a store"},
		{"a long password\n", []string{"user", "add", "--data", dir, "--name", "al", "--role", "viewer"}, "exists"},
		{"", []string{"user", "frobnicate", "--data", dir}, "unknown user subcommand"},
		{"", []string{"user", "passwd", "--data", dir}, "usage"},
	} {
		if _, err := runWith(c.in, c.args...); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%v: got %v, want an error saying %q", c.args, err, c.msg)
		}
	}
	if out, err := runWith("", "user", "disable", "--data", dir, "--name", "al"); err != nil || !strings.Contains(out, "al disabled") {
		t.Fatalf("disable: %q, %v", out, err)
	}
	if out, err := runWith("another password\n", "user", "passwd", "--data", dir, "--name", "al"); err != nil || !strings.Contains(out, "password of al changed") {
		t.Fatalf("passwd: %q, %v", out, err)
	}
	out, err := runWith("", "user", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "al") || !strings.Contains(out, "true") || strings.Contains(out, "argon2") {
		t.Fatalf("list: %q, %v", out, err)
	}
}
