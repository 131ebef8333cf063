// Package sound plays the counter's verdict sounds, one per kind of
// verdict, so a cashier knows the answer without looking at the screen:
//
//   - Tone synthesises a sound's PCM (pure, no device): Accepted is two
//     short rising beeps (880 Hz, 1320 Hz), Rejected one long low buzz
//     (250 Hz, square-ish), Attention three short mid beeps (660 Hz); each
//     lasts at most 500 ms, with soft attacks and releases and headroom
//     (peak −4.4 dBFS);
//   - Player plays them on the audio device through oto (ALSA on Linux,
//     WASAPI on Windows). Open opens the device once per process and fails
//     with ErrNoDevice when there is none; the window then goes on
//     silently.
//
// Player.Play must never block its caller, the UI goroutine that has just
// put a verdict on screen: it records the request and returns, and the
// Player's own goroutine (started by Open, stopped by Close) talks to the
// device. A new sound cuts off the one playing.
//
// Like every driver, it imports neither terminal, protocol nor hub: it
// knows sounds, not verdicts; the window maps a verdict to a Kind.
package sound
