package ui

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
)

// Sound is one of the verdict sounds.
type Sound int

// The sounds, one per kind of verdict.
const (
	SoundAccepted  Sound = iota + 1 // two rising beeps
	SoundRejected                   // a low buzz
	SoundAttention                  // three short beeps
)

// Sounder plays a verdict's sound without blocking (drivers/sound). One
// that also has SetVolume(float64) follows the settings' volume.
type Sounder interface{ Play(Sound) }

// Options are the window's wiring. Zero values take the defaults.
type Options struct {
	Now func() time.Time // the clock (time.Now)
	// Do runs f on the UI goroutine (fyne.Do). Tests queue f and run it on
	// the test goroutine.
	Do    func(f func())
	Sound Sounder // nil: silent
	// Decode finds the codes in a picture (drivers/imagecode), already
	// normalised, top to bottom.
	Decode func(data []byte) ([]string, error)
	// Clipboard returns a picture on the clipboard (PNG or JPEG), or nil.
	Clipboard func() []byte
	Log       *slog.Logger
	// OnVerdict is told, on the UI goroutine, each verdict just put on
	// screen and how long after the input ended (Enter, the end of a scan
	// or a confirmation) it appeared.
	OnVerdict func(v Verdict, latency time.Duration)
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Do == nil {
		o.Do = fyne.Do
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// screen is what fills the window.
type screen int

const (
	screenEnroll  screen = iota // a new terminal: scan the enrollment QR
	screenSetup                 // enrolled, no staff: make the first manager
	screenSignIn                // no cashier signed in
	screenScan                  // the cashier's scan screen
	screenUnlock                // a manager's PIN or badge, for the manager tools
	screenManager               // the manager tools
)

// How long verdicts stay before the scan screen comes back by itself.
const (
	holdAccepted  = 4 * time.Second
	holdRejected  = 8 * time.Second
	holdAttention = 6 * time.Second
	defaultLock   = 2 * time.Minute
	statusEvery   = time.Second
	tickEvery     = 250 * time.Millisecond
)

// App is the counter window: it owns the window's content and a worker
// goroutine that calls the Backend, so the UI goroutine never waits on
// SQLite, the hub or a printer. Every field below jobs is touched only on
// the UI goroutine (in Fyne callbacks or functions given to Options.Do).
type App struct {
	w   fyne.Window
	b   Backend
	opt Options
	log *slog.Logger

	jobs chan func(context.Context) // run in order by Run's goroutine

	lang     protocol.Lang
	settings Settings
	screen   screen
	cashier  *Staff
	manager  *Staff
	touched  time.Time // the manager's last action, for the auto-lock
	status   Status
	enrolled bool
	// toldInterrupted: the decisions a crash interrupted were shown.
	toldInterrupted bool

	wedge      *scanner.Wedge
	wedgeTimer *time.Timer

	root   *fyne.Container // status bar + body
	body   *fyne.Container
	bar    *statusBar
	scan   *scanView
	unlock *unlockView
	mgr    *managerView
}

// New builds the window's content on w and shows the first screen. Call
// it on the UI goroutine; then start Run.
func New(w fyne.Window, b Backend, opt Options) *App {
	a := &App{w: w, b: b, opt: opt.withDefaults(), jobs: make(chan func(context.Context), 64)}
	a.log = a.opt.Log
	a.settings = b.Settings()
	a.lang = a.settings.Lang
	if a.lang == "" {
		a.lang = SystemLang()
	}
	a.newWedge()
	a.enrolled = b.Enrolled()
	a.rebuild()
	w.Canvas().SetOnTypedRune(a.typedRune)
	w.Canvas().SetOnTypedKey(a.typedKey)
	w.SetOnDropped(a.dropped)
	a.shortcuts()
	return a
}

// Run calls the Backend for the window until ctx is done: queued jobs in
// order, and the status every second.
func (a *App) Run(ctx context.Context) error {
	status := time.NewTicker(statusEvery)
	defer status.Stop()
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	a.refreshStatus(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case job := <-a.jobs:
			job(ctx)
		case <-status.C:
			a.refreshStatus(ctx)
		case <-tick.C:
			a.opt.Do(a.onTick)
		}
	}
}

// run queues job for Run's goroutine. A full queue (a stuck backend) drops
// nothing: the caller's goroutine waits, which only the UI's keys do.
func (a *App) run(job func(ctx context.Context)) { a.jobs <- job }

// do runs f on the UI goroutine.
func (a *App) do(f func()) { a.opt.Do(f) }

func (a *App) now() time.Time { return a.opt.Now() }

// loc is the store's time zone, for times on screen.
func (a *App) loc() *time.Location {
	if a.status.Location != nil {
		return a.status.Location
	}
	return time.Local
}

// t is tr in the window's current language.
func (a *App) t(key string, args ...any) string { return tr(a.lang, key, args...) }

func (a *App) refreshStatus(ctx context.Context) {
	st := a.b.Status(ctx)
	enrolled := a.b.Enrolled()
	a.do(func() {
		a.status = st
		if enrolled != a.enrolled {
			a.enrolled = enrolled
			a.rebuild()
			return
		}
		a.bar.set(st)
		if a.scan != nil {
			a.scan.setStatus(st)
		}
		if a.mgr != nil {
			a.mgr.sync.set(st)
		}
	})
}

// onTick runs on the UI goroutine four times a second: verdicts return to
// the scan screen, idle manager tools lock.
func (a *App) onTick() {
	now := a.now()
	if a.scan != nil {
		a.scan.tick(now)
	}
	if a.screen == screenManager && now.Sub(a.touched) >= a.autoLock() {
		a.log.Info("manager tools locked after idle", "manager", a.manager.ID)
		a.lockManager()
	}
}

func (a *App) autoLock() time.Duration {
	if a.settings.AutoLock > 0 {
		return a.settings.AutoLock
	}
	return defaultLock
}

// touch notes a manager's action, restarting the auto-lock.
func (a *App) touch() { a.touched = a.now() }

// SetLang switches the window's language at once and keeps it.
func (a *App) SetLang(l protocol.Lang) {
	a.lang = l
	a.rebuild()
}

// rebuild makes every view again in the current language and shows the
// screen the state asks for.
func (a *App) rebuild() {
	a.bar = newStatusBar(a)
	a.bar.set(a.status)
	a.body = container.NewStack()
	a.root = container.NewBorder(nil, a.bar.obj, nil, nil, a.body)
	a.w.SetContent(a.root)
	a.scan, a.unlock, a.mgr = nil, nil, nil
	a.w.SetTitle(a.t("app.title"))
	switch {
	case !a.enrolled:
		a.show(screenEnroll)
	case a.screen == screenManager && a.manager != nil:
		a.show(screenManager)
	case a.cashier == nil:
		a.run(func(ctx context.Context) {
			has, err := a.b.HasStaff(ctx)
			a.do(func() {
				if err == nil && !has && a.screen == screenSignIn {
					a.show(screenSetup)
				}
			})
		})
		a.show(screenSignIn)
	default:
		a.show(screenScan)
	}
}

// show puts screen s in the window.
func (a *App) show(s screen) {
	a.screen = s
	a.w.Canvas().Unfocus()
	a.bar.obj.Show()
	var obj fyne.CanvasObject
	var focus fyne.Focusable
	switch s {
	case screenEnroll:
		a.bar.obj.Hide()
		v := newEnrollView(a)
		obj, focus = v.obj, v.focus
	case screenSetup:
		v := newSetupView(a)
		obj, focus = v.obj, v.focus
	case screenSignIn:
		a.unlock = newUnlockView(a, false)
		obj = a.unlock.obj
	case screenUnlock:
		a.unlock = newUnlockView(a, true)
		obj = a.unlock.obj
	case screenScan:
		if a.scan == nil {
			a.scan = newScanView(a)
		}
		a.scan.setStatus(a.status)
		obj = a.scan.obj
	case screenManager:
		a.touch()
		a.mgr = newManagerView(a)
		obj = a.mgr.obj
	}
	a.body.Objects = []fyne.CanvasObject{obj}
	a.body.Refresh()
	a.bar.set(a.status)
	if focus != nil {
		a.w.Canvas().Focus(focus)
	}
}

// signedIn is called when a cashier (or a manager at the counter) signs in.
func (a *App) signedIn(s Staff) {
	a.cashier = &s
	a.log.Info("signed in", "staff", s.ID, "manager", s.Manager)
	a.show(screenScan)
}

// signOut ends the cashier's session.
func (a *App) signOut() {
	if a.cashier != nil {
		a.log.Info("signed out", "staff", a.cashier.ID)
	}
	a.cashier, a.manager = nil, nil
	a.show(screenSignIn)
}

// unlocked opens the manager tools for m.
func (a *App) unlocked(m Staff) {
	a.manager = &m
	a.log.Info("manager tools unlocked", "manager", m.ID)
	a.show(screenManager)
}

// lockManager closes the manager tools (and any dialog they opened) and
// returns to the scan screen.
func (a *App) lockManager() {
	a.manager = nil
	for o := a.w.Canvas().Overlays(); o.Top() != nil; {
		o.Remove(o.Top())
	}
	if a.cashier == nil {
		a.show(screenSignIn)
		return
	}
	a.show(screenScan)
}

// asUserError is errors.As for *UserError.
func asUserError(err error, target **UserError) bool { return errors.As(err, target) }

// Scanned submits a code a serial scanner read, as if scanned into the
// window. Safe to call from any goroutine.
func (a *App) Scanned(code string) {
	at := a.now()
	a.do(func() {
		if t := a.target(); t != nil {
			t.input(scanner.Result{Kind: scanner.Scan, Text: code}, at)
		}
	})
}

// Decided shows a decision the cash register asked for. Safe to call from
// any goroutine.
func (a *App) Decided(d terminal.Decision) {
	at := a.now()
	a.do(func() {
		if a.screen == screenScan && a.scan != nil {
			a.scan.show(decisionVerdict(a.lang, d), at)
		}
	})
}
