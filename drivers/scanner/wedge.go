package scanner

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// KeyName says what kind of key an event is.
type KeyName int

// The keys the wedge detector tells apart.
const (
	KeyRune      KeyName = iota // a character (Key.Rune)
	KeyEnter                    // Enter or Return: ends a code
	KeyTab                      // Tab: ends a code (scanners set to a Tab suffix)
	KeyBackspace                // a person correcting what they typed
	KeyOther                    // anything else (arrows, function keys): a person
)

// Key is one key event with the time it arrived.
type Key struct {
	Rune rune
	Name KeyName
	At   time.Time
}

// WedgeConfig tunes the burst detector. Zero values take the defaults.
type WedgeConfig struct {
	MaxGap       time.Duration // longest gap between a scanner's keys (30 ms; scanners send one every 5–20 ms)
	HumanGap     time.Duration // gaps longer than this are a person's (50 ms); one gap between MaxGap and HumanGap is tolerated in a burst
	Idle         time.Duration // a burst with no suffix ends after this silence (80 ms)
	MinLen       int           // shortest code, in characters (4)
	MaxLen       int           // longest code, in characters (MaxLen)
	RepeatWindow time.Duration // the same scan again within this is a repeat (1.5 s)
}

func (c WedgeConfig) withDefaults() WedgeConfig {
	if c.MaxGap <= 0 {
		c.MaxGap = 30 * time.Millisecond
	}
	if c.HumanGap < c.MaxGap {
		c.HumanGap = max(50*time.Millisecond, c.MaxGap)
	}
	if c.Idle <= 0 {
		c.Idle = 80 * time.Millisecond
	}
	if c.MinLen <= 0 {
		c.MinLen = 4
	}
	if c.MaxLen <= 0 {
		c.MaxLen = MaxLen
	}
	if c.RepeatWindow <= 0 {
		c.RepeatWindow = 1500 * time.Millisecond
	}
	return c
}

// ResultKind says what a finished input is.
type ResultKind int

// The kinds of result.
const (
	Scan     ResultKind = iota // a scanner burst: Text is the code
	Typed                      // typed by a person and ended with Enter or Tab
	Repeat                     // the same scan again within RepeatWindow: ignore it, say "already scanned"
	Rejected                   // unusable input; Err says why
)

func (k ResultKind) String() string {
	switch k {
	case Scan:
		return "scan"
	case Typed:
		return "typed"
	case Repeat:
		return "repeat"
	}
	return "rejected"
}

// Result is one finished input.
type Result struct {
	Kind    ResultKind
	Text    string // normalised
	Warning string // e.g. a keyboard-layout mix-up
	Err     error  // Rejected: why
}

// Wedge tells a keyboard-wedge scanner's bursts from a person typing, by
// the time between keys. It is not safe for concurrent use: one goroutine
// (the window's key handler and its timer) feeds it.
type Wedge struct {
	cfg      WedgeConfig
	buf      []rune
	first    time.Time
	last     time.Time
	slow     int  // gaps longer than HumanGap, or edits: a person
	hesitant int  // gaps between MaxGap and HumanGap since run
	run      int  // index in buf where the last run of scanner-fast keys began
	overflow bool // more than MaxLen characters

	lastScan   string
	lastScanAt time.Time
}

// NewWedge makes a detector.
func NewWedge(cfg WedgeConfig) *Wedge {
	cfg = cfg.withDefaults()
	return &Wedge{cfg: cfg, buf: make([]rune, 0, 64)}
}

func (w *Wedge) scannerLike() bool { return w.slow == 0 && w.hesitant <= 1 }

// burst reports whether the input under way is a finished-looking scanner
// burst an idle time may end: fast keys, at least MinLen of them.
func (w *Wedge) burst() bool { return w.scannerLike() && len(w.buf) >= w.cfg.MinLen }

// Key feeds one key event and returns what it finished, if anything.
func (w *Wedge) Key(k Key) []Result {
	var out []Result
	// A suffix-less burst whose idle time passed before this key (Tick
	// was not called in time) ends first.
	if w.burst() && k.At.Sub(w.last) >= w.cfg.Idle {
		out = append(out, w.finish(k.At))
	}
	switch k.Name {
	case KeyEnter, KeyTab:
		if len(w.buf) > 0 || w.overflow {
			out = append(out, w.finish(k.At))
		}
	case KeyBackspace:
		if len(w.buf) > 0 {
			w.buf = w.buf[:len(w.buf)-1]
			w.slow++
			w.last, w.run, w.hesitant = k.At, len(w.buf), 0
		}
	case KeyOther:
		if len(w.buf) > 0 {
			w.slow++
			w.last, w.run, w.hesitant = k.At, len(w.buf), 0
		}
	default:
		if len(w.buf) == 0 && !w.overflow {
			w.first = k.At
		} else {
			switch gap := k.At.Sub(w.last); {
			case gap > w.cfg.HumanGap:
				w.slow++
				w.run, w.hesitant = len(w.buf), 0
			case gap > w.cfg.MaxGap:
				w.hesitant++
			}
		}
		w.last = k.At
		if len(w.buf) >= w.cfg.MaxLen {
			w.overflow = true
		} else {
			w.buf = append(w.buf, k.Rune)
		}
	}
	return out
}

// Tick ends a scanner burst that sent no suffix once Idle has passed since
// its last key. Call it at NextDeadline.
func (w *Wedge) Tick(now time.Time) []Result {
	if w.burst() && now.Sub(w.last) >= w.cfg.Idle {
		return []Result{w.finish(now)}
	}
	return nil
}

// NextDeadline is when Tick may end the input under way, if it can.
func (w *Wedge) NextDeadline() (time.Time, bool) {
	if w.burst() {
		return w.last.Add(w.cfg.Idle), true
	}
	return time.Time{}, false
}

// finish ends the input under way. Fast keys from the start make a Scan;
// otherwise, when the keys after the last slow gap are a scanner-fast run
// of at least MinLen, that run is the Scan and the stray keys before it
// are dropped (with a warning); anything else is Typed.
func (w *Wedge) finish(at time.Time) Result {
	keys, run, scanned, overflow, hesitant := w.buf, w.run, w.scannerLike(), w.overflow, w.hesitant
	w.buf, w.slow, w.hesitant, w.run, w.overflow = w.buf[:0], 0, 0, 0, false
	if overflow {
		return Result{Kind: Rejected, Err: fmt.Errorf("input longer than %d characters", w.cfg.MaxLen)}
	}
	kind, warning := Typed, ""
	switch {
	case scanned && len(keys) > 1:
		kind = Scan
	case run > 0 && len(keys)-run >= w.cfg.MinLen && hesitant <= 1:
		kind = Scan
		warning = fmt.Sprintf("ignored %d keys typed just before the scan", run)
		keys = keys[run:]
	}
	text, err := Normalize(string(keys))
	if err != nil {
		return Result{Kind: Rejected, Err: err}
	}
	if n := utf8.RuneCountInString(text); n < w.cfg.MinLen {
		return Result{Kind: Rejected, Text: text, Err: fmt.Errorf("too short for a code: %d characters, at least %d", n, w.cfg.MinLen)}
	}
	if lw := layoutWarning(text); lw != "" {
		warning = lw
	}
	if kind == Scan {
		if text == w.lastScan && at.Sub(w.lastScanAt) < w.cfg.RepeatWindow {
			w.lastScanAt = at
			return Result{Kind: Repeat, Text: text, Warning: warning}
		}
		w.lastScan, w.lastScanAt = text, at
	}
	return Result{Kind: kind, Text: text, Warning: warning}
}

// azerty are the characters an AZERTY keyboard layout types for the digit
// keys 1234567890 when the scanner believes it is QWERTY.
const azerty = `&é"'(-è_çà`

// layoutWarning says when text looks like it went through the wrong
// keyboard layout.
func layoutWarning(text string) string {
	az, digits := 0, 0
	for _, r := range text {
		switch {
		case strings.ContainsRune(azerty, r):
			az++
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("ßüöä§", r):
			return "this looks like a QWERTZ keyboard layout (ß, ü, ö, ä or § in a code): set the scanner to the computer's keyboard layout, or use a serial scanner"
		}
	}
	if az >= 2 && az > digits {
		return "digits arrived as " + azerty + ": the computer has an AZERTY keyboard layout the scanner does not match; set the scanner's layout, or use a serial scanner"
	}
	return ""
}
