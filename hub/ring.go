package hub

// The ring of an in-memory topic (or of a node's window on an engine
// log): storage, limits, and where a cursor falls in it. Every function
// here is called with t.mu held.

// push appends e, whose Seq is head+1, to the ring, dropping the oldest
// entries as needed to stay within the limits. An entry larger than
// MaxBytes is kept alone. Called with t.mu held for writing.
func (t *Topic) push(e Entry) {
	maxEntries, maxBytes := t.limitEntries(), t.limitBytes()
	size := len(e.Type) + len(e.Data)
	for t.n > 0 && (t.n >= maxEntries || t.bytes+size > maxBytes) {
		t.dropOldest()
	}
	if t.n == len(t.ring) {
		t.grow(maxEntries)
	}
	i := t.start + t.n
	if i >= len(t.ring) {
		i -= len(t.ring)
	}
	t.ring[i] = e
	t.n++
	t.bytes += size
	t.head = e.Seq
}

// dropOldest drops the oldest entry of the ring. Called with t.mu held for
// writing and t.n > 0.
func (t *Topic) dropOldest() {
	old := &t.ring[t.start]
	t.bytes -= len(old.Type) + len(old.Data)
	if len(t.keyOf) > 0 {
		if k, ok := t.keyOf[old.Seq]; ok {
			delete(t.keys, k)
			delete(t.keyOf, old.Seq)
		}
	}
	*old = Entry{} // let the garbage collector have the payload
	t.start++
	if t.start == len(t.ring) {
		t.start = 0
	}
	t.n--
}

// grow enlarges the ring, which is full, keeping the entries in order.
// Called with t.mu held and t.n < maxEntries.
func (t *Topic) grow(maxEntries int) {
	size := min(max(2*len(t.ring), minRing), maxEntries)
	ring := make([]Entry, size)
	k := copy(ring, t.ring[t.start:])
	copy(ring[k:], t.ring[:t.start])
	t.ring = ring
	t.start = 0
}

// oldest returns the sequence number of the oldest entry held, or head+1
// when the ring is empty. Called with t.mu held.
func (t *Topic) oldest() Seq {
	return t.head - Seq(t.n) + 1
}

// floor returns the sequence number before the oldest entry in the ring.
// Called with t.mu held.
func (t *Topic) floor() Seq {
	return t.head - Seq(t.n)
}

// bounds returns the ring's bounds. Called with t.mu held.
func (t *Topic) bounds() Bounds {
	return Bounds{Epoch: t.epoch, First: t.oldest(), Last: t.head}
}

// at returns the entry with sequence number s. Called with t.mu held and
// oldest() <= s <= head.
func (t *Topic) at(s Seq) *Entry {
	i := t.start + int(s-t.oldest())
	if i >= len(t.ring) {
		i -= len(t.ring)
	}
	return &t.ring[i]
}

// placement says who can answer a reader at a cursor.
type placement uint8

const (
	// placeLocal: the ring answers (entries, a gap of an in-memory topic,
	// or a wait for the tail to bring entries the engine has).
	placeLocal placement = iota
	// placeReset: the cursor is from another epoch or ahead of an
	// in-memory log.
	placeReset
	// placeEngine: only the engine can answer (an engine-backed topic, for
	// a cursor older than the ring, of another epoch, ahead of what is
	// known, or symbolic).
	placeEngine
)

// place resolves c against the ring and says who answers it. Called with
// t.mu held.
func (t *Topic) place(c Cursor) (Seq, placement) {
	if t.eng == nil {
		switch {
		case c.kind == kindNow:
			return t.head, placeLocal
		case c.kind == kindOldest:
			return t.floor(), placeLocal
		case c.epoch != "" && c.epoch != t.epoch, c.seq > t.head:
			return t.floor(), placeReset
		}
		return c.seq, placeLocal
	}
	if c.kind != kindAfter || c.epoch != "" && c.epoch != t.epoch || c.seq < t.floor() || c.seq > t.known {
		return 0, placeEngine
	}
	return c.seq, placeLocal
}

// resetError returns the ResetError for a reader at c of an in-memory
// topic, and the cursor it continues from. Called with t.mu held.
func (t *Topic) resetError(c Cursor) (Cursor, error) {
	r := ResetError{From: c, Epoch: t.epoch, After: t.floor()}
	return r.Cursor(), r
}

// readLocal reads the ring after sequence number after, which place found
// local. Called with t.mu held.
func (t *Topic) readLocal(after Seq, buf []Entry) (int, Cursor, error) {
	if before := t.floor(); after < before {
		return 0, AfterIn(t.epoch, before), gapError(after, before+1)
	}
	if after >= t.head {
		// After head (up to what the engine is known to hold) there is
		// nothing here yet.
		if t.closed {
			return 0, AfterIn(t.epoch, after), ErrClosed
		}
		return 0, AfterIn(t.epoch, after), nil
	}
	k := len(buf)
	if avail := t.head - after; avail < Seq(k) {
		k = int(avail)
	}
	if k == 0 {
		return 0, AfterIn(t.epoch, after), nil
	}
	i := t.start + int(after+1-t.oldest())
	if i >= len(t.ring) {
		i -= len(t.ring)
	}
	m := copy(buf[:k], t.ring[i:])
	copy(buf[m:k], t.ring)
	return k, AfterIn(t.epoch, after+Seq(k)), nil
}
