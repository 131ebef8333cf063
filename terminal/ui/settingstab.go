package ui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
)

// settingsTab edits the counter's settings: language, sounds, the scanner
// (keyboard wedge timing or a serial port), the cash register, the
// printer, the customer display, the auto-lock; and shows the pairing.
type settingsTab struct {
	a   *App
	obj fyne.CanvasObject
}

func newSettingsTab(a *App) *settingsTab {
	v := &settingsTab{a: a}
	cur := a.settings
	langs := []string{a.t("settings.lang_en"), a.t("settings.lang_zh")}
	lang := widget.NewSelect(langs, func(string) { a.touch() })
	lang.SetSelectedIndex(0)
	if a.lang == protocol.LangZH {
		lang.SetSelectedIndex(1)
	}
	sound := widget.NewCheck(a.t("settings.sound_on"), func(bool) { a.touch() })
	sound.SetChecked(cur.Sound)
	volume := widget.NewSlider(0, 100)
	volume.SetValue(cur.Volume * 100)
	volume.OnChanged = func(float64) { a.touch() }
	test := widget.NewButton(a.t("settings.sound_test"), func() {
		a.touch()
		if a.opt.Sound != nil {
			a.opt.Sound.Play(SoundAccepted)
		}
	})
	entry := func(text, hint string) *widget.Entry {
		e := widget.NewEntry()
		e.SetText(text)
		e.SetPlaceHolder(hint)
		e.OnChanged = func(string) { a.touch() }
		return e
	}
	ms := func(d time.Duration) string {
		if d == 0 {
			return ""
		}
		return strconv.Itoa(int(d / time.Millisecond))
	}
	scannerPort := entry(cur.ScannerPort, a.t("settings.port_hint"))
	gap, idle := entry(ms(cur.WedgeGap), "30"), entry(ms(cur.WedgeIdle), "80")
	ecrPort := entry(cur.ECRPort, a.t("settings.port_hint"))
	ecrSum := widget.NewSelect([]string{"crc16", "lrc"}, func(string) { a.touch() })
	ecrSum.SetSelected(or(cur.ECRSum, "crc16"))
	printer := entry(cur.Printer, a.t("settings.printer_hint"))
	columns := widget.NewSelect([]string{"48", "32"}, func(string) { a.touch() })
	columns.SetSelected(strconv.Itoa(or(cur.Columns, 48)))
	display := entry(cur.Display, a.t("settings.port_hint"))
	store := entry(cur.StoreName, a.t("settings.store_hint"))
	lock := entry(strconv.Itoa(int(or(cur.AutoLock, defaultLock)/time.Second)), "120")
	ports := widget.NewLabel(a.t("settings.ports_none"))
	ports.Wrapping = fyne.TextWrapWord
	msg := widget.NewLabel("")
	msg.Wrapping = fyne.TextWrapWord
	a.run(func(context.Context) {
		list := a.b.Ports()
		a.do(func() {
			if len(list) > 0 {
				ports.SetText(a.t("settings.ports", strings.Join(list, "  ")))
			}
		})
	})
	form := widget.NewForm(
		widget.NewFormItem(a.t("settings.lang"), lang),
		widget.NewFormItem(a.t("settings.sound"), container.NewBorder(nil, nil, sound, test, volume)),
		widget.NewFormItem(a.t("settings.scanner_port"), scannerPort),
		widget.NewFormItem(a.t("settings.wedge_gap"), gap),
		widget.NewFormItem(a.t("settings.wedge_idle"), idle),
		widget.NewFormItem(a.t("settings.ecr_port"), ecrPort),
		widget.NewFormItem(a.t("settings.ecr_sum"), ecrSum),
		widget.NewFormItem(a.t("settings.printer"), printer),
		widget.NewFormItem(a.t("settings.columns"), columns),
		widget.NewFormItem(a.t("settings.display"), display),
		widget.NewFormItem(a.t("settings.store_name"), store),
		widget.NewFormItem(a.t("settings.auto_lock"), lock),
	)
	form.SubmitText = a.t("settings.save")
	form.OnSubmit = func() {
		a.touch()
		next := cur
		next.Lang = protocol.LangEN
		if lang.SelectedIndex() == 1 {
			next.Lang = protocol.LangZH
		}
		next.Sound, next.Volume = sound.Checked, volume.Value/100
		next.ScannerPort, next.ECRPort, next.ECRSum = strings.TrimSpace(scannerPort.Text), strings.TrimSpace(ecrPort.Text), ecrSum.Selected
		next.Printer, next.Display, next.StoreName = strings.TrimSpace(printer.Text), strings.TrimSpace(display.Text), strings.TrimSpace(store.Text)
		next.Columns, _ = strconv.Atoi(columns.Selected)
		var bad []string
		number := func(e *widget.Entry, unit time.Duration, label string) time.Duration {
			s := strings.TrimSpace(e.Text)
			if s == "" {
				return 0
			}
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				bad = append(bad, a.t("settings.not_number", label))
			}
			return time.Duration(n) * unit
		}
		next.WedgeGap = number(gap, time.Millisecond, a.t("settings.wedge_gap"))
		next.WedgeIdle = number(idle, time.Millisecond, a.t("settings.wedge_idle"))
		next.AutoLock = number(lock, time.Second, a.t("settings.auto_lock"))
		if len(bad) > 0 {
			msg.SetText(strings.Join(bad, "\n"))
			return
		}
		msg.SetText(a.t("settings.saving"))
		a.run(func(ctx context.Context) {
			err := a.b.SaveSettings(ctx, next)
			saved := a.b.Settings() // what is in force, whatever err says
			a.do(func() {
				a.settings = saved
				a.newWedge()
				if sv, ok := a.opt.Sound.(interface{ SetVolume(float64) }); ok {
					sv.SetVolume(saved.Volume)
				}
				if err != nil {
					msg.SetText(errText(a.lang, err, "settings.failed"))
					return
				}
				msg.SetText(a.t("settings.saved"))
				if saved.Lang != "" && saved.Lang != a.lang {
					a.SetLang(saved.Lang)
				}
			})
		})
	}
	pairing := widget.NewLabel(v.pairing())
	pairing.Wrapping = fyne.TextWrapWord
	v.obj = container.NewVScroll(container.NewVBox(form, msg, ports, widget.NewSeparator(), pairing))
	return v
}

// pairing says which hub, store and terminal this is.
func (v *settingsTab) pairing() string {
	a, st := v.a, v.a.status
	if !st.Linked {
		return a.t("settings.pairing_none", st.Terminal, st.Store)
	}
	return a.t("settings.pairing", st.Terminal, st.Store, fmt.Sprint(st.HubVersion))
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
