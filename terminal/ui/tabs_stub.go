package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

func newLogTab(a *App) fyne.CanvasObject        { return widget.NewLabel("log") }
func newReportsTab(a *App) fyne.CanvasObject    { return widget.NewLabel("reports") }
func newSyncTab(a *App) fyne.CanvasObject       { return widget.NewLabel("sync") }
func newNeighboursTab(a *App) fyne.CanvasObject { return widget.NewLabel("neighbours") }
func newSettingsTab(a *App) fyne.CanvasObject   { return widget.NewLabel("settings") }
