package hub

import (
	"context"
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
}

// Topic is an in-memory log of entries: a ring of at most MaxEntries
// entries and MaxBytes bytes, each entry numbered by Seq. It implements Log.
//
// Create one with NewTopic or Hub.Topic; the zero Topic is also an empty,
// open topic with default options. A Topic must not be copied after first
// use. All methods are safe for concurrent use.
type Topic struct {
	maxEntries int
	maxBytes   int
	policy     Policy
	queueLen   int

	mu     sync.RWMutex
	ring   []Entry // circular; entries held are ring[start], ring[start+1], ... (mod len), n of them
	start  int     // ring index of the oldest entry held
	n      int     // number of entries held
	bytes  int     // total len(Type)+len(Data) of the entries held
	head   Seq     // sequence number of the last entry published, 0 before the first
	closed bool

	// notify is closed, and set to nil, at the next Publish or at Close. It
	// is nil until a reader needs to wait, so that publishing to a topic
	// nobody waits on allocates no channel. Readers read it under mu.RLock;
	// it is only written under mu.Lock.
	notify chan struct{}
}

// compile-time check that *Topic implements Log.
var _ Log = (*Topic)(nil)

// NewTopic returns an empty, open topic. A nil opts means the defaults.
func NewTopic(opts *TopicOptions) *Topic {
	t := &Topic{}
	if opts != nil {
		t.maxEntries = opts.MaxEntries
		t.maxBytes = opts.MaxBytes
		t.policy = opts.Policy
		t.queueLen = opts.QueueLen
	}
	return t
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
// log, dropping the oldest entries as needed to stay within MaxEntries and
// MaxBytes, wakes every waiting reader, and returns the new entry's
// sequence number. It never blocks on readers: its cost does not depend on
// how many there are, beyond waking those that wait.
//
// It fails with an error wrapping ErrTooLarge if len(typ)+len(data) is
// above MaxBytes, and with ErrClosed once the topic is closed. ctx is not
// used: publishing to an in-memory topic does not block.
func (t *Topic) Publish(ctx context.Context, typ string, data []byte) (Seq, error) {
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
	maxEntries := t.limitEntries()

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return 0, ErrClosed
	}
	// size <= maxBytes, so the loop stops with room for the new entry at
	// the latest when the log is empty.
	for t.n > 0 && (t.n >= maxEntries || t.bytes+size > maxBytes) {
		old := &t.ring[t.start]
		t.bytes -= len(old.Type) + len(old.Data)
		*old = Entry{} // let the garbage collector have the payload
		t.start++
		if t.start == len(t.ring) {
			t.start = 0
		}
		t.n--
	}
	if t.n == len(t.ring) {
		t.grow(maxEntries)
	}
	t.head++
	i := t.start + t.n
	if i >= len(t.ring) {
		i -= len(t.ring)
	}
	t.ring[i] = Entry{Seq: t.head, Time: time.Now(), Type: typ, Data: d}
	t.n++
	t.bytes += size
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
// when the log is empty. Called with t.mu held.
func (t *Topic) oldest() Seq {
	return t.head - Seq(t.n) + 1
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

// resolve turns c into the sequence number after which it reads. Called
// with t.mu held.
func (t *Topic) resolve(c Cursor) Seq {
	switch c.kind {
	case kindNow:
		return t.head
	case kindOldest:
		return t.oldest() - 1
	}
	return c.seq
}

// ReadAfter copies up to len(buf) entries after cursor c into buf, oldest
// first, and returns how many it copied and the cursor to continue from,
// After(last copied). It never blocks, which makes it the read of long
// polling: send the entries and next.String() to the client, and when n is
// 0 call Wait(ctx, next) and read again.
//
// With nothing after c it returns 0, the resolved c and nil, or ErrClosed
// if the topic is closed. When entries after c were dropped from the log it
// copies nothing and returns a GapError and the cursor that skips the gap;
// for a cursor ahead of the log it returns an error wrapping ErrCursorAhead
// and c itself. A buf of length 0 only resolves c.
//
// The copied entries share their Data with the log; see Entry.
func (t *Topic) ReadAfter(ctx context.Context, c Cursor, buf []Entry) (int, Cursor, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	after := t.resolve(c)
	if after > t.head {
		return 0, c, aheadError(after, t.head)
	}
	if before := t.head - Seq(t.n); after < before {
		return 0, After(before), gapError(after, before+1)
	}
	avail := t.head - after
	if avail == 0 {
		if t.closed {
			return 0, After(after), ErrClosed
		}
		return 0, After(after), nil
	}
	k := len(buf)
	if avail < Seq(k) {
		k = int(avail)
	}
	if k == 0 {
		return 0, After(after), nil
	}
	i := t.start + int(after+1-t.oldest())
	if i >= len(t.ring) {
		i -= len(t.ring)
	}
	m := copy(buf[:k], t.ring[i:])
	copy(buf[m:k], t.ring)
	return k, After(after + Seq(k)), nil
}

// Wait blocks until there is something to read after cursor c, and then
// returns nil: an entry, or a gap. It returns ctx.Err() when ctx is done
// first, ErrClosed when the topic is closed and nothing is left after c,
// and an error wrapping ErrCursorAhead for a cursor ahead of the log.
//
// Wait resolves c when called, so Wait(ctx, FromNow()) waits for the next
// publish; to read that entry afterwards, call ReadAfter with the concrete
// cursor obtained before waiting (ReadAfter returns one even when it reads
// nothing), not with FromNow again.
func (t *Topic) Wait(ctx context.Context, c Cursor) error {
	t.mu.RLock()
	after := t.resolve(c)
	t.mu.RUnlock()
	for {
		ch, err := t.waitChan(after)
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

// waitChan returns a channel that is closed by the next Publish or by
// Close, if a reader after sequence number after has nothing to read.
// Otherwise it returns nil and the error that reader should see (nil if
// there is an entry or a gap to read).
func (t *Topic) waitChan(after Seq) (chan struct{}, error) {
	t.mu.RLock()
	ch, ready, err := t.waitState(after)
	t.mu.RUnlock()
	if ready || ch != nil {
		return ch, err
	}
	// Nobody waits yet since the last publish: make the channel.
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ready, err = t.waitState(after); ready {
		return nil, err
	}
	if t.notify == nil {
		t.notify = make(chan struct{})
	}
	return t.notify, nil
}

// waitState reports whether a reader after sequence number after has
// something to see (ready, with the error it gets, nil for an entry or a
// gap); if not, it returns the current notify channel, which may be nil.
// Called with t.mu held.
func (t *Topic) waitState(after Seq) (ch chan struct{}, ready bool, err error) {
	switch {
	case after > t.head:
		return nil, true, aheadError(after, t.head)
	case after < t.head:
		return nil, true, nil
	case t.closed:
		return nil, true, ErrClosed
	}
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
// returns ErrClosed. The returned error is always nil
// for a *Topic; ctx is not used.
func (t *Topic) Subscribe(ctx context.Context, c Cursor) (Subscription, error) {
	s := &subscriber{t: t, cursor: c, done: make(chan struct{})}
	t.mu.RLock()
	s.base = t.head
	if c.kind == kindNow {
		s.cursor = After(t.head)
	}
	t.mu.RUnlock()
	return s, nil
}

// Close closes the topic: Publish fails with ErrClosed from now on, and
// every waiting reader wakes up. Readers still get every entry published
// before the close, and ErrClosed when they reach the end. Close always
// returns nil and may be called more than once.
func (t *Topic) Close() error {
	t.mu.Lock()
	t.closed = true
	wake := t.notify
	t.notify = nil
	t.mu.Unlock()
	if wake != nil {
		close(wake)
	}
	return nil
}
