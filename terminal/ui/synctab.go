package ui

import (
	"context"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// syncTab says how sync stands, in words, and holds the manager's
// force-offline switch.
type syncTab struct {
	a    *App
	obj  fyne.CanvasObject
	info *widget.Label
	msg  *widget.Label
	note *widget.Entry
	off  *widget.Button
	on   *widget.Button
}

func newSyncTab(a *App) *syncTab {
	v := &syncTab{a: a, info: widget.NewLabel(""), msg: widget.NewLabel(""), note: widget.NewEntry()}
	v.info.Wrapping = fyne.TextWrapWord
	v.msg.Wrapping = fyne.TextWrapWord
	v.note.SetPlaceHolder(a.t("sync.note"))
	v.note.OnChanged = func(string) { a.touch() }
	v.off = widget.NewButton(a.t("sync.force_offline"), func() { v.force(true) })
	v.on = widget.NewButton(a.t("sync.back_online"), func() { v.force(false) })
	help := widget.NewLabel(a.t("sync.switch_help"))
	help.Wrapping = fyne.TextWrapWord
	v.obj = container.NewVScroll(container.NewVBox(v.info, widget.NewSeparator(),
		help, v.note, container.NewHBox(v.off, v.on), v.msg))
	v.set(a.status)
	return v
}

// set shows st in words.
func (v *syncTab) set(st Status) {
	a := v.a
	var lines []string
	switch {
	case st.Revoked != "":
		lines = append(lines, a.t("sync.revoked", st.Revoked))
	case !st.Linked:
		lines = append(lines, a.t("sync.unlinked"))
	case st.Forced:
		lines = append(lines, a.t("sync.forced"))
	case st.Online:
		lines = append(lines, a.t("sync.online"))
	case st.Connected:
		lines = append(lines, a.t("sync.connected_no_claims"))
	default:
		lines = append(lines, a.t("sync.disconnected"))
	}
	if st.Linked {
		lines = append(lines, a.t("sync.last_contact", ago(a.lang, a.now(), st.LastContact)))
	}
	if st.Outbox == 0 {
		lines = append(lines, a.t("sync.outbox_empty"))
	} else {
		lines = append(lines, a.t("sync.outbox", st.Outbox))
	}
	if !st.Online {
		lines = append(lines, offlineLeft(a.lang, st))
	}
	if st.Snapshot {
		lines = append(lines, a.t("sync.snapshot"))
	}
	if st.Unprinted > 0 {
		lines = append(lines, a.t("sync.unprinted", st.Unprinted))
	}
	if st.Problem != "" {
		lines = append(lines, a.t("sync.problem", st.Problem))
	}
	if st.HubVersion != "" {
		lines = append(lines, a.t("sync.hub_version", st.HubVersion))
	}
	v.info.SetText(strings.Join(lines, "\n"))
	if st.Forced {
		v.off.Disable()
		v.on.Enable()
	} else {
		v.off.Enable()
		v.on.Disable()
	}
	if !st.Linked {
		v.off.Disable()
		v.on.Disable()
	}
}

// force switches claims off or back on, as the unlocked manager.
func (v *syncTab) force(off bool) {
	a := v.a
	a.touch()
	if a.manager == nil {
		return
	}
	manager, note := a.manager.ID, strings.TrimSpace(v.note.Text)
	v.msg.SetText(a.t("sync.working"))
	a.run(func(ctx context.Context) {
		err := a.b.ForceOffline(ctx, manager, off, note)
		st := a.b.Status(ctx)
		a.do(func() {
			a.status = st
			switch {
			case err != nil:
				v.msg.SetText(errText(a.lang, err, "sync.switch_failed") + ": " + err.Error())
			case off:
				v.msg.SetText(a.t("sync.now_offline"))
			default:
				v.msg.SetText(a.t("sync.now_online"))
			}
			v.note.SetText("")
			v.set(st)
			a.bar.set(st)
		})
	})
}
