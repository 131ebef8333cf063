package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hexiao/hexiao/terminal/sqlite"
)

// newFlags makes a command's flag set; parse errors become usage errors.
func newFlags(cmd string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usageErr(err.Error())
	}
	return nil
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("init", stderr)
	data := fs.String("data", "", "data directory to create")
	term := fs.String("terminal", "", "this terminal's id")
	store := fs.String("store", "", "the store it belongs to")
	region := fs.String("region", "", "the store's region (a snapshot may bring it)")
	tz := fs.String("timezone", "", "the store's IANA time zone (a snapshot may bring it; default UTC)")
	pepperFile := fs.String("pepper-file", "", "file holding the hub's card-secret pepper in hex")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" || *term == "" || *store == "" || *pepperFile == "" {
		return usageErr("init: --terminal, --store and --pepper-file are required (and --data)")
	}
	raw, err := os.ReadFile(*pepperFile)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	pepper, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("init: %s must hold the pepper in hex: %w", *pepperFile, err)
	}
	if err := sqlite.Init(ctx, *data, sqlite.Setup{Terminal: *term, Store: *store, Region: *region, Timezone: *tz, Pepper: pepper}); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "terminal %s of store %s set up in %s\nnext: %s import --data %s SNAPSHOT-FILE\n", *term, *store, *data, name, *data)
	return nil
}

func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	data := fs.String("data", "", "data directory")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageErr("import: --data DIR is required")
	}
	if fs.NArg() != 1 {
		return usageErr("import: name one snapshot FILE (- for stdin)")
	}
	in := stdin
	if path := fs.Arg(0); path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	st, err := sqlite.Open(ctx, *data, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	stats, err := st.Import(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported snapshot %s as of feed seq %d: %d pages, %d codes, %d campaigns, %d issuing keys, %d stores, %d settled days\n",
		stats.Snapshot, stats.AsOf, stats.Pages, stats.Codes, stats.Campaigns, stats.Keys, stats.Stores, stats.Locks)
	return nil
}
