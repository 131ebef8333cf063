package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/hexiao/hexiao/drivers/imagecode"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/station"
	"github.com/hexiao/hexiao/terminal/ui"
)

// defaultDataDir is where the window keeps its data without --data:
// hexiao-terminal under the user's configuration directory.
func defaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "hexiao-terminal-data"
	}
	return filepath.Join(dir, "hexiao-terminal")
}

// runWindow runs the counter window until it is closed or ctx is done.
// Fyne needs the main goroutine, which run is called on.
func runWindow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("window", stderr)
	data := fs.String("data", defaultDataDir(), "data directory (made by enrollment on first start)")
	lang := fs.String("lang", "", "language to start in: en or zh-CN (default: the settings, else the system locale)")
	claimTimeout := fs.Duration("claim-timeout", 800*time.Millisecond, "how long a claim waits for the hub before deciding offline")
	noHub := fs.Bool("no-hub", false, "run offline without the hub link even if the terminal is enrolled")
	full := fs.Bool("fullscreen", false, "fill the screen (a counter's dedicated display)")
	size := fs.String("size", "1024x768", "window size WxH when not full screen")
	verbose := fs.Bool("v", false, "log each verdict's latency and other details to stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument " + fs.Arg(0))
	}
	if *lang != "" && *lang != string(protocol.LangEN) && *lang != string(protocol.LangZH) {
		return usageErr(fmt.Sprintf("--lang %q: want en or zh-CN", *lang))
	}
	var w, h float32
	if _, err := fmt.Sscanf(*size, "%gx%g", &w, &h); err != nil || w < 320 || h < 240 {
		return usageErr(fmt.Sprintf("--size %q: want WxH, at least 320x240", *size))
	}
	if err := needDisplay(); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var u *ui.App
	var uiReady sync.WaitGroup
	uiReady.Add(1)
	st, err := station.Open(ctx, station.Options{Dir: *data, Version: version, Log: log, ClaimTimeout: *claimTimeout, NoHub: *noHub,
		OnScan:     func(code string) { uiReady.Wait(); u.Scanned(code) },
		OnDecision: func(d terminal.Decision) { uiReady.Wait(); u.Decided(d) },
		OnDevice: func(dev string, err error) {
			if err != nil {
				log.Warn("device", "device", dev, "err", err)
			} else {
				log.Info("device connected", "device", dev)
			}
		},
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if *lang != "" {
		set := st.Settings()
		set.Lang = protocol.Lang(*lang)
		if err := st.SaveSettings(ctx, set); err != nil {
			return err
		}
	}
	fa := app.NewWithID("com.hexiao.terminal")
	win := fa.NewWindow("Hexiao")
	win.Resize(fyne.NewSize(w, h))
	win.SetFullScreen(*full)
	win.SetMaster()
	opt := ui.Options{Log: log,
		Decode:    decodeImage,
		Clipboard: clipboardImage(log),
		OnVerdict: func(v ui.Verdict, d time.Duration) {
			log.Info("verdict shown", "kind", v.Kind.String(), "reason", v.Reason, "latency_ms", float64(d.Microseconds())/1000)
		},
	}
	opt.Sound = openSound(st.Settings().Volume, log)
	u = ui.New(win, st, opt)
	uiReady.Done()
	var wg sync.WaitGroup
	wg.Go(func() { _ = st.Run(ctx) })
	wg.Go(func() { _ = u.Run(ctx) })
	go func() {
		<-ctx.Done()
		fyne.Do(fa.Quit)
	}()
	log.Info("window open", "data", *data, "version", version)
	win.ShowAndRun()
	cancel()
	wg.Wait()
	return nil
}

// needDisplay refuses to start the window where X11 and Wayland have no
// display to open (a service, ssh), rather than hang or crash in the GL
// driver.
func needDisplay() error {
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return fmt.Errorf("%s: no display (DISPLAY and WAYLAND_DISPLAY are unset): run it on the counter's desktop, or use %s headless", name, name)
		}
	}
	return nil
}

// decodeImage finds the codes in a picture, top to bottom.
func decodeImage(data []byte) ([]string, error) {
	codes, err := imagecode.Decode(data)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c.Text
	}
	return out, nil
}
