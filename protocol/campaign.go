package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxUses is the most uses one code may carry (a 次卡 multi-use card).
const MaxUses = 10000

// MaxMoney bounds every amount of money, in fen: face values, event amounts
// and offline value caps (10 billion yuan), so that sums over many events
// cannot overflow int64.
const MaxMoney = 1_000_000_000_000

// MaxNameLen bounds display names (campaigns, stores), in bytes.
const MaxNameLen = 200

// Campaign is a product codes belong to (权益商品): what the code is worth
// and the rules every terminal applies to it. Money is in integer fen
// (cents). Times of day in Hours are in the redeeming store's time zone.
type Campaign struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	FaceValue   int64         `json:"face_value"`
	Uses        int           `json:"uses"`
	ValidFrom   time.Time     `json:"valid_from,omitzero"`
	ValidUntil  time.Time     `json:"valid_until,omitzero"`
	Hours       []string      `json:"hours,omitempty"`
	Stores      []string      `json:"stores,omitempty"`
	Regions     []string      `json:"regions,omitempty"`
	MinInterval Duration      `json:"min_interval,omitzero"`
	UndoWindow  Duration      `json:"undo_window,omitzero"`
	Confirm     bool          `json:"confirm,omitempty"`
	Offline     OfflinePolicy `json:"offline"`
}

// OfflinePolicy says whether a terminal may redeem a campaign's codes when
// the hub does not answer, and within which per-terminal caps. A zero cap
// means no cap of that kind.
type OfflinePolicy struct {
	Allow    bool     `json:"allow"`
	MaxCount int      `json:"max_count,omitempty"` // offline redemptions
	MaxValue int64    `json:"max_value,omitempty"` // offline face value, fen
	MaxAge   Duration `json:"max_age,omitzero"`    // time since the last hub contact
}

// Validate checks every field and says which one is wrong.
func (c *Campaign) Validate() error {
	if err := ValidID(c.ID); err != nil {
		return fmt.Errorf("campaign id: %w", err)
	}
	if err := validName("campaign name", c.Name); err != nil {
		return err
	}
	if c.FaceValue < 0 || c.FaceValue > MaxMoney {
		return fmt.Errorf("campaign %s: face_value %d: want 0 to %d fen", c.ID, c.FaceValue, int64(MaxMoney))
	}
	if c.Uses < 1 || c.Uses > MaxUses {
		return fmt.Errorf("campaign %s: uses %d, want 1 to %d", c.ID, c.Uses, MaxUses)
	}
	if !c.ValidFrom.IsZero() && !c.ValidUntil.IsZero() && !c.ValidUntil.After(c.ValidFrom) {
		return fmt.Errorf("campaign %s: valid_until is not after valid_from", c.ID)
	}
	for _, h := range c.Hours {
		if _, err := ParseHours(h); err != nil {
			return fmt.Errorf("campaign %s: %w", c.ID, err)
		}
	}
	if err := validIDs("campaign "+c.ID+" stores", c.Stores); err != nil {
		return err
	}
	if err := validIDs("campaign "+c.ID+" regions", c.Regions); err != nil {
		return err
	}
	if c.MinInterval < 0 || c.UndoWindow < 0 {
		return fmt.Errorf("campaign %s: min_interval and undo_window must not be negative", c.ID)
	}
	o := c.Offline
	if !o.Allow && (o.MaxCount != 0 || o.MaxValue != 0 || o.MaxAge != 0) {
		return fmt.Errorf("campaign %s: offline caps set but offline.allow is false", c.ID)
	}
	if o.MaxCount < 0 || o.MaxValue < 0 || o.MaxValue > MaxMoney || o.MaxAge < 0 {
		return fmt.Errorf("campaign %s: offline caps must not be negative", c.ID)
	}
	return nil
}

// InScope reports whether the campaign's codes may be redeemed at store in
// region. No stores and no regions means every store.
func (c *Campaign) InScope(store, region string) bool {
	return InScope(c.Stores, c.Regions, store, region)
}

// InHours reports whether local (a time in the store's zone) falls in one of
// the campaign's redemption hours. No hours means all day.
func (c *Campaign) InHours(local time.Time) bool {
	if len(c.Hours) == 0 {
		return true
	}
	for _, s := range c.Hours {
		h, err := ParseHours(s)
		if err == nil && h.Contains(local) {
			return true
		}
	}
	return false
}

func validName(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%s is %d bytes, longer than %d", what, len(s), MaxNameLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s contains a control character", what)
		}
	}
	return nil
}

// Hours is a daily window of redemption hours, in minutes after midnight.
// End may be before Start for a window across midnight ("22:00-02:00");
// End is exclusive and may be 24:00.
type Hours struct {
	Start, End int
}

// ParseHours reads a window written "HH:MM-HH:MM".
func ParseHours(s string) (Hours, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Hours{}, fmt.Errorf("hours %q: want HH:MM-HH:MM", s)
	}
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if err1 != nil || err2 != nil || start == 24*60 {
		return Hours{}, fmt.Errorf("hours %q: want HH:MM-HH:MM with times 00:00 to 24:00", s)
	}
	if start == end {
		return Hours{}, fmt.Errorf("hours %q: empty window", s)
	}
	return Hours{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' || !isDigits(s[:2]) || !isDigits(s[3:]) {
		return 0, fmt.Errorf("bad time")
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, fmt.Errorf("bad time")
	}
	return h*60 + m, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Contains reports whether the wall-clock time of local is in the window.
func (h Hours) Contains(local time.Time) bool {
	m := local.Hour()*60 + local.Minute()
	if h.Start < h.End {
		return m >= h.Start && m < h.End
	}
	return m >= h.Start || m < h.End
}

// String writes the window as HH:MM-HH:MM.
func (h Hours) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.Start/60, h.Start%60, h.End/60, h.End%60)
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("15m", "24h"); on input a number is taken as seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: want e.g. \"90s\", \"15m\" or \"24h\"", s)
		}
		*d = Duration(v)
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("duration: want a string such as \"15m\" or a number of seconds")
	}
	if secs > float64(1<<62)/1e9 || secs < -float64(1<<62)/1e9 {
		return fmt.Errorf("duration %g seconds is out of range", secs)
	}
	*d = Duration(secs * float64(time.Second))
	return nil
}

// Store is a shop where terminals redeem: its region (for scope) and time
// zone (an IANA name, for redemption hours and the business day).
type Store struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Region   string `json:"region,omitempty"`
	Timezone string `json:"timezone"`
}

// Validate checks the store's fields. The time zone is checked for form
// only; whether the zone database knows it is for the caller to check with
// time.LoadLocation, since that reads files.
func (s *Store) Validate() error {
	if err := ValidID(s.ID); err != nil {
		return fmt.Errorf("store id: %w", err)
	}
	if err := validName("store name", s.Name); err != nil {
		return err
	}
	if s.Region != "" {
		if err := ValidID(s.Region); err != nil {
			return fmt.Errorf("store %s region: %w", s.ID, err)
		}
	}
	if s.Timezone == "" || len(s.Timezone) > 64 || strings.ContainsAny(s.Timezone, " \\") || strings.Contains(s.Timezone, "..") {
		return fmt.Errorf("store %s: timezone %q: want an IANA zone such as Asia/Shanghai", s.ID, s.Timezone)
	}
	return nil
}
