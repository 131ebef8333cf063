package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// runPorts lists the serial ports the operating system reports, for
// choosing --scanner, --ecr and --printer.
func runPorts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ports", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("ports takes no arguments")
	}
	ports, err := serialport.List()
	if err != nil {
		return err
	}
	if len(ports) == 0 {
		_, err := fmt.Fprintln(stdout, "no serial ports listed by the system (a port can still be named by its path)")
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PATH\tUSB\tVID:PID\tSERIAL\tPRODUCT")
	for _, p := range ports {
		id := ""
		if p.USB {
			id = p.VID + ":" + p.PID
		}
		fmt.Fprintf(w, "%s\t%v\t%s\t%s\t%s\n", p.Path, p.USB, id, p.Serial, p.Product)
	}
	return w.Flush()
}
