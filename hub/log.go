package hub

import (
	"context"
	"time"
)

// Entry is one published message. An entry is immutable once published and
// shared by every reader: Data (and the Type string) is the same memory for
// all of them and must not be modified. A reader may keep an entry for as
// long as it likes; the log dropping the entry does not invalidate it.
type Entry struct {
	// Seq is the entry's sequence number in its topic; it is the cursor
	// after which the next entry is read, and the SSE event id.
	Seq Seq
	// Time is when the entry was published: by the local clock for an
	// in-memory topic, where a later entry never has an earlier Time (as
	// compared by Time.Before, which uses the monotonic clock reading);
	// by the engine's clock, when it keeps one, for an engine-backed
	// topic (zero when it keeps none).
	Time time.Time
	// Type is an optional name for the kind of message, such as an SSE
	// event name; "" means none. The hub does not interpret it.
	Type string
	// Data is the payload, read-only. It is nil for an empty payload.
	Data []byte
}

// Log is what a transport needs from a topic: publish, read after a cursor
// without blocking, wait for entries after a cursor, and subscribe. It is
// narrow on purpose, so that a distributed log (Redis Streams, NATS
// JetStream) can stand behind it in place of the in-memory *Topic.
//
// Implementations are safe for concurrent use and follow the rules of
// *Topic: sequence numbers start at 1 and grow by 1 per entry within an
// epoch, every cursor a read returns carries the epoch, a cursor older
// than the log yields a GapError, a cursor of another epoch or ahead of
// the log a ResetError, and after a close readers get every entry
// published before it and then ErrClosed.
type Log interface {
	// Publish appends an entry and returns its sequence number.
	Publish(ctx context.Context, typ string, data []byte) (Seq, error)

	// ReadAfter copies up to len(buf) entries after cursor c into buf and
	// returns how many it copied and the cursor to continue from. It does
	// not wait for publishers: with nothing after c it returns 0, the
	// resolved c and a nil error (or ErrClosed once the log is closed).
	// For a gap it returns a GapError, for a cursor of another history a
	// ResetError, each with the cursor to continue from.
	ReadAfter(ctx context.Context, c Cursor, buf []Entry) (n int, next Cursor, err error)

	// Wait blocks until there is something after cursor c, an entry, a
	// gap or a reset, and then returns nil. It returns ctx.Err() when ctx
	// is done first and ErrClosed when the log is closed with nothing
	// after c.
	Wait(ctx context.Context, c Cursor) error

	// Subscribe starts a subscription that reads the entries after c, one
	// per Next, under the log's slow-consumer policy.
	Subscribe(ctx context.Context, c Cursor) (Subscription, error)
}

// Subscription reads a log entry by entry from a cursor. It is what a
// streaming transport (WebSocket, SSE, chunked streaming) loops over.
type Subscription interface {
	// Next returns the next entry, waiting for it to be published if need
	// be. It returns ctx.Err() when ctx is done first (the subscription
	// stays usable), a GapError when entries were lost (the subscription
	// then continues from the oldest entry held), a ResetError when its
	// cursor is not in the log's current history (it then continues from
	// the start of that history), ErrSlowConsumer when dropped by the Drop
	// policy, and ErrClosed once the log is closed and every entry
	// published before the close was returned, or once the subscription is
	// closed.
	Next(ctx context.Context) (Entry, error)

	// Close ends the subscription and wakes a Next blocked on it, which
	// returns ErrClosed. It is safe to call more than once and at the same
	// time as Next.
	Close() error
}
