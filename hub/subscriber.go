package hub

import (
	"context"
	"fmt"
	"sync"
)

// subscriber is the Subscription of a *Topic: a cursor into the topic's
// log and nothing else. Publishing does not touch it; it reads the shared
// entries at its own pace, so a slow subscriber delays nobody.
type subscriber struct {
	t    *Topic
	done chan struct{} // closed by Close

	// base is the topic's head when the subscription was made. Entries up
	// to base are replay, not queue: under the Drop policy only entries
	// after base count against QueueLen.
	base Seq

	mu     sync.Mutex // guards the fields below; never held while waiting
	cursor Cursor     // After(last returned), or FromOldest before the first Next
	err    error      // sticky failure (the ErrSlowConsumer drop)
	closed bool
}

// Next returns the next entry after the subscription's cursor and moves the
// cursor past it, waiting for a publish if there is none yet. See
// Subscription.Next for the errors. Next returns an entry that is already
// available even if ctx is done. Calls to Next may come from several
// goroutines; each entry then goes to exactly one of them.
func (s *subscriber) Next(ctx context.Context) (Entry, error) {
	for {
		s.mu.Lock()
		e, after, ready, err := s.step()
		s.mu.Unlock()
		if ready {
			return e, err
		}
		ch, err := s.t.waitChan(after)
		if ch == nil {
			if err != nil {
				return Entry{}, err
			}
			continue // something arrived meanwhile
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Entry{}, ctx.Err()
		case <-s.done:
			return Entry{}, ErrClosed
		}
	}
}

// step does the non-blocking part of Next. If the subscriber has something
// to see (ready), it returns it: an entry, or an error. Otherwise it
// returns the sequence number after which the subscriber waits. Called
// with s.mu held.
func (s *subscriber) step() (e Entry, after Seq, ready bool, err error) {
	if s.closed {
		return Entry{}, 0, true, ErrClosed
	}
	if s.err != nil {
		return Entry{}, 0, true, s.err
	}
	t := s.t
	t.mu.RLock()
	defer t.mu.RUnlock()
	after = t.resolve(s.cursor)
	s.cursor = After(after)
	if t.policy == Drop {
		// The entries published since subscribing that are still unread
		// are the subscriber's queue.
		if from := max(after, s.base); t.head > from && t.head-from > Seq(t.limitQueue()) {
			s.err = fmt.Errorf("%w: %d entries unread, queue length %d", ErrSlowConsumer, t.head-from, t.limitQueue())
			return Entry{}, 0, true, s.err
		}
	}
	if after > t.head {
		return Entry{}, 0, true, aheadError(after, t.head)
	}
	if before := t.head - Seq(t.n); after < before {
		s.cursor = After(before)
		return Entry{}, 0, true, gapError(after, before+1)
	}
	if after < t.head {
		e = *t.at(after + 1)
		s.cursor = After(after + 1)
		return e, 0, true, nil
	}
	if t.closed {
		return Entry{}, 0, true, ErrClosed
	}
	return Entry{}, after, false, nil
}

// Close ends the subscription; a blocked Next returns ErrClosed. It always
// returns nil.
func (s *subscriber) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	return nil
}
