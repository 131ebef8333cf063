package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/serialport"
)

// runECRSim plays the cash register on a serial port: command lines from
// stdin, one JSON reply a line on stdout (docs/ecr.md, "Simulator").
func runECRSim(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("ecr-sim", stderr)
	sum := fs.String("checksum", "crc16", "frame checksum: crc16 or lrc")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErr("ecr-sim: want one serial port, PATH[:BAUD[:FRAME]]")
	}
	pc, err := serialport.ParseSpec(fs.Arg(0))
	if err != nil {
		return usageErr("ecr-sim: " + err.Error())
	}
	c, err := ecr.ParseChecksum(*sum)
	if err != nil {
		return usageErr("ecr-sim: --checksum: " + err.Error())
	}
	port, err := serialport.Open(pc)
	if err != nil {
		return fmt.Errorf("ecr-sim: %w", err)
	}
	defer port.Close()
	return ecr.RunSim(ctx, port, stdin, stdout, ecr.Config{Checksum: c, Baud: pc.Baud})
}
