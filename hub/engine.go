package hub

import (
	"context"
)

// Engine stores topics' logs where several pushwire nodes can share them:
// a shared, ordered, bounded log per topic, such as a NATS JetStream
// stream or a Redis stream. OpenTopic puts a *Topic in front of one of its
// logs; the engine's order is then the global order, and nodes never
// number entries themselves.
//
// The in-memory log is the default: a *Topic made by NewTopic (or a Hub
// without Options.Engine) is its own log and needs no engine.
// NewMemoryEngine offers the same log behind this interface, for tests and
// for the engine conformance suite, hub/enginetest, which every engine
// passes.
//
// An Engine is safe for concurrent use.
type Engine interface {
	// Open returns the log of the named topic, creating it with the given
	// limits if it does not exist yet; for an existing log the engine may
	// keep the limits it was created with. The name is any string: the
	// engine maps it to its own namespace safely. Each call returns a new
	// handle, to be closed by the caller.
	Open(ctx context.Context, topic string, limits Limits) (EngineLog, error)

	// Close releases the engine's connections. Handles opened from it
	// stop working. It does not delete any log.
	Close() error
}

// Limits bounds a log. Zero fields mean the defaults of TopicOptions.
type Limits struct {
	// MaxEntries bounds how many entries the log holds; appending one more
	// drops the oldest.
	MaxEntries int
	// MaxBytes bounds the size of the entries the log holds; appending
	// drops the oldest entries until the new one fits. Engines count size
	// their own way, at least len(Type)+len(Data) per entry. An entry
	// larger than MaxBytes is refused with ErrTooLarge.
	MaxBytes int
}

// Bounds says where a log stands: its epoch and the sequence numbers of the
// oldest entry it holds and of the last one ever appended.
type Bounds struct {
	// Epoch names the log's current history (see Epoch).
	Epoch Epoch
	// First is the sequence number of the oldest entry held; Last+1 when
	// the log holds none.
	First Seq
	// Last is the sequence number of the last entry appended in this
	// epoch; 0 before the first.
	Last Seq
}

// EngineLog is one topic's log in an Engine: append with an idempotency
// key, read after a sequence number, bounds and epoch, and a wait for the
// tail. Sequence numbers are the engine's: 1 for the first entry of an
// epoch, one more for each entry, no holes, never reused within the epoch.
//
// A *Topic in front of an EngineLog calls Read and Wait from one goroutine
// only, its tail, which feeds every reader of the topic on this node; a
// transport never makes a connection to the engine per client. Read is
// also called from readers whose cursor is older than what the node holds.
//
// Implementations are safe for concurrent use. Errors that are worth a
// retry (the engine cannot be reached, a leader election) wrap
// ErrUnavailable; after Close every method returns ErrClosed.
type EngineLog interface {
	// Append appends an entry and returns its sequence number. If key is
	// not empty and an entry was appended with the same key within the
	// engine's de-duplication window (at least as long as the entry is
	// held, or a documented time), Append appends nothing and returns the
	// sequence number of that entry: a publish retried after a lost
	// answer never appends twice. It fails with ErrTooLarge for an entry
	// above Limits.MaxBytes.
	Append(ctx context.Context, key, typ string, data []byte) (Seq, error)

	// Read copies up to len(buf) entries with sequence numbers above
	// after into buf, oldest first and without holes, and returns how many
	// it copied and the log's bounds as of the read. It does not wait:
	// with nothing after after it returns 0. When the entries right after
	// after are no longer held, the copied entries start at the oldest
	// held one. Entries belong to b.Epoch; after is taken in that epoch.
	// b.Epoch and b.Last are exact. b.First may be any sequence number
	// from the oldest held to the first copied entry (or to after+1 when
	// nothing was copied), enough to tell whether entries after after
	// were lost; Bounds gives the exact oldest.
	// The entries' Data may be kept by the caller and must not be
	// modified.
	Read(ctx context.Context, after Seq, buf []Entry) (n int, b Bounds, err error)

	// Wait blocks until the log's last sequence number is above after or
	// its epoch changes, and returns the bounds. It may also return
	// earlier, with the current bounds and a nil error, after an
	// engine-defined poll interval of at most a few seconds, so that a
	// caller notices what the engine cannot signal. It returns ctx.Err()
	// when ctx is done first.
	Wait(ctx context.Context, after Seq) (Bounds, error)

	// Bounds returns the log's epoch and the sequence numbers of the
	// oldest entry held and of the last entry appended.
	Bounds(ctx context.Context) (Bounds, error)

	// Close releases the handle; a blocked Wait returns ErrClosed. It does
	// not delete the log.
	Close() error
}
