package hub

import "context"

// ReadAfter copies up to len(buf) entries after cursor c into buf, oldest
// first, and returns how many it copied and the cursor to continue from,
// AfterIn(epoch, last copied). It never blocks on publishers, which makes
// it the read of long polling: send the entries and next.String() to the
// client, and when n is 0 call Wait(ctx, next) and read again. (An
// engine-backed topic may ask the engine, bounded by ctx.)
//
// With nothing after c it returns 0, the resolved c and nil, or ErrClosed
// if the topic is closed. When entries after c were dropped from the log it
// copies nothing and returns a GapError and the cursor that skips the gap;
// for a cursor of another epoch, or ahead of the log, it copies nothing and
// returns a ResetError and the cursor that starts the current history. A
// buf of length 0 only resolves c.
//
// The copied entries share their Data with the log; see Entry.
func (t *Topic) ReadAfter(ctx context.Context, c Cursor, buf []Entry) (int, Cursor, error) {
	t.init()
	t.mu.RLock()
	after, p := t.place(c)
	switch p {
	case placeReset:
		next, err := t.resetError(c)
		t.mu.RUnlock()
		return 0, next, err
	case placeEngine:
		t.mu.RUnlock()
		return t.readEngine(ctx, c, buf)
	}
	defer t.mu.RUnlock()
	return t.readLocal(after, buf)
}

// Wait blocks until there is something to read after cursor c, and then
// returns nil: an entry, a gap or a reset. It returns ctx.Err() when ctx
// is done first, and ErrClosed when the topic is closed and nothing is
// left after c.
//
// Wait resolves c when called, so Wait(ctx, FromNow()) waits for the next
// publish; to read that entry afterwards, call ReadAfter with the concrete
// cursor obtained before waiting (ReadAfter returns one even when it reads
// nothing), not with FromNow again.
func (t *Topic) Wait(ctx context.Context, c Cursor) error {
	t.init()
	if c.kind != kindAfter {
		t.mu.RLock()
		after, p := t.place(c)
		t.mu.RUnlock()
		if p == placeEngine {
			// Resolve with the engine: "from now" is the engine's head.
			_, next, err := t.readEngine(ctx, c, nil)
			if err != nil {
				return err
			}
			if c.kind == kindOldest {
				return nil // ready or not, FromOldest waits for nothing more
			}
			c = next
		} else {
			c = AfterIn(t.epoch, after)
		}
	}
	for {
		ch, err := t.waitChan(ctx, c)
		if ch == nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitChan returns a channel that is closed when the ring changes or the
// topic closes, if a reader at c has nothing to read. Otherwise it returns
// nil and the error that reader should see (nil if there is an entry, a
// gap or a reset to read).
func (t *Topic) waitChan(ctx context.Context, c Cursor) (chan struct{}, error) {
	t.mu.RLock()
	after, p := t.place(c)
	switch p {
	case placeReset:
		t.mu.RUnlock()
		return nil, nil
	case placeEngine:
		t.mu.RUnlock()
		// Take the channel first, so that a change of the ring between
		// the engine's answer and the wait is not missed.
		ch := t.notifyChan()
		if ready, err := t.engineReady(ctx, c); ready || err != nil {
			return nil, err
		}
		// The engine has nothing after c either, in an epoch the ring
		// has not caught up with yet: wait for the tail.
		return ch, nil
	}
	ch, ready, err := t.waitState(after)
	t.mu.RUnlock()
	if ready || ch != nil {
		return ch, err
	}
	// Nobody waits yet since the last change: make the channel.
	t.mu.Lock()
	defer t.mu.Unlock()
	if after, p = t.place(c); p != placeLocal {
		return nil, nil // the ring changed meanwhile: look again
	}
	if _, ready, err = t.waitState(after); ready {
		return nil, err
	}
	if t.notify == nil {
		t.notify = make(chan struct{})
	}
	return t.notify, nil
}

// notifyChan returns the channel closed at the next change of the ring.
func (t *Topic) notifyChan() chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.notify == nil {
		t.notify = make(chan struct{})
	}
	return t.notify
}

// waitState reports whether a reader after sequence number after, placed
// local, has something to see (ready, with the error it gets, nil for an
// entry or a gap); if not, it returns the current notify channel, which
// may be nil. Called with t.mu held.
func (t *Topic) waitState(after Seq) (ch chan struct{}, ready bool, err error) {
	switch {
	case after < t.head:
		return nil, true, nil
	case after == t.head && t.closed:
		return nil, true, ErrClosed
	}
	// At the head, or (engine-backed) between the head and what the
	// engine is known to hold: the tail will bring it.
	return t.notify, false, nil
}
