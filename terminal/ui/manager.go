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
}

func newManagerView(a *App) *managerView {
	v := &managerView{a: a}
	v.tabs = container.NewAppTabs(
		container.NewTabItem(a.t("tab.log"), newLogTab(a)),
		container.NewTabItem(a.t("tab.reports"), newReportsTab(a)),
		container.NewTabItem(a.t("tab.sync"), newSyncTab(a)),
		container.NewTabItem(a.t("tab.neighbours"), newNeighboursTab(a)),
		container.NewTabItem(a.t("tab.settings"), newSettingsTab(a)),
	)
	v.tabs.OnSelected = func(*container.TabItem) { a.touch() }
	lock := widget.NewButton(a.t("manager.lock"), a.lockManager)
	title := widget.NewLabel(a.t("manager.title", a.manager.Name))
	title.TextStyle.Bold = true
	v.obj = container.NewBorder(container.NewHBox(title, lock), nil, nil, nil, v.tabs)
	return v
}
