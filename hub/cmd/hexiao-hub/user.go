package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hexiao/hexiao/hub"
)

// stdin is where user add and user passwd read passwords; tests replace
// it.
var stdin io.Reader = os.Stdin

const userUsage = `user add --data DIR --name NAME [--display-name TEXT] --role admin|viewer|store_manager [--store ID]
user list --data DIR
user passwd --data DIR --name NAME
user disable --data DIR --name NAME [--enable]`

// userCmd manages the dashboard's users on a stopped hub (a running hub
// holds DIR; use the API then). Passwords are read from the first line of
// stdin, never from a flag.
func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("user needs a subcommand:\n" + userUsage)
	}
	sub, args := args[0], args[1:]
	fl := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	fl.SetOutput(stderr)
	dir := fl.String("data", "", "the hub's data directory")
	var nameF, display, role, store *string
	var enable *bool
	switch sub {
	case "add":
		nameF = fl.String("name", "", "the login name (A-Z a-z 0-9 . _ -)")
		display = fl.String("display-name", "", "the name the dashboard shows (default: the login)")
		role = fl.String("role", "", "admin, viewer or store_manager")
		store = fl.String("store", "", "store_manager: the store they see")
	case "passwd", "disable":
		nameF = fl.String("name", "", "the login name")
		if sub == "disable" {
			enable = fl.Bool("enable", false, "enable the user again instead")
		}
	case "list":
	default:
		return usageErr(fmt.Sprintf("unknown user subcommand %q:\n%s", sub, userUsage))
	}
	if err := fl.Parse(args); err != nil {
		return usageErr(err.Error())
	}
	if *dir == "" || fl.NArg() > 0 || (nameF != nil && *nameF == "") {
		return usageErr("usage:\n" + userUsage)
	}
	app, err := openHub(ctx, *dir, "", discardLog())
	if err != nil {
		return err
	}
	defer app.close()
	acct := hub.NewAccounts(app.hub, hub.AccountsConfig{})
	switch sub {
	case "add":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		u, err := acct.AddUser(ctx, hub.NewUser{Name: *nameF, DisplayName: *display, Role: hub.Role(*role), Store: *store, Password: pw})
		if err != nil {
			return fmt.Errorf("user add: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "user %s added (%s%s)\n", u.Name, u.Role, storeText(u.Store))
		return err
	case "passwd":
		pw, err := readPassword()
		if err != nil {
			return err
		}
		_, n, err := acct.UpdateUser(ctx, *nameF, hub.UserChange{Password: &pw})
		if err != nil {
			return fmt.Errorf("user passwd: %w", err)
		}
		_, err = fmt.Fprintf(stdout, "password of %s changed; %d sessions ended\n", *nameF, n)
		return err
	case "disable":
		off := !*enable
		_, n, err := acct.UpdateUser(ctx, *nameF, hub.UserChange{Disabled: &off})
		if err != nil {
			return fmt.Errorf("user disable: %w", err)
		}
		word := "disabled"
		if !off {
			word = "enabled"
		}
		_, err = fmt.Fprintf(stdout, "user %s %s; %d sessions ended\n", *nameF, word, n)
		return err
	}
	us, err := acct.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tROLE\tSTORE\tDISABLED\tLAST SIGN-IN")
	for _, u := range us {
		last := "never"
		if !u.LastSignIn.IsZero() {
			last = u.LastSignIn.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", u.Name, u.DisplayName, u.Role, u.Store, u.Disabled, last)
	}
	return tw.Flush()
}

func storeText(store string) string {
	if store == "" {
		return ""
	}
	return " of store " + store
}

// readPassword reads the first line of stdin.
func readPassword() (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, hub.MaxPassword+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageErr("give the password on the first line of stdin (never as a flag)")
	}
	return pw, nil
}

// randomPassword is a password for the demo's users: 12 random bytes,
// base64url.
func randomPassword() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
