package ui_test

import (
	"context"
	"testing"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/ptypair"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/ui"
)

// The window serves a serial scanner and the cash register, on real ptys
// named in its settings: their decisions show as verdicts like a wedge
// scan's.
func TestWindowServesSerialScannerAndRegister(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	scan, reg := ptypair.New(t), ptypair.New(t)
	set := h.st.Settings()
	set.ScannerPort, set.ECRPort = scan.B, reg.B+":115200"
	if err := h.st.SaveSettings(context.Background(), set); err != nil {
		t.Fatal(err)
	}
	h.connected("scanner")
	h.connected("ecr")

	// The scanner gun sends a code with a CR suffix.
	gun, err := serialport.Open(serialport.Config{Path: scan.A})
	if err != nil {
		t.Fatal(err)
	}
	defer gun.Close()
	code, _ := termtest.Secret(5)
	n := len(h.verdicts)
	if _, err := gun.Write([]byte(code + "\r")); err != nil {
		t.Fatal(err)
	}
	h.until("the serial scan's verdict", func() bool { return len(h.verdicts) > n })
	if v := h.verdicts[len(h.verdicts)-1]; v.Kind != ui.VerdictAccepted || v.Decision.Campaign.ID != "C1" {
		t.Fatalf("serial scan: %v %s", v.Kind, v.Reason)
	}

	// The register commits a code: the window shows it.
	port, err := serialport.Open(serialport.Config{Path: reg.A, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	r := ecr.NewRegister(port, ecr.Config{Baud: 115200}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	multi, _ := termtest.Secret(20)
	n = len(h.verdicts)
	replies := make(chan ecr.Reply, 1)
	go func() {
		rep, err := r.Do(ctx, ecr.Request{Command: ecr.CmdCommit, Code: multi, Uses: 2, IdemKey: "K1", OrderRef: "A-1", Cashier: "M1"})
		if err != nil {
			t.Errorf("COMMIT: %v", err)
		}
		replies <- rep
	}()
	h.until("the register's verdict", func() bool { return len(h.verdicts) > n })
	v := h.verdicts[len(h.verdicts)-1]
	if v.Kind != ui.VerdictAccepted || v.Decision.Uses != 2 || v.Decision.UsesLeft != 3 || !h.shows("咖啡次卡") || !h.shows("¥36.00") {
		t.Fatalf("register commit: %v %+v; window %q", v.Kind, v.Decision, h.texts())
	}
	if rep := <-replies; !rep.OK() || rep.UsesLeft != 3 {
		t.Errorf("register's reply: %+v", rep)
	}
}
