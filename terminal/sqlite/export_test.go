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

// WriterPragma reads a pragma on the writer connection.
func (s *Store) WriterPragma(ctx context.Context, name string) (string, error) {
	var v string
	err := s.w.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}
