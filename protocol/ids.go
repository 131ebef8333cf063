package protocol

import "fmt"

// MaxIDLen is the longest identifier (terminal, store, region, campaign,
// key, cashier) the protocol accepts.
const MaxIDLen = 64

// MaxCodeIDLen is the longest code identifier.
const MaxCodeIDLen = 32

// ValidID checks an identifier of a terminal, store, region, campaign,
// issuing key or cashier: 1 to MaxIDLen characters from A–Z, a–z, 0–9, '.',
// '_' and '-'. Such identifiers are safe inside MQTT topic levels, file
// names and URLs.
func ValidID(s string) error {
	if s == "" {
		return fmt.Errorf("empty identifier")
	}
	if len(s) > MaxIDLen {
		return fmt.Errorf("identifier %.16q… is %d bytes, longer than %d", s, len(s), MaxIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isIDByte(c) {
			return fmt.Errorf("identifier %q has %q at byte %d: use A-Z, a-z, 0-9, '.', '_' or '-'", s, rune(c), i)
		}
	}
	return nil
}

func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// ValidCodeID checks a code identifier: 1 to MaxCodeIDLen characters from
// 0–9, A–Z and '-'. Code identifiers are upper case so that they sit in a QR
// code's alphanumeric mode and survive a scanner with Caps Lock on.
func ValidCodeID(s string) error {
	if s == "" {
		return fmt.Errorf("empty code id")
	}
	if len(s) > MaxCodeIDLen {
		return fmt.Errorf("code id %.16q… is %d bytes, longer than %d", s, len(s), MaxCodeIDLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c == '-') {
			return fmt.Errorf("code id %q has %q at byte %d: use 0-9, A-Z or '-'", s, rune(c), i)
		}
	}
	return nil
}

// validIDs checks every identifier of a list and that none repeats.
func validIDs(what string, ids []string) error {
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if err := ValidID(id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if _, dup := seen[id]; dup {
			return fmt.Errorf("%s: %q listed twice", what, id)
		}
		seen[id] = struct{}{}
	}
	return nil
}
