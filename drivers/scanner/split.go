package scanner

import (
	"fmt"
	"time"
)

// splitter cuts the byte stream of a serial scanner into codes: at the
// suffix byte (or, with none configured, at CR, LF or Tab, so CRLF ends a
// code once) and, when idle is set, after that much silence. It is pure:
// the caller says when each chunk arrived.
type splitter struct {
	suffix   byte          // 0: CR, LF or Tab
	idle     time.Duration // 0: no idle end
	line     []byte        // the code under way
	lastAt   time.Time     // when its last chunk arrived
	overflow int           // bytes dropped from a code over MaxLen
}

// emitFunc receives one delimited code, not yet normalised (valid until
// it returns), or the error that rejects it.
type emitFunc func(raw []byte, err error)

func (s *splitter) ends(b byte) bool {
	if s.suffix != 0 {
		return b == s.suffix
	}
	return b == '\r' || b == '\n' || b == '\t'
}

// feed takes the bytes that arrived at now.
func (s *splitter) feed(b []byte, now time.Time, emit emitFunc) {
	s.expire(now, emit)
	for _, c := range b {
		if s.ends(c) {
			s.flush(emit)
			continue
		}
		if len(s.line) >= MaxLen {
			s.overflow++
			continue
		}
		s.line = append(s.line, c)
	}
	s.lastAt = now
}

// expire ends a code that has been idle for s.idle by now.
func (s *splitter) expire(now time.Time, emit emitFunc) {
	if s.idle > 0 && s.pending() > 0 && now.Sub(s.lastAt) >= s.idle {
		s.flush(emit)
	}
}

// deadline is when expire would end the code under way.
func (s *splitter) deadline() (time.Time, bool) {
	if s.idle > 0 && s.pending() > 0 {
		return s.lastAt.Add(s.idle), true
	}
	return time.Time{}, false
}

func (s *splitter) pending() int { return len(s.line) + s.overflow }

// flush ends the code under way; an empty one (the LF of CRLF) is nothing.
func (s *splitter) flush(emit emitFunc) {
	switch {
	case s.overflow > 0:
		emit(nil, fmt.Errorf("%w: %d bytes without a suffix, at most %d; check the scanner's suffix setting",
			ErrTooLong, len(s.line)+s.overflow, MaxLen))
	case len(s.line) > 0:
		emit(s.line, nil)
	}
	s.line, s.overflow = s.line[:0], 0
}

// drop discards the code under way (the device went mid-code) and says
// how many bytes it had.
func (s *splitter) drop() int {
	n := s.pending()
	s.line, s.overflow = s.line[:0], 0
	return n
}
