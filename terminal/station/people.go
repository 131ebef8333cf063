package station

import (
	"context"
	"errors"
	"fmt"

	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/ui"
)

// staffErrors are the staff errors in both languages.
var staffErrors = []struct {
	err    error
	en, zh string
}{
	{terminal.ErrPINFormat, "The PIN must be 4 to 8 digits", "PIN 须为 4 到 8 位数字"},
	{terminal.ErrPINWeak, "The PIN is too easy to guess: not one digit over and over, not a run like 1234", "PIN 过于简单：不能全部相同，也不能是 1234 这样的连续数字"},
	{terminal.ErrBadgeFormat, "The badge does not read as a badge", "无法识别的工牌"},
	{terminal.ErrBadCredentials, "Wrong staff number, PIN or badge", "工号、PIN 或工牌错误"},
	{terminal.ErrUnknownStaff, "Wrong staff number, PIN or badge", "工号、PIN 或工牌错误"},
	{terminal.ErrStaffDisabled, "This staff member is disabled", "此员工已停用"},
	{terminal.ErrStaffID, "The staff number must be 1 to 64 letters, digits, '.', '_' or '-'", "工号须为 1 到 64 位字母、数字、'.'、'_' 或 '-'"},
	{terminal.ErrStaffName, "The name must be 1 to 64 printable characters", "姓名须为 1 到 64 个可打印字符"},
	{terminal.ErrNoCredential, "A new staff member needs a PIN or a badge", "新员工须设置 PIN 或工牌"},
	{terminal.ErrBadgeTaken, "This badge belongs to another staff member", "此工牌已属于其他员工"},
}

// staffErr is err in both languages (a lockout with its end).
func staffErr(err error) error {
	var lo *terminal.LockedOutError
	if errors.As(err, &lo) {
		until := lo.Until.Format("15:04")
		return &ui.UserError{EN: fmt.Sprintf("Too many wrong tries: sign-in is locked until %s", until),
			ZH: fmt.Sprintf("错误次数过多：登录已锁定至 %s", until)}
	}
	for _, e := range staffErrors {
		if errors.Is(err, e.err) {
			return &ui.UserError{EN: e.en, ZH: e.zh}
		}
	}
	return err
}

func uiStaff(s terminal.Staff) ui.Staff {
	return ui.Staff{ID: s.ID, Name: s.Name, Manager: s.Manager()}
}

// SignIn checks a staff member's PIN.
func (s *Station) SignIn(ctx context.Context, id, pin string) (ui.Staff, error) {
	st, _, _, err := s.parts()
	if err != nil {
		return ui.Staff{}, err
	}
	who, err := st.SignIn(ctx, id, pin, s.now())
	if err != nil {
		return ui.Staff{}, staffErr(err)
	}
	return uiStaff(who), nil
}

// Badge finds the staff member whose badge was scanned.
func (s *Station) Badge(ctx context.Context, badge string) (ui.Staff, error) {
	st, _, _, err := s.parts()
	if err != nil {
		return ui.Staff{}, err
	}
	who, err := st.ByBadge(ctx, badge, s.now())
	if err != nil {
		return ui.Staff{}, staffErr(err)
	}
	return uiStaff(who), nil
}

// HasStaff reports whether any staff member is set up.
func (s *Station) HasStaff(ctx context.Context) (bool, error) {
	st, _, _, err := s.parts()
	if err != nil {
		return false, err
	}
	return st.HasStaff(ctx)
}

// AddStaff adds (or replaces) a staff member with a PIN.
func (s *Station) AddStaff(ctx context.Context, who ui.Staff, pin string) error {
	st, _, _, err := s.parts()
	if err != nil {
		return err
	}
	role := terminal.RoleCashier
	if who.Manager {
		role = terminal.RoleManager
	}
	if err := st.AddStaff(ctx, terminal.Staff{ID: who.ID, Name: who.Name, Role: role}, pin, ""); err != nil {
		return staffErr(err)
	}
	return nil
}

// Neighbours lists the store's other terminals' redemptions and voids of
// day, newest first, as the hub's feed delivered them.
func (s *Station) Neighbours(ctx context.Context, day string) ([]ui.Neighbour, error) {
	st, _, _, err := s.parts()
	if err != nil {
		return nil, err
	}
	rows, err := st.Neighbours(ctx, day)
	if err != nil {
		return nil, err
	}
	out := make([]ui.Neighbour, len(rows))
	for i, r := range rows {
		name := r.CampaignName
		if name == "" {
			name = r.Campaign
		}
		out[i] = ui.Neighbour{Terminal: r.Terminal, Cashier: r.Cashier, CodeID: r.Code, Campaign: name,
			Kind: r.Kind, Uses: r.Uses, Amount: r.Amount, Mode: r.Mode, At: r.At}
	}
	return out, nil
}
