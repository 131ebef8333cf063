package ui_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/drivers/imagecode"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/internal/termtest"
	"github.com/hexiao/hexiao/terminal/station"
	"github.com/hexiao/hexiao/terminal/ui"
)

// clock is a settable clock safe for the worker and the test goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sounds records the sounds played.
type sounds struct {
	mu     sync.Mutex
	played []ui.Sound
}

func (s *sounds) Play(k ui.Sound) {
	s.mu.Lock()
	s.played = append(s.played, k)
	s.mu.Unlock()
}

func (s *sounds) last() ui.Sound {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.played) == 0 {
		return 0
	}
	return s.played[len(s.played)-1]
}

// harness is a counter window on a real station (SQLite in a temp dir)
// in Fyne's test driver. Everything the App gives to Options.Do is queued
// and run on the test goroutine by pump, so widgets are only ever touched
// there.
type harness struct {
	t     testing.TB
	clock *clock
	st    *station.Station
	app   *ui.App
	w     fyne.Window
	snd   *sounds

	queue    chan func()
	verdicts []ui.Verdict
	latency  []time.Duration
	shownAt  time.Time // wall time of the last verdict
	clip     []byte    // the picture on the clipboard

	devMu   sync.Mutex
	devices []string // device events: "scanner <nil>" when connected
}

// connected waits for the station to report dev connected.
func (h *harness) connected(dev string) {
	h.t.Helper()
	h.until(dev+" connected", func() bool {
		h.devMu.Lock()
		defer h.devMu.Unlock()
		for _, d := range h.devices {
			if d == dev+" <nil>" {
				return true
			}
		}
		return false
	})
}

// fixture is the snapshot most tests use: a one-use campaign C1 with card
// secrets 1..9, a multi-use campaign M5 (5 uses) with card secret 20, and
// a campaign C2 that asks for confirmation with card secret 30.
func fixture() termtest.Snapshot {
	c1 := termtest.Campaign("C1")
	c1.Name = "视频会员月卡"
	m5 := termtest.Campaign("M5")
	m5.Name, m5.Uses, m5.FaceValue = "咖啡次卡", 5, 1800
	c2 := termtest.Campaign("C2")
	c2.Name, c2.Confirm = "Gift card", true
	snap := termtest.Snapshot{Campaigns: []protocol.Campaign{c1, m5, c2}}
	for n := 1; n <= 9; n++ {
		snap.Codes = append(snap.Codes, termtest.SecretCode(n, "C1", 1))
	}
	snap.Codes = append(snap.Codes, termtest.SecretCode(20, "M5", 5), termtest.SecretCode(30, "C2", 1))
	return snap
}

func newHarness(t testing.TB, lang protocol.Lang) *harness {
	t.Helper()
	return newHarnessDir(t, termtest.Dir(t, fixture()), lang)
}

func newHarnessDir(t testing.TB, dir string, lang protocol.Lang) *harness {
	t.Helper()
	return openHarness(t, dir, lang, true)
}

// openHarness opens the window on dir; staff adds the fixture's staff:
// manager M1 (PIN 2580, badge BADGE-M1-0001), cashiers C7 (3690, badge
// BADGE-C7-0007) and C8 (4826).
func openHarness(t testing.TB, dir string, lang protocol.Lang, staff bool) *harness {
	t.Helper()
	test.NewTempApp(t)
	h := &harness{t: t, clock: &clock{t: termtest.Now}, snd: &sounds{}, queue: make(chan func(), 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := station.Open(ctx, station.Options{Dir: dir, Version: "test", Now: h.clock.Now, NoHub: true,
		OnScan:     func(code string) { h.app.Scanned(code) },
		OnDecision: func(d terminal.Decision) { h.app.Decided(d) },
		OnDevice: func(dev string, err error) {
			h.devMu.Lock()
			h.devices = append(h.devices, fmt.Sprintf("%s %v", dev, err))
			h.devMu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("open station: %v", err)
	}
	for _, who := range []struct {
		s          terminal.Staff
		pin, badge string
	}{
		{terminal.Staff{ID: "M1", Name: "李娜", Role: terminal.RoleManager}, "2580", "BADGE-M1-0001"},
		{terminal.Staff{ID: "C7", Name: "Wang Fang", Role: terminal.RoleCashier}, "3690", "BADGE-C7-0007"},
		{terminal.Staff{ID: "C8", Name: "Zhao Lei", Role: terminal.RoleCashier}, "4826", ""},
	} {
		if !staff {
			break
		}
		if err := st.Store().AddStaff(ctx, who.s, who.pin, who.badge); err != nil {
			t.Fatalf("add staff %s: %v", who.s.ID, err)
		}
	}
	set := st.Settings()
	set.Lang = lang
	if err := st.SaveSettings(ctx, set); err != nil {
		t.Fatalf("settings: %v", err)
	}
	h.st = st
	h.w = test.NewWindow(nil)
	h.w.Resize(fyne.NewSize(1024, 768))
	h.app = ui.New(h.w, st, ui.Options{
		Now:   h.clock.Now,
		Do:    func(f func()) { h.queue <- f },
		Sound: h.snd,
		Decode: func(data []byte) ([]string, error) {
			codes, err := imagecode.Decode(data)
			out := make([]string, len(codes))
			for i, c := range codes {
				out[i] = c.Text
			}
			return out, err
		},
		Clipboard: func() []byte { return h.clip },
		OnVerdict: func(v ui.Verdict, d time.Duration) {
			h.verdicts = append(h.verdicts, v)
			h.latency = append(h.latency, d)
			h.shownAt = time.Now()
		},
	})
	var wg sync.WaitGroup
	wg.Go(func() { _ = st.Run(ctx) })
	wg.Go(func() { _ = h.app.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		// Run may be waiting to hand the UI a function: keep pumping.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for {
			select {
			case <-done:
				h.w.Close()
				st.Close()
				return
			case f := <-h.queue:
				f()
			}
		}
	})
	h.pump()
	return h
}

// pump runs what is queued for the UI goroutine.
func (h *harness) pump() {
	for {
		select {
		case f := <-h.queue:
			f()
		default:
			return
		}
	}
}

// until pumps until cond holds, failing the test after 10 s.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.pump()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; the window shows: %q", what, h.texts())
		}
		select {
		case f := <-h.queue:
			f()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// keys types s with gap between keys (8 ms: a scanner; 150 ms: a person),
// then Enter.
func (h *harness) keys(s string, gap time.Duration) {
	c := h.w.Canvas()
	for _, r := range s {
		c.OnTypedRune()(r)
		h.clock.Add(gap)
	}
	h.key(fyne.KeyReturn)
}

func (h *harness) key(name fyne.KeyName) {
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name})
	h.pump()
}

// scan scans code and waits for its verdict.
func (h *harness) scan(code string) ui.Verdict {
	h.t.Helper()
	n := len(h.verdicts)
	h.keys(code, 8*time.Millisecond)
	h.until("a verdict for "+code, func() bool { return len(h.verdicts) > n })
	return h.verdicts[len(h.verdicts)-1]
}

// signIn signs a cashier in from the sign-in screen.
func (h *harness) signIn(id, pin string) {
	h.t.Helper()
	h.until("the sign-in screen", func() bool { return h.shows("Cashier sign-in") || h.shows("收银员登录") })
	h.keys(id, 150*time.Millisecond)
	h.keys(pin, 150*time.Millisecond)
	h.until("the scan screen", func() bool { return h.shows("Scan a code") || h.shows("请扫描券码") })
}

// walk visits the visible objects of the window in tree order, looking
// inside containers and widgets (their renderers' objects) while visit
// returns true.
func (h *harness) walk(visit func(o fyne.CanvasObject) bool) {
	walkFrom(h.w.Canvas().Content(), visit)
}

// walkFrom is walk from root.
func walkFrom(root fyne.CanvasObject, visit func(o fyne.CanvasObject) bool) {
	if root == nil || !root.Visible() || !visit(root) {
		return
	}
	switch x := root.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walkFrom(c, visit)
		}
	case fyne.Widget:
		for _, c := range test.WidgetRenderer(x).Objects() {
			walkFrom(c, visit)
		}
	}
}

// find returns the first visible object of type T that match accepts.
func find[T fyne.CanvasObject](h *harness, what string, match func(T) bool) T {
	h.t.Helper()
	var found T
	ok := false
	h.walk(func(o fyne.CanvasObject) bool {
		if x, is := o.(T); is && !ok && match(x) {
			found, ok = x, true
		}
		return !ok
	})
	if !ok {
		h.t.Fatalf("no %s in %q", what, h.texts())
	}
	return found
}

// texts lists the visible texts in the window, in tree order.
func (h *harness) texts() []string {
	var out []string
	h.walk(func(o fyne.CanvasObject) bool {
		switch x := o.(type) {
		case *canvas.Text:
			out = append(out, x.Text)
		case *widget.Label:
			out = append(out, x.Text)
		case *widget.Button:
			out = append(out, x.Text)
		default:
			return true
		}
		return false
	})
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// shows reports whether some visible text contains s.
func (h *harness) shows(s string) bool {
	for _, t := range h.texts() {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// entries lists the visible entries in tree order.
func (h *harness) entries() []*widget.Entry {
	var out []*widget.Entry
	h.walk(func(o fyne.CanvasObject) bool {
		if e, ok := o.(*widget.Entry); ok {
			out = append(out, e)
			return false
		}
		return true
	})
	return out
}
