package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/sqlite"
)

// lockedBuffer is stdout written by several of headless's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// headless with a cash register and a serial scanner on real ptys and a
// printer on a file: the register's COMMITs run once per key however often
// it sends them, LAST_RESULT matches the journal, REVERSE voids, the
// scanner's codes are decided, accepted slips print, and a Z report prints
// and is journaled.
func TestHeadlessDevices(t *testing.T) {
	data := setupData(t)
	ecrPair, scanPair, displayPair := ptypair.New(t), ptypair.New(t), ptypair.New(t)
	display, err := serialport.Open(serialport.Config{Path: displayPair.A})
	if err != nil {
		t.Fatal(err)
	}
	defer display.Close()
	lp := filepath.Join(t.TempDir(), "lp0")
	ctx, cancel := context.WithCancel(context.Background())
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"headless", "--data", data, "--cashier", "c-01", "--ecr", ecrPair.B + ":115200",
			"--scanner", scanPair.B, "--printer", lp, "--store-name", "静安寺店", "--lang", "zh-CN", "--display", displayPair.B}, stdinR, &out, &errb)
	}()
	defer func() {
		cancel()
		stdinW.Close()
		if err := <-done; err != nil {
			t.Errorf("headless: %v\n%s", err, errb.String())
		}
	}()
	waitOut := func(what string, cond func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(errb.String() + out.String()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: stdout\n%s\nstderr\n%s", what, out.String(), errb.String())
			}
		}
	}
	waitOut("devices open", func(s string) bool {
		return strings.Contains(s, "cash register link") && strings.Contains(s, "scanner "+scanPair.B+" connected")
	})

	port, err := serialport.Open(serialport.Config{Path: ecrPair.A, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	reg := ecr.NewRegister(port, ecr.Config{Baud: 115200}, nil)
	rctx, stopReg := context.WithCancel(ctx)
	regDone := make(chan error, 1)
	go func() { regDone <- reg.Run(rctx) }()
	defer func() { stopReg(); <-regDone }()
	do := func(req ecr.Request) ecr.Reply {
		t.Helper()
		r, err := reg.Do(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Command, err)
		}
		return r
	}

	multi, _ := termtest.Secret(2) // 10 uses
	var commits []ecr.Reply
	for i := range 5 {
		req := ecr.Request{Command: ecr.CmdCommit, Code: multi, Uses: 1, IdemKey: fmt.Sprintf("K%d", i), OrderRef: fmt.Sprintf("A-%d", i), Cashier: "c-09"}
		first := do(req)
		again := do(req) // the register did not hear the answer and asks again with the same key
		if !first.OK() || !again.Replayed || again.Event != first.Event {
			t.Fatalf("COMMIT %d: %+v, then %+v; want accepted once and replayed", i, first, again)
		}
		commits = append(commits, first)
	}
	if r := do(ecr.Request{Command: ecr.CmdPrepare, Code: multi, Uses: 2}); r.Reason != protocol.Accepted || r.UsesLeft != 5 || r.Amount != 7000 {
		t.Errorf("PREPARE: %+v, want accepted, 5 left, 70.00", r)
	}
	if r := do(ecr.Request{Command: ecr.CmdReverse, IdemKey: "K4", Cashier: "m-1", Note: "customer changed mind"}); !r.OK() || r.UsesLeft != 6 {
		t.Errorf("REVERSE K4: %+v", r)
	}
	if r := do(ecr.Request{Command: ecr.CmdReverse, IdemKey: "K4", Cashier: "m-1"}); r.Result != ecr.ResultRefused || !strings.Contains(r.Message, "already reversed") {
		t.Errorf("REVERSE K4 again: %+v, want refused (already reversed)", r)
	}

	// The scanner gun sends a code.
	single, _ := termtest.Secret(1)
	sp, err := serialport.Open(serialport.Config{Path: scanPair.A})
	if err != nil {
		t.Fatal(err)
	}
	sp.Write([]byte("]Q1" + single + "\r\n"))
	sp.Close()
	waitOut("the scanned code decided", func(s string) bool { return strings.Contains(s, `"source":"scanner"`) })

	// The customer saw the last verdict on the display.
	display.SetReadTimeout(200 * time.Millisecond)
	var shown []byte
	for buf := make([]byte, 4096); ; {
		n, err := display.Read(buf)
		if err != nil {
			break
		}
		shown = append(shown, buf[:n]...)
	}
	if !bytes.Contains(shown, []byte("\x1bQAACCEPTED\r\x1bQB1 use(s) 35.00\r")) {
		t.Errorf("the customer display got %q, want an accepted verdict of 35.00", shown)
	}

	// Every key is in the journal once, and LAST_RESULT says what it holds.
	st, err := sqlite.Open(ctx, data, nil)
	if err == nil {
		st.Close()
		t.Fatal("a second process opened the store while headless runs")
	}
	for i, c := range commits {
		r := do(ecr.Request{Command: ecr.CmdLastResult, IdemKey: fmt.Sprintf("K%d", i)})
		if r.Event != c.Event || r.Reason != protocol.Accepted || r.Op != ecr.CmdCommit || (i == 4) != (r.Reversed.Seq == 6) {
			t.Errorf("LAST_RESULT K%d: %+v, want event %s accepted (reversed: %v)", i, r, c.Event, i == 4)
		}
	}
	if r := do(ecr.Request{Command: ecr.CmdLastResult, IdemKey: "never"}); r.Result != ecr.ResultNotFound {
		t.Errorf("LAST_RESULT of an unknown key: %+v", r)
	}
	if r := do(ecr.Request{Command: ecr.CmdTotals}); r.Totals.Redeemed != 6 || r.Totals.Voids != 1 {
		t.Errorf("TOTALS %+v, want 6 redeemed (5 by the register, 1 scanned) and 1 void", r.Totals)
	}
	z := do(ecr.Request{Command: ecr.CmdEndOfDay, Cashier: "m-1"})
	if !z.OK() || z.Z != 1 || z.Totals.Redeemed != 6 {
		t.Errorf("END_OF_DAY: %+v, want Z 1 over 6 redemptions", z)
	}
	if r := do(ecr.Request{Command: ecr.CmdStatus}); r.Terminal != termtest.Terminal || r.Printer != "unknown" {
		t.Errorf("STATUS %+v", r)
	}

	// The printer file holds 6 slips and the Z report.
	waitOut("slips printed", func(string) bool {
		b, _ := os.ReadFile(lp)
		return bytes.Count(b, []byte{0x1d, 'V', 66, 0}) == 7
	})
	lines := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		lines++
	}
	if lines < 5*2+2+1 {
		t.Errorf("%d stdout lines, want one per register command and per scan:\n%s", lines, out.String())
	}
}
