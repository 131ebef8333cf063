package station

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hexiao/hexiao/protocol"
	"github.com/hexiao/hexiao/terminal"
	"github.com/hexiao/hexiao/terminal/ui"
)

func TestSettingsRoundTripAndRefusals(t *testing.T) {
	dir := t.TempDir()
	set, err := loadSettings(dir)
	if err != nil || !reflect.DeepEqual(set, defaultSettings()) {
		t.Fatalf("no file: %+v, %v; want the defaults", set, err)
	}
	set.Lang, set.ScannerPort, set.WedgeGap, set.Columns = protocol.LangZH, "/dev/ttyACM0:115200", 20*time.Millisecond, 32
	if err := saveSettings(dir, set); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, SettingsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("settings file: %v, mode %v; want 0600", err, fi.Mode())
	}
	got, err := loadSettings(dir)
	if err != nil || !reflect.DeepEqual(got, set) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, set)
	}
	for _, bad := range []ui.Settings{
		{Lang: "fr"}, {Volume: 2}, {ScannerPort: "/dev/ttyS0:0"}, {ECRSum: "md5"}, {Columns: 40},
		{WedgeGap: time.Second}, {WedgeIdle: time.Millisecond}, {AutoLock: time.Second},
	} {
		err := checkSettings(bad)
		var ue *ui.UserError
		if !errors.As(err, &ue) || ue.EN == "" || ue.ZH == "" {
			t.Errorf("%+v: %v; want a refusal in both languages", bad, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte(`{"lang":"xx"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSettings(dir); err == nil {
		t.Error("a settings file with a bad language loaded")
	}
}

// A station on a directory that is not set up waits for enrollment: only
// settings work, and a commit is refused as cannot_record, never panics.
func TestStationBeforeEnrollment(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Enrolled() {
		t.Fatal("an empty directory is enrolled")
	}
	if d := s.Commit(ctx, terminal.Input{Text: "CARD00000001"}); d.Reason != protocol.CannotRecord {
		t.Errorf("commit before enrollment: %s", d.Reason)
	}
	if err := s.Enroll(ctx, "not a link"); err == nil {
		t.Error("a garbage enrollment link was taken")
	}
	if st := s.Status(ctx); st.Terminal != "" {
		t.Errorf("status before enrollment: %+v", st)
	}
}

func TestOfflineLeft(t *testing.T) {
	day := protocol.Duration(24 * time.Hour)
	allow := func(age protocol.Duration) protocol.Campaign {
		return protocol.Campaign{Offline: protocol.OfflinePolicy{Allow: true, MaxAge: age}}
	}
	for _, tt := range []struct {
		name   string
		camps  []protocol.Campaign
		age    time.Duration
		never  bool
		left   time.Duration
		capped bool
	}{
		{"none allow offline", []protocol.Campaign{{}}, time.Hour, false, 0, false},
		{"one uncapped", []protocol.Campaign{allow(day), allow(0)}, time.Hour, false, 0, false},
		{"largest cap wins", []protocol.Campaign{allow(day), allow(protocol.Duration(2 * time.Hour))}, time.Hour, false, 23 * time.Hour, true},
		{"used up", []protocol.Campaign{allow(day)}, 25 * time.Hour, false, 0, true},
		{"never contacted", []protocol.Campaign{allow(day)}, 0, true, 0, true},
	} {
		left, capped := offlineLeft(tt.camps, tt.age, tt.never)
		if left != tt.left || capped != tt.capped {
			t.Errorf("%s: %v %v, want %v %v", tt.name, left, capped, tt.left, tt.capped)
		}
	}
}

// FuzzLoadSettings: whatever the file holds, loading never panics, and
// what loads saves and loads back the same.
func FuzzLoadSettings(f *testing.F) {
	f.Add([]byte(`{"lang":"zh-CN","sound":true,"volume":0.5,"scanner_port":"/dev/ttyACM0:115200","wedge_gap":20000000}`))
	f.Add([]byte(`{"printer_columns":32,"auto_lock":60000000000,"ecr_checksum":"lrc"}`))
	f.Add([]byte(`{"lang":7}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, SettingsFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := loadSettings(dir)
		if err != nil {
			return
		}
		if err := saveSettings(dir, set); err != nil {
			t.Fatal(err)
		}
		again, err := loadSettings(dir)
		if err != nil || !reflect.DeepEqual(again, set) {
			t.Fatalf("%+v saved and loaded as %+v, %v", set, again, err)
		}
	})
}
