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
// # Epochs
//
// Every log has an epoch (see Epoch): the name of its history. An in-memory
// topic gets a random one when it is made, so the log of a restarted
// process has a new one; an engine keeps its log's epoch as long as the
// log continues, and gives a wiped log a new one. Sequence numbers are only
// meaningful within an epoch.
//
// # Cursors
//
// A reader names where it is with a Cursor and receives the entries after
// it: AfterIn(epoch, n) for "after entry n of that history" (what every
// read returns), After(n) for a bare sequence number, FromNow() for "only
// what is published from now on", FromOldest() for "from the oldest entry
// still held". Every read returns the concrete cursor to continue from. On
// the wire a cursor is "EPOCH:SEQ"; Cursor.String, Cursor.AppendText and
// ParseCursor convert, with a bare "SEQ" still accepted, "" meaning FromNow
// (a client that has no cursor yet, such as an EventSource that never
// received an id, sees new entries only) and "oldest" meaning FromOldest.
//
// A cursor older than the log (its next entries were dropped) is never
// moved forward in silence: the read returns a GapError carrying the
// oldest sequence number still held and how many entries were lost, along
// with the cursor that skips the gap, and the caller decides whether to
// tell the client, resync it, or give up. A cursor of another epoch, or
// ahead of every entry published (it cannot come from this history), is
// never read as a position in this log either: the read returns a
// ResetError with the cursor that starts the current history, once, and
// the reader goes on from there; a transport tells its client "reset".
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
// The Log interface is exactly these three plus Publish; transports take a
// Log.
//
// A subscription of a *Topic is also a Notifier, for servers that hold
// many idle subscribers without a goroutine for each: TryNext returns what
// Next would, or nothing, without waiting; Notify arranges for a function
// to be called once when there may be something, from a goroutine of the
// hub's. The reader then starts (or signals) whatever writes, reads with
// TryNext until there is nothing, and calls Notify again. An idle
// subscriber is then its subscription and nothing else.
//
// # Engines
//
// A Topic is either its own in-memory log (NewTopic, the default) or a
// node's view of a shared log kept by an Engine (OpenTopic), such as NATS
// JetStream (engines/jetstream) or Redis Streams. The Engine interface is
// narrow: per topic, an EngineLog appends with an idempotency key, reads
// after a sequence number, reports its bounds and epoch, and waits for its
// tail. The engine numbers the entries, so its order is every node's
// order. An engine-backed topic runs one goroutine, its tail, that reads
// the engine into the node's ring; every reader on the node reads the
// ring, and asks the engine only what the ring cannot answer (a cursor
// older than the ring or of an epoch it has not caught up with; FromNow,
// which is the engine's head). A cursor the engine has passed but the
// ring not yet is valid: readers wait for the tail, never get an error.
// MemoryEngine is the in-memory log behind the interface, and
// hub/enginetest the suite every engine passes.
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
// Subscribers waiting through Notify are a doubly linked list through the
// subscriptions themselves (no allocation to wait, O(1) to leave it on
// Close). A publish takes the whole list in O(1), with the channel, and
// hands it to the topic's waker: a goroutine that runs while there are
// notifications to deliver, calls each subscriber's function outside the
// topic's lock, and ends. So Publish's own cost, and its allocations (the
// payload copy), do not depend on how many subscribers wait that way
// either, and a subscriber's function never runs on the publisher's
// goroutine.
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
// Every method of Hub, Topic, Subscription and MemoryEngine is safe for
// concurrent use. Publish never blocks on readers. Entries are read-only once published:
// Data is shared by every reader and must not be modified. Calls to Next
// on one subscription may come from several goroutines; each entry then
// goes to exactly one of them, though which returns first is up to the
// scheduler. Close of a subscription may be called at any time and wakes a
// blocked Next. Notify's functions run on the topic's waker goroutine,
// one after the other, and must only hand work on. The package starts no
// long-lived goroutine for in-memory topics (the waker ends when it has
// delivered every notification); an engine-backed topic starts its tail,
// which Close ends.
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
// hub. An in-memory topic remembers the idempotency keys of Append for as
// long as their entries are held. An engine-backed topic's ring has the
// same limits; a subscriber that reads from the engine holds at most 32
// entries it fetched. Topics are never removed from a hub, so a hub with default limits
// holds at most about 1 GiB of payload plus 72 bytes of Entry per held
// entry. A topic's ring starts small and grows to MaxEntries as it fills.
// A Subscription of a *Topic takes 192 bytes, and 96 more for a channel
// once Next has had to wait; the topic lists only the subscribers waiting
// through Notify, through the subscriptions themselves.
//
// # Security
//
// Cursors and topic names come from clients. ParseCursor accepts only the
// canonical forms above, at most 20 digits, and wraps ErrInvalidCursor
// otherwise. A well-formed cursor can do no harm: it is checked against the
// log when used (GapError, ResetError) and reads at most what the log
// holds. Hub.Topic creates any topic it is asked for, up to MaxTopics, so
// transports should check client-supplied names, or use Hub.Lookup, which
// never creates.
//
// Sequence numbers of an in-memory topic restart at 1 when the process
// restarts, under a new epoch, so a client cursor from before the restart
// gets a ResetError, never entries of the new log in place of the old
// ones it named. An epoch is 64 random bits: it identifies a history, it
// is not a secret. A cursor's epoch is checked for its grammar (1 to 32
// bytes of letters, digits, '-' and '_') and compared, never interpreted.
//
// The hub stores Type and Data as given. Entries are payload for
// transports that frame them (an SSE encoder must still refuse a Type with
// a line break), not trusted markup.
package hub
