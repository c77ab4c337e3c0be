// Package hub holds topics, each a bounded, sequence-numbered log of
// entries, and fans them out to readers that each read from their own
// cursor. It is the single source every pushwire transport reads from, so
// that an entry has one id everywhere: the WebSocket message, the SSE event
// id, the long-poll cursor and the streamed chunk all carry its Seq, and a
// client that reconnects on any transport resumes from the same cursor.
// The package knows no protocol and imports only the standard library.
//
// # Topics and sequence numbers
//
// Publish appends an entry to a topic and returns its sequence number: 1
// for the first entry, then one more for each entry, never reused within
// the topic's life. The log holds the newest entries only, at most
// TopicOptions.MaxEntries of them and MaxBytes bytes in total; publishing
// drops the oldest entries as needed.
//
// # Cursors
//
// A reader names where it is with a Cursor and receives the entries after
// it: After(n) for "after entry n", FromNow() for "only what is published
// from now on", FromOldest() for "from the oldest entry still held". Every
// read returns the concrete cursor to continue from. On the wire a cursor
// is the sequence number in decimal, the same text as Seq.String and the
// SSE id; Cursor.String and ParseCursor convert, with "" meaning FromNow
// (a client that has no cursor yet, such as an EventSource that never
// received an id, sees new entries only) and "oldest" meaning FromOldest.
//
// A cursor older than the log (its next entries were dropped) is never
// moved forward in silence: the read returns a GapError carrying the
// oldest sequence number still held and how many entries were lost, along
// with the cursor that skips the gap, and the caller decides whether to
// tell the client, resync it, or give up. A cursor ahead of the log yields
// ErrCursorAhead.
//
// # Reading
//
// A topic offers three ways to read, all built on the same cursor:
//
//   - ReadAfter(ctx, cursor, buf) copies the entries after a cursor
//     without blocking and returns the next cursor: the read of long
//     polling.
//   - Wait(ctx, cursor) blocks until there is something after a cursor,
//     ctx is done or the topic is closed: the wait of long polling.
//   - Subscribe(ctx, cursor) returns a Subscription whose Next returns the
//     entries one by one, waiting as needed: the loop of WebSocket, SSE and
//     chunked streaming.
//
// The Log interface is exactly these three plus Publish, narrow enough
// that a distributed log such as Redis Streams or NATS JetStream can stand
// behind it in place of the in-memory *Topic.
//
// # Design
//
// A topic is a ring of immutable entries and a head sequence number, under
// one lock. A reader, subscription or not, is only a cursor: it copies the
// entries it wants out of the ring (the Entry struct; the payload is
// shared, never copied per reader). Waiting readers share one channel,
// which the next Publish closes and forgets; the first reader to wait after
// that makes a new one. So Publish does the same work with no subscriber
// or with ten thousand, one allocation for the payload copy and at most
// one for the channel, plus the runtime's work of waking whoever waits,
// which happens after the lock is released; it never sends to or waits
// for any subscriber.
//
// The alternative, a bounded channel of entries per subscriber, makes each
// publish loop over every subscriber and try a send, holds up to QueueLen
// entries per subscriber, and lets a subscriber catch up only if its queue
// never overflowed. With a shared log a lagging subscriber costs nothing
// but its cursor, and both slow-consumer policies fall out of it:
//
//   - Reread (the default): the subscriber simply reads on from the log;
//     if the log dropped its position meanwhile it gets a GapError and
//     continues from the oldest entry held.
//   - Drop: the subscriber has a virtual queue, the entries published since
//     it subscribed that it has not read; when more than QueueLen are
//     waiting, its Next fails with ErrSlowConsumer, for good. Entries that
//     were already in the log when it subscribed (a replay from an old
//     cursor) do not count. The drop is noticed when the subscriber next
//     calls Next; until then it holds nothing but its cursor, so a
//     subscriber stuck writing to a dead connection costs the hub nothing.
//     Transports put a write deadline on their connections for that.
//
// # Concurrency
//
// Every method of Hub, Topic and Subscription is safe for concurrent use.
// Publish never blocks on readers. Entries are read-only once published:
// Data is shared by every reader and must not be modified. Calls to Next
// on one subscription may come from several goroutines; each entry then
// goes to exactly one of them, though which returns first is up to the
// scheduler. Close of a subscription may be called at any time and wakes a
// blocked Next. The package starts no goroutines.
//
// Closing a topic (or the hub, which closes all its topics) makes Publish
// fail with ErrClosed and wakes every waiting reader. Nothing published
// before the close is lost: readers still get every entry left after their
// cursor, then ErrClosed.
//
// # Limits
//
// Defaults: MaxEntries 1024 entries and MaxBytes 1 MiB per topic (sizes
// counted as len(Type)+len(Data); an entry larger than MaxBytes is
// rejected with ErrTooLarge); QueueLen 256 under Drop; MaxTopics 1024 per
// hub. Topics are never removed from a hub, so a hub with default limits
// holds at most about 1 GiB of payload plus 72 bytes of Entry per held
// entry. A topic's ring starts small and grows to MaxEntries as it fills.
// A Subscription of a *Topic takes under 200 bytes, its channel included,
// and the topic keeps no list of subscribers.
//
// # Security
//
// Cursors and topic names come from clients. ParseCursor accepts only the
// canonical forms above, at most 20 digits, and wraps ErrInvalidCursor
// otherwise. A well-formed cursor can do no harm: it is checked against the
// log when used (GapError, ErrCursorAhead) and reads at most what the log
// holds. Hub.Topic creates any topic it is asked for, up to MaxTopics, so
// transports should check client-supplied names, or use Hub.Lookup, which
// never creates.
//
// Sequence numbers of an in-memory topic restart at 1 when the process
// restarts. A client cursor from before the restart is then either ahead of
// the log (ErrCursorAhead) or, once the new log has grown past it, names
// entries the client never saw; applications that must tell these apart
// can carry an epoch of their own next to the cursor.
//
// The hub stores Type and Data as given. Entries are payload for
// transports that frame them (an SSE encoder must still refuse a Type with
// a line break), not trusted markup.
package hub
