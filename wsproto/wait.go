package wsproto

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Waiting inside a Conn: the locks whose waiters may give up, and the
// contexts turned into deadlines.

// connLock is a lock whose waiters may give up (a context, the
// connection's close), as a one-slot channel would be, in 24 bytes inside
// the Conn: its wake-up channel is made only when a goroutine has to wait.
type connLock struct {
	state atomic.Uint32 // lockHeld | lockWaiters
	mu    sync.Mutex    // guards wake, and the setting of lockWaiters
	wake  chan struct{} // closed by the unlock that follows a waiter's arrival
}

const (
	lockHeld    = 1
	lockWaiters = 2 // someone waits on wake: unlock must close it
)

// tryLock takes l if it is free.
func (l *connLock) tryLock() bool { return l.state.CompareAndSwap(0, lockHeld) }

// unlock releases l and wakes its waiters, which race for it again.
func (l *connLock) unlock() {
	if l.state.CompareAndSwap(lockHeld, 0) {
		return
	}
	l.mu.Lock()
	l.state.Store(0)
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
	l.mu.Unlock()
}

// waitChan returns a channel that is closed when l is next released, or
// nil if l is free now (tryLock again).
func (l *connLock) waitChan() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		s := l.state.Load()
		if s&lockHeld == 0 {
			return nil
		}
		if s&lockWaiters != 0 || l.state.CompareAndSwap(s, s|lockWaiters) {
			if l.wake == nil {
				l.wake = make(chan struct{})
			}
			return l.wake
		}
	}
}

// lock acquires l, giving up when ctx ends or the connection closes.
func (c *Conn) lock(ctx context.Context, l *connLock) error {
	for {
		if l.tryLock() {
			return nil
		}
		wake := l.waitChan()
		if wake == nil {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closedChan():
			return c.closedErr()
		}
	}
}

func unlock(l *connLock) { l.unlock() }

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked call.
var aLongTimeAgo = time.Unix(1, 0)

// ctxWatch turns the end of a context into a deadline in the past on one
// direction of the net.Conn, so that a blocked Read or Write returns. The
// registration is kept across calls that pass a context with the same Done
// channel, so steady-state calls cost nothing.
type ctxWatch struct {
	c        *Conn
	mu       sync.Mutex
	done     <-chan struct{}
	stop     func() bool
	deadline *time.Time // the deadline set by the net.Conn adapter, or nil
	gen      uint32
	fired    bool // guarded by mu: a past deadline is in force
	write    bool // the write direction; false: read
}

// set sets the deadline of the watch's direction.
func (w *ctxWatch) set(t time.Time) error {
	if w.write {
		return w.c.nc.SetWriteDeadline(t)
	}
	return w.c.nc.SetReadDeadline(t)
}

// adapterDeadline returns the deadline set by the net.Conn adapter; zero:
// none.
func (w *ctxWatch) adapterDeadline() time.Time {
	if w.deadline == nil {
		return time.Time{}
	}
	return *w.deadline
}

// arm prepares a call with ctx.
func (w *ctxWatch) arm(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := ctx.Done()
	if done == w.done {
		// The same registration is live; had it fired, ctx.Err would
		// have said so above.
		return nil
	}
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	w.mu.Lock()
	w.gen++
	gen := w.gen
	if w.fired {
		w.set(w.adapterDeadline())
		w.fired = false
	}
	w.mu.Unlock()
	w.done = done
	if done != nil {
		w.stop = context.AfterFunc(ctx, func() {
			w.mu.Lock()
			if w.gen == gen {
				w.fired = true
				w.set(aLongTimeAgo)
			}
			w.mu.Unlock()
		})
	}
	return nil
}

// setAdapterDeadline sets the deadline the net.Conn adapter asked for.
func (w *ctxWatch) setAdapterDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = nil
	if !t.IsZero() {
		w.deadline = &t
	}
	if w.fired {
		return nil
	}
	return w.set(t)
}
