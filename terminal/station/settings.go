package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hexiao/hexiao/drivers/ecr"
	"github.com/hexiao/hexiao/drivers/serialport"
	"github.com/hexiao/hexiao/internal/atomicfile"
	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal/ui"
)

// SettingsFile is the window's settings in the data directory.
const SettingsFile = "window.json"

// maxSettings bounds the settings file.
const maxSettings = 64 << 10

func defaultSettings() ui.Settings {
	return ui.Settings{Sound: true, Volume: 0.8, Columns: 48, ECRSum: "crc16", AutoLock: 2 * time.Minute}
}

// loadSettings reads the settings, or the defaults when there are none.
func loadSettings(dir string) (ui.Settings, error) {
	set := defaultSettings()
	path := filepath.Join(dir, SettingsFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return set, nil
	case err != nil:
		return set, fmt.Errorf("read settings: %w", err)
	case len(b) > maxSettings:
		return set, fmt.Errorf("%s: larger than %d bytes", path, maxSettings)
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return set, fmt.Errorf("%s: %w (fix or delete it)", path, err)
	}
	if err := checkSettings(set); err != nil {
		return set, fmt.Errorf("%s: %s", path, err.Error())
	}
	return set, nil
}

// saveSettings writes set atomically: the whole file or the old one.
func saveSettings(dir string, set ui.Settings) error {
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, SettingsFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// settingErr is a setting the window shows in both languages.
func settingErr(en, zh string, args ...any) error {
	return &ui.UserError{EN: fmt.Sprintf(en, args...), ZH: fmt.Sprintf(zh, args...)}
}

// checkSettings says which setting is wrong, in both languages.
func checkSettings(s ui.Settings) error {
	switch s.Lang {
	case "", protocol.LangEN, protocol.LangZH:
	default:
		return settingErr("Language %q: choose en or zh-CN", "语言 %q：请选择 en 或 zh-CN", s.Lang)
	}
	if s.Volume < 0 || s.Volume > 1 {
		return settingErr("Volume must be between 0 and 1", "音量须在 0 到 1 之间")
	}
	if len(s.StoreName) > protocol.MaxNameLen {
		return settingErr("Store name: at most %d bytes", "门店名称：最多 %d 字节", protocol.MaxNameLen)
	}
	for _, p := range []struct{ en, zh, spec string }{
		{"Scanner port", "扫码枪串口", s.ScannerPort}, {"Cash register port", "收银机串口", s.ECRPort}, {"Customer display port", "客显串口", s.Display},
	} {
		if p.spec == "" {
			continue
		}
		if _, err := serialport.ParseSpec(p.spec); err != nil {
			return settingErr(p.en+": %v", p.zh+"：%v", err)
		}
	}
	if s.ECRSum != "" {
		if _, err := ecr.ParseChecksum(s.ECRSum); err != nil {
			return settingErr("Cash register checksum %q: choose crc16 or lrc", "收银机校验 %q：请选择 crc16 或 lrc", s.ECRSum)
		}
	}
	if s.Columns != 0 && s.Columns != 32 && s.Columns != 48 {
		return settingErr("Printer width %d: choose 48 (80 mm) or 32 (58 mm)", "打印宽度 %d：请选择 48（80 毫米）或 32（58 毫米）", s.Columns)
	}
	if s.WedgeGap != 0 && (s.WedgeGap < 5*time.Millisecond || s.WedgeGap > 100*time.Millisecond) {
		return settingErr("Scanner key gap: between 5 and 100 ms", "扫码枪按键间隔：5 到 100 毫秒")
	}
	if s.WedgeIdle != 0 && (s.WedgeIdle < 30*time.Millisecond || s.WedgeIdle > time.Second) {
		return settingErr("Scanner idle end: between 30 and 1000 ms", "扫码枪结束等待：30 到 1000 毫秒")
	}
	if s.AutoLock != 0 && (s.AutoLock < 30*time.Second || s.AutoLock > time.Hour) {
		return settingErr("Auto-lock: between 30 s and 60 min", "自动锁定：30 秒到 60 分钟")
	}
	return nil
}

// Settings returns the current settings.
func (s *Station) Settings() ui.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// SaveSettings checks set, stores it and applies it: devices whose port
// changed are reopened. A wrong setting changes nothing.
func (s *Station) SaveSettings(_ context.Context, set ui.Settings) error {
	if err := checkSettings(set); err != nil {
		return err
	}
	if s.Enrolled() {
		if err := saveSettings(s.opt.Dir, set); err != nil {
			return &ui.UserError{EN: "Settings not saved: " + err.Error(), ZH: "设置未保存：" + err.Error()}
		}
	}
	s.mu.Lock()
	old := s.settings
	s.settings = set
	ctr, hubName := s.ctr, s.hubName
	s.mu.Unlock()
	if ctr != nil {
		name := set.StoreName
		if name == "" {
			name = hubName
		}
		ctr.SetDocuments(name, set.Lang, set.Columns)
	}
	if err := s.devs.apply(old, set); err != nil {
		return &ui.UserError{EN: "Saved, but: " + err.Error(), ZH: "已保存，但：" + err.Error()}
	}
	return nil
}

// Ports lists the serial ports the system reports.
func (s *Station) Ports() []string {
	ports, err := serialport.List()
	if err != nil {
		s.log.Warn("list serial ports", "err", err)
		return nil
	}
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		out = append(out, p.Path)
	}
	return out
}
