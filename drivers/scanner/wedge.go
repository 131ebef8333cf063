package scanner

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// KeyName says what kind of key an event is.
type KeyName int

// The keys the wedge detector tells apart.
const (
	KeyRune      KeyName = iota // a character (Key.Rune); '\r', '\n', '\t' and '\b' count as Enter, Tab and Backspace
	KeyEnter                    // Enter or Return: ends the input under way
	KeyTab                      // Tab: ends the input under way (scanners set to a Tab suffix)
	KeyBackspace                // a person correcting what they typed
	KeyOther                    // any other key that reaches the window (arrows, function keys): a person's
)

// Key is one key event with the time it arrived. Modifier keys on their
// own (Shift, Ctrl) are not key events.
type Key struct {
	Rune rune
	Name KeyName
	At   time.Time
}

// WedgeConfig tunes the burst detector. Zero values take the defaults.
type WedgeConfig struct {
	// MaxGap is the longest gap between two keys of a scanner burst
	// (30 ms; scanners send one every 5–20 ms).
	MaxGap time.Duration
	// HumanGap: a longer gap is a person's, or a pause that splits a burst
	// (50 ms). Gaps between MaxGap and HumanGap are tolerated in a burst
	// once, or once per 10 keys of a long code.
	HumanGap time.Duration
	// Idle ends a burst that sent no suffix once this much time passed
	// after its last key (80 ms). A scanner that pauses for less, mid-code,
	// is joined up again.
	Idle time.Duration
	// MinLen is the shortest code, in characters (4).
	MinLen int
	// MaxLen is the longest input, in characters (MaxLen); longer input is
	// rejected whole when it ends.
	MaxLen int
	// RepeatWindow: the same code scanned again within this time of its
	// previous scan (or previous repeat) is a Repeat (1.5 s).
	RepeatWindow time.Duration
}

func (c WedgeConfig) withDefaults() WedgeConfig {
	if c.MaxGap <= 0 {
		c.MaxGap = 30 * time.Millisecond
	}
	if c.HumanGap <= 0 {
		c.HumanGap = 50 * time.Millisecond
	}
	c.HumanGap = max(c.HumanGap, c.MaxGap)
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
	Scan     ResultKind = iota // a scanner burst: Text is the code (entry "scanned")
	Typed                      // typed by a person and ended with Enter or Tab: Text is the code (entry "keyed")
	Repeat                     // the same scan again within RepeatWindow: do not submit it, say "already scanned"
	Rejected                   // unusable input; Err says why, Text holds what was usable of it, if anything
)

func (k ResultKind) String() string {
	switch k {
	case Scan:
		return "scan"
	case Typed:
		return "typed"
	case Repeat:
		return "repeat"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("ResultKind(%d)", int(k))
}

// Result is one finished input.
type Result struct {
	Kind    ResultKind
	Text    string // normalised
	Warning string // Scan and Repeat: the scanner's keyboard layout looks wrong; what to change
	Err     error  // Rejected: why (ErrTooShort, ErrTooLong, ErrInterrupted or a Normalize error)
}

// The reasons a wedge input is Rejected, besides Normalize's errors.
var (
	ErrTooShort = errors.New("too short for a code")
	// ErrInterrupted: keys typed without Enter before a scan; Text holds
	// them, so the window can give them back.
	ErrInterrupted = errors.New("typed keys interrupted by a scan before Enter, not submitted")
)

// Wedge tells a keyboard-wedge scanner's bursts from a person typing, by
// the time between keys, and turns both into Results.
//
// Keys are grouped into runs, split at gaps longer than HumanGap. A run of
// at least MinLen keys with fast gaps (at most the tolerated few between
// MaxGap and HumanGap), no edits and not all the same key (auto-repeat) is
// a scanner's burst. A burst ends at Enter or Tab, at Idle after its last
// key, or when a person's key follows it; a fast run after a pause shorter
// than Idle continues it (a scanner that stalled mid-code). Every other
// key is a person's: their text waits for Enter or Tab and comes out as
// Typed; a scan that arrives first returns it as Rejected with
// ErrInterrupted rather than losing it.
//
// What timing cannot tell is not guessed at: a person's key pressed within
// a few milliseconds of a scanner's lands in the burst, and a scanner's
// code that is one key repeated (1111) comes out as Typed.
//
// Timing comes only from Key.At and Tick's argument, so the same events
// give the same Results. A Wedge is not safe for concurrent use: one
// goroutine (the window's key handler and its timer) feeds it.
type Wedge struct {
	cfg WedgeConfig

	buf  []rune // typed text | held scan | current run
	held int    // start of the held scan in buf, -1 if none
	run  int    // start of the current run in buf

	last     time.Time // the last key event
	heldAt   time.Time // first key of the held scan
	runAt    time.Time // first key of the current run
	hesitant int       // gaps between MaxGap and HumanGap in the current run
	edited   bool      // a Backspace or other key in the current run
	same     bool      // every key of the current run is the same
	overflow bool      // over MaxLen characters: the input is rejected when it ends

	lastScan   string
	lastScanAt time.Time
}

// NewWedge makes a detector.
func NewWedge(cfg WedgeConfig) *Wedge {
	cfg = cfg.withDefaults()
	w := &Wedge{cfg: cfg, buf: make([]rune, 0, min(cfg.MaxLen, 256))}
	w.reset()
	return w
}

func (w *Wedge) reset() {
	w.buf, w.held, w.run = w.buf[:0], -1, 0
	w.hesitant, w.edited, w.same, w.overflow = 0, false, true, false
}

func (w *Wedge) pending() bool { return len(w.buf) > 0 || w.overflow }

// Pending is the text under way, as typed so far (for echoing a person's
// typing); it is empty between inputs.
func (w *Wedge) Pending() string { return string(w.buf) }

// Key feeds one key event and returns what it finished, if anything.
func (w *Wedge) Key(k Key) []Result {
	if k.Name == KeyRune {
		switch k.Rune {
		case '\r', '\n':
			k.Name = KeyEnter
		case '\t':
			k.Name = KeyTab
		case '\b':
			k.Name = KeyBackspace
		}
	}
	out := w.expire(k.At, nil) // a burst whose idle time passed before this key
	pending := w.pending()
	slow := pending && k.At.Sub(w.last) > w.cfg.HumanGap
	if slow {
		out = w.closeRun(out)
	}
	switch k.Name {
	case KeyEnter, KeyTab:
		if pending {
			out = w.end(!slow, out)
		}
		return out
	case KeyBackspace, KeyOther:
		if !pending {
			return out
		}
		if w.held >= 0 && w.run == len(w.buf) {
			out = w.settle(out, w.run) // a person's key after fast keys: they are over
		}
		w.edited = true
		if k.Name == KeyBackspace && !w.overflow && len(w.buf) > 0 {
			w.buf = w.buf[:len(w.buf)-1]
			w.run = min(w.run, len(w.buf))
		}
		w.last = k.At
		return out
	}
	if pending && !slow && k.At.Sub(w.last) > w.cfg.MaxGap {
		w.hesitant++
	}
	w.last = k.At
	switch {
	case w.overflow:
	case len(w.buf) >= w.cfg.MaxLen:
		w.overflow = true
	default:
		if w.run == len(w.buf) {
			w.runAt, w.same = k.At, true
		} else if k.Rune != w.buf[w.run] {
			w.same = false
		}
		w.buf = append(w.buf, k.Rune)
	}
	return out
}

// Tick ends a burst that sent no suffix once Idle has passed since its
// last key; call it at NextDeadline. Tick at any other time is harmless.
func (w *Wedge) Tick(now time.Time) []Result { return w.expire(now, nil) }

// NextDeadline is when Tick may finish the input under way, if it can.
func (w *Wedge) NextDeadline() (time.Time, bool) {
	if w.overflow || w.held >= 0 || w.scanLike() {
		return w.last.Add(w.cfg.Idle), true
	}
	return time.Time{}, false
}

// fast reports whether the current run, of n key events, is a scanner's
// pace: no edits, at most the tolerated gaps between MaxGap and HumanGap.
func (w *Wedge) fast(n int) bool {
	return n >= 2 && !w.edited && w.hesitant <= 1+n/10
}

// scanLike reports whether the current run is a scan on its own.
func (w *Wedge) scanLike() bool {
	n := len(w.buf) - w.run
	return n >= max(w.cfg.MinLen, 2) && !w.same && w.fast(n)
}

// closeRun ends the current run at a gap longer than HumanGap. A fast run
// is held: a scan if a person's key or Idle follows it, joined by the next
// run if that is fast too (a scanner that stalled mid-code).
func (w *Wedge) closeRun(out []Result) []Result {
	n := len(w.buf) - w.run
	if n > 0 && w.joins(n) {
		w.closed() // the run joins the held keys
		return out
	}
	if n > 0 && w.held >= 0 {
		out = w.settle(out, w.run)
	}
	if w.fast(n) {
		w.held, w.heldAt = w.run, w.runAt
	}
	w.closed()
	return out
}

// joins reports whether the current run, of n key events, continues the
// held keys after a stall: it is fast, and it or the held keys are at
// least MinLen long (two fast pairs of keys are a person's, not a stalled
// scan).
func (w *Wedge) joins(n int) bool {
	return w.held >= 0 && w.fast(n) && max(n, w.run-w.held) >= w.cfg.MinLen
}

// closed starts a new run after what is in buf.
func (w *Wedge) closed() {
	w.run = len(w.buf)
	w.hesitant, w.edited, w.same = 0, false, true
}

// end finishes the input at Enter or Tab; fast says the suffix came
// within HumanGap of the last key (it counts as one more fast key).
func (w *Wedge) end(fast bool, out []Result) []Result {
	defer w.reset()
	if w.overflow {
		return append(out, w.tooLong())
	}
	n := len(w.buf) - w.run
	events := n
	if fast && n > 0 {
		events++
	}
	switch {
	case w.held >= 0:
		to := w.run
		if n == 0 || w.joins(events) {
			to = len(w.buf)
		}
		out = w.settle(out, to)
	case w.scanLike():
		out = w.emitScan(out, w.run, len(w.buf), w.runAt)
	}
	if len(w.buf) > 0 {
		out = w.typed(out)
	}
	return out
}

// expire finishes what an idle time since the last key ends.
func (w *Wedge) expire(now time.Time, out []Result) []Result {
	if d, ok := w.NextDeadline(); !ok || now.Before(d) {
		return out
	}
	if w.overflow {
		out = append(out, w.tooLong())
		w.reset()
		return out
	}
	if w.held >= 0 {
		to := w.run
		if w.joins(len(w.buf) - w.run) {
			to = len(w.buf)
		}
		out = w.settle(out, to)
	} else {
		out = w.emitScan(out, w.run, len(w.buf), w.runAt)
	}
	// What is left is a person's typing, waiting for Enter.
	if len(w.buf) == 0 {
		w.reset()
	} else {
		w.closed()
	}
	return out
}

// settle ends the held keys, buf[held:to]: a scan if there are at least
// MinLen of them and they are not one key repeated (auto-repeat), else a
// person's fast keys, which stay typed text.
func (w *Wedge) settle(out []Result, to int) []Result {
	from := w.held
	w.held = -1
	keys := w.buf[from:to]
	if len(keys) < max(w.cfg.MinLen, 2) || allSame(keys) {
		return out
	}
	return w.emitScan(out, from, to, w.heldAt)
}

func allSame(keys []rune) bool {
	for _, r := range keys {
		if r != keys[0] {
			return false
		}
	}
	return true
}

// emitScan emits buf[from:to] as a scan that began at at, after the
// person's text before it, if any, as interrupted; it removes both from
// buf.
func (w *Wedge) emitScan(out []Result, from, to int, at time.Time) []Result {
	if from > 0 {
		if text, err := Normalize(string(w.buf[:from])); err == nil {
			out = append(out, Result{Kind: Rejected, Text: text, Err: ErrInterrupted})
		}
	}
	text, err := w.check(w.buf[from:to])
	if err != nil {
		out = append(out, Result{Kind: Rejected, Text: text, Err: err})
	} else {
		r := Result{Kind: Scan, Text: text, Warning: layoutWarning(text)}
		if text == w.lastScan && at.Sub(w.lastScanAt) < w.cfg.RepeatWindow {
			r.Kind = Repeat
		}
		w.lastScan, w.lastScanAt = text, at
		out = append(out, r)
	}
	n := copy(w.buf, w.buf[to:])
	w.buf = w.buf[:n]
	w.run = max(w.run-to, 0)
	return out
}

// typed emits the whole buffer as a person's input.
func (w *Wedge) typed(out []Result) []Result {
	text, err := w.check(w.buf)
	if err != nil {
		return append(out, Result{Kind: Rejected, Text: text, Err: err})
	}
	return append(out, Result{Kind: Typed, Text: text})
}

// check normalises keys and applies MinLen; a too-short text is returned
// with the error.
func (w *Wedge) check(keys []rune) (string, error) {
	text, err := Normalize(string(keys))
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(text); n < w.cfg.MinLen {
		return text, fmt.Errorf("%w: %d characters, at least %d", ErrTooShort, n, w.cfg.MinLen)
	}
	return text, nil
}

func (w *Wedge) tooLong() Result {
	return Result{Kind: Rejected, Err: fmt.Errorf("%w: over %d characters", ErrTooLong, w.cfg.MaxLen)}
}
