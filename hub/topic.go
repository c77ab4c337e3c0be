package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults for TopicOptions and Options fields left at zero.
const (
	defaultMaxEntries = 1024
	defaultMaxBytes   = 1 << 20
	defaultQueueLen   = 256
	defaultMaxTopics  = 1024

	// minRing is the first size of a topic's ring; it doubles up to
	// MaxEntries as the log fills, so an idle topic holds little memory.
	minRing = 16
)

// Policy says what happens to a subscriber that falls behind the publishers.
// Whatever the policy, a slow subscriber never delays publishers or other
// subscribers: each one only holds a cursor into the shared log.
type Policy uint8

const (
	// Reread lets a subscriber fall behind and catch up by reading from the
	// log at its own pace. If the log drops entries it has not read yet,
	// its Next returns a GapError and it continues from the oldest entry
	// held. It is the default.
	Reread Policy = iota

	// Drop fails a subscriber with ErrSlowConsumer once more than QueueLen
	// entries published after it subscribed are unread, as if it had a
	// bounded queue that overflowed.
	Drop
)

// String returns "reread", "drop", or "Policy(n)" for other values.
func (p Policy) String() string {
	switch p {
	case Reread:
		return "reread"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// TopicOptions configures a topic. The zero value, and a nil
// *TopicOptions, give the defaults documented on each field. The caller's
// struct is copied and never modified.
type TopicOptions struct {
	// MaxEntries bounds how many entries the log holds; publishing one
	// more drops the oldest. Zero or less means 1024.
	MaxEntries int

	// MaxBytes bounds the total size of the entries the log holds, counted
	// as len(Type)+len(Data) per entry; publishing drops the oldest entries
	// until the new one fits. An entry larger than MaxBytes is rejected
	// with ErrTooLarge. Zero or less means 1 MiB (1<<20).
	MaxBytes int

	// Policy is the slow-consumer policy of the topic's subscriptions. The
	// zero value is Reread; values other than Reread and Drop mean Reread.
	Policy Policy

	// QueueLen is, under the Drop policy, how many entries published after
	// a subscriber subscribed may be unread before it is dropped. It is
	// not used under Reread. Zero or less means 256.
	QueueLen int

	// Epoch, if valid, is the epoch of an in-memory topic. Give one only
	// to a log that continues a history for real (restored from a
	// snapshot), or in tests; readers trust it. Default "": a new random
	// epoch (NewEpoch). Engine-backed topics have their engine's.
	Epoch Epoch
}

// Topic is a log of entries: a ring of at most MaxEntries entries and
// MaxBytes bytes, each entry numbered by Seq, with an epoch. It implements
// Log.
//
// A Topic made by NewTopic (or Hub.Topic without an engine) is an
// in-memory log, its own source of truth, with a random epoch. A Topic
// made by OpenTopic stands in front of an Engine's shared log: its ring is
// this node's view of the engine's log, fed by one goroutine (the tail),
// and what the ring cannot answer (an older cursor, another epoch, "from
// now") is asked of the engine; the sequence numbers and the epoch are
// the engine's.
//
// The zero Topic is an empty, open in-memory topic with default options.
// A Topic must not be copied after first use. All methods are safe for
// concurrent use.
type Topic struct {
	maxEntries int
	maxBytes   int
	policy     Policy
	queueLen   int

	eng      EngineLog     // nil for an in-memory topic
	stopTail func()        // ends the tail of an engine-backed topic
	tailDone chan struct{} // closed when the tail has ended
	once     sync.Once     // gives a zero Topic its epoch

	mu    sync.RWMutex
	epoch Epoch
	ring  []Entry // circular; entries held are ring[start], ring[start+1], ... (mod len), n of them
	start int     // ring index of the oldest entry held
	n     int     // number of entries held
	bytes int     // total len(Type)+len(Data) of the entries held
	head  Seq     // sequence number of the last entry in the ring (0 before the first); head-n is the ring's floor
	// known is, for an engine-backed topic, the highest last sequence
	// number the engine reported in this epoch (at least head): cursors up
	// to it are valid even before the tail brought their entries here.
	known Seq
	// keys and keyOf are the idempotency keys of the entries held, both
	// ways, in an in-memory topic; nil until a key is used.
	keys   map[string]Seq
	keyOf  map[Seq]string
	closed bool

	// notify is closed, and set to nil, when the ring grows, the epoch
	// changes or the topic closes. It is nil until a reader needs to wait,
	// so that publishing to a topic nobody waits on allocates no channel.
	// Readers read it under mu.RLock; it is only written under mu.Lock.
	notify chan struct{}
}

// compile-time check that *Topic implements Log.
var _ Log = (*Topic)(nil)

// NewTopic returns an empty, open in-memory topic with a new random epoch.
// A nil opts means the defaults.
func NewTopic(opts *TopicOptions) *Topic {
	t := &Topic{}
	t.setOptions(opts)
	t.init()
	return t
}

func (t *Topic) setOptions(opts *TopicOptions) {
	if opts != nil {
		t.maxEntries = opts.MaxEntries
		t.maxBytes = opts.MaxBytes
		t.policy = opts.Policy
		t.queueLen = opts.QueueLen
		if opts.Epoch.Valid() {
			t.epoch = opts.Epoch
		}
	}
}

// init gives an in-memory topic its epoch; it is cheap after the first
// call. Every exported method calls it, so that the zero Topic works.
func (t *Topic) init() {
	t.once.Do(func() {
		if t.epoch == "" {
			t.epoch = NewEpoch()
		}
	})
}

// Epoch returns the topic's current epoch. An in-memory topic keeps one
// for its whole life; an engine-backed topic has its engine log's, which
// changes when the log is wiped.
func (t *Topic) Epoch() Epoch {
	t.init()
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.epoch
}

// The limits below read fields that are set before the topic is shared and
// never written again, so they need no lock.

func (t *Topic) limitEntries() int {
	if t.maxEntries <= 0 {
		return defaultMaxEntries
	}
	return t.maxEntries
}

func (t *Topic) limitBytes() int {
	if t.maxBytes <= 0 {
		return defaultMaxBytes
	}
	return t.maxBytes
}

func (t *Topic) limitQueue() int {
	if t.queueLen <= 0 {
		return defaultQueueLen
	}
	return t.queueLen
}

// Publish appends an entry with the given type and a copy of data to the
// log and returns the new entry's sequence number.
//
// An in-memory topic drops the oldest entries as needed to stay within
// MaxEntries and MaxBytes and wakes every waiting reader; it never blocks
// on readers, its cost does not depend on how many there are, and ctx is
// not used. An engine-backed topic appends to the engine with a fresh
// idempotency key and retries failures that wrap ErrUnavailable with the
// same key until ctx is done, so a publish is stored at most once; pass a
// ctx with a deadline.
//
// It fails with an error wrapping ErrTooLarge if len(typ)+len(data) is
// above MaxBytes, and with ErrClosed once the topic is closed.
func (t *Topic) Publish(ctx context.Context, typ string, data []byte) (Seq, error) {
	if t.eng == nil {
		return t.appendLocal("", typ, data)
	}
	return t.appendEngine(ctx, newKey(), typ, data)
}

// Append is Publish with an idempotency key chosen by the caller: if an
// entry with the same non-empty key was appended before and is still held
// (in-memory topic) or within the engine's de-duplication window, Append
// appends nothing and returns that entry's sequence number. A client that
// retries a publish whose answer it lost, with the same key, thus never
// publishes twice.
func (t *Topic) Append(ctx context.Context, key, typ string, data []byte) (Seq, error) {
	if t.eng == nil {
		return t.appendLocal(key, typ, data)
	}
	return t.appendEngine(ctx, key, typ, data)
}

// appendLocal appends to an in-memory topic.
func (t *Topic) appendLocal(key, typ string, data []byte) (Seq, error) {
	t.init()
	maxBytes := t.limitBytes()
	size := len(typ) + len(data)
	if size > maxBytes {
		return 0, fmt.Errorf("%w: %d bytes, the topic holds at most %d", ErrTooLarge, size, maxBytes)
	}
	// One copy per entry, shared by all readers; the caller keeps data.
	var d []byte
	if len(data) > 0 {
		d = make([]byte, len(data))
		copy(d, data)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, ErrClosed
	}
	if key != "" {
		if seq, ok := t.keys[key]; ok {
			t.mu.Unlock()
			return seq, nil
		}
	}
	t.push(Entry{Seq: t.head + 1, Time: time.Now(), Type: typ, Data: d})
	if key != "" {
		if t.keys == nil {
			t.keys, t.keyOf = make(map[string]Seq), make(map[Seq]string)
		}
		t.keys[key], t.keyOf[t.head] = t.head, key
	}
	t.known = t.head
	seq := t.head
	wake := t.notify
	t.notify = nil
	t.mu.Unlock()

	// Closing outside the lock: waking many waiters takes time, and they
	// want the lock next.
	if wake != nil {
		close(wake)
	}
	return seq, nil
}

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

// Subscribe returns a subscription that reads the entries after c, one per
// Next, under the topic's slow-consumer policy. FromNow is resolved now;
// FromOldest at the first Next. A subscription holds no resources in the
// topic and costs publishers nothing; Close it to wake a blocked Next.
//
// Next returns an entry that is already available even if its ctx is
// done; it checks ctx only when it has to wait. Subscribing to a closed
// topic succeeds: the subscription reads what is left after c and then
// returns ErrClosed. An in-memory topic never fails to subscribe and does
// not use ctx; an engine-backed one resolves FromNow with the engine.
func (t *Topic) Subscribe(ctx context.Context, c Cursor) (Subscription, error) {
	t.init()
	if c.kind == kindNow {
		_, next, err := t.ReadAfter(ctx, c, nil)
		if err != nil && !errors.Is(err, ErrClosed) {
			return nil, err
		}
		c = next
	}
	s := &subscriber{t: t, cursor: c, done: make(chan struct{})}
	t.mu.RLock()
	s.base = t.head
	if seq, ok := c.Seq(); ok && t.eng != nil && seq > s.base && (c.epoch == "" || c.epoch == t.epoch) {
		s.base = seq
	}
	t.mu.RUnlock()
	return s, nil
}

// Close closes the topic: Publish fails with ErrClosed from now on, and
// every waiting reader wakes up. Readers still get every entry this node
// holds, and ErrClosed when they reach the end. An engine-backed topic
// stops its tail and closes its engine log (the engine keeps the log).
// Close always returns nil and may be called more than once.
func (t *Topic) Close() error {
	t.init()
	t.mu.Lock()
	already := t.closed
	t.closed = true
	wake := t.notify
	t.notify = nil
	t.mu.Unlock()
	if wake != nil {
		close(wake)
	}
	if t.eng != nil && !already {
		t.stopTail()
		<-t.tailDone
		t.eng.Close()
	}
	return nil
}
