package sqlite

import (
	"context"
	"fmt"
)

// SetReadOnly makes the writer connection refuse writes as SQLite does on
// a read-only file (SQLITE_READONLY), or lifts that.
func (s *Store) SetReadOnly(ctx context.Context, on bool) error {
	_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA query_only = %t", on))
	return err
}
