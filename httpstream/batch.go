package httpstream

import "github.com/pushwire/pushwire/hub"

// getBatch returns a slice of MaxBatch entries to read a poll's answer
// into, from the handler's pool: a poll that waits would otherwise leave
// MaxBatch entries of garbage (18 KiB at the default) behind before it
// waits, and as much again when it is answered.
func (h *Handler) getBatch() *[]hub.Entry {
	if b, ok := h.batches.Get().(*[]hub.Entry); ok {
		return b
	}
	b := make([]hub.Entry, h.opts.MaxBatch)
	return &b
}

// putBatch clears b, so that the pool keeps no entry's data alive, and
// gives it back.
func (h *Handler) putBatch(b *[]hub.Entry) {
	clear(*b)
	h.batches.Put(b)
}
