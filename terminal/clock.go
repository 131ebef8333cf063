package terminal

import "time"

// SkewLimit is the clock difference from the hub beyond which a terminal
// stops trusting its own clock (the hub flags such a terminal too).
const SkewLimit = 2 * time.Minute

// HubClock returns the clock the engine decides by: base (the machine's
// clock) as is while it agrees with the hub's to within SkewLimit, and
// corrected by offset (hub minus terminal, as last measured and kept by the
// store across restarts) once it does not. Validity, redemption hours, the
// business day and the offline age then follow the hub's time even while
// the hub is unreachable.
func HubClock(base func() time.Time, offset func() time.Duration) func() time.Time {
	return func() time.Time {
		t := base()
		if d := offset(); d > SkewLimit || d < -SkewLimit {
			return t.Add(d)
		}
		return t
	}
}
