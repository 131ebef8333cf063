package ecr

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hexiao/hexiao/drivers/serialport"
)

// ReopenEvery is how often ServePort looks for a gone device again.
const ReopenEvery = 500 * time.Millisecond

// ServePort serves the link on a serial port until ctx is done, opening
// the port again whenever it goes (a USB adapter unplugged) or cannot be
// opened yet. One Server keeps its duplicate cache across reopenings, so a
// request resent over the new port is still answered, not executed again.
// cfg.Baud is taken from the port's config. onState (may be nil) is told
// when the port opens (err nil) and when it closes or fails to open; a
// failure to open is reported once until the port opens.
func ServePort(ctx context.Context, pc serialport.Config, h Handler, cfg Config, log *slog.Logger, onState func(open bool, err error)) {
	if onState == nil {
		onState = func(bool, error) {}
	}
	cfg.Baud = pc.Baud
	var srv *Server
	announced := false
	wait := func() {
		select {
		case <-ctx.Done():
		case <-time.After(ReopenEvery):
		}
	}
	for ctx.Err() == nil {
		port, err := serialport.Open(pc)
		if err != nil {
			if !announced {
				onState(false, err)
				announced = true
			}
			wait()
			continue
		}
		announced = false
		onState(true, nil)
		if srv == nil {
			srv = NewServer(port, h, cfg, log)
		} else {
			srv.Reattach(port)
		}
		err = srv.Run(ctx)
		port.Close()
		if ctx.Err() == nil {
			onState(false, err)
			if !errors.Is(err, serialport.ErrClosed) {
				wait()
			}
		}
	}
}
