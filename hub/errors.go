package hub

import (
	"errors"
	"fmt"
)

// Errors returned by the hub. Errors that carry details wrap one of these
// with %w; match them with errors.Is.
var (
	// ErrClosed reports that the topic, the hub or the subscription is
	// closed. Readers get it only after they have read every entry that was
	// published before the close; Publish gets it at once.
	ErrClosed = errors.New("hub: closed")

	// ErrSlowConsumer is returned by Subscription.Next of a topic with the
	// Drop policy once the subscriber has more than QueueLen unread entries
	// that were published after it subscribed. The subscription stays
	// failed: every later Next returns the same error.
	ErrSlowConsumer = errors.New("hub: slow consumer")

	// ErrUnavailable reports that an engine cannot be reached or did not
	// answer in time. Engines wrap their transient failures with it; a
	// Publish of an engine-backed topic retries them with the same
	// idempotency key until its ctx is done.
	ErrUnavailable = errors.New("hub: engine unavailable")

	// ErrInvalidCursor reports a string that is not the wire form of a
	// cursor (see ParseCursor).
	ErrInvalidCursor = errors.New("hub: malformed cursor")

	// ErrTooLarge reports an entry whose size (len(Type)+len(Data)) is above
	// the topic's MaxBytes, so that the log could never hold it.
	ErrTooLarge = errors.New("hub: entry too large")

	// ErrTooManyTopics reports that the hub already holds Options.MaxTopics
	// topics and cannot create another one.
	ErrTooManyTopics = errors.New("hub: too many topics")
)

// GapError reports a cursor older than the log: entries after it were
// published but are no longer held, because the log is bounded. The reader
// is told so explicitly instead of being moved forward in silence. Match it
// with errors.As:
//
//	var gap hub.GapError
//	if errors.As(err, &gap) {
//		// tell the client that gap.Lost entries are gone
//	}
//
// The read that returns a GapError also returns the cursor that continues
// from the oldest entry still held, After(Oldest-1); a subscription moves
// there by itself, so its next Next returns entry Oldest.
type GapError struct {
	// After is the cursor position the reader asked to read after.
	After Seq
	// Oldest is the sequence number of the oldest entry the log still holds.
	Oldest Seq
	// Lost is the number of entries after After that the log no longer
	// holds: Oldest - After - 1.
	Lost uint64
}

// Error implements the error interface.
func (e GapError) Error() string {
	return fmt.Sprintf("hub: gap: %d entries after %d are no longer held, oldest held is %d", e.Lost, e.After, e.Oldest)
}

// gapError returns the GapError for a reader after seq after, in a log whose
// oldest held entry is oldest (oldest > after+1).
func gapError(after, oldest Seq) error {
	return GapError{After: after, Oldest: oldest, Lost: uint64(oldest - after - 1)}
}

// ResetError reports a cursor that does not name a position in the log's
// current history: it is from another epoch (the log was lost and started
// again, as an in-memory log does when its process restarts, or a shared
// stream that was wiped), or it is ahead of every entry ever published, so
// that the log cannot have given it out. The reader is told so explicitly,
// once, instead of being sent an error it would retry forever or being
// moved in silence. Match it with errors.As:
//
//	var reset hub.ResetError
//	if errors.As(err, &reset) {
//		// tell the client that the log started a new history
//	}
//
// The read that returns a ResetError also returns the cursor to continue
// from, AfterIn(Epoch, After): before the oldest entry of the current
// history still held, so that the reader receives all of it. A
// subscription moves there by itself.
type ResetError struct {
	// From is the cursor the reader asked to read after.
	From Cursor
	// Epoch is the log's current epoch.
	Epoch Epoch
	// After is where the reader continues in the current history: the
	// sequence number before the oldest entry held.
	After Seq
}

// Error implements the error interface.
func (e ResetError) Error() string {
	return fmt.Sprintf("hub: reset: cursor %q is not in the log's history %q, which continues after %d", e.From, e.Epoch, e.After)
}

// Cursor returns the cursor to continue from, AfterIn(e.Epoch, e.After).
func (e ResetError) Cursor() Cursor {
	return AfterIn(e.Epoch, e.After)
}
