package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

func newLogTab(a *App) fyne.CanvasObject     { return widget.NewLabel("log") }
func newReportsTab(a *App) fyne.CanvasObject { return widget.NewLabel("reports") }
