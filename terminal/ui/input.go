package ui

import (
	"context"
	"fmt"
	"io"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"

	"github.com/hexiao/hexiao/drivers/scanner"
	"github.com/hexiao/hexiao/protocol"
)

// maxImage bounds a dropped or pasted picture (screenshots are a few MB).
const maxImage = 20 << 20

// keyTarget is a screen that takes the keyboard through the wedge
// detector: the scan screen and the sign-in and unlock screens.
type keyTarget interface {
	// echo shows what a person has typed so far ("" when nothing).
	echo(pending string)
	// input handles one finished input; ended is when it ended.
	input(r scanner.Result, ended time.Time)
	// escape is the Esc key: cancel what is under way.
	escape()
}

func (a *App) newWedge() {
	a.wedge = scanner.NewWedge(scanner.WedgeConfig{MaxGap: a.settings.WedgeGap, Idle: a.settings.WedgeIdle})
}

// target is the screen keys go to now, or nil.
func (a *App) target() keyTarget {
	switch a.screen {
	case screenScan:
		if a.scan != nil {
			return a.scan
		}
	case screenSignIn, screenUnlock:
		if a.unlock != nil {
			return a.unlock
		}
	}
	return nil
}

// typedRune is the canvas's rune handler: keys no focused widget took.
func (a *App) typedRune(r rune) {
	a.key(scanner.Key{Rune: r, Name: scanner.KeyRune, At: a.now()})
}

// typedKey is the canvas's key handler.
func (a *App) typedKey(ev *fyne.KeyEvent) {
	k := scanner.Key{At: a.now()}
	if a.asking() {
		switch ev.Name {
		case fyne.KeyUp:
			a.key(scanner.Key{Rune: '+', At: k.At})
			return
		case fyne.KeyDown:
			a.key(scanner.Key{Rune: '-', At: k.At})
			return
		}
	}
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		k.Name = scanner.KeyEnter
	case fyne.KeyTab:
		k.Name = scanner.KeyTab
	case fyne.KeyBackspace:
		k.Name = scanner.KeyBackspace
	case fyne.KeyEscape:
		if t := a.target(); t != nil {
			t.escape()
		} else if a.screen == screenManager {
			a.lockManager()
		}
		return
	case fyne.KeyF2:
		a.openManager()
		return
	case fyne.KeyF3:
		if a.screen == screenScan {
			a.signOut()
		}
		return
	case fyne.KeyF4:
		a.SetLang(otherLang(a.lang))
		return
	default:
		k.Name = scanner.KeyOther
	}
	a.key(k)
}

func otherLang(l protocol.Lang) protocol.Lang {
	if l == protocol.LangZH {
		return protocol.LangEN
	}
	return protocol.LangZH
}

// key feeds one key to the wedge detector and hands what it finishes to
// the screen.
func (a *App) key(k scanner.Key) {
	if a.asking() {
		a.scan.question.key(k)
		return
	}
	t := a.target()
	if t == nil {
		return
	}
	a.results(t, a.wedge.Key(k), k.At)
	a.armWedge()
}

func (a *App) results(t keyTarget, rs []scanner.Result, at time.Time) {
	t.echo(a.wedge.Pending())
	for _, r := range rs {
		t.input(r, at)
	}
}

// asking reports whether the scan screen's question takes the keys.
func (a *App) asking() bool {
	return a.screen == screenScan && a.scan != nil && a.scan.question.open()
}

// armWedge sets a timer for the wedge's next deadline: a scanner that
// sends no suffix ends its code by going quiet.
func (a *App) armWedge() {
	if a.wedgeTimer != nil {
		a.wedgeTimer.Stop()
	}
	at, ok := a.wedge.NextDeadline()
	if !ok {
		return
	}
	a.wedgeTimer = time.AfterFunc(max(at.Sub(a.now()), 0), func() {
		a.do(func() {
			if t := a.target(); t != nil {
				a.results(t, a.wedge.Tick(at), at)
			}
			a.armWedge()
		})
	})
}

// openManager shows the unlock screen (or the tools, still unlocked).
func (a *App) openManager() {
	switch a.screen {
	case screenScan, screenSignIn:
		a.show(screenUnlock)
	}
}

// shortcuts adds the keyboard shortcuts that work whatever has focus.
func (a *App) shortcuts() {
	c := a.w.Canvas()
	c.AddShortcut(&fyne.ShortcutPaste{}, func(fyne.Shortcut) { a.paste() })
	for i, k := range []fyne.KeyName{fyne.Key1, fyne.Key2, fyne.Key3, fyne.Key4, fyne.Key5} {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) {
			if a.screen == screenManager && a.mgr != nil {
				a.touch()
				a.mgr.tabs.SelectIndex(i)
			}
		})
	}
	lock := &desktop.CustomShortcut{KeyName: fyne.KeyL, Modifier: fyne.KeyModifierShortcutDefault}
	c.AddShortcut(lock, func(fyne.Shortcut) {
		if a.screen == screenManager {
			a.lockManager()
		}
	})
}

// paste takes a picture from the clipboard (a customer's screenshot), or
// else its text as if typed and ended with Enter. The clipboard is read on
// the worker: another program answers for it.
func (a *App) paste() {
	if a.screen != screenScan || a.scan == nil {
		return
	}
	at := a.now()
	text := fyne.CurrentApp().Clipboard().Content()
	if a.opt.Clipboard == nil {
		a.pasted(nil, text, at)
		return
	}
	a.run(func(context.Context) {
		img := a.opt.Clipboard()
		a.do(func() { a.pasted(img, text, at) })
	})
}

// pasted submits what paste found.
func (a *App) pasted(img []byte, text string, at time.Time) {
	if a.scan == nil || a.screen != screenScan {
		return
	}
	switch {
	case len(img) > 0:
		a.scan.image(img, at)
		return
	case text == "":
		a.scan.attention(a.t("paste.empty"), "")
		return
	}
	if u, err := storage.ParseURI(text); err == nil && u.Scheme() == "file" {
		a.readImage(u)
		return
	}
	n, err := scanner.Normalize(text)
	if err != nil {
		a.scan.input(scanner.Result{Kind: scanner.Rejected, Err: err}, at)
		return
	}
	a.scan.input(scanner.Result{Kind: scanner.Typed, Text: n}, at)
}

// dropped takes a picture dropped on the window.
func (a *App) dropped(_ fyne.Position, uris []fyne.URI) {
	if a.screen != screenScan || a.scan == nil || len(uris) == 0 {
		return
	}
	if len(uris) > 1 {
		a.scan.attention(a.t("image.many_files", len(uris)), "")
		return
	}
	a.readImage(uris[0])
}

// readImage reads a picture file off the UI goroutine and decodes it.
func (a *App) readImage(u fyne.URI) {
	at := a.now()
	a.run(func(context.Context) {
		data, err := readLimited(u)
		a.do(func() {
			if err != nil {
				a.scan.attention(a.t("image.unreadable"), err.Error())
				return
			}
			a.scan.image(data, at)
		})
	})
}

func readLimited(u fyne.URI) ([]byte, error) {
	r, err := storage.Reader(u)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxImage+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxImage {
		return nil, fmt.Errorf("larger than %d MB", maxImage>>20)
	}
	return data, nil
}
