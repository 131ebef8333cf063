package sound

import (
	"os"
	"sync"
	"testing"
)

func BenchmarkTone(b *testing.B) {
	for _, k := range Kinds {
		b.Run(k.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Tone(k, 48000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchDevice is the process's device for BenchmarkPlay, opened once: ALSA's
// file plugin writing into a FIFO that a capture reads at real time, for
// the rest of the process (oto's device is never closed either). With
// HEXIAO_SOUND_DEVICE=system, the machine's own device instead.
var benchDevice struct {
	once sync.Once
	p    *Player
	err  error
}

func openBenchDevice() (*Player, error) {
	benchDevice.once.Do(func() {
		if os.Getenv("HEXIAO_SOUND_DEVICE") != "system" {
			dir, err := os.MkdirTemp("", "hexiao-sound-bench")
			if err != nil {
				benchDevice.err = err
				return
			}
			defer os.RemoveAll(dir) // the open FIFO outlives its name
			conf, fifo, err := fileDevice(dir)
			if err != nil {
				benchDevice.err = err
				return
			}
			f, err := openFIFO(fifo)
			if err != nil {
				benchDevice.err = err
				return
			}
			go (&capture{rate: 48000, speed: 1}).run(f)
			os.Setenv("ALSA_CONFIG_PATH", conf)
		}
		benchDevice.p, benchDevice.err = Open(Options{SampleRate: 48000})
	})
	return benchDevice.p, benchDevice.err
}

// BenchmarkPlay is the cost to the caller (the UI goroutine) of Play: it
// must be microseconds at most, whatever the device is doing.
func BenchmarkPlay(b *testing.B) {
	p, err := openBenchDevice()
	if err != nil {
		b.Skipf("no device: %v", err)
	}
	i := 0
	for b.Loop() {
		p.Play(Kinds[i%len(Kinds)])
		i++
	}
}
