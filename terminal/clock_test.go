package terminal_test

import (
	"testing"
	"time"

	"github.com/hexiao/hexiao/terminal"
)

func TestHubClock(t *testing.T) {
	base := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var off time.Duration
	clock := terminal.HubClock(func() time.Time { return base }, func() time.Duration { return off })
	for _, c := range []struct {
		off  time.Duration
		want time.Time
	}{
		{0, base},
		{90 * time.Second, base}, // within the limit: the terminal's own clock
		{-2 * time.Minute, base},
		{3 * time.Hour, base.Add(3 * time.Hour)}, // the terminal is 3 h behind the hub
		{-25 * time.Hour, base.Add(-25 * time.Hour)},
	} {
		off = c.off
		if got := clock(); !got.Equal(c.want) {
			t.Errorf("offset %s: %s, want %s", c.off, got, c.want)
		}
	}
}
