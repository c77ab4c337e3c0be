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

	// waiters are the subscriptions waiting through Notify, taken with
	// the channel at every change of the ring; waker calls their
	// functions (notify.go).
	waiters waiters
	waker   waker
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
	wake := t.takeWakeup()
	t.mu.Unlock()

	// Closing outside the lock: waking many waiters takes time, and they
	// want the lock next.
	t.fire(wake)
	return seq, nil
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
	s := &subscriber{t: t, cursor: c}
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
	wake := t.takeWakeup()
	t.mu.Unlock()
	t.fire(wake)
	if t.eng != nil && !already {
		t.stopTail()
		<-t.tailDone
		t.eng.Close()
	}
	return nil
}
