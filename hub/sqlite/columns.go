package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hexiao/hexiao/protocol"
)

// How values sit in columns: times as Unix microseconds UTC with 0 for the
// zero time (PostgreSQL keeps the same precision, and the range has no year
// 2262 limit); lists as JSON text with NULL for an empty list; booleans as
// 0 or 1.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMicro(n).UTC()
}

// listText encodes l as a JSON array, or NULL when it is empty. Lists of
// identifiers (the usual case: no quote, backslash or control character)
// are written directly, the same bytes encoding/json would write.
func listText[T ~string](l []T) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	n := 1
	for _, v := range l {
		if !plain(string(v)) {
			b, err := json.Marshal(l)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
		n += len(v) + 3
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteByte('[')
	for i, v := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(string(v))
		b.WriteByte('"')
	}
	b.WriteByte(']')
	return b.String(), nil
}

// plain reports whether s needs no escaping in JSON (nor HTML escaping,
// which encoding/json applies to <, > and &).
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// parseList decodes a column listText wrote; NULL is a nil list. Arrays
// with no escape in them are split directly; anything else goes through
// encoding/json.
func parseList[T ~string](s sql.NullString) ([]T, error) {
	if !s.Valid || s.String == "" || s.String == "[]" {
		return nil, nil
	}
	v := s.String
	if len(v) >= 4 && v[0] == '[' && v[1] == '"' && v[len(v)-2] == '"' && v[len(v)-1] == ']' && !strings.ContainsRune(v, '\\') {
		parts := strings.Split(v[2:len(v)-2], `","`)
		l := make([]T, len(parts))
		ok := true
		for i, p := range parts {
			if strings.IndexByte(p, '"') >= 0 {
				ok = false
				break
			}
			l[i] = T(p)
		}
		if ok {
			return l, nil
		}
	}
	var l []T
	if err := json.Unmarshal([]byte(v), &l); err != nil {
		return nil, fmt.Errorf("list column: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// refsText and parseRefs do the same for event refs ("terminal:seq").
func refsText(l []protocol.EventRef) (any, error) {
	if len(l) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func parseRefs(s sql.NullString) ([]protocol.EventRef, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var l []protocol.EventRef
	if err := json.Unmarshal([]byte(s.String), &l); err != nil {
		return nil, fmt.Errorf("event refs column: %w", err)
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// refCols splits an optional event ref into two nullable columns.
func refCols(r *protocol.EventRef) (any, any) {
	if r == nil {
		return nil, nil
	}
	return r.Terminal, r.Seq
}

func refOf(term sql.NullString, seq sql.NullInt64) *protocol.EventRef {
	if !term.Valid {
		return nil
	}
	return &protocol.EventRef{Terminal: term.String, Seq: uint64(seq.Int64)}
}

// hash32 copies a 32-byte column into a hash; a column of another length
// is corruption.
func hash32(dst *[32]byte, b []byte, what string) error {
	if len(b) != len(dst) {
		return fmt.Errorf("%s is %d bytes, want %d", what, len(b), len(dst))
	}
	copy(dst[:], b)
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
