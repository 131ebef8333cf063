// Package scanner turns what barcode scanners and cashiers send into
// normalised code text. It provides:
//
//   - Normalize, which every input path (wedge, serial, cash register,
//     image, typed) applies to a code before anything else sees it;
//   - Wedge, a keyboard-wedge burst detector: pure, key events with their
//     timestamps in and results out, so the window and the tests feed it
//     the same way. It tells a scanner's bursts from a person typing by the
//     time between keys, ends a burst on Enter, Tab or an idle time,
//     suppresses repeat scans and flags keyboard-layout mix-ups;
//   - Serial, a reader for serial (USB-CDC) scanners, the recommended mode,
//     immune to keyboard layouts, that keeps reading across the device
//     being unplugged and plugged back in.
//
// It must never decide anything about a code (that is package terminal's
// job) and never imports terminal or hub: it only delivers text.
package scanner
