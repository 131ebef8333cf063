// Package cli holds what the hexiao-hub and hexiao-terminal programs share
// about their command lines: usage errors and exit statuses. It holds no
// product logic and must never import terminal, hub or drivers.
package cli

import "errors"

// UsageError is a mistake in the command line; the program exits 2 on it.
type UsageError struct {
	Program string
	Msg     string
}

func (e *UsageError) Error() string {
	return e.Program + ": " + e.Msg + "\nrun '" + e.Program + " help' for usage"
}

// ExitCode maps a program's error to its exit status: 0 for none, 2 for a
// usage error, 1 for any other.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	default:
		return 1
	}
}
