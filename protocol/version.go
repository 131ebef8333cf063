package protocol

import (
	"fmt"

	"github.com/coreos/go-semver/semver"
)

// Version is the protocol version this build speaks. Bump the minor version
// for optional fields an older peer may ignore (it decodes and drops them),
// and for a new event kind: events only travel from terminal to hub, and
// CheckCompatible serves a terminal only from a hub of at least its minor
// version, so no hub meets a kind it does not know. Bump the major version
// for anything else an older peer must understand to stay safe: a new
// reason, change kind, topic or required field. An older terminal
// therefore never meets a value it cannot act on.
//
// 1.1.0 added the z_report event kind and Event.Z; 1.2.0 added Change.By
// (who redeemed or voided a code), which a 1.1 terminal decodes and drops.
const Version = "1.2.0"

// WireVersion is the value of the "v" field in every message and event body:
// the major protocol version. Decoders refuse any other value.
const WireVersion = 1

// CheckCompatible applies the compatibility rule between a hub and a
// terminal, given the protocol versions each announces:
//
//   - both must parse as semantic versions;
//   - the major versions must be equal;
//   - the hub's minor version must be at least the terminal's, because the
//     hub must understand every field a terminal may send (hubs upgrade
//     first, terminals follow);
//   - pre-release versions are only compatible with the identical version.
//
// The error, when not nil, says in plain words which side must change.
func CheckCompatible(hub, terminal string) error {
	h, err := parseVersion(hub)
	if err != nil {
		return fmt.Errorf("hub protocol version: %w", err)
	}
	t, err := parseVersion(terminal)
	if err != nil {
		return fmt.Errorf("terminal protocol version: %w", err)
	}
	if h.PreRelease != "" || t.PreRelease != "" {
		if h.Major != t.Major || h.Minor != t.Minor || h.Patch != t.Patch || h.PreRelease != t.PreRelease {
			return fmt.Errorf("pre-release protocol %s (hub) and %s (terminal) differ: run the same build on both", h, t)
		}
		return nil
	}
	if h.Major != t.Major {
		if h.Major < t.Major {
			return fmt.Errorf("hub speaks protocol %s, terminal %s: upgrade the hub first", h, t)
		}
		return fmt.Errorf("hub speaks protocol %s, terminal %s: upgrade the terminal", h, t)
	}
	if h.Minor < t.Minor {
		return fmt.Errorf("hub speaks protocol %s, older than the terminal's %s: upgrade the hub first", h, t)
	}
	return nil
}

func parseVersion(s string) (*semver.Version, error) {
	if s == "" {
		return nil, fmt.Errorf("missing")
	}
	v, err := semver.NewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a semantic version: %w", s, err)
	}
	if v.Major < 0 || v.Minor < 0 || v.Patch < 0 {
		return nil, fmt.Errorf("%q has a negative component", s)
	}
	return v, nil
}
