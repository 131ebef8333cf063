package counter_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/counter"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

// printer is a fake receipt printer: it fails while broken is set, blocks
// while hold is set, and keeps what it printed.
type printer struct {
	mu     sync.Mutex
	broken error
	hold   chan struct{}
	docs   [][]byte
}

func (p *printer) Print(ctx context.Context, doc []byte) error {
	p.mu.Lock()
	hold := p.hold
	p.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken != nil {
		return p.broken
	}
	p.docs = append(p.docs, doc)
	return nil
}

func (p *printer) printed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.docs)
}

// A printer failure never blocks or undoes a redemption: the verdict comes
// while the printer hangs, a failed slip is recorded unprinted, and a
// reprint prints it marked as one.
func TestPrinterNeverBlocksOrUndoes(t *testing.T) {
	ctx := context.Background()
	camp := termtest.Campaign("c1")
	camp.Uses = 10
	st, _ := termtest.Open(t, termtest.Snapshot{Campaigns: []protocol.Campaign{camp},
		Codes: []protocol.CodeState{termtest.SecretCode(1, "c1", 10)}})
	clock := &termtest.Clock{T: termtest.Now}
	eng := terminal.New(st, nil, clock.Now, terminal.Config{}, nil)
	pr := &printer{hold: make(chan struct{})}
	ctr := counter.New(eng, st, pr, counter.Config{Lang: protocol.LangZH, PrintTimeout: time.Minute}, clock.Now, nil)
	outcomes := make(chan error, 10)
	ctr.OnPrint = func(_ uint64, err error) { outcomes <- err }
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ctr.Run(rctx) }()
	defer func() { stop(); <-done }()

	secret, _ := termtest.Secret(1)
	d1 := ctr.Commit(ctx, terminal.Input{Text: secret, Cashier: "c-1"}) // returns while the printer hangs
	if !d1.Accepted() {
		t.Fatalf("commit with a hung printer: %s %s", d1.Reason, d1.Detail)
	}
	pr.mu.Lock()
	pr.broken = errors.New("printer is out of paper")
	close(pr.hold)
	pr.hold = nil
	pr.mu.Unlock()
	if err := <-outcomes; err == nil {
		t.Fatal("the slip printed on a broken printer")
	}
	day := termtest.Now.In(st.Identity().Location).Format(time.DateOnly)
	if un, _ := st.Unprinted(ctx, day); len(un) != 1 || un[0].Seq != d1.Event.Seq {
		t.Fatalf("unprinted %+v, want seq %d", un, d1.Event.Seq)
	}
	if ev, _, err := st.Redemption(ctx, d1.Event.Seq); err != nil || ev.Kind != protocol.KindRedemption {
		t.Fatalf("the redemption after the failed print: %+v, %v", ev, err)
	}
	if err := ctr.Reprint(ctx, d1.Event.Seq); err == nil {
		t.Fatal("reprint on a broken printer succeeded")
	}
	pr.mu.Lock()
	pr.broken = nil
	pr.mu.Unlock()
	if err := ctr.Reprint(ctx, d1.Event.Seq); err != nil {
		t.Fatal(err)
	}
	if un, _ := st.Unprinted(ctx, day); len(un) != 0 {
		t.Errorf("unprinted after the reprint: %+v", un)
	}
	if pr.printed() != 1 || !bytes.Contains(pr.docs[0], []byte("***")) {
		t.Errorf("printed %d documents, want one reprint", pr.printed())
	}

	// An accepted slip prints; a replayed commit and a refusal print nothing.
	d2 := ctr.Commit(ctx, terminal.Input{Text: secret, IdemKey: "K1"})
	if err := <-outcomes; err != nil {
		t.Fatal(err)
	}
	ctr.Commit(ctx, terminal.Input{Text: secret, IdemKey: "K1"})
	ctr.Commit(ctx, terminal.Input{Text: "S99999999999"})
	if err := ctr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !d2.Accepted() || pr.printed() != 2 {
		t.Errorf("printed %d documents, want 2 (the reprint and one new slip)", pr.printed())
	}
	if err := ctr.Reprint(ctx, 999); err == nil {
		t.Error("reprint of an event that does not exist succeeded")
	}
	// A Z report is journaled even when it cannot print.
	pr.mu.Lock()
	pr.broken = errors.New("cover open")
	pr.mu.Unlock()
	z, err := ctr.CloseDay(ctx, "m-1")
	if err != nil || z.Printed || z.PrintErr == nil || z.Number != 1 || z.Event.Seq == 0 {
		t.Fatalf("CloseDay on a broken printer: %+v, %v", z, err)
	}
}
