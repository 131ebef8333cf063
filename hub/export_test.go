package hub

import "context"

// Hooks for the external tests of the group commit.

// HoldWriter takes the writer's lock, so that updates queue up behind it,
// and returns what releases it.
func (h *Hub) HoldWriter() (release func()) {
	h.wmu.Lock()
	return h.wmu.Unlock
}

// GroupQueue tells whether a caller leads a group commit and how many
// updates wait for the next one.
func (h *Hub) GroupQueue() (leading bool, waiting int) {
	h.gmu.Lock()
	defer h.gmu.Unlock()
	return h.leading, len(h.waiting)
}

// GroupedMeta runs an update with group commit that sets meta key to
// value and then fails with fail, if not nil.
func (h *Hub) GroupedMeta(ctx context.Context, key, value string, fail error) error {
	return h.updateGrouped(ctx, func(w *writer) error {
		if err := w.tx.SetMeta(key, []byte(value)); err != nil {
			return err
		}
		return fail
	})
}
