package testlog_test

import (
	"sync"
	"testing"

	"github.com/hexiao/hexiao/internal/testlog"
)

func TestBuffer(t *testing.T) {
	var b testlog.Buffer
	log := b.Logger()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { log.Debug("tick", "n", 1) })
	}
	wg.Wait()
	if n := b.Count("msg=tick"); n != 8 {
		t.Fatalf("%d lines of 8 logged:\n%s", n, b.String())
	}
}
