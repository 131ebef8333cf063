package protocol

import (
	"encoding/json"
	"fmt"
)

// Reason is the outcome of one redemption decision. The list is closed: the
// UI, the ECR reply, the logs, the hub API and the wire all use these values
// and nothing else. Add a reason only with a protocol minor version bump.
type Reason string

// The closed list of reasons, in the order DESIGN.md gives them.
const (
	Accepted          Reason = "accepted"
	UnknownCode       Reason = "unknown_code"
	BadSignature      Reason = "bad_signature"
	Revoked           Reason = "revoked"
	Blocked           Reason = "blocked"
	Expired           Reason = "expired"
	NotYetValid       Reason = "not_yet_valid"
	OutsideHours      Reason = "outside_hours"
	WrongStore        Reason = "wrong_store"
	UsedUp            Reason = "used_up"
	TooSoon           Reason = "too_soon"
	OfflineNotAllowed Reason = "offline_not_allowed"
	OfflineLimit      Reason = "offline_limit"
	RateLimited       Reason = "rate_limited"
	Malformed         Reason = "malformed"
	CannotRecord      Reason = "cannot_record"
)

// Lang is a user-interface language the reasons are translated into.
type Lang string

// The languages every user-facing text exists in.
const (
	LangZH Lang = "zh-CN"
	LangEN Lang = "en"
)

type reasonText struct {
	zh, en string
}

// reasons holds every Reason with its texts; the order is Reasons' order.
var reasons = []struct {
	r    Reason
	text reasonText
}{
	{Accepted, reasonText{"核销成功", "Accepted"}},
	{UnknownCode, reasonText{"券码不存在", "Unknown code"}},
	{BadSignature, reasonText{"券码签名无效，疑似伪造", "Invalid signature: the code may be forged"}},
	{Revoked, reasonText{"券码已作废", "Code revoked"}},
	{Blocked, reasonText{"券码已冻结", "Code blocked"}},
	{Expired, reasonText{"券码已过期", "Code expired"}},
	{NotYetValid, reasonText{"券码尚未生效", "Code not yet valid"}},
	{OutsideHours, reasonText{"不在可核销时段", "Outside redemption hours"}},
	{WrongStore, reasonText{"本门店不可核销此券", "Not valid at this store"}},
	{UsedUp, reasonText{"券码已用完", "No uses left"}},
	{TooSoon, reasonText{"距上次使用间隔过短", "Too soon after the last use"}},
	{OfflineNotAllowed, reasonText{"此券不支持离线核销", "This code cannot be redeemed offline"}},
	{OfflineLimit, reasonText{"已达离线核销上限，请联网", "Offline limit reached: reconnect to the hub"}},
	{RateLimited, reasonText{"失败次数过多，请稍后再试", "Too many failed attempts: wait and retry"}},
	{Malformed, reasonText{"无法识别的券码", "Unreadable code"}},
	{CannotRecord, reasonText{"无法记录核销，请勿放行", "Cannot record the redemption: do not serve"}},
}

var reasonIndex = func() map[Reason]reasonText {
	m := make(map[Reason]reasonText, len(reasons))
	for _, e := range reasons {
		m[e.r] = e.text
	}
	return m
}()

// Reasons returns the closed list of reasons in a fixed order.
func Reasons() []Reason {
	out := make([]Reason, len(reasons))
	for i, e := range reasons {
		out[i] = e.r
	}
	return out
}

// ParseReason returns the Reason named s, or an error if s is not on the
// closed list.
func ParseReason(s string) (Reason, error) {
	r := Reason(s)
	if _, ok := reasonIndex[r]; !ok {
		return "", fmt.Errorf("unknown reason %q", s)
	}
	return r, nil
}

// Valid reports whether r is on the closed list.
func (r Reason) Valid() bool {
	_, ok := reasonIndex[r]
	return ok
}

// OK reports whether r is Accepted.
func (r Reason) OK() bool { return r == Accepted }

// Text returns r's text in lang; an unknown lang falls back to English and an
// unknown reason returns its raw value.
func (r Reason) Text(lang Lang) string {
	t, ok := reasonIndex[r]
	if !ok {
		return string(r)
	}
	if lang == LangZH {
		return t.zh
	}
	return t.en
}

// UnmarshalJSON accepts only reasons on the closed list.
func (r *Reason) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reason: %w", err)
	}
	v, err := ParseReason(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}
