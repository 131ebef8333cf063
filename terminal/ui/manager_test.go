package ui_test

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
)

// unlock opens the manager tools from the scan screen.
func (h *harness) unlock(id, pin string) {
	h.t.Helper()
	h.key(fyne.KeyF2)
	h.until("the unlock screen", func() bool { return h.shows("Store manager") || h.shows("店长功能") })
	h.keys(id, 150*time.Millisecond)
	h.keys(pin, 150*time.Millisecond)
	h.until("the manager tools", func() bool { return h.shows("Lock (Esc)") || h.shows("锁定（Esc）") })
}

// alt presses Alt and k: the manager tabs' shortcuts.
func (h *harness) alt(k fyne.KeyName) {
	h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierAlt})
	h.pump()
}

// button finds a visible button by its text.
func (h *harness) button(text string) *widget.Button {
	h.t.Helper()
	return find(h, "button "+text, func(b *widget.Button) bool { return b.Text == text })
}

func TestManagerForceOfflineAndLock(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	h.unlock("M1", "2580")
	// Sync tab: this terminal has no hub, so the switch is disabled and
	// the tab says why.
	h.alt(fyne.Key3)
	if !h.shows("This terminal is not linked to a hub: offline only.") {
		t.Fatalf("sync tab: %q", h.texts())
	}
	if !h.button("Force offline").Disabled() {
		t.Errorf("force offline is enabled on a terminal without a hub")
	}
	// Locking closes a dialog left open: the Z question is not left on
	// top of the scan screen.
	h.alt(fyne.Key2)
	test.Tap(h.button("Close the day: Z report"))
	h.pump()
	if h.w.Canvas().Overlays().Top() == nil {
		t.Fatal("the Z question did not open")
	}
	h.w.Canvas().(fyne.Shortcutable).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault})
	h.pump()
	if h.w.Canvas().Overlays().Top() != nil || !h.shows("Scan a code") {
		t.Fatalf("after Ctrl+L: overlay %v, window %q", h.w.Canvas().Overlays().Top(), h.texts())
	}
	// Esc locks the tools and returns to the scan screen.
	h.unlock("M1", "2580")
	h.key(fyne.KeyEscape)
	if !h.shows("Scan a code") || h.shows("Lock (Esc)") {
		t.Fatalf("after Esc: %q", h.texts())
	}
	// Idle for longer than the auto-lock: locked.
	h.unlock("M1", "2580")
	h.clock.Add(3 * time.Minute)
	h.until("the auto-lock", func() bool { return !h.shows("Lock (Esc)") })
	if !h.shows("Scan a code") {
		t.Fatalf("after the auto-lock: %q", h.texts())
	}
}

func TestSettingsSwitchLanguage(t *testing.T) {
	h := newHarness(t, protocol.LangEN)
	h.signIn("M1", "2580")
	h.unlock("M1", "2580")
	h.alt(fyne.Key5)
	sel := h.selectWith("中文（简体）")
	sel.SetSelectedIndex(1)
	test.Tap(h.button("Save"))
	h.until("the window in Chinese", func() bool { return h.shows("锁定（Esc）") })
	if got := h.st.Settings().Lang; got != protocol.LangZH {
		t.Errorf("stored language %q, want zh-CN", got)
	}
	// F4 switches back at once, from the scan screen.
	h.key(fyne.KeyEscape)
	h.key(fyne.KeyF4)
	if !h.shows("Scan a code") {
		t.Fatalf("after F4: %q", h.texts())
	}
}

// selectWith finds a visible Select offering option.
func (h *harness) selectWith(option string) *widget.Select {
	h.t.Helper()
	return find(h, "select with "+option, func(x *widget.Select) bool { return slices.Contains(x.Options, option) })
}

// entryWith finds the first visible Entry with placeholder.
func (h *harness) entryWith(placeholder string) *widget.Entry {
	h.t.Helper()
	return find(h, "entry with placeholder "+placeholder, func(e *widget.Entry) bool { return e.PlaceHolder == placeholder })
}

func TestSettingsRefuseABadPort(t *testing.T) {
	h := newHarness(t, protocol.LangZH)
	h.signIn("M1", "2580")
	h.unlock("M1", "2580")
	h.alt(fyne.Key5)
	h.entryWith("例如 /dev/ttyUSB0:9600 或 COM3").SetText("/dev/ttyUSB0:0")
	test.Tap(h.button("保存"))
	h.until("the error", func() bool { return h.shows("扫码枪串口") })
	if got := h.st.Settings().ScannerPort; got != "" {
		t.Errorf("a bad port was stored: %q", got)
	}
}
