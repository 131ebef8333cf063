package main

import (
	"strings"
	"testing"

	"github.com/hexiao/hexiao/internal/cli"
)

// --offline-alert takes a duration ≥ 0; anything else is a usage error
// before the data directory is touched.
func TestOfflineAlertFlag(t *testing.T) {
	for _, tt := range []struct {
		value, want string
	}{
		{"-5m", "--offline-alert -5m0s: want a duration ≥ 0"},
		{"soon", `invalid value "soon" for flag -offline-alert`},
		{"30", `invalid value "30" for flag -offline-alert`},
	} {
		t.Run(tt.value, func(t *testing.T) {
			dir := t.TempDir() + "/never"
			_, _, err := runArgs(t, "serve", "--data", dir, "--offline-alert", tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) || cli.ExitCode(err) != 2 {
				t.Fatalf("--offline-alert %s: got %v (exit %d), want usage error %q", tt.value, err, cli.ExitCode(err), tt.want)
			}
		})
	}
}
