package cli

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	ue := &UsageError{Program: "hexiao-x", Msg: "unknown command \"y\""}
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{ue, 2},
		{fmt.Errorf("wrapped: %w", ue), 2},
		{errors.New("disk full"), 1},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	if got, want := ue.Error(), "hexiao-x: unknown command \"y\"\nrun 'hexiao-x help' for usage"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
