package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// maxStdinLine bounds a line read for --pin-stdin or --badge-stdin.
const maxStdinLine = 1024

// runStaff is `hexiao-terminal staff add|list|remove`: the terminal's
// cashiers and store managers. A PIN or badge is read from stdin, never
// from a flag, so it stays out of the shell history and the process list.
func runStaff(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("staff: want add, list or remove")
	}
	switch args[0] {
	case "add":
		return runStaffAdd(ctx, args[1:], stdin, stdout, stderr)
	case "list":
		return runStaffList(ctx, args[1:], stdout, stderr)
	case "remove":
		return runStaffRemove(ctx, args[1:], stdout, stderr)
	}
	return usageErr(fmt.Sprintf("staff %q: want add, list or remove", args[0]))
}

func runStaffAdd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("staff add", stderr)
	data := fs.String("data", "", "data directory")
	id := fs.String("id", "", "staff number (recorded as the cashier or manager of events)")
	name := fs.String("name", "", "name shown at the counter (a new member needs one; empty keeps it)")
	role := fs.String("role", "", "cashier or manager (a new member needs one; empty keeps it)")
	pinStdin := fs.Bool("pin-stdin", false, "read the PIN (4 to 8 digits) from the first line of stdin")
	badgeStdin := fs.Bool("badge-stdin", false, "read the badge from the next line of stdin (as the scanner types it)")
	disabled := fs.Bool("disabled", false, "keep the member on record but refuse their sign-in (without it, the member is enabled)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *id == "" {
		return usageErr("staff add: --data DIR and --id ID are required")
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("staff add: unexpected argument %q (a PIN goes on stdin with --pin-stdin)", fs.Arg(0)))
	}
	st := terminal.Staff{ID: *id, Name: *name, Disabled: *disabled}
	if *role != "" {
		r, err := terminal.ParseRole(*role)
		if err != nil {
			return usageErr("staff add: --role: " + err.Error())
		}
		st.Role = r
	}
	in := bufio.NewReader(stdin)
	var pin, badge string
	if *pinStdin {
		line, err := readStdinLine(in)
		if err != nil {
			return fmt.Errorf("staff add: PIN: %w", err)
		}
		pin = strings.TrimSpace(line)
		if pin == "" {
			return fmt.Errorf("staff add: PIN: the line is empty")
		}
	}
	if *badgeStdin {
		line, err := readStdinLine(in)
		if err != nil {
			return fmt.Errorf("staff add: badge: %w", err)
		}
		if badge, err = scanner.Normalize(line); err != nil {
			return fmt.Errorf("staff add: badge: %w", err)
		}
	}
	s, err := sqlite.Open(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.AddStaff(ctx, st, pin, badge); err != nil {
		return fmt.Errorf("staff add %s: %w", *id, err)
	}
	saved, err := findStaff(ctx, s, *id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "saved %s %s (%s): %s\n", saved.ID, saved.Name, saved.Role, credentials(saved))
	return err
}

func runStaffList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("staff list", stderr)
	data := fs.String("data", "", "data directory")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("staff list: --data DIR is required")
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("staff list: unexpected argument %q", fs.Arg(0)))
	}
	s, err := sqlite.Open(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	all, err := s.ListStaff(ctx)
	if err != nil {
		return err
	}
	loc := s.Identity().Location
	now := time.Now()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tSIGNS IN WITH\tSTATE")
	for _, m := range all {
		state := "active"
		switch {
		case m.Disabled:
			state = "disabled"
		case now.Before(m.LockedUntil):
			state = "PIN locked until " + m.LockedUntil.In(loc).Format("15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, m.Role, credentials(m), state)
	}
	if len(all) == 0 {
		fmt.Fprintln(tw, "(no staff: the counter window asks for the first store manager)")
	}
	return tw.Flush()
}

func runStaffRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("staff remove", stderr)
	data := fs.String("data", "", "data directory")
	id := fs.String("id", "", "staff number")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *id == "" {
		return usageErr("staff remove: --data DIR and --id ID are required")
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("staff remove: unexpected argument %q", fs.Arg(0)))
	}
	s, err := sqlite.Open(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.RemoveStaff(ctx, *id); err != nil {
		return fmt.Errorf("staff remove: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "removed %s\n", *id)
	return err
}

// readStdinLine reads one line without its line ending: at most
// maxStdinLine bytes, and a last line without a newline counts.
func readStdinLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			if len(b) == 0 {
				return "", errors.New("stdin ended before the line")
			}
			break
		} else if err != nil {
			return "", fmt.Errorf("read stdin: %w", err)
		}
		if c == '\n' {
			break
		}
		if len(b) == maxStdinLine {
			return "", fmt.Errorf("the line is longer than %d bytes", maxStdinLine)
		}
		b = append(b, c)
	}
	return strings.TrimRight(string(b), "\r"), nil
}

func findStaff(ctx context.Context, s *sqlite.Store, id string) (terminal.Staff, error) {
	all, err := s.ListStaff(ctx)
	if err != nil {
		return terminal.Staff{}, err
	}
	for _, m := range all {
		if m.ID == id {
			return m, nil
		}
	}
	return terminal.Staff{}, fmt.Errorf("%w: %q", terminal.ErrUnknownStaff, id)
}

func credentials(m terminal.Staff) string {
	switch {
	case m.HasPIN && m.HasBadge:
		return "PIN, badge"
	case m.HasPIN:
		return "PIN"
	case m.HasBadge:
		return "badge"
	}
	return "nothing"
}
