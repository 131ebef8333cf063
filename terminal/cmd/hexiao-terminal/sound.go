package main

import (
	"errors"

	"github.com/hexiao/hexiao/terminal/ui"
)

// openSound opens the verdict sounds. TEMPORARY until drivers/sound lands.
func openSound(volume float64) (ui.Sounder, error) {
	return nil, errors.New("no sound driver yet")
}
