package ecr

import (
	"context"
	"sync"
	"testing"

	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
)

// ServePort opens the port again after it goes, and keeps answering.
func TestServePortReopens(t *testing.T) {
	pair := ptypair.New(t)
	h := newFakeTerminal()
	var (
		mu     sync.Mutex
		opened int
	)
	pc, err := serialport.ParseSpec(pair.B)
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, "ServePort", func(ctx context.Context) error {
		ServePort(ctx, pc, h, Config{}, nil, func(open bool, _ error) {
			if open {
				mu.Lock()
				opened++
				mu.Unlock()
			}
		})
		return nil
	})
	ask := func() {
		t.Helper()
		port := openPort(t, pair.A)
		reg := NewRegister(port, Config{}, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- reg.Run(ctx) }()
		defer func() { cancel(); <-done }()
		r, err := reg.Do(ctx, Request{Command: CmdStatus})
		if err != nil || r.Result != ResultOK {
			t.Fatalf("STATUS: %+v, %v", r, err)
		}
	}
	ask()
	pair.Unplug()
	pair.Plug()
	ask()
	mu.Lock()
	defer mu.Unlock()
	if opened < 2 {
		t.Errorf("the port opened %d times, want it opened again after the unplug", opened)
	}
}
