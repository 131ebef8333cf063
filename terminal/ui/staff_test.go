package ui_test

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
)

func TestSignInPINBadgeAndManagerOnly(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.until("sign-in", func() bool { return h.shows("Cashier sign-in") })
	// A wrong PIN is refused and nobody is signed in.
	h.keys("C7", 150*time.Millisecond)
	h.keys("9999", 150*time.Millisecond)
	h.until("the refusal", func() bool { return h.shows("Wrong staff number, PIN or badge") })
	if !h.shows("Nobody signed in") {
		t.Fatalf("after a wrong PIN: %q", h.texts())
	}
	// A badge scanned (a scanner's burst) signs the cashier in.
	h.keys("BADGE-C7-0007", 8*time.Millisecond)
	h.until("the scan screen", func() bool { return h.shows("Scan a code") })
	if !h.shows("Cashier: Wang Fang (C7)") {
		t.Fatalf("after the badge: %q", h.texts())
	}
	// A cashier cannot open the manager tools.
	h.key(fyne.KeyF2)
	h.keys("C7", 150*time.Millisecond)
	h.keys("3690", 150*time.Millisecond)
	h.until("the refusal", func() bool { return h.shows("Wang Fang is not a store manager") })
	// The manager's badge can.
	h.keys("BADGE-M1-0001", 8*time.Millisecond)
	h.until("the manager tools", func() bool { return h.shows("Lock (Esc)") })
	if !h.shows("Manager: 李娜") {
		t.Errorf("manager tools: %q", h.texts())
	}
}

func TestLockoutAfterFiveWrongPINs(t *testing.T) {
	h := newHarness(t, protocol.LangZH)
	h.until("sign-in", func() bool { return h.shows("收银员登录") })
	for range 5 {
		h.keys("C7", 150*time.Millisecond)
		h.keys("9999", 150*time.Millisecond)
		h.until("the answer", func() bool { return h.shows("工号、PIN 或工牌错误") || h.shows("登录已锁定") })
	}
	h.keys("C7", 150*time.Millisecond)
	h.keys("3690", 150*time.Millisecond) // the right PIN, but locked
	h.until("the lockout", func() bool { return h.shows("错误次数过多：登录已锁定至") })
	if h.shows("请扫描券码") {
		t.Fatal("signed in while locked out")
	}
}

// A new terminal with no staff asks for the first manager, who is then
// signed in.
func TestFirstManagerSetUp(t *testing.T) {
	h := openHarness(t, termtest.Dir(t, fixture()), protocol.LangEN, false)
	h.until("the set-up", func() bool { return h.shows("Set up the first store manager") })
	form := h.entries()
	if len(form) != 4 {
		t.Fatalf("set-up form: %d entries", len(form))
	}
	form[0].SetText("M9")
	form[1].SetText("Chen Jing")
	form[2].SetText("1234")
	form[3].SetText("1234")
	test.Tap(h.button("Save and sign in"))
	h.until("the weak PIN refused", func() bool { return h.shows("The PIN is too easy to guess") })
	form[2].SetText("7391")
	form[3].SetText("7390")
	test.Tap(h.button("Save and sign in"))
	h.until("the mismatch", func() bool { return h.shows("The two PINs differ") })
	form[3].SetText("7391")
	test.Tap(h.button("Save and sign in"))
	h.until("the scan screen", func() bool { return h.shows("Scan a code") })
	if !h.shows("Cashier: Chen Jing (M9)") {
		t.Fatalf("after set-up: %q", h.texts())
	}
	h.unlock("M9", "7391")
}
