package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pushwire/pushwire/hub"
)

// log is one topic's log: a hub.EngineLog.
type log struct {
	e      *Engine
	keys   []string
	limits hub.Limits

	ctx     context.Context // done once the log or its engine is closed
	cancel  context.CancelFunc
	unwatch func() bool // stops the AfterFunc that closes the waiter with the engine

	mu    sync.Mutex
	seenX string // the epochs-stream entry of the newest epoch a reply gave

	// Wait blocks on a connection of its own, the waiter, made on first
	// use and closed to interrupt a blocked read; wsem lets one Wait at a
	// time use it.
	wsem   chan struct{}
	wmu    sync.Mutex
	waiter *goredis.Client
	wdone  bool // the log is closed: no new waiter
}

func newLog(e *Engine, topic string, limits hub.Limits) *log {
	l := &log{e: e, keys: topicKeys(topic), limits: limits, wsem: make(chan struct{}, 1), seenX: "0-0"}
	l.ctx, l.cancel = context.WithCancel(e.ctx)
	// The engine's Close ends the log too: interrupt its blocked read.
	l.unwatch = context.AfterFunc(e.ctx, l.closeWaiter)
	return l
}

// check returns hub.ErrClosed once the log or the engine is closed.
func (l *log) check() error {
	if l.ctx.Err() != nil {
		return hub.ErrClosed
	}
	return nil
}

// fail maps an error of a request: hub.ErrClosed once closed, the
// caller's ctx error as is, anything else as unavailable classifies it.
func (l *log) fail(ctx context.Context, err error) error {
	if cerr := l.check(); cerr != nil {
		return cerr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		// The socket's deadline, which is ctx's, came before ctx's timer.
		return context.DeadlineExceeded
	}
	return unavailable(err)
}

// args returns a script's arguments: a fresh epoch and the limits, for
// the script to create the log with if it is missing, then extra.
func (l *log) args(extra ...any) []any {
	return append([]any{string(hub.NewEpoch()), l.limits.MaxEntries, l.limits.MaxBytes}, extra...)
}

// run runs a script on the log's keys, bounded by the engine's timeout.
func (l *log) run(ctx context.Context, s *goredis.Script, extra ...any) (any, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, l.e.opts.Timeout)
	defer cancel()
	v, err := s.Run(rctx, l.e.rdb, l.keys, l.args(extra...)...).Result()
	if err != nil {
		return nil, l.fail(ctx, err)
	}
	return v, nil
}

// Append runs the append script (see appendScript) and returns the
// entry's sequence number.
func (l *log) Append(ctx context.Context, key, typ string, data []byte) (hub.Seq, error) {
	if size := len(typ) + len(data); size > l.limits.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes, the topic holds at most %d", hub.ErrTooLarge, size, l.limits.MaxBytes)
	}
	if data == nil {
		data = []byte{}
	}
	v, err := l.run(ctx, appendScript, key, typ, data)
	if err != nil {
		return 0, err
	}
	a, _ := v.([]any)
	if len(a) < 2 {
		return 0, fmt.Errorf("redis: append script answered %v", v)
	}
	seq, _ := a[0].(int64)
	if seq == 0 && len(a) == 3 {
		return 0, fmt.Errorf("%w: %d bytes, the log holds at most %v", hub.ErrTooLarge, len(typ)+len(data), a[2])
	}
	if seq <= 0 {
		return 0, fmt.Errorf("redis: append script answered %v", v)
	}
	return hub.Seq(seq), nil
}

// Read runs the read script (see readScript): the entries and the bounds
// in one atomic view.
func (l *log) Read(ctx context.Context, after hub.Seq, buf []hub.Entry) (int, hub.Bounds, error) {
	v, err := l.run(ctx, readScript, uint64(after), len(buf))
	if err != nil {
		return 0, hub.Bounds{}, err
	}
	return l.decode(v, after, buf)
}

// Bounds runs the read script for no entries.
func (l *log) Bounds(ctx context.Context) (hub.Bounds, error) {
	_, b, err := l.Read(ctx, 0, nil)
	return b, err
}

// decode reads a reply of the read script into buf, keeping the entries
// that follow after without a hole, and notes the bounds.
func (l *log) decode(v any, after hub.Seq, buf []hub.Entry) (int, hub.Bounds, error) {
	a, _ := v.([]any)
	if len(a) < 4 {
		return 0, hub.Bounds{}, fmt.Errorf("redis: read script answered %v", v)
	}
	ep, _ := a[0].(string)
	first, _ := a[1].(int64)
	last, _ := a[2].(int64)
	x, _ := a[3].(string)
	b := hub.Bounds{Epoch: hub.Epoch(ep), First: hub.Seq(max(first, 1)), Last: hub.Seq(max(last, 0))}
	if !b.Epoch.Valid() {
		return 0, hub.Bounds{}, fmt.Errorf("redis: %s holds epoch %q: not a pushwire log", l.keys[keyMeta], ep)
	}
	l.note(x)
	var entries []any
	if len(a) > 4 {
		entries, _ = a[4].([]any)
	}
	n := 0
	for _, raw := range entries {
		if n == len(buf) {
			break
		}
		en, err := entry(raw)
		if err != nil {
			clear(buf[:n])
			return 0, hub.Bounds{}, fmt.Errorf("redis: %s: %w", l.keys[keyStream], err)
		}
		if en.Seq <= after || en.Seq > b.Last || n > 0 && en.Seq != buf[n-1].Seq+1 {
			break // not what the script promises: keep what is whole
		}
		buf[n] = en
		n++
	}
	return n, b, nil
}

// entry decodes one stream entry as XRANGE gives it: its ID "N-0" and its
// fields.
func entry(raw any) (hub.Entry, error) {
	pair, _ := raw.([]any)
	if len(pair) != 2 {
		return hub.Entry{}, fmt.Errorf("malformed entry %v", raw)
	}
	id, _ := pair[0].(string)
	seqStr, rest, _ := strings.Cut(id, "-")
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if err != nil || rest != "0" {
		return hub.Entry{}, fmt.Errorf("entry ID %q is not N-0", id)
	}
	e := hub.Entry{Seq: hub.Seq(seq)}
	fields, _ := pair[1].([]any)
	for i := 0; i+1 < len(fields); i += 2 {
		name, _ := fields[i].(string)
		val, _ := fields[i+1].(string)
		switch name {
		case "d":
			if val != "" {
				e.Data = []byte(val)
			}
		case "t":
			e.Type = val
		case "u":
			if us, err := strconv.ParseInt(val, 10, 64); err == nil {
				e.Time = time.UnixMicro(us)
			}
		}
	}
	return e, nil
}

// note records the epochs-stream entry of a reply's epoch, after which
// Wait waits for the next.
func (l *log) note(x string) {
	l.mu.Lock()
	l.seenX = x
	l.mu.Unlock()
}

// Wait blocks in Redis until the stream has an entry after after or the
// epochs stream an entry after the one of the epoch last seen (the log
// was created again), at most Poll, and returns the exact bounds of the
// moment it woke. The blocking read and the read script go in one
// pipeline on the waiter connection: Redis runs the script as soon as the
// read returns, so a wake-up costs one round trip. A Wait whose ctx ends
// or whose log closes closes the waiter connection, the only way to end a
// blocked read at once; the next Wait makes another.
func (l *log) Wait(ctx context.Context, after hub.Seq) (hub.Bounds, error) {
	if err := l.check(); err != nil {
		return hub.Bounds{}, err
	}
	select {
	case l.wsem <- struct{}{}:
	case <-ctx.Done():
		return hub.Bounds{}, ctx.Err()
	case <-l.ctx.Done():
		return hub.Bounds{}, hub.ErrClosed
	}
	defer func() { <-l.wsem }()

	block := l.e.opts.Poll
	if dl, ok := ctx.Deadline(); ok {
		block = min(block, time.Until(dl))
	}
	if block < time.Millisecond { // XREAD's BLOCK 0 would be forever
		<-ctx.Done()
		return hub.Bounds{}, ctx.Err()
	}
	w, err := l.waiterClient(ctx)
	if err != nil {
		return hub.Bounds{}, l.fail(ctx, err)
	}
	stop := context.AfterFunc(ctx, func() { l.dropWaiter(w) })
	defer stop()

	l.mu.Lock()
	x := l.seenX
	l.mu.Unlock()
	pipe := w.Pipeline()
	xr := pipe.XRead(ctx, &goredis.XReadArgs{
		Streams: []string{l.keys[keyStream], l.keys[keyEpochs], strconv.FormatUint(uint64(after), 10) + "-0", x},
		Count:   1,
		Block:   block,
	})
	rd := readScript.EvalSha(ctx, pipe, l.keys, l.args(0, 0)...)
	pipe.Exec(ctx)
	if err := l.check(); err != nil {
		return hub.Bounds{}, err
	}
	if err := xr.Err(); err != nil && !errors.Is(err, goredis.Nil) {
		// A new waiter for the next Wait, on the node that holds the
		// slot now, in a cluster that moved it.
		l.dropWaiter(w)
		return hub.Bounds{}, l.fail(ctx, err)
	}
	v, err := rd.Result()
	if goredis.HasErrorPrefix(err, "NOSCRIPT") {
		return l.Bounds(ctx) // a restarted server: load the script
	}
	if err != nil {
		l.dropWaiter(w)
		return hub.Bounds{}, l.fail(ctx, err)
	}
	_, b, err := l.decode(v, 0, nil)
	return b, err
}

// waiterClient returns the waiter, making it if need be. Called with wsem
// held.
func (l *log) waiterClient(ctx context.Context) (*goredis.Client, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if l.wdone {
		return nil, hub.ErrClosed
	}
	if l.waiter == nil {
		w, err := l.e.waiterFor(ctx, l.keys[keyStream], l.e.opts.Poll)
		if err != nil {
			return nil, err
		}
		l.waiter = w
	}
	return l.waiter, nil
}

// dropWaiter closes w, which interrupts a read blocked on it, and forgets
// it if it is still the waiter.
func (l *log) dropWaiter(w *goredis.Client) {
	l.wmu.Lock()
	if l.waiter == w {
		l.waiter = nil
	}
	l.wmu.Unlock()
	w.Close()
}

// closeWaiter closes the waiter for good.
func (l *log) closeWaiter() {
	l.wmu.Lock()
	w := l.waiter
	l.waiter = nil
	l.wdone = true
	l.wmu.Unlock()
	if w != nil {
		w.Close()
	}
}

// Close ends the log's requests and closes its waiter; the log stays in
// Redis.
func (l *log) Close() error {
	l.cancel()
	l.unwatch()
	l.closeWaiter()
	return nil
}
