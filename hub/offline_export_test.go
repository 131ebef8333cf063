package hub

import (
	"context"
	"time"
)

// SweepFrom is Sweep as Run does it when it started at watchFrom.
func (h *Hub) SweepFrom(ctx context.Context, watchFrom time.Time) error {
	return h.sweep(ctx, watchFrom)
}
