package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// tailBatch is how many entries the tail of an engine-backed topic reads
// from the engine at a time.
const tailBatch = 256

// Back-off of the tail and of Publish while the engine is unavailable.
const (
	minRetry = 20 * time.Millisecond
	maxRetry = time.Second
)

// OpenTopic returns a topic in front of the log that engine e keeps for
// the named topic, creating the log if need be with the limits of opts
// (nil means the defaults). Its Policy and QueueLen apply to this node's
// subscribers.
//
// The topic starts one goroutine, its tail, that reads the engine's log
// into this node's ring, starting with the entries the engine holds, and
// waits for more; every reader on this node reads the ring, and only a
// reader the ring cannot answer (a cursor older than the ring, of an epoch
// the ring has not caught up with, or FromNow, which is the engine's head)
// asks the engine. A cursor the engine has passed but the tail has not
// reached yet is valid: a read there returns nothing, and Wait returns
// once the tail brings the entries. Close the
// topic to stop the tail and close the engine log; the engine itself is
// the caller's to close.
func OpenTopic(ctx context.Context, e Engine, name string, opts *TopicOptions) (*Topic, error) {
	t := &Topic{}
	t.setOptions(opts)
	t.epoch = ""
	el, err := e.Open(ctx, name, Limits{MaxEntries: t.limitEntries(), MaxBytes: t.limitBytes()})
	if err != nil {
		return nil, err
	}
	b, err := el.Bounds(ctx)
	if err != nil {
		el.Close()
		return nil, err
	}
	t.eng = el
	t.epoch = b.Epoch
	t.head = b.First - 1 // the tail starts by reading what the engine holds
	t.known = b.Last
	t.init()
	tctx, cancel := context.WithCancel(context.Background())
	t.stopTail = cancel
	t.tailDone = make(chan struct{})
	go t.tail(tctx)
	return t, nil
}

// tail feeds the ring of an engine-backed topic from the engine: it reads
// what follows the ring's head, and waits when there is nothing. It is the
// only writer of the ring's entries, head and epoch.
func (t *Topic) tail(ctx context.Context) {
	defer close(t.tailDone)
	buf := make([]Entry, tailBatch)
	delay := time.Duration(0)
	for ctx.Err() == nil {
		t.mu.RLock()
		after, epoch := t.head, t.epoch
		t.mu.RUnlock()
		n, b, err := t.eng.Read(ctx, after, buf)
		if err == nil && b.Epoch == epoch && n == 0 {
			if b.Last < after {
				// The engine lost entries the ring has, in the same
				// epoch: it is no longer a continuation.
				t.switchEpoch(b)
				continue
			}
			t.learn(b)
			b, err = t.eng.Wait(ctx, after)
		}
		if err != nil {
			if errors.Is(err, ErrClosed) || ctx.Err() != nil {
				return
			}
			delay = min(max(2*delay, minRetry), maxRetry)
			sleep(ctx, delay)
			continue
		}
		delay = 0
		switch {
		case b.Epoch != epoch:
			t.switchEpoch(b)
		case n > 0:
			t.insert(buf[:n], b)
			clear(buf[:n])
		default:
			t.learn(b)
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// insert appends entries read from the engine to the ring. An entry that
// does not follow the head (the engine dropped entries the tail had not
// read yet) empties the ring first, so the ring stays contiguous; readers
// behind it then ask the engine, which reports the gap.
func (t *Topic) insert(es []Entry, b Bounds) {
	t.mu.Lock()
	for _, e := range es {
		if e.Seq <= t.head {
			continue
		}
		if e.Seq != t.head+1 {
			t.clearRing()
			t.head = e.Seq - 1
		}
		t.push(e)
	}
	t.known = max(t.known, t.head, b.Last)
	wake := t.takeWakeup()
	t.mu.Unlock()
	t.fire(wake)
}

// learn records the engine's bounds of the current epoch.
func (t *Topic) learn(b Bounds) {
	t.mu.Lock()
	if b.Epoch == t.epoch && b.Last > t.known {
		t.known = b.Last
	}
	t.mu.Unlock()
}

// switchEpoch empties the ring and moves it to the engine's new epoch (or
// history); readers of the old one get a ResetError when they look again.
func (t *Topic) switchEpoch(b Bounds) {
	t.mu.Lock()
	t.clearRing()
	t.epoch = b.Epoch
	t.head = b.First - 1
	t.known = b.Last
	wake := t.takeWakeup()
	t.mu.Unlock()
	t.fire(wake)
}

// clearRing drops every entry of the ring. Called with t.mu held.
func (t *Topic) clearRing() {
	for t.n > 0 {
		t.dropOldest()
	}
	t.start = 0
}

// readEngine is ReadAfter answered by the engine, for a cursor the ring
// cannot answer.
func (t *Topic) readEngine(ctx context.Context, c Cursor, buf []Entry) (int, Cursor, error) {
	after := c.seq
	switch c.kind {
	case kindNow:
		b, err := t.eng.Bounds(ctx)
		if err != nil {
			return 0, c, err
		}
		t.learn(b)
		return 0, AfterIn(b.Epoch, b.Last), t.closedErr(b.Last, b.Last)
	case kindOldest:
		after = 0
	}
	n, b, err := t.eng.Read(ctx, after, buf)
	if err != nil {
		return 0, c, err
	}
	t.learn(b)
	floor := b.First - 1
	if n > 0 {
		floor = min(floor, buf[0].Seq-1)
	}
	switch {
	case c.kind == kindOldest:
		after = floor
	case c.epoch != "" && c.epoch != b.Epoch, after > b.Last:
		clear(buf[:n])
		// The reader starts the history over: from the oldest entry held,
		// which Bounds tells exactly (Read may not).
		if b, err = t.eng.Bounds(ctx); err != nil {
			return 0, c, err
		}
		r := ResetError{From: c, Epoch: b.Epoch, After: b.First - 1}
		return 0, r.Cursor(), r
	case after < floor:
		clear(buf[:n])
		return 0, AfterIn(b.Epoch, floor), gapError(after, floor+1)
	}
	if n > 0 && buf[0].Seq != after+1 {
		// The engine broke its contract; do not pass on a hole.
		clear(buf[:n])
		return 0, c, fmt.Errorf("%w: engine read after %d returned entry %d", ErrUnavailable, after, buf[0].Seq)
	}
	next := AfterIn(b.Epoch, after+Seq(n))
	if n == 0 {
		return 0, next, t.closedErr(after, b.Last)
	}
	return n, next, nil
}

// closedErr returns ErrClosed for a reader at after with nothing to read
// (the log's last is last) of a closed topic, else nil.
func (t *Topic) closedErr(after, last Seq) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed && after >= last {
		return ErrClosed
	}
	return nil
}

// engineReady reports whether a reader at cursor c, which the ring cannot
// answer, has something to read in the engine: entries, a gap or a reset.
func (t *Topic) engineReady(ctx context.Context, c Cursor) (bool, error) {
	b, err := t.eng.Bounds(ctx)
	if err != nil {
		return false, err
	}
	t.learn(b)
	if c.kind != kindAfter || c.epoch != "" && c.epoch != b.Epoch || c.seq != b.Last {
		return true, nil
	}
	return false, t.closedErr(c.seq, b.Last)
}

// appendEngine appends to an engine-backed topic, retrying while the
// engine is unavailable.
func (t *Topic) appendEngine(ctx context.Context, key, typ string, data []byte) (Seq, error) {
	maxBytes := t.limitBytes()
	if size := len(typ) + len(data); size > maxBytes {
		return 0, fmt.Errorf("%w: %d bytes, the topic holds at most %d", ErrTooLarge, size, maxBytes)
	}
	delay := time.Duration(0)
	for {
		t.mu.RLock()
		closed := t.closed
		t.mu.RUnlock()
		if closed {
			return 0, ErrClosed
		}
		seq, err := t.eng.Append(ctx, key, typ, data)
		if err == nil {
			return seq, nil
		}
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return 0, err
		}
		delay = min(max(2*delay, minRetry), maxRetry)
		sleep(ctx, delay)
	}
}

// newKey returns a fresh idempotency key: 128 random bits in base 36.
func newKey() string {
	b := make([]byte, 0, 27)
	b = strconv.AppendUint(b, rand.Uint64(), 36)
	b = append(b, '.')
	b = strconv.AppendUint(b, rand.Uint64(), 36)
	return string(b)
}
