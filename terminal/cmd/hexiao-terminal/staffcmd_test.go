package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hexiao/hexiao/internal/cli"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

func staffCmd(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runStaff(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), err
}

func TestStaffCommand(t *testing.T) {
	dir := termtest.Dir(t, termtest.Snapshot{})
	out, err := staffCmd(t, "", "list", "--data", dir)
	if err != nil || !strings.Contains(out, "(no staff") {
		t.Fatalf("list of a new terminal: %q, %v", out, err)
	}
	out, err = staffCmd(t, "731946\r\n]Q1EMP-000731\r\n", "add", "--data", dir, "--id", "m-01", "--name", "王伟",
		"--role", "manager", "--pin-stdin", "--badge-stdin")
	if err != nil || out != "saved m-01 王伟 (manager): PIN, badge\n" {
		t.Fatalf("add manager: %q, %v", out, err)
	}
	if out, err = staffCmd(t, "2580", "add", "--data", dir, "--id", "c-01", "--name", "Li Na", "--role", "cashier", "--pin-stdin"); err != nil {
		t.Fatalf("add cashier (PIN without a newline): %q, %v", out, err)
	}
	if out, err = staffCmd(t, "", "add", "--data", dir, "--id", "c-01", "--disabled"); err != nil || out != "saved c-01 Li Na (cashier): PIN\n" {
		t.Fatalf("disable cashier: %q, %v", out, err)
	}
	out, err = staffCmd(t, "", "list", "--data", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") ||
		!strings.Contains(lines[1], "c-01") || !strings.Contains(lines[1], "disabled") ||
		!strings.Contains(lines[2], "m-01") || !strings.Contains(lines[2], "PIN, badge") || !strings.Contains(lines[2], "active") {
		t.Fatalf("list:\n%s", out)
	}
	if strings.Contains(out, "731946") || strings.Contains(out, "EMP-000731") {
		t.Fatalf("list shows a secret:\n%s", out)
	}

	// The store signs them in: the PIN as typed, the badge as normalised.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.SignIn(ctx, "m-01", "731946", termtest.Now); err != nil || !s.Manager() {
		t.Fatalf("manager's PIN: %+v, %v", s, err)
	}
	if s, err := st.ByBadge(ctx, "EMP-000731", termtest.Now); err != nil || s.ID != "m-01" {
		t.Fatalf("manager's badge: %+v, %v", s, err)
	}
	if _, err := st.SignIn(ctx, "c-01", "2580", termtest.Now); !errors.Is(err, terminal.ErrStaffDisabled) {
		t.Fatalf("disabled cashier: %v", err)
	}
	st.Close()

	if out, err = staffCmd(t, "", "remove", "--data", dir, "--id", "c-01"); err != nil || out != "removed c-01\n" {
		t.Fatalf("remove: %q, %v", out, err)
	}
	if _, err = staffCmd(t, "", "remove", "--data", dir, "--id", "c-01"); !errors.Is(err, terminal.ErrUnknownStaff) {
		t.Fatalf("remove again: %v, want ErrUnknownStaff", err)
	}
}

func TestStaffCommandErrors(t *testing.T) {
	dir := termtest.Dir(t, termtest.Snapshot{})
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		usage bool   // a usage error (exit status 2)
		want  string // in the message
		is    error
	}{
		{"no subcommand", "", nil, true, "want add, list or remove", nil},
		{"unknown subcommand", "", []string{"rename"}, true, `"rename"`, nil},
		{"no data", "", []string{"add", "--id", "c-01"}, true, "--data DIR and --id ID are required", nil},
		{"no id", "", []string{"add", "--data", dir}, true, "--data DIR and --id ID are required", nil},
		{"pin as a flag", "", []string{"add", "--data", dir, "--id", "c-01", "--pin", "2580"}, true, "flag provided but not defined: -pin", nil},
		{"pin as an argument", "", []string{"add", "--data", dir, "--id", "c-01", "2580"}, true, "a PIN goes on stdin", nil},
		{"bad role", "", []string{"add", "--data", dir, "--id", "c-01", "--role", "boss"}, true, "cashier or manager", nil},
		{"no stdin", "", []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier", "--pin-stdin"}, false, "stdin ended", nil},
		{"empty pin", "\n", []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier", "--pin-stdin"}, false, "empty", nil},
		{"weak pin", "1234\n", []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier", "--pin-stdin"}, false, "", terminal.ErrPINWeak},
		{"long line", strings.Repeat("1", 2000), []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier", "--pin-stdin"}, false, "longer than", nil},
		{"short badge", "B42\n", []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier", "--badge-stdin"}, false, "", terminal.ErrBadgeFormat},
		{"no name", "2580\n", []string{"add", "--data", dir, "--id", "c-01", "--role", "cashier", "--pin-stdin"}, false, "", terminal.ErrStaffName},
		{"no credential", "", []string{"add", "--data", dir, "--id", "c-01", "--name", "A", "--role", "cashier"}, false, "", terminal.ErrNoCredential},
		{"not a terminal", "", []string{"list", "--data", t.TempDir()}, false, "", sqlite.ErrNotSetUp},
		{"remove without id", "", []string{"remove", "--data", dir}, true, "--id ID", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := staffCmd(t, tc.stdin, tc.args...)
			var ue *cli.UsageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.want) ||
				tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("got %v (usage error %v), want %q usage=%v is=%v", err, errors.As(err, &ue), tc.want, tc.usage, tc.is)
			}
		})
	}
	if out, err := staffCmd(t, "", "list", "--data", dir); err != nil || !strings.Contains(out, "(no staff") {
		t.Fatalf("refused adds left staff behind: %q, %v", out, err)
	}
}

func FuzzReadStdinLine(f *testing.F) {
	for _, s := range []string{"2580\n", "2580\r\nEMP-1\n", "", "\n", "no newline", strings.Repeat("9", 1100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		line, err := readStdinLine(bufio.NewReader(strings.NewReader(in)))
		if err != nil {
			return
		}
		if strings.ContainsRune(line, '\n') || strings.HasSuffix(line, "\r") || len(line) > maxStdinLine {
			t.Fatalf("line %q from %q", line, in)
		}
		if !strings.HasPrefix(in, line) {
			t.Fatalf("line %q is not the start of %q", line, in)
		}
	})
}
