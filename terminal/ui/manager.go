package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// managerView holds the store manager's tools, one tab each. Any action in
// them restarts the auto-lock; Esc or Ctrl+L locks them at once.
type managerView struct {
	a    *App
	obj  fyne.CanvasObject
	tabs *container.AppTabs
	sync *syncTab
}

func newManagerView(a *App) *managerView {
	v := &managerView{a: a, sync: newSyncTab(a)}
	v.tabs = container.NewAppTabs(
		container.NewTabItem(a.t("tab.log"), newLogTab(a)),
		container.NewTabItem(a.t("tab.reports"), newReportsTab(a)),
		container.NewTabItem(a.t("tab.sync"), v.sync.obj),
		container.NewTabItem(a.t("tab.neighbours"), newNeighboursTab(a).obj),
		container.NewTabItem(a.t("tab.settings"), newSettingsTab(a).obj),
	)
	v.tabs.OnSelected = func(*container.TabItem) { a.touch() }
	lock := widget.NewButton(a.t("manager.lock"), a.lockManager)
	title := widget.NewLabel(a.t("manager.title", a.manager.Name))
	title.TextStyle.Bold = true
	keys := widget.NewLabel(a.t("manager.keys"))
	v.obj = container.NewBorder(container.NewHBox(title, lock, keys), nil, nil, nil, v.tabs)
	return v
}
