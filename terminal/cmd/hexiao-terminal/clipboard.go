package main

import (
	"log/slog"

	"golang.design/x/clipboard"
)

// clipboardImage returns a function that reads a picture (PNG) from the
// system clipboard, for pasting a customer's screenshot; Fyne's own
// clipboard holds only text. It returns nil where the clipboard cannot
// be opened (no X server), and the window pastes text only.
func clipboardImage(log *slog.Logger) func() []byte {
	if err := clipboard.Init(); err != nil {
		log.Warn("pictures cannot be pasted", "err", err)
		return nil
	}
	return func() []byte { return clipboard.Read(clipboard.FmtImage) }
}
