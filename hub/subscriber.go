package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// subscriber is the Subscription of a *Topic: a cursor into the topic's
// log and nothing else. Publishing does not touch it; it reads the shared
// entries at its own pace, so a slow subscriber delays nobody.
type subscriber struct {
	t *Topic
	// done is closed by Close; made by the first Next that waits (guarded
	// by mu), so that a subscription read through Notify has none.
	done chan struct{}

	// base is the topic's head when the subscription was made. Entries up
	// to base are replay, not queue: under the Drop policy only entries
	// after base count against QueueLen.
	base Seq

	mu     sync.Mutex // guards the fields below; never held while waiting
	cursor Cursor     // AfterIn(epoch, last returned), or FromOldest before the first Next
	err    error      // sticky failure (the ErrSlowConsumer drop)
	closed bool

	// eng is what only a subscription of an engine-backed topic needs: nil
	// until then, so that a subscriber of an in-memory topic is 40 bytes
	// smaller (160, with the allocator's size classes, instead of 192).
	eng *subEngine

	// The notification of Notify (notify.go): its state (wIdle, wLinked,
	// wTimer), its function, and the subscriber's place in the topic's
	// list of waiters (guarded by t.mu while linked, then by the waker).
	wstate       atomic.Int32
	wgen         uint64
	wprev, wnext *subscriber
	wfn          func()
}

// subEngine is the part of a subscriber that reads an engine; guarded by
// the subscriber's mu.
type subEngine struct {
	// pending holds entries the engine returned for a cursor older than
	// the ring, in epoch pendEpoch, not returned yet; nil when there are
	// none.
	pending   []Entry
	pendEpoch Epoch
	// retry is TryNext's back-off while the engine cannot be reached, and
	// timer the timer that Notify sets for it.
	retry time.Duration
	timer *time.Timer
}

// engine returns s.eng, made on first use. Called with s.mu held.
func (s *subscriber) engine() *subEngine {
	if s.eng == nil {
		s.eng = &subEngine{}
	}
	return s.eng
}

// hasPending reports whether entries read from the engine wait to be
// returned. Called with s.mu held.
func (s *subscriber) hasPending() bool { return s.eng != nil && len(s.eng.pending) > 0 }

// retryDelay returns the engine back-off of TryNext. Called with s.mu held.
func (s *subscriber) retryDelay() time.Duration {
	if s.eng == nil {
		return 0
	}
	return s.eng.retry
}

// backOff doubles the engine back-off of TryNext, within [minRetry,
// maxRetry]. Called with s.mu held.
func (s *subscriber) backOff() {
	e := s.engine()
	e.retry = min(max(2*e.retry, minRetry), maxRetry)
}

// replayBatch is how many entries a subscriber of an engine-backed topic
// reads from the engine at a time when it is behind the ring.
const replayBatch = 32

// Next returns the next entry after the subscription's cursor and moves the
// cursor past it, waiting for a publish if there is none yet. See
// Subscription.Next for the errors. Next returns an entry that is already
// available even if ctx is done. Calls to Next may come from several
// goroutines; each entry then goes to exactly one of them.
func (s *subscriber) Next(ctx context.Context) (Entry, error) {
	delay := time.Duration(0)
	for {
		s.mu.Lock()
		e, c, st, err := s.step()
		s.mu.Unlock()
		switch st {
		case stepReady:
			return e, err
		case stepEngine:
			ready, err := s.fetch(ctx, c)
			switch {
			case ready:
				return Entry{}, err
			case err == nil:
				delay = 0
				continue
			case err == errNothingYet:
				// Wait below at the resolved cursor.
				s.mu.Lock()
				c = s.cursor
				s.mu.Unlock()
			case errors.Is(err, ErrClosed):
				return Entry{}, err
			default:
				// The engine is unavailable: try again, as the tail does.
				delay = min(max(2*delay, minRetry), maxRetry)
				tm := time.NewTimer(delay)
				select {
				case <-tm.C:
				case <-ctx.Done():
					tm.Stop()
					return Entry{}, ctx.Err()
				case <-s.doneChan():
					tm.Stop()
					return Entry{}, ErrClosed
				}
				continue
			}
		}
		ch, err := s.t.waitChan(ctx, c)
		if ch == nil {
			if err != nil {
				if ctx.Err() != nil {
					return Entry{}, ctx.Err()
				}
				return Entry{}, err
			}
			continue // something arrived meanwhile
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		case <-s.doneChan():
			return Entry{}, ErrClosed
		}
	}
}

// doneChan returns the channel that Close closes, making it if need be.
func (s *subscriber) doneChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.closed {
			close(s.done)
		}
	}
	return s.done
}

// What step found.
const (
	stepReady  = iota // an entry or an error for the caller
	stepWait          // nothing yet: wait at the cursor
	stepEngine        // only the engine can answer the cursor
)

// step does the non-blocking part of Next. If the subscriber has something
// to see (stepReady), it returns it: an entry, or an error. Otherwise it
// returns the cursor at which the subscriber waits or asks the engine.
// Called with s.mu held.
func (s *subscriber) step() (e Entry, c Cursor, st int, err error) {
	if s.closed {
		return Entry{}, c, stepReady, ErrClosed
	}
	if s.err != nil {
		return Entry{}, c, stepReady, s.err
	}
	if s.hasPending() {
		p := s.eng
		e = p.pending[0]
		p.pending[0] = Entry{}
		p.pending = p.pending[1:]
		if len(p.pending) == 0 {
			p.pending = nil
		}
		s.cursor = AfterIn(p.pendEpoch, e.Seq)
		return e, c, stepReady, nil
	}
	t := s.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	after, p := t.place(s.cursor)
	switch p {
	case placeReset:
		next, err := t.resetError(s.cursor)
		s.cursor = next
		return Entry{}, c, stepReady, err
	case placeEngine:
		return Entry{}, s.cursor, stepEngine, nil
	}
	s.cursor = AfterIn(t.epoch, after)
	if t.policy == Drop {
		// The entries published since subscribing that are still unread
		// are the subscriber's queue.
		if from := max(after, s.base); t.head > from && t.head-from > Seq(t.limitQueue()) {
			s.err = fmt.Errorf("%w: %d entries unread, queue length %d", ErrSlowConsumer, t.head-from, t.limitQueue())
			return Entry{}, c, stepReady, s.err
		}
	}
	if before := t.floor(); after < before {
		s.cursor = AfterIn(t.epoch, before)
		return Entry{}, c, stepReady, gapError(after, before+1)
	}
	if after < t.head {
		e = *t.at(after + 1)
		s.cursor = AfterIn(t.epoch, after+1)
		return e, c, stepReady, nil
	}
	if t.closed && after == t.head {
		return Entry{}, c, stepReady, ErrClosed
	}
	return Entry{}, s.cursor, stepWait, nil
}

// fetch asks the engine of an engine-backed topic what follows cursor c,
// which the ring cannot answer. It reports ready with the error for the
// caller when the answer is a gap or a reset (the cursor moves past it);
// otherwise it keeps the entries read for the next steps and returns nil,
// or the engine's error.
func (s *subscriber) fetch(ctx context.Context, c Cursor) (ready bool, err error) {
	buf := make([]Entry, replayBatch)
	n, next, err := s.t.readEngine(ctx, c, buf)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursor != c || s.hasPending() {
		return false, nil // another Next moved on meanwhile
	}
	var gap GapError
	var reset ResetError
	switch {
	case errors.As(err, &gap), errors.As(err, &reset):
		s.cursor = next
		return true, err
	case err != nil:
		return false, err
	}
	if n > 0 {
		p := s.engine()
		p.pending = buf[:n]
		p.pendEpoch = next.epoch
		return false, nil
	}
	// Nothing after c in the engine: wait for the tail to catch up.
	s.cursor = next
	return false, errNothingYet
}

// errNothingYet tells Next that the engine has nothing after the cursor
// yet, which the ring will show when the tail brings it.
var errNothingYet = errors.New("hub: nothing yet")

// Close ends the subscription; a blocked Next returns ErrClosed, and a
// pending notification of Notify is cancelled. It always returns nil.
func (s *subscriber) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		if s.done != nil {
			close(s.done)
		}
		s.cancelNotify()
	}
	return nil
}
