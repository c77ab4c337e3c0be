package httpstream

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// A sink writes one transport's framing. The stream calls open once, with
// the reset to report instead of the cursor when the client's cursor is
// from another history; then entry, gap and reset for what the log
// delivers, flush after each batch, and keepAlive when the stream was
// idle for KeepAlive; the first error ends the stream, and end is called
// last, once. None of them is called concurrently, though successive
// calls may come from different goroutines. The epoch of the entries is
// that of the cursor given to open or of the last reset. A sink holds no
// buffer between flushes.
type sink interface {
	open(cur hub.Cursor, r *hub.ResetError) error
	entry(e *hub.Entry) error
	gap(g hub.GapError, next hub.Cursor) error
	reset(r hub.ResetError) error
	keepAlive() error
	flush() error
	end(why endReason, err error)
}

// endReason says why a stream ends.
type endReason uint8

const (
	endLog      endReason = iota // the log was closed, or the subscription failed
	endShutdown                  // Handler.Close
	endPeer                      // the client went away, or its side ended the stream
	endError                     // a write failed, or the client was dropped (slow consumer)
)

// errSlowConsumer ends a stream whose subscription was dropped by the
// topic's Drop policy.
var errSlowConsumer = hub.ErrSlowConsumer

// What wakes a stream (stream.wakes).
const (
	wakeData     = 1 << iota // the subscription may have something
	wakeKeep                 // the keep-alive timer fired
	wakePeer                 // the client went away (or ended the stream)
	wakeShutdown             // the handler is closing
)

// A stream feeds one subscription to one sink. It holds no goroutine
// while it waits: the subscription's notification (hub.Notifier), the
// keep-alive timer, the client's going away (netpoll, or a request
// context) and Handler.Close each wake it, and a goroutine started for
// the wake-up writes what there is to write, then ends. While the client
// is idle a stream is this struct, the subscription, a timer and the
// sink's few fields; buffers are taken from a pool for each write.
//
// At most one goroutine runs a stream at a time (running); wake-ups
// during a run are picked up by that run.
type stream struct {
	h    *Handler
	sub  hub.Notifier
	sink sink

	cur   hub.Cursor      // what open reports
	rst   *hub.ResetError // or the reset open reports instead
	epoch hub.Epoch       // of the entries: the cursor's or the last reset's

	mu      sync.Mutex
	wakes   uint8
	running bool // a goroutine runs the stream, or it has ended
	opened  bool // open was written
	member       // in the handler's list, for Close

	keep      *time.Timer // keep-alive; nil when disabled
	lastWrite time.Time   // of the last flush; owned by the running goroutine
	slot      hub.Entry   // the entry handed to the sink (its address does not escape per entry)

	// Bound once, so that waking allocates nothing.
	runFn, dataFn func()

	// done, if not nil, is closed when the stream has ended; onEnd, if
	// not nil, runs then.
	done  chan struct{}
	onEnd func()
}

// newStream returns a stream of sub into s, owned by the caller until it
// calls start: wake-ups before that are remembered.
func (h *Handler) newStream(sub hub.Notifier, cur hub.Cursor, rst *hub.ResetError, s sink) *stream {
	st := &stream{h: h, sub: sub, sink: s, cur: cur, rst: rst, epoch: cur.Epoch()}
	if rst != nil {
		st.epoch = rst.Epoch
	}
	st.running = true // the caller's until start
	st.wakes = wakeData
	st.member.ender = st
	st.runFn = st.run
	st.dataFn = func() { st.wake(wakeData) }
	return st
}

// start writes the opening of the stream and what is already there, on
// the calling goroutine, and leaves the rest to wake-ups.
func (st *stream) start() {
	if st.h.opts.KeepAlive > 0 {
		// The timer keeps its function: no field for it, so that a
		// stream is 288 bytes (TestStreamSize).
		st.keep = time.AfterFunc(st.h.opts.KeepAlive, func() { st.wake(wakeKeep) })
	}
	st.run()
}

// wake records why the stream should run and starts a goroutine to run
// it, unless one runs.
func (st *stream) wake(why uint8) {
	st.mu.Lock()
	st.wakes |= why
	if st.running {
		st.mu.Unlock()
		return
	}
	st.running = true
	st.mu.Unlock()
	go st.runFn()
}

// shutdown is the handler's Close.
func (st *stream) shutdown() { st.wake(wakeShutdown) }

// run does what the wake-ups ask until there is nothing left, then lets
// the stream wait, or ends it.
func (st *stream) run() {
	for {
		st.mu.Lock()
		w := st.wakes
		st.wakes = 0
		if w == 0 {
			st.running = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		if why, err, ended := st.step(w); ended {
			st.end(why, err)
			return // running stays set: nothing runs the stream again
		}
	}
}

// step does what the wake-ups w ask: open, write the entries that are
// ready (at most MaxBatch, then it wakes itself for more), a keep-alive
// after KeepAlive of silence, and one flush. It reports whether the stream
// ended, why, and with which error.
func (st *stream) step(w uint8) (endReason, error, bool) {
	if w&wakePeer != 0 {
		return endPeer, nil, true
	}
	wrote := false
	if !st.opened {
		st.opened = true
		if err := st.sink.open(st.cur, st.rst); err != nil {
			return endError, err, true
		}
		wrote = true
	}
	if w&wakeShutdown != 0 {
		// What was written so far goes out; the stream ends cleanly.
		if wrote {
			if err := st.sink.flush(); err != nil {
				return endError, err, true
			}
		}
		return endShutdown, nil, true
	}
	if w&wakeData != 0 {
		some, why, err, ended := st.drain()
		if ended {
			if err == nil {
				err = st.sink.flush() // what came before the end
				if err != nil {
					why = endError
				}
			}
			return why, err, true
		}
		wrote = wrote || some
	}
	if w&wakeKeep != 0 && st.keep != nil {
		ka := st.h.opts.KeepAlive
		if idle := time.Since(st.lastWrite); idle >= ka && !wrote {
			if err := st.sink.keepAlive(); err != nil {
				return endError, err, true
			}
			wrote = true
			st.keep.Reset(ka)
		} else {
			st.keep.Reset(ka - idle)
		}
	}
	if wrote {
		if err := st.sink.flush(); err != nil {
			return endError, err, true
		}
		st.lastWrite = time.Now()
	}
	return 0, nil, false
}

// drain hands the sink what the subscription has, up to MaxBatch, and
// asks for a notification when it has nothing. It reports whether it
// handed anything, and whether (why, with which error) the stream ended.
func (st *stream) drain() (some bool, why endReason, err error, ended bool) {
	defer func() { st.slot = hub.Entry{} }() // hold no payload while idle
	for range st.h.opts.MaxBatch {
		e, ok, nerr := st.sub.TryNext(st.h.ctx)
		if !ok {
			waiting, err := st.sub.Notify(st.h.ctx, st.dataFn)
			switch {
			case err != nil:
				return some, endShutdown, nil, true // the handler's ctx ended
			case !waiting:
				st.mu.Lock()
				st.wakes |= wakeData // there is more already
				st.mu.Unlock()
			}
			return some, 0, nil, false
		}
		st.slot = e
		done, err := st.h.write(st.sink, &st.slot, nerr, &st.epoch)
		switch {
		case err != nil:
			return some, endError, err, true
		case done:
			return some, endLog, nil, true
		}
		some = true
	}
	// A full batch: flush it, and come back for more.
	st.mu.Lock()
	st.wakes |= wakeData
	st.mu.Unlock()
	return some, 0, nil, false
}

// end ends the stream: it stops the timer and the subscription, lets the
// sink end its transport, and leaves the handler.
func (st *stream) end(why endReason, err error) {
	if st.keep != nil {
		st.keep.Stop()
	}
	st.sub.Close()
	st.sink.end(why, err)
	st.h.leave(&st.member)
	if st.onEnd != nil {
		st.onEnd()
	}
	if st.done != nil {
		close(st.done)
	}
}

// write passes one result of TryNext to s; *epoch is the epoch of the
// entries, which a reset changes. ended reports the end of the
// subscription; err is s's error or ErrSlowConsumer.
func (h *Handler) write(s sink, e *hub.Entry, nerr error, epoch *hub.Epoch) (ended bool, err error) {
	if nerr == nil {
		return false, s.entry(e)
	}
	var gap hub.GapError
	var reset hub.ResetError
	switch {
	case errors.As(nerr, &gap):
		return false, s.gap(gap, hub.AfterIn(*epoch, gap.Oldest-1))
	case errors.As(nerr, &reset):
		*epoch = reset.Epoch
		return false, s.reset(reset)
	case errors.Is(nerr, hub.ErrSlowConsumer):
		return true, errSlowConsumer
	}
	return true, nil // closed log or subscription, or ctx done
}

// stream subscribes to the log from cur and feeds s until ctx is done, the
// log is closed, s fails or the handler closes, on the calling goroutine
// and on the goroutines of its wake-ups. It returns nil when the log was
// closed, ctx ended or the handler closed, hub.ErrSlowConsumer when the
// subscriber was dropped, and s's error otherwise. It is the stream of a
// response that must stay in its handler (HTTP/2, a ResponseWriter that
// cannot be taken over), and of the benchmarks.
func (h *Handler) stream(ctx context.Context, cur hub.Cursor, s sink) error {
	sub, resolved, rst, err := h.subscribe(ctx, cur)
	if err != nil {
		return err
	}
	return h.runStream(ctx, sub, resolved, rst, s)
}

// runStream runs a stream of sub into s until it ends, as stream does.
func (h *Handler) runStream(ctx context.Context, sub hub.Notifier, cur hub.Cursor, rst *hub.ResetError, s sink) error {
	st := h.newStream(sub, cur, rst, s)
	st.done = make(chan struct{})
	var result error
	st.sink = &resultSink{sink: s, err: &result}
	if !h.join(&st.member) {
		st.wakes |= wakeShutdown
	}
	stop := context.AfterFunc(ctx, func() { st.wake(wakePeer) })
	defer stop()
	st.start()
	<-st.done
	return result
}

// resultSink records why the stream of runStream ended.
type resultSink struct {
	sink
	err *error
}

func (r *resultSink) end(why endReason, err error) {
	if why == endError {
		*r.err = err
	}
	r.sink.end(why, err)
}
