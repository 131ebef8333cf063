package scanner

import "strings"

// The characters a keyboard wedge produces when the scanner and the
// computer disagree on the keyboard layout. A scanner set to US QWERTY
// sends the key positions of its characters; the computer reads them
// through its own layout.
const (
	// On AZERTY (French, Belgian) the digit keys 1234567890 type
	// &é"'(-è_çà (Belgian: § and ! for 6 and 8). The accented ones never
	// appear in a code; the others may, so they count only when no digit
	// arrived at all.
	azertyStrong = "éèçà"
	azertyWeak   = `&"'(_!`
	// On QWERTZ (German, Austrian, Swiss) the US - [ ; ' = keys type
	// ß ü ö ä ´, and Y and Z are swapped.
	qwertzStrong = "ßüöä´"
)

// Warnings for layout mix-ups; they say what to change.
const (
	warnAZERTY = `digits arrived as &é"'(-è_çà: the computer has an AZERTY keyboard layout and the scanner does not; ` +
		"set the scanner's keyboard layout to the computer's (French AZERTY), or use the scanner in serial (USB-CDC) mode"
	warnQWERTZ = "ß, ü, ö, ä or ´ arrived in a code (and Y and Z may be swapped): the computer has a QWERTZ keyboard layout and the scanner does not; " +
		"set the scanner's keyboard layout to the computer's (German QWERTZ), or use the scanner in serial (USB-CDC) mode"
)

// layoutWarning says when a scanned text looks like it went through the
// wrong keyboard layout, and what to change; "" when it does not.
func layoutWarning(text string) string {
	strong, weak, digits := 0, 0, 0
	for _, r := range text {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(azertyStrong, r):
			strong++
		case strings.ContainsRune(azertyWeak, r):
			weak++
		case strings.ContainsRune(qwertzStrong, r):
			return warnQWERTZ
		}
	}
	if strong > 0 || (weak >= 2 && digits == 0) {
		return warnAZERTY
	}
	return ""
}
