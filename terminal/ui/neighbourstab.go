package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/hexiao/hexiao/protocol"
)

// neighboursTab lists the store's other terminals' redemptions of today,
// as the hub's feed delivered them.
type neighboursTab struct {
	a     *App
	obj   fyne.CanvasObject
	rows  []Neighbour
	list  *widget.List
	total *widget.Label
}

func newNeighboursTab(a *App) *neighboursTab {
	v := &neighboursTab{a: a, total: widget.NewLabel("")}
	v.list = widget.NewList(func() int { return len(v.rows) },
		func() fyne.CanvasObject { return widget.NewLabel("") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.line(v.rows[i])) })
	refresh := widget.NewButton(a.t("neighbours.refresh"), func() { a.touch(); v.load() })
	help := widget.NewLabel(a.t("neighbours.help"))
	help.Wrapping = fyne.TextWrapWord
	v.obj = container.NewBorder(container.NewVBox(help, container.NewHBox(refresh, v.total)), nil, nil, nil, v.list)
	v.load()
	return v
}

func (v *neighboursTab) line(n Neighbour) string {
	a := v.a
	kind := a.t("neighbours.redeemed")
	if n.Kind == protocol.KindVoid {
		kind = a.t("neighbours.voided")
	}
	who := n.Terminal
	if n.Cashier != "" {
		who += " · " + n.Cashier
	}
	return fmt.Sprintf("%s  %s  %s  %s  %s  %s  %s", n.At.In(a.loc()).Format("15:04:05"), who, kind,
		clip(n.Campaign, maxLine), a.t("neighbours.uses", n.Uses), money(n.Amount), a.t("mode."+string(n.Mode)))
}

// load reads today's list on the worker.
func (v *neighboursTab) load() {
	a := v.a
	day := a.status.Day
	if day == "" {
		day = a.now().Format("2006-01-02")
	}
	a.run(func(ctx context.Context) {
		rows, err := a.b.Neighbours(ctx, day)
		a.do(func() {
			if err != nil {
				v.total.SetText(errText(a.lang, err, "neighbours.failed"))
				return
			}
			v.rows = rows
			var n int
			var value int64
			for _, r := range rows {
				if r.Kind == protocol.KindVoid {
					value -= r.Amount
					continue
				}
				n++
				value += r.Amount
			}
			v.total.SetText(a.t("neighbours.total", day, n, money(value)))
			v.list.Refresh()
		})
	})
}
