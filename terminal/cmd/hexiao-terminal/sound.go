package main

import (
	"log/slog"
	"sync/atomic"

	"github.com/hexiao/hexiao/drivers/sound"
	"github.com/hexiao/hexiao/terminal/ui"
)

// sounder plays the window's verdict sounds on the audio device, once it
// is open: opening may take a few seconds (or fail: no device), and the
// window must not wait for it.
type sounder struct {
	p      atomic.Pointer[sound.Player]
	volume atomic.Uint64 // hundredths
}

func (s *sounder) Play(k ui.Sound) {
	p := s.p.Load()
	if p == nil {
		return
	}
	switch k {
	case ui.SoundAccepted:
		p.Play(sound.Accepted)
	case ui.SoundRejected:
		p.Play(sound.Rejected)
	case ui.SoundAttention:
		p.Play(sound.Attention)
	}
}

func (s *sounder) SetVolume(v float64) {
	s.volume.Store(uint64(v * 100))
	if p := s.p.Load(); p != nil {
		p.SetVolume(v)
	}
}

// openSound starts opening the audio device for the verdict sounds; they
// play once it is open. Failure (no audio device) is logged: the window
// runs silent.
func openSound(volume float64, log *slog.Logger) ui.Sounder {
	s := &sounder{}
	s.SetVolume(volume)
	go func() {
		p, err := sound.Open(sound.Options{Log: log})
		if err != nil {
			log.Warn("verdict sounds off", "err", err)
			return
		}
		p.SetVolume(float64(s.volume.Load()) / 100)
		s.p.Store(p)
		log.Info("verdict sounds on")
	}()
	return s
}
