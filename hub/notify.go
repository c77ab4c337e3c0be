package hub

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Notifier is a Subscription that can tell its reader when it has something
// to read, so that no goroutine has to wait in Next: the reader takes what
// is ready with TryNext and, when TryNext finds nothing, asks Notify to
// call a function once it may find something. A server with many idle
// subscribers then holds no goroutine per subscriber, only the
// subscription. The subscriptions of *Topic implement it; a transport
// checks for it with a type assertion and falls back to a goroutine in
// Next for other Logs.
//
// The loop of a reader:
//
//	for {
//		e, ok, err := sub.TryNext(ctx)
//		if !ok {
//			if waiting, err := sub.Notify(ctx, wake); waiting || err != nil {
//				return // wake runs when there is more
//			}
//			continue // something arrived meanwhile
//		}
//		// write e, or handle err as from Next
//	}
type Notifier interface {
	Subscription

	// TryNext returns the next entry, or the error, as Next does, but
	// never waits for a publish: with nothing to read it returns ok false
	// (and a zero Entry and a nil error). When ok is true, exactly one of
	// e and err is meaningful, as with Next. A subscription of an
	// engine-backed topic may still ask the engine, bounded by ctx; while
	// the engine cannot be reached TryNext returns ok false and Notify
	// schedules the retry.
	TryNext(ctx context.Context) (e Entry, ok bool, err error)

	// Notify arranges for f to be called once, on a goroutine of the
	// hub's (never the caller's, never a publisher's), when TryNext may no
	// longer find nothing: an entry was published, the log dropped or
	// replaced entries (gap, reset), the log was closed, or an engine that
	// could not be reached is worth asking again. The call may be
	// spurious: TryNext may still find nothing, and the reader asks
	// again.
	//
	// It returns waiting false, and arranges nothing, when TryNext would
	// already find something; the reader then reads. A subscription has
	// at most one notification pending: while one is, Notify arranges
	// nothing more and returns true, and the pending one calls the f it
	// was given. Close cancels a pending notification that has not
	// started; one that is being delivered may still call f once after
	// Close returns. f must not block: it should only hand the work to a
	// goroutine (start one, or signal one).
	//
	// ctx bounds what an engine-backed topic asks its engine; the
	// notification itself does not end with ctx. The error is ctx's, when
	// it ended during such a request.
	Notify(ctx context.Context, f func()) (waiting bool, err error)
}

// compile-time check that a Topic's subscriptions are Notifiers.
var _ Notifier = (*subscriber)(nil)

// The states of a subscriber's notification (subscriber.wstate).
const (
	wIdle   int32 = iota // nothing pending
	wLinked              // pending: in the topic's list of waiters, or in a batch taken from it (see wgen)
	wTimer               // pending: the engine-retry timer runs
)

// waiters is a topic's list of subscribers waiting through Notify: a
// doubly linked list through the subscribers themselves, so that waiting
// allocates nothing and leaving the list (Close) is O(1). Every change of
// the ring takes the whole list at once (take), in O(1) whatever its
// length, and hands it to the topic's waker, which calls the subscribers'
// functions outside the topic's lock and outside the publisher's
// goroutine.
//
// A subscriber is in the list when its wstate is wLinked and its wgen is
// the list's gen; a take increments gen, so the subscribers of a taken
// batch are told apart without touching each of them under the lock.
type waiters struct {
	head, tail *subscriber
	gen        uint64
}

// link appends s to the list, unless s has a notification pending
// already, and reports whether it did. Called with t.mu held for writing.
func (l *waiters) link(s *subscriber, f func()) bool {
	if !s.wstate.CompareAndSwap(wIdle, wLinked) {
		return false
	}
	s.wfn = f
	s.wgen = l.gen
	s.wprev, s.wnext = l.tail, nil
	if l.tail == nil {
		l.head = s
	} else {
		l.tail.wnext = s
	}
	l.tail = s
	return true
}

// linked reports whether s is in the list (not in a taken batch). Called
// with t.mu held.
func (l *waiters) linked(s *subscriber) bool {
	return s.wstate.Load() == wLinked && s.wgen == l.gen
}

// unlink takes s, which is linked, out of the list. Called with t.mu held
// for writing.
func (l *waiters) unlink(s *subscriber) {
	if s.wprev == nil {
		l.head = s.wnext
	} else {
		s.wprev.wnext = s.wnext
	}
	if s.wnext == nil {
		l.tail = s.wprev
	} else {
		s.wnext.wprev = s.wprev
	}
	s.wprev, s.wnext, s.wfn = nil, nil, nil
	s.wstate.Store(wIdle)
}

// take empties the list and returns what it held, first and last. Called
// with t.mu held for writing.
func (l *waiters) take() (head, tail *subscriber) {
	head, tail = l.head, l.tail
	if head != nil {
		l.head, l.tail = nil, nil
		l.gen++
	}
	return head, tail
}

// waker calls the notification functions of the batches a topic took from
// its list of waiters, on a goroutine of its own that runs while there
// are batches and then ends. Handing a batch over costs the publisher one
// lock and, when the waker is not running, one goroutine start, whatever
// the batch's length; starting it allocates nothing (run is made once).
type waker struct {
	mu         sync.Mutex
	head, tail *subscriber // batches to run, chained through wnext
	running    bool
	run        func() // w.loop, bound once
}

// push queues the batch head…tail and starts the waker if it is not
// running.
func (w *waker) push(head, tail *subscriber) {
	w.mu.Lock()
	if w.tail == nil {
		w.head = head
	} else {
		w.tail.wnext = head
	}
	w.tail = tail
	start := !w.running
	w.running = true
	if start && w.run == nil {
		w.run = w.loop
	}
	run := w.run
	w.mu.Unlock()
	if start {
		go run()
	}
}

// loop calls the functions of every queued subscriber until the queue is
// empty.
func (w *waker) loop() {
	for {
		w.mu.Lock()
		s := w.head
		w.head, w.tail = nil, nil
		if s == nil {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for s != nil {
			next, f := s.wnext, s.wfn
			s.wnext, s.wprev, s.wfn = nil, nil, nil
			// From here on the subscriber may wait again (link).
			if s.wstate.CompareAndSwap(wLinked, wIdle) && f != nil {
				f()
			}
			s = next
		}
	}
}

// wakeup is what a change of the ring wakes: the shared channel of the
// goroutines waiting in Next and Wait, and the batch of Notify waiters.
type wakeup struct {
	ch         chan struct{}
	head, tail *subscriber
}

// takeWakeup takes everything that waits for a change of the ring. Called
// with t.mu held for writing; the caller calls fire once it has released
// the lock.
func (t *Topic) takeWakeup() wakeup {
	w := wakeup{ch: t.notify}
	t.notify = nil
	w.head, w.tail = t.waiters.take()
	return w
}

// fire wakes what takeWakeup took: it closes the channel and hands the
// batch of Notify waiters to the waker. Called without t.mu.
func (t *Topic) fire(w wakeup) {
	if w.ch != nil {
		close(w.ch)
	}
	if w.head != nil {
		t.waker.push(w.head, w.tail)
	}
}

// TryNext implements Notifier: the part of Next that does not wait.
func (s *subscriber) TryNext(ctx context.Context) (Entry, bool, error) {
	for {
		s.mu.Lock()
		e, c, st, err := s.step()
		s.mu.Unlock()
		switch st {
		case stepReady:
			return e, true, err
		case stepWait:
			return Entry{}, false, nil
		}
		ready, err := s.fetch(ctx, c)
		switch {
		case ready:
			s.setRetry(0)
			return Entry{}, true, err
		case err == nil:
			s.setRetry(0)
			continue
		case err == errNothingYet:
			// Wait at the resolved cursor: step says so now.
			s.setRetry(0)
			continue
		case errors.Is(err, ErrClosed):
			return Entry{}, true, err
		case ctx.Err() != nil:
			return Entry{}, true, ctx.Err()
		}
		// The engine is unavailable: Notify schedules the next try, with
		// the back-off of Next.
		s.mu.Lock()
		s.backOff()
		s.mu.Unlock()
		return Entry{}, false, nil
	}
}

// setRetry sets the engine back-off of TryNext.
func (s *subscriber) setRetry(d time.Duration) {
	s.mu.Lock()
	if d != 0 || s.eng != nil {
		s.engine().retry = d
	}
	s.mu.Unlock()
}

// Notify implements Notifier.
func (s *subscriber) Notify(ctx context.Context, f func()) (bool, error) {
	s.mu.Lock()
	if s.closed || s.err != nil || s.hasPending() {
		s.mu.Unlock()
		return false, nil
	}
	if d := s.retryDelay(); d > 0 {
		// The engine could not be reached: try again after the back-off.
		if !s.wstate.CompareAndSwap(wIdle, wTimer) {
			s.mu.Unlock()
			return true, nil // pending already
		}
		s.wfn = f
		if e := s.eng; e.timer == nil {
			e.timer = time.AfterFunc(d, s.retryFired)
		} else {
			e.timer.Reset(d)
		}
		s.mu.Unlock()
		return true, nil
	}
	c := s.cursor
	s.mu.Unlock()
	return s.t.notifyAt(ctx, s, c, f)
}

// retryFired runs when the engine-retry timer of Notify fires.
func (s *subscriber) retryFired() {
	s.mu.Lock()
	f := s.wfn
	ok := s.wstate.CompareAndSwap(wTimer, wIdle)
	s.wfn = nil
	s.mu.Unlock()
	if ok && f != nil {
		f()
	}
}

// cancelNotify cancels s's pending notification, if it has not started.
// Called by Close with s.mu held.
func (s *subscriber) cancelNotify() {
	switch s.wstate.Load() {
	case wTimer:
		if s.eng.timer.Stop() { // wTimer: the timer was set
			s.wstate.Store(wIdle)
			s.wfn = nil
		}
	case wLinked:
		t := s.t
		t.mu.Lock()
		if t.waiters.linked(s) {
			t.waiters.unlink(s)
		}
		t.mu.Unlock()
	}
}

// notifyAt links s, whose cursor is c, into the list of waiters unless a
// reader at c has something to read; see Notifier.Notify.
func (t *Topic) notifyAt(ctx context.Context, s *subscriber, c Cursor, f func()) (bool, error) {
	t.mu.Lock()
	after, p := t.place(c)
	switch p {
	case placeReset:
		t.mu.Unlock()
		return false, nil
	case placeEngine:
		// Wait first, so that a change of the ring between the engine's
		// answer and the wait is not missed; then ask the engine.
		if !t.waiters.link(s, f) {
			t.mu.Unlock()
			return true, nil // pending already
		}
		t.mu.Unlock()
		ready, err := t.engineReady(ctx, c)
		if !ready && err == nil {
			return true, nil
		}
		t.mu.Lock()
		still := t.waiters.linked(s)
		if still {
			t.waiters.unlink(s)
		}
		t.mu.Unlock()
		if !still {
			return true, nil // already being delivered
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrClosed) {
			// The engine could not be reached: TryNext's back-off
			// applies.
			s.mu.Lock()
			s.backOff()
			s.mu.Unlock()
			return s.Notify(ctx, f)
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, nil
	}
	if _, ready, _ := t.waitState(after); ready {
		t.mu.Unlock()
		return false, nil
	}
	t.waiters.link(s, f) // or pending already
	t.mu.Unlock()
	return true, nil
}
